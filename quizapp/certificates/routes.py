"""Certificate pages: 我的证书 and its PDFs, the public ``/verify/<serial>``, and for managers an
exam's certificates in their subtree (a page, a ZIP of the PDFs in parts) and, for admins, revoking."""

from __future__ import annotations

import io
from functools import wraps
from urllib.parse import quote

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from .. import clock
from ..extensions import limiter
from ..models import Role
from ..models._types import MAX_ID
from ..services import certificates
from ..services.errors import DomainError, NotFound
from ..web import safe_next, transaction
from . import bp

PAGE_SIZE = 50


def managers_only(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role not in (Role.ADMIN, Role.UNIT_ADMIN):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def verify_url(serial: str) -> str:
    """The absolute address of a serial's verification page: QUIZAPP_PUBLIC_URL when set (what a
    phone scanning the printed code can reach), else the address this request came to."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        return public.rstrip("/") + url_for("certificates.verify", serial=serial)
    return url_for("certificates.verify", serial=serial, _external=True)


def _font() -> dict:
    return {
        "font_path": current_app.config["CERTIFICATE_FONT"],
        "font_index": current_app.config["CERTIFICATE_FONT_INDEX"],
    }


@bp.route("/certificates")
@login_required
def mine():
    return render_template("certificates/mine.html", certificates=certificates.of_user(current_user.id))


@bp.route("/certificates/<serial>.pdf")
@login_required
def pdf(serial: str):
    certificate = certificates.visible(current_user, serial)
    text = certificates.CertificateText.of(certificate, verify_url(certificate.serial))
    data = certificates.render_pdf(text, **_font())
    return send_file(
        io.BytesIO(data),
        mimetype="application/pdf",
        as_attachment=request.args.get("view") != "1",
        download_name=text.filename,
        max_age=0,
    )


def _verify_limit() -> str:
    return current_app.config["VERIFY_LIMIT_PER_ADDRESS"]


@bp.route("/verify")
@limiter.limit(_verify_limit, scope="verify")
def verify_form():
    """Type a serial off a paper certificate."""
    typed = request.args.get("serial")
    if typed is not None:
        serial = certificates.normalise_serial(typed)
        if serial is not None:
            return redirect(url_for("certificates.verify", serial=serial))
    return _public(render_template("certificates/verify_form.html", typed=typed))


@bp.route("/verify/<serial>")
@limiter.limit(_verify_limit, scope="verify")
def verify(serial: str):
    """Public: the holder's name, the exam, the date and whether it is valid — nothing else."""
    return _public(render_template("certificates/verify.html", seen=certificates.verification(serial)))


def _public(page: str) -> Response:
    response = Response(page, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # a revocation shows at once
    response.headers["X-Robots-Tag"] = "noindex, nofollow"  # holders' names stay out of search engines
    return response


def _number(name: str) -> int | None:
    """A positive whole number from the query, within what an id column holds (None else: a
    number past it would be a database error, not a missing page)."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


@bp.route("/admin/certificates")
@managers_only
def manage():
    exams = certificates.exams(current_user)
    round_id = _number("round") or (exams[0].id if exams else None)
    unit = certificates.scope_unit(current_user, request.args.get("unit"))
    page = _number("page") or 1
    exam, counts, rows = None, {"valid": 0, "revoked": 0}, []
    if round_id is not None:
        exam = certificates.exam_in_scope(current_user, round_id)
        counts = certificates.subtree_counts(exam.id, unit)
        rows = certificates.subtree_page(exam.id, unit, page=page, size=PAGE_SIZE)
    total = counts["valid"] + counts["revoked"]
    per_zip = current_app.config["CERTIFICATE_ZIP_MAX"]
    return render_template(
        "certificates/manage.html",
        exams=exams,
        exam=exam,
        unit=unit,
        counts=counts,
        rows=rows,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        zip_parts=-(-counts["valid"] // per_zip),
        per_zip=per_zip,
    )


@bp.route("/admin/certificates/<int:round_id>.zip")
@managers_only
def bulk_zip(round_id: int):
    """The valid certificates of an exam in a subtree the viewer manages, one PDF each, streamed
    as they are rendered; at most CERTIFICATE_ZIP_MAX a file (``part`` 1, 2, … for the rest)."""
    exam = certificates.exam_in_scope(current_user, round_id)
    unit = certificates.scope_unit(current_user, request.args.get("unit"))
    part = _number("part") or 1
    size = current_app.config["CERTIFICATE_ZIP_MAX"]
    rows = certificates.subtree_page(exam.id, unit, page=part, size=size, valid_only=True)
    if not rows:
        raise NotFound("该范围内没有可下载的有效证书" if part == 1 else f"没有第 {part} 部分")
    texts = [certificates.CertificateText.of(row, verify_url(row.serial)) for row in rows]
    certificates.font_name(**_font())  # a missing font is a page, not a broken download
    name = f"{exam.title}_{unit.name}_证书" + (f"_第{part}部分" if part > 1 or len(rows) == size else "")
    return Response(
        certificates.zip_stream(texts, **_font()),  # reads nothing from the database: texts are made
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name + '.zip')}",
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/admin/certificates/<serial>/revoke", methods=["POST"])
@login_required
def revoke(serial: str):
    if not current_user.is_admin:
        abort(403)
    with transaction("证书已撤销，验证页面将显示“已撤销”", shown=(DomainError,)) as done:
        certificate = certificates.revoke(
            current_user, serial, request.form.get("reason", ""), now=clock.utcnow()
        )
    back = safe_next(request.form.get("back"))
    if back and back.startswith("/admin/certificates"):
        return redirect(back)
    if done.ok:
        return redirect(url_for("certificates.manage", round=certificate.round_id))
    return redirect(url_for("certificates.manage"))
