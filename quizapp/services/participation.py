"""A unit's people and what each did in a period: the list a unit admin chases non-participants
with, where the drill-down through the unit rankings ends (a window has no child units to rank).

Who took part is counted exactly as the rankings count it (DESIGN §3 Rankings): a finished 日日学
day or a submitted attempt in the period — for a round, a counted attempt in it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..models import Attempt, AttemptStatus, DailySet, PointsEntry, Unit, User
from .org import active_staff, visible_units
from .periods import Period


def may_see_people(viewer: User, unit: Unit) -> bool:
    """Names and figures of a unit's people are for whoever manages the unit (THE scope rule:
    admins, and unit admins of an ancestor or the unit itself); staff see the unit's totals only."""
    return (
        db.session.scalar(visible_units(viewer).where(Unit.id == unit.id).with_only_columns(Unit.id))
        is not None
    )


def unit_people(unit: Unit, period: Period, *, tz) -> list[dict]:
    """The unit's own people (its headcount: active staff and unit admins) with, over the period,
    days of 日日学 finished, rounds taken, points earned and the last day they took part — those who
    did not take part first (the list to chase), then by points. One query."""
    start_utc, end_utc = clock.day_bounds(period.starts_on, tz)[0], clock.day_bounds(period.ends_on, tz)[0]
    daily = (
        select(DailySet.user_id, func.count(DailySet.id).label("days"), func.max(DailySet.day).label("last"))
        .where(DailySet.day >= period.starts_on, DailySet.day < period.ends_on, DailySet.counts())
        .group_by(DailySet.user_id)
        .subquery()
    )
    attempt_filter = [Attempt.held.is_(False)]
    if period.round_id is not None:
        attempt_filter += [
            Attempt.round_id == period.round_id,
            Attempt.status != AttemptStatus.IN_PROGRESS,
            Attempt.counted.is_(True),
        ]
    else:
        attempt_filter += [Attempt.submitted_at >= start_utc, Attempt.submitted_at < end_utc]
    attempts = (
        select(
            Attempt.user_id,
            func.count(Attempt.id).label("rounds"),
            func.max(Attempt.submitted_at).label("last"),
        )
        .where(*attempt_filter)
        .group_by(Attempt.user_id)
        .subquery()
    )
    earned = (
        select(PointsEntry.user_id, func.sum(PointsEntry.amount).label("points"))
        .where(PointsEntry.day >= period.starts_on, PointsEntry.day < period.ends_on)
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            User.id,
            User.username,
            User.name,
            User.role,
            func.coalesce(daily.c.days, 0),
            daily.c.last,
            func.coalesce(attempts.c.rounds, 0),
            attempts.c.last,
            func.coalesce(earned.c.points, 0),
        )
        .outerjoin(daily, daily.c.user_id == User.id)
        .outerjoin(attempts, attempts.c.user_id == User.id)
        .outerjoin(earned, earned.c.user_id == User.id)
        .where(User.unit_id == unit.id, active_staff())
    ).all()
    people = []
    for user_id, username, name, role, days, last_day, rounds, last_attempt, points in rows:
        last: date | None = last_day
        if last_attempt is not None:
            attempt_day = clock.business_date(last_attempt, tz)
            last = attempt_day if last is None or attempt_day > last else last
        took_part = rounds > 0 if period.round_id is not None else (days > 0 or rounds > 0)
        people.append(
            {
                "user_id": user_id,
                "username": username,
                "name": name,
                "role": str(role),
                "days": int(days),
                "rounds": int(rounds),
                "points": int(points),
                "last": last,
                "took_part": took_part,
            }
        )
    people.sort(key=lambda p: (p["took_part"], -p["points"], p["username"]))
    return people
