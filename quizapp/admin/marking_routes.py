"""Admin: a round's marking (阅卷) — its markers, how far marking has got, each marker's quality, and
moving a marker's remaining answers to another. The rules are in services/written."""

from flask import flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..marking.forms import MarkersForm, ReassignForm, usernames_in
from ..models import WRITTEN_TYPES, Round, RoundStatus, User
from ..services import rounds as round_service
from ..services import written
from ..web import transaction
from . import bp
from .routes import admins_only


def marking_panel(round_: Round) -> dict | None:
    """The round page's 阅卷 section: for a round with written questions (in its blueprint or on a
    paper drawn) or in marking; None for any other round."""
    if not (
        round_.status == RoundStatus.MARKING
        or any((row or {}).get("type") in WRITTEN_TYPES for row in round_.blueprint or [])
        or db.session.scalar(select(written.has_written(round_.id)))
    ):
        return None
    quality = written.quality(round_.id)
    reassign_form = ReassignForm()
    choices = [(row["user_id"], f"{row['name']}（{row['username']}）· 待评 {row['left']}") for row in quality]
    reassign_form.from_marker.choices = reassign_form.to_marker.choices = choices
    if len(choices) > 1:  # from the one with most left, to the one with fewest
        by_left = sorted(quality, key=lambda row: row["left"])
        reassign_form.from_marker.data, reassign_form.to_marker.data = (
            by_left[-1]["user_id"],
            by_left[0]["user_id"],
        )
    return {
        "progress": written.progress(round_.id)
        if round_.status in (RoundStatus.MARKING, RoundStatus.CLOSED)
        else None,
        "quality": quality,
        "markers_form": MarkersForm(),
        "reassign_form": reassign_form,
        "third_rule": written.THIRD_RULES.get(round_.third_rule, round_.third_rule),
    }


def back_to_marking(round_id: int):
    return redirect(url_for("admin.round_detail", round_id=round_id) + "#marking")


@bp.route("/rounds/<int:round_id>/markers", methods=["POST"])
@admins_only
def round_markers(round_id: int):
    round_service.get_round(round_id)
    form = MarkersForm()
    if not form.validate_on_submit():
        flash("请填写阅卷人的登录名", "danger")
        return back_to_marking(round_id)
    usernames = usernames_in(form.usernames.data)
    found = dict(
        db.session.execute(
            select(User.username, User.id).where(User.username.in_(usernames), User.active.is_(True))
        ).all()
    )
    missing = [name for name in usernames if name not in found]
    if missing:
        flash(f"以下登录名不存在或已停用，未添加任何阅卷人：{'、'.join(missing)}", "danger")
        return back_to_marking(round_id)
    with transaction() as done:
        added = written.add_markers(
            round_id,
            [found[name] for name in usernames],
            own_unit_ok=form.own_unit_ok.data,
            actor_id=current_user.id,
        )
    if done.ok:
        kept = len(usernames) - added
        flash(f"已添加 {added} 位阅卷人" + (f"（{kept} 位已是本轮阅卷人）" if kept else ""), "success")
    return back_to_marking(round_id)


@bp.route("/rounds/<int:round_id>/reassign", methods=["POST"])
@admins_only
def round_reassign(round_id: int):
    form = ReassignForm()
    form.from_marker.choices = form.to_marker.choices = [
        (row["user_id"], row["username"]) for row in written.quality(round_id)
    ]
    if not form.validate_on_submit():
        flash("请选择本轮的两位阅卷人", "danger")
        return back_to_marking(round_id)
    with transaction() as done:
        outcome = written.reassign(
            round_id, form.from_marker.data, form.to_marker.data, actor_id=current_user.id
        )
    if done.ok:
        flash(
            f"已转交 {outcome['moved']} 份"
            + (
                f"，{outcome['kept']} 份对方不能评阅（本单位考生或已评过该答卷），仍由原阅卷人评阅"
                if outcome["kept"]
                else ""
            ),
            "success",
        )
    return back_to_marking(round_id)
