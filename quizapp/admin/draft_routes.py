"""Admin: a policy document turned into draft questions (services.drafting), reviewed in the import
wizard — accept, edit or discard, in bulk — and imported only when accepted, all of them or none."""

import json
from collections import Counter

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import Ability, Category, Source
from ..services import bank_io, drafting, grading, previews
from ..services.errors import InvalidInput, Problem
from ..services.sources import SourceText
from ..web import transaction
from . import bp
from .bank_routes import _names
from .routes import admins_only

KIND = "drafts"


def _stored_sources() -> list[tuple[str, str]]:
    return list(db.session.execute(select(Source.code, Source.title).order_by(Source.code)).all())


@bp.route("/questions/drafts", methods=["GET", "POST"])
@admins_only
def question_drafts():
    """Step 1: a document (uploaded .txt/.docx, or one the bank holds) → drafts kept for review."""
    if request.method == "GET":
        return render_template(
            "admin/question_drafts.html",
            sources=_stored_sources(),
            categories=_names(Category),
            abilities=_names(Ability),
        )
    upload = request.files.get("file")
    code = request.form.get("source") or ""
    category = request.form.get("category") or None
    ability = request.form.get("ability") or bank_io.DEFAULT_ABILITIES[0]
    source = None
    with transaction() as done:
        if upload is not None and upload.filename:
            source = drafting.source_from_upload(
                upload.filename,
                upload.read(),
                request.form.get("title"),
                today=clock.utcnow().strftime("%Y%m%d"),
            )
        elif code:
            row = db.session.scalar(select(Source).where(Source.code == code))
            if row is None:
                raise InvalidInput([Problem("", "", "来源文件", "来源文件不存在")])
            source = SourceText(row.code, row.title, row.body, row.issuer, row.effective)
        else:
            raise InvalidInput([Problem("", "", "文件", "请上传政策文件，或选择题库中已有的来源文件")])
        drafts = [draft.as_dict() for draft in drafting.generate(source, category=category)]
        stored = {
            "source": drafting.source_dict(source),
            "new_source": upload is not None and bool(upload.filename),
            "ability": ability,
            "drafts": drafts,
        }
        token = previews.keep(
            KIND,
            current_user.id,
            source.title,
            json.dumps(stored, ensure_ascii=False).encode(),
            now=clock.utcnow(),
        )
    if not done.ok:
        return redirect(url_for("admin.question_drafts"))
    return redirect(url_for("admin.question_drafts_review", token=token))


def _edits(form, drafts: list[dict]) -> dict[str, dict]:
    """The fields of the drafts the admin opened to edit (the others post nothing)."""
    edits: dict[str, dict] = {}
    for draft in drafts:
        key = draft["key"]
        if f"stem.{key}" not in form:
            continue
        values = {
            "stem": form.get(f"stem.{key}", ""),
            "answer": form.get(f"answer.{key}", ""),
            "explanation": form.get(f"explanation.{key}", ""),
        }
        options = {
            letter: text
            for letter in "ABCDEF"
            if (text := (form.get(f"option.{key}.{letter}") or "").strip())
        }
        if draft["options"] and any(f"option.{key}.{letter}" in form for letter in "ABCDEF"):
            values["options"] = options
        edits[key] = values
    return edits


@bp.route("/questions/drafts/<token>", methods=["GET", "POST"])
@admins_only
def question_drafts_review(token: str):
    """Step 2: review — accept (tick), edit (open a draft), discard (leave unticked); step 3: the
    accepted ones are validated again with their edits and imported in one transaction."""
    preview = previews.find(KIND, current_user.id, token)
    if preview is None:
        flash("草稿已导入、已过期或不存在，请重新生成", "danger")
        return redirect(url_for("admin.question_drafts"))
    stored = json.loads(preview.data)
    source = drafting.source_of(stored["source"])
    drafts = stored["drafts"]
    categories, abilities = _names(Category), _names(Ability)
    problems: dict[str, list] = {}
    picked: list[str] = []
    edits: dict[str, dict] = {}
    if request.method == "POST":
        picked = request.form.getlist("pick")
        edits = _edits(request.form, drafts)
        if not picked:
            flash("请先勾选要采用的草稿", "warning")
        else:
            batch = drafting.accepted_batch(
                source,
                drafts,
                picked,
                edits,
                ability=stored["ability"],
                categories=categories,
                abilities=abilities,
            )
            if batch.problems:
                for problem in batch.problems:
                    problems.setdefault(problem.row, []).append(problem)
                flash(f"{len(problems)} 道草稿有误，未导入任何题目；请修改或取消勾选后重试", "danger")
            else:
                with transaction() as done:
                    summary = bank_io.import_batch(batch, actor_id=current_user.id)
                    previews.discard(preview)
                if done.ok:
                    flash(f"已导入 {summary.added} 题，跳过重复 {summary.duplicates} 题", "success")
                    return redirect(url_for("admin.questions_list", source=source.code))
    else:
        problems = {
            key: found
            for key, found in drafting.check(
                source, drafts, ability=stored["ability"], categories=categories, abilities=abilities
            ).items()
            if found
        }
    for draft in drafts:
        draft["tabular"] = grading.tabular_answer(draft["type"], draft["answer"])
    return render_template(
        "admin/question_drafts_review.html",
        token=token,
        source=source,
        new_source=stored["new_source"],
        drafts=drafts,
        problems=problems,
        picked=set(picked),
        edits=edits,
        by_type=Counter(d["type"] for d in drafts),
        by_finding=Counter(d["finding"] for d in drafts),
        per_thousand=1000 * len(drafts) / max(len(source.body), 1),
    )


@bp.route("/questions/drafts/<token>/discard", methods=["POST"])
@admins_only
def question_drafts_discard(token: str):
    preview = previews.find(KIND, current_user.id, token)
    if preview is None:
        abort(404)
    with transaction("已放弃全部草稿"):
        previews.discard(preview)
    return redirect(url_for("admin.question_drafts"))
