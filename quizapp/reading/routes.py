"""政策原文 (the reading room: shelves, search, a document) and 背题模式 (questions with their keys,
已掌握 on and off). The rules are in services/reading.py."""

from flask import jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock
from ..api.routes import practice_filters
from ..extensions import db
from ..models import Category, QuestionType, Source
from ..services import reading
from ..services.errors import NotFound
from ..web import safe_next, transaction
from . import bp


@bp.route("/reading")
@login_required
def index():
    query = request.args.get("q", "").strip()
    if query:
        return render_template("reading/search.html", query=query, found=reading.search(query))
    return render_template("reading/index.html", shelves=reading.shelves())


@bp.route("/reading/<code>")
@login_required
def document(code: str):
    needles = request.args.getlist("hl")
    return render_template(
        "reading/document.html", doc=reading.document(code, needles), needles=needles[: reading.MAX_NEEDLES]
    )


RECITE_FILTERS = ("category", "type", "source", "locator")


@bp.route("/recite")
@login_required
def recite():
    chosen = {key: request.args.get(key, "") for key in RECITE_FILTERS}
    unmastered = request.args.get("unmastered") == "1"
    listing = reading.recite(
        current_user.id,
        practice_filters(chosen),
        page=request.args.get("page", 1, type=int),
        unmastered=unmastered,
    )
    return render_template(
        "reading/recite.html",
        listing=listing,
        chosen=chosen,
        unmastered=unmastered,
        categories=db.session.scalars(select(Category.name).order_by(Category.sort)).all(),
        types=list(QuestionType),
        sources=db.session.execute(select(Source.code, Source.title).order_by(Source.code)).all(),
    )


@bp.post("/recite/mastered")
@login_required
def mastered():
    """已掌握 on (mastered=1) or off: a form post, or the page's script (which asks for JSON)."""
    question_id = request.form.get("question_id", type=int) or 0
    on = request.form.get("mastered") == "1"
    wants_json = request.accept_mimetypes.best == "application/json"
    done = None if wants_json else ("已标记为已掌握，练习时不再出现" if on else "已取消已掌握")
    with transaction(done, flash_errors=not wants_json):
        reading.set_mastered(current_user.id, question_id, on, now=clock.utcnow())
    if wants_json:
        return jsonify(question_id=question_id, mastered=on)
    back = safe_next(request.form.get("next")) or url_for("reading.recite")
    return redirect(f"{back}#q{question_id}")


@bp.route("/reading/at/<int:source_id>")
@login_required
def at(source_id: int):
    """A question's 出处 (its source's id, ``at`` its locator, ``hl`` its quote) → the article in
    the reading room with the quote marked: the feedback knows the source by id."""
    code = db.session.scalar(select(Source.code).where(Source.id == source_id))
    if code is None:
        raise NotFound("没有这份文件")
    hl = request.args.get("hl", "")[: reading.MAX_NEEDLE]
    target = url_for(
        "reading.document", code=code, hl=hl or None, _anchor=reading.locator_of(request.args.get("at", ""))
    )
    return redirect(target)
