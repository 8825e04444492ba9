"""The marker's pages: the rounds they mark, and the next answer of a round, one at a time.

Blind: a marking page shows the question, the model answer, the rubric and the answer's text — never
a taker's name, username or unit (``written.next_task`` gives nothing else)."""

import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from .. import clock
from ..extensions import db
from ..models import Round, RoundMarker, RoundStatus
from ..services import rounds as round_service
from ..services import written
from ..web import transaction
from . import bp
from .forms import MarkForm, point_choices, sent_marks

MARKER_CHECK_SECONDS = 300  # how long the nav's 阅卷 link trusts its last look
HINTS = {"covered": "已答到", "maybe": "可能答到", "missing": "未找到"}
DEDUCTION_HINTS = {"covered": "出现", "maybe": "可能出现", "missing": "未发现"}


@bp.app_context_processor
def marking_globals():
    return {"marks_any_round": marks_any_round}


def marks_any_round() -> bool:
    """Whether the signed-in person marks a round not yet closed (the nav's 阅卷 link). Looked up
    at most every few minutes and kept in the session, so a page costs no statement for it."""
    if not current_user.is_authenticated:
        return False
    seen = session.get("marker")
    now = time.time()
    if isinstance(seen, list) and len(seen) == 2 and 0 <= now - seen[1] < MARKER_CHECK_SECONDS:
        return bool(seen[0])
    try:
        marker = bool(
            db.session.scalar(
                select(
                    exists().where(
                        RoundMarker.user_id == current_user.id,
                        RoundMarker.round_id == Round.id,
                        Round.status != RoundStatus.CLOSED,
                    )
                )
            )
        )
    except SQLAlchemyError:  # an error page drawn after a failed statement: no link, no second error
        return False
    session["marker"] = [marker, now]
    return marker


@bp.route("/marking")
@login_required
def index():
    rounds = written.marker_rounds(current_user.id)
    session["marker"] = [any(r["status"] != RoundStatus.CLOSED for r in rounds), time.time()]
    return render_template(
        "marking/index.html", rounds=rounds, status_labels={s.value: s.label for s in RoundStatus}
    )


@bp.route("/marking/<int:round_id>", methods=["GET", "POST"])
@login_required
def mark(round_id: int):
    """GET: the next answer. POST: the marks of the answer shown, then the next (a mark refused
    comes back as a message; a keypoint left unchosen shows the same answer again with the choices
    made so far)."""
    written.ensure_marker(round_id, current_user.id)
    form, kept = MarkForm(), None
    if request.method == "POST":
        chosen, awarded, deducted, problems = sent_marks(request.form)
        if form.validate_on_submit() and not problems:
            with transaction() as done:
                outcome = written.mark(
                    form.task.data, current_user.id, awarded, deducted, form.stamp.data, now=clock.utcnow()
                )
            if done.ok:
                flash(f"已评分：{outcome['total']:g} 分", "success")
            return redirect(url_for("marking.mark", round_id=round_id))
        for problem in problems or ["提交的评分无效，请刷新页面后重试"]:
            flash(problem, "danger")
        kept = {"task": form.task.data, "chosen": chosen, "deducted": deducted}
    round_ = round_service.get_round(round_id)
    task = written.next_task(round_id, current_user.id)
    if task is None:
        return render_template("marking/done.html", round=round_)
    keypoints = len(task["question"]["rubric"])
    if kept is None or kept["task"] != task["task"]:
        kept = {"chosen": [], "deducted": []}
    kept["chosen"] = (kept["chosen"] + [""] * keypoints)[:keypoints]
    form.task.data, form.stamp.data = task["task"], task["stamp"]
    return render_template(
        "marking/mark.html",
        round=round_,
        task=task,
        form=form,
        kept=kept,
        hints=HINTS,
        deduction_hints=DEDUCTION_HINTS,
        point_choices=point_choices,
    )
