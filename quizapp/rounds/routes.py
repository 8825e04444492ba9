from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import clock
from ..database import writes_database
from ..extensions import db
from ..models import AttemptStatus, RoundStatus
from ..services import favourites, written
from ..services import rounds as round_service
from ..services.errors import Conflict
from ..web import transaction
from . import bp


@bp.route("/rounds")
@login_required
def index():
    listing = round_service.rounds_for_user(current_user, now=clock.utcnow())
    groups = {state: [r for r in listing if r["state"] == state] for state in ("open", "upcoming", "closed")}
    return render_template("rounds/index.html", groups=groups)


@bp.route("/rounds/<int:round_id>")
@login_required
def detail(round_id: int):
    round_ = round_service.get_round(round_id)
    if not round_service.is_eligible(current_user, round_):
        abort(404)
    listing = round_service.rounds_for_user(current_user, now=clock.utcnow())
    info = next((entry for entry in listing if entry["id"] == round_id), None)
    marking = written.progress(round_id) if round_.status == RoundStatus.MARKING else None
    return render_template("rounds/detail.html", round=round_, info=info, marking=marking)


@bp.route("/rounds/<int:round_id>/start")
@login_required
def confirm_start(round_id: int):
    """Before the clock starts: what the attempt holds (时长, 题量, 可作答次数) and that the time runs
    from the start. A plain page with one form, so the step needs no script."""
    round_ = round_service.get_round(round_id)
    if not round_service.is_eligible(current_user, round_):
        abort(404)
    listing = round_service.rounds_for_user(current_user, now=clock.utcnow())
    info = next((entry for entry in listing if entry["id"] == round_id), None)
    if info and info["in_progress_attempt_id"]:
        return redirect(url_for("rounds.attempt", attempt_id=info["in_progress_attempt_id"]))
    if not info or not info["can_start"]:
        return redirect(url_for("rounds.detail", round_id=round_id))
    minutes_left = max(1, int((round_.closes_at - clock.utcnow()).total_seconds() // 60))
    return render_template("rounds/start.html", round=round_, info=info, minutes_left=minutes_left)


@bp.route("/rounds/<int:round_id>/start", methods=["POST"])
@login_required
def start(round_id: int):
    with transaction(shown=(Conflict,)) as done:  # a round out of reach stays a 404
        attempt, _ = round_service.start_attempt(current_user, round_id, now=clock.utcnow())
    if not done.ok:
        return redirect(url_for("rounds.detail", round_id=round_id))
    return redirect(url_for("rounds.attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    attempt = round_service.get_attempt(current_user.id, attempt_id)
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return redirect(url_for("rounds.result", attempt_id=attempt_id))
    return render_template("rounds/attempt.html", attempt=attempt)


@bp.route("/attempts/<int:attempt_id>/result")
@login_required
@writes_database  # an overdue attempt is auto-submitted on sight
def result(attempt_id: int):
    now = clock.utcnow()
    with transaction(flash_errors=False):
        attempt = round_service.get_attempt(current_user.id, attempt_id)
        if round_service.finish_overdue(now=now, round_id=attempt.round_id, user_id=current_user.id):
            db.session.refresh(attempt)
        view = round_service.attempt_view(attempt, now=now)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        return redirect(url_for("rounds.attempt", attempt_id=attempt_id))
    only_wrong = request.args.get("only") == "wrong"
    return render_template(
        "rounds/result.html",
        attempt=attempt,
        view=view,
        summary=round_service.category_summary(view),
        wrong=round_service.wrong_numbers(view),
        only_wrong=only_wrong,
        starred=favourites.starred_among(  # 收藏: the stars beside the answers shown
            current_user.id, [item["question_id"] for item in view["review"] or [] if not item.get("sealed")]
        ),
    )
