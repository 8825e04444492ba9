"""Individual leaderboards: a round (score desc, time used asc, submitted earlier first), monthly
points, total points and a month's 对战 (wins, then win rate, then battle points) — within a unit subtree, with the viewer's own position always included."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..models import Attempt, PointsEntry, Role, Round, RoundStatus, Unit, User
from ..models._types import MAX_ID
from . import battles
from .errors import DomainError, NotFound
from .org import active_staff, in_subtree
from .rankings import competition_ranks, month_period

TOP = 50


def allowed_subtree(viewer: User, unit: Unit) -> bool:
    """Which subtrees' people a viewer may see ranked: admins any; unit admins their own subtree;
    staff the subtrees they belong to (their unit and its ancestors)."""
    if viewer.role == Role.ADMIN:
        return True
    if viewer.unit is None:
        return False
    if viewer.role == Role.UNIT_ADMIN and unit.path.startswith(viewer.unit.path):
        return True
    return viewer.unit.path.startswith(unit.path)


def default_unit(viewer: User) -> Unit | None:
    """A unit admin's own unit; a learner's province (the root of their unit's path); the first root
    for an admin."""
    if viewer.role == Role.UNIT_ADMIN and viewer.unit is not None:
        return viewer.unit
    if viewer.unit is not None:
        return db.session.get(Unit, viewer.unit.path_ids()[0])
    return db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code).limit(1))


def unit_or_default(code: str | None, viewer: User) -> Unit:
    if code:
        unit = db.session.scalar(select(Unit).where(Unit.code == code))
        if unit is None:
            raise NotFound(f"单位“{code}”不存在")
        return unit
    unit = default_unit(viewer)
    if unit is None:
        raise NotFound("还没有任何单位")
    return unit


def board(
    kind: str,
    *,
    unit: Unit,
    viewer: User,
    month: date | None = None,
    round_id: int | None = None,
    limit: int = TOP,
) -> dict:
    """The leaderboard rows (top ``limit``) and the viewer's own row wherever it falls."""
    if not allowed_subtree(viewer, unit):
        # As everywhere else, a subtree out of the viewer's scope looks exactly like a missing one.
        raise NotFound(f"单位“{unit.code}”不存在或不在您的查看范围内")
    inside = in_subtree(unit)
    if kind == "round":
        round_ = db.session.get(Round, round_id) if round_id and 0 < round_id <= MAX_ID else None
        if round_ is None:
            raise NotFound("本轮不存在")
        if round_.status != RoundStatus.CLOSED:
            raise DomainError("本轮结束后公布个人排行")
        order = (
            Attempt.percent.desc(),
            Attempt.time_used_seconds.asc(),
            Attempt.submitted_at.asc(),
            User.username,
        )
        rows = db.session.execute(
            select(
                User.id,
                User.name,
                User.username,
                Unit.name,
                Attempt.percent,
                Attempt.time_used_seconds,
                Attempt.submitted_at,
            )
            .join(Attempt, Attempt.user_id == User.id)
            .join(Unit, Unit.id == Attempt.unit_id)
            .where(Attempt.round_id == round_.id, Attempt.counted.is_(True), inside)
            .order_by(*order)
        ).all()
        keys = [(r.percent, r.time_used_seconds, r.submitted_at) for r in rows]
        entries = [
            {
                "user_id": r[0],
                "name": r[1],
                "username": r[2],
                "unit": r[3],
                "value": r.percent,
                "time_used_seconds": r.time_used_seconds,
            }
            for r in rows
        ]
        title, measure = round_.title, "得分"
    elif kind == "battle":
        period = month_period(month)
        start, end = (
            clock.day_bounds(day, current_app.config["TZINFO"])[0]
            for day in (period.starts_on, period.ends_on)
        )
        entries = [{**row, "value": row["wins"]} for row in battles.counting.leaderboard(unit, start, end)]
        keys = [(row["wins"], row["win_rate"], row["points"]) for row in entries]
        title, measure = f"{period.label}对战", "胜场"
    else:
        earned = func.coalesce(func.sum(PointsEntry.amount), 0).label("points")
        conditions = []
        if kind == "month":
            period = month_period(month)
            conditions = [PointsEntry.day >= period.starts_on, PointsEntry.day < period.ends_on]
            title = f"{period.label}积分"
        else:
            title = "累计积分"
        rows = db.session.execute(
            select(User.id, User.name, User.username, Unit.name, earned)
            .join(Unit, Unit.id == User.unit_id)
            .join(PointsEntry, PointsEntry.user_id == User.id)
            .where(inside, active_staff(), *conditions)
            .group_by(User.id, User.name, User.username, Unit.name)
            .order_by(earned.desc(), User.username)
        ).all()
        keys = [(r.points,) for r in rows]
        entries = [
            {"user_id": r[0], "name": r[1], "username": r[2], "unit": r[3], "value": int(r.points)}
            for r in rows
        ]
        measure = "积分"
    for entry, rank in zip(entries, competition_ranks(keys), strict=True):
        entry["rank"] = rank
    mine = next((entry for entry in entries if entry["user_id"] == viewer.id), None)
    return {
        "title": title,
        "measure": measure,
        "unit": {"code": unit.code, "name": unit.name},
        "total": len(entries),
        "rows": entries[:limit],
        "me": mine,
    }
