"""Admin: the question bank — search, view with the source quote, edit (new version once used),
retire and restore — and the audit log."""

from pathlib import Path
from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..extensions import db
from ..models import (
    WRITTEN_TYPES,
    Ability,
    AuditLog,
    Category,
    ErrorReport,
    QuestionStatus,
    QuestionVersion,
    Source,
    User,
)
from ..services import bank_io, error_reports, exports, grading, previews, questions, uploads
from ..services.audit import ACTION_LABELS
from ..web import safe_next, transaction
from . import bp
from .forms import CategoryForm, QuestionEditForm, QuestionFilterForm
from .routes import admins_only

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
UNIT_EXPORTS = {  # the formats of units' own banks: (writer, file name, type); each names what it left out
    "docx": (bank_io.export_docx, "题库导出.docx", DOCX_MIMETYPE),
    "gift": (bank_io.export_gift, "题库导出.gift.txt", "text/plain; charset=utf-8"),
    "aiken": (bank_io.export_aiken, "题库导出（单选）.aiken.txt", "text/plain; charset=utf-8"),
    "xml": (bank_io.export_moodle_xml, "题库导出.moodle.xml", "application/xml"),
}
OPTION_FIELDS = ["option_a", "option_b", "option_c", "option_d", "option_e", "option_f"]


def _names(model) -> list[str]:
    return list(db.session.scalars(select(model.name).order_by(model.sort)))


def _sources() -> list[tuple[str, str]]:
    return list(db.session.execute(select(Source.code, Source.title).order_by(Source.code)).all())


@bp.route("/questions")
@admins_only
def questions_list():
    form = QuestionFilterForm(request.args)
    form.source.choices = [
        SelectChoice("", "全部来源"),
        SelectChoice(questions.UNSOURCED, "无出处"),
        *[SelectChoice(c, t) for c, t in _sources()],
    ]
    form.category.choices = [SelectChoice("", "全部类别")] + [SelectChoice(n, n) for n in _names(Category)]
    form.ability.choices = [SelectChoice("", "全部能力")] + [SelectChoice(n, n) for n in _names(Ability)]
    filters = _filters(form)
    page = max(request.args.get("page", 1, type=int), 1)
    total, rows = questions.page_of(questions.search(filters), page)
    return render_template(
        "admin/questions.html",
        form=form,
        rows=rows,
        total=total,
        page=page,
        pages=max((total + questions.PAGE_SIZE - 1) // questions.PAGE_SIZE, 1),
    )


@bp.route("/questions/status", methods=["POST"])
@admins_only
def questions_status():
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    reserve = request.form.get("reserve")
    try:
        status = None if reserve else QuestionStatus(request.form.get("status", "retired"))
    except ValueError:
        abort(400)
    if reserve not in (None, "1", "0"):
        abort(400)
    if not ids:
        flash("请先勾选题目", "warning")
    elif reserve:
        with transaction():
            changed = questions.set_reserved(ids, reserve == "1", actor_id=current_user.id)
        flash(f"已将 {changed} 道题{'设为' if reserve == '1' else '移出'}考试专用", "success")
    else:
        with transaction():
            changed = questions.set_status(ids, status, actor_id=current_user.id)
        flash(f"已{'停用' if status == QuestionStatus.RETIRED else '恢复'} {changed} 道题", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("admin.questions_list"))


def _edit_form(version, category, ability, source_code) -> QuestionEditForm:
    form = QuestionEditForm()
    form.category.choices = [SelectChoice(n, n) for n in _names(Category)]
    form.ability.choices = [SelectChoice(n, n) for n in _names(Ability)]
    form.source.choices = [SelectChoice(c, t) for c, t in _sources()]
    if version.source_id is None:  # 无出处: may stay so, or get a source
        form.source.choices.insert(0, SelectChoice("", "（无出处）"))
    if request.method == "GET":
        form.type.data, form.category.data, form.ability.data = str(version.type), category, ability
        form.difficulty.data, form.stem.data = str(version.difficulty), version.stem
        for field, option in zip(OPTION_FIELDS, version.options, strict=False):
            getattr(form, field).data = option["text"]
        form.answer.data = grading.tabular_answer(str(version.type), version.answer)
        if version.type == "calc":
            form.unit.data = "|".join(version.answer["unit"])
            form.tolerance.data = grading.plain_number(version.answer["tolerance"])
        if version.type in WRITTEN_TYPES:
            form.says.data = version.says or ""
            form.rubric.data = "\n".join(bank_io.rubric_lines(version.answer["rubric"]))
            form.deductions.data = "\n".join(bank_io.rubric_lines(version.answer["deductions"]))
        form.explanation.data, form.source.data = version.explanation, source_code or ""
        form.note.data = version.note or ""
        form.locator.data, form.quote.data = version.locator, version.quote
    return form


@bp.route("/questions/<int:question_id>", methods=["GET", "POST"])
@admins_only
def question_detail(question_id: int):
    question, versions = questions.get(question_id)
    current = next(row for row in versions if row[0].is_current)
    version, source_code, source_title, category, ability = current
    form = _edit_form(version, category, ability, source_code)
    used = questions.is_used(version.id)
    if form.validate_on_submit():
        texts = [(getattr(form, field).data or "").strip() for field in OPTION_FIELDS]
        options = {letter: text for letter, text in zip("ABCDEF", texts, strict=True) if text}
        values = {
            "source": form.source.data,
            "type": form.type.data,
            "category": form.category.data,
            "ability": form.ability.data,
            "difficulty": form.difficulty.data,
            "stem": form.stem.data,
            "answer": form.answer.data,
            "explanation": form.explanation.data,
            "locator": form.locator.data,
            "quote": form.quote.data,
            "unit": form.unit.data,
            "tolerance": form.tolerance.data,
            "note": form.note.data,
        }
        if form.type.data in WRITTEN_TYPES:
            values |= {"says": form.says.data, "rubric": form.rubric.data, "deductions": form.deductions.data}
        if options:
            values["options"] = options
        with transaction() as done:
            saved = questions.edit(question_id, values, actor_id=current_user.id)
        if done.ok:
            flash(f"已保存为第 {saved.number} 版" if used else "已保存", "success")
            return redirect(url_for("admin.question_detail", question_id=question_id))
    return render_template(
        "admin/question.html",
        question=question,
        versions=versions,
        version=version,
        source_title=source_title,
        category=category,
        ability=ability,
        form=form,
        used=used,
    )


@bp.route("/audit")
@admins_only
def audit_log():
    stmt = select(AuditLog).options(joinedload(AuditLog.actor)).order_by(AuditLog.id.desc())
    action = request.args.get("action") or None
    actor = request.args.get("actor") or None
    target = request.args.get("target") or None
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if actor:
        stmt = stmt.join(User, User.id == AuditLog.actor_id).where(User.username == actor)
    if target:
        stmt = stmt.where(AuditLog.target_type == target)
    page = max(request.args.get("page", 1, type=int), 1)
    entries = db.session.scalars(stmt.limit(50).offset((page - 1) * 50)).all()
    if page > 1 and not entries:
        abort(404)
    return render_template(
        "admin/audit.html",
        entries=entries,
        actions=ACTION_LABELS,
        page=page,
        chosen={"action": action, "actor": actor, "target": target},
    )


# ---------------------------------------------------------------------------------------------
# Import wizard, template, export


def _import_defaults(form) -> dict:
    """类别, 能力 and 难度 for a Word or Moodle file's questions that do not name their own."""
    return {key: (form.get(f"default_{key}") or "").strip() for key in ("category", "ability", "difficulty")}


def _read_upload(name: str, data: bytes, defaults: dict | None = None):
    return bank_io.read_for_import(
        [(name, data, None)], Path(current_app.config["BANK_PATH"]), unsourced_ok=True, defaults=defaults
    )


def _import_page(preview=None, defaults=None):
    return render_template(
        "admin/question_import.html",
        preview=preview,
        categories=_names(Category),
        abilities=_names(Ability),
        defaults=defaults or {"difficulty": "2"},
        accepted=bank_io.ACCEPTED,
    )


@bp.route("/questions/import", methods=["GET", "POST"])
@admins_only
def questions_import():
    """Step 1: upload. Step 2 (this page again): the preview of what would be added, skipped, refused."""
    if request.method == "GET":
        return _import_page()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的文件", "danger")
        return redirect(url_for("admin.questions_import"))
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in uploads.KINDS and suffix not in bank_io.UNIT_FORMATS:
        flash(f"不支持的文件类型（支持 {bank_io.ACCEPTED}）", "danger")
        return redirect(url_for("admin.questions_import"))
    data = upload.read()
    defaults = _import_defaults(request.form)
    with transaction():  # only a clean file waits for its confirmation
        batch = _read_upload(upload.filename, data, defaults)
        plan = bank_io.plan_import(batch) if not batch.problems else None
        token = (
            previews.keep("bank", current_user.id, upload.filename, data, now=clock.utcnow())
            if plan
            else None
        )
    return _import_page(
        {
            "token": token,
            "name": upload.filename,
            "problems": batch.problems,
            "new": plan.new if plan else [],
            "duplicates": plan.duplicates if plan else [],
            "skipped": batch.skipped,
            "unsourced": sum(1 for draft in plan.new if draft.source is None) if plan else 0,
            "lost": sum(1 for draft in plan.new if draft.lost) if plan else 0,
        },
        defaults,
    )


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """An upload over MAX_CONTENT_LENGTH is refused before it is read (the CSRF check reads the form
    first): back to the page it was sent from, with the limit named."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    flash(f"文件超过 {limit / 2**20:.0f} MB 的上限，未导入任何内容；请拆分后分批导入", "danger")
    return redirect(request.path), 302


@bp.route("/questions/import/<token>", methods=["POST"])
@admins_only
def questions_import_confirm(token: str):
    """Step 3: import the previewed file in one transaction (validated again: nothing partial)."""
    preview = previews.find("bank", current_user.id, token)
    if preview is None:
        flash("预览已过期或不存在，请重新上传文件", "danger")
        return redirect(url_for("admin.questions_import"))
    with transaction() as done:
        batch = _read_upload(preview.name, preview.data, _import_defaults(request.form))
        summary = bank_io.import_batch(batch, actor_id=current_user.id)
        previews.discard(preview)
    if not done.ok:
        return redirect(url_for("admin.questions_import"))
    flash(f"已导入 {summary.added} 题，跳过重复 {summary.duplicates} 题", "success")
    return redirect(url_for("admin.questions_list"))


@bp.route("/categories", methods=["GET", "POST"])
@admins_only
def categories():
    """业务类别: data, not code; a new one is offered at once in imports, filters and blueprints."""
    form = CategoryForm()
    if form.validate_on_submit():
        with transaction(success=f"已新增业务类别“{' '.join(form.name.data.split())}”") as done:
            questions.add_category(form.name.data, actor_id=current_user.id)
        if done.ok:
            return redirect(url_for("admin.categories"))
    return render_template("admin/categories.html", form=form, rows=questions.categories())


@bp.route("/questions/template.xlsx")
@admins_only
def questions_template():
    return _download(
        bank_io.template_xlsx(_names(Category), _names(Ability)), "题目导入模板.xlsx", exports.XLSX_MIMETYPE
    )


@bp.route("/questions/template.docx")
@admins_only
def questions_template_docx():
    return _download(bank_io.template_docx(), "题目导入模板.docx", DOCX_MIMETYPE)


def _filters(form: QuestionFilterForm) -> questions.QuestionFilters:
    """The bank filters a list or an export was asked for."""
    return questions.QuestionFilters(
        q=form.q.data or None,
        source=form.source.data or None,
        category=form.category.data or None,
        type=form.type.data or None,
        ability=form.ability.data or None,
        difficulty=int(form.difficulty.data) if form.difficulty.data else None,
        status=form.status.data or None,
    )


@bp.route("/questions/export")
@admins_only
def questions_export():
    form = QuestionFilterForm(request.args)
    filters = _filters(form)
    ids = [version.question_id for version, *_ in db.session.execute(questions.search(filters))]
    rows = bank_io.current_versions(ids)
    chosen = request.args.get("format")
    if chosen == "yaml":
        return _download(bank_io.export_yaml(rows), "题库导出.yaml", "application/x-yaml")
    if chosen in UNIT_EXPORTS:
        write, name, mimetype = UNIT_EXPORTS[chosen]
        data, _left = write(rows)  # what a format cannot hold is named in the file itself (GIFT, Word)
        return _download(data, name, mimetype)
    return _download(bank_io.export_xlsx(rows), "题库导出.xlsx", exports.XLSX_MIMETYPE)


def _download(data: bytes, name: str, mimetype: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# ---------------------------------------------------------------------------------------------
# Error reports (纠错)


@bp.route("/reports")
@admins_only
def report_queue():
    status = request.args.get("status", error_reports.OPEN)
    rows = db.session.execute(
        select(ErrorReport, QuestionVersion, User.name)
        .join(QuestionVersion, QuestionVersion.id == ErrorReport.question_version_id)
        .join(User, User.id == ErrorReport.user_id)
        .where(ErrorReport.status == status)
        .order_by(ErrorReport.id.desc())
        .limit(200)
    ).all()
    return render_template("admin/reports.html", rows=rows, status=status, labels=error_reports.STATUS_LABELS)


@bp.route("/reports/<int:report_id>", methods=["POST"])
@admins_only
def error_report_handle(report_id: int):
    with transaction("已处理并回复报告人"):
        error_reports.handle(
            report_id,
            request.form.get("action", ""),
            request.form.get("reply", ""),
            actor_id=current_user.id,
            now=clock.utcnow(),
        )
    return redirect(url_for("admin.report_queue"))


# The draft review (a policy document → draft questions) is part of the import wizard: its routes are
# registered with these.
from . import draft_routes  # noqa: E402,F401
