"""选拔: the strongest staff over a period for the provincial contest, filtered by job section, age band,
level and gender — the contestant list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from .. import clock
from ..extensions import db
from ..models import Attempt, Role, Round, RoundStatus, Unit, User
from . import points
from .errors import NotFound
from .org import active_staff, in_subtree, visible_units, visible_users

AGE_BANDS = {"30岁以下": (0, 30), "31-40岁": (31, 40), "41-50岁": (41, 50), "51岁以上": (51, 200)}


@dataclass
class Criteria:
    starts_on: date
    ends_on: date  # exclusive
    job_section: str | None = None
    age_band: str | None = None
    level: str | None = None
    gender: str | None = None
    unit_code: str | None = None
    top: int = 20


def select_staff(viewer: User, criteria: Criteria, *, tz) -> list[dict]:
    """Ranked by the average score of their counted attempts in rounds closed in the period, then by
    the points they earned in it; only people the viewer may see, matching every filter.

    A contestant is a staff member (学员) who took part in the period — a counted round or points
    earned: someone who never took part has nothing to be selected on, and unit admins, who run the
    campaign, are not its contestants."""
    start_utc, end_utc = (
        clock.day_bounds(criteria.starts_on, tz)[0],
        clock.day_bounds(criteria.ends_on, tz)[0],
    )
    scores = (
        select(
            Attempt.user_id, func.avg(Attempt.percent).label("avg"), func.count(Attempt.id).label("rounds")
        )
        .join(Round, Round.id == Attempt.round_id)
        .where(
            Attempt.counted.is_(True),
            Round.status == RoundStatus.CLOSED,
            Round.closes_at >= start_utc,
            Round.closes_at < end_utc,
        )
        .group_by(Attempt.user_id)
        .subquery()
    )
    earned = points.earned_between(criteria.starts_on, criteria.ends_on)
    stmt = (
        visible_users(viewer)
        .add_columns(
            Unit.name,
            func.coalesce(scores.c.avg, 0.0),
            func.coalesce(scores.c.rounds, 0),
            func.coalesce(earned.c.points, 0),
        )
        .outerjoin(scores, scores.c.user_id == User.id)
        .outerjoin(earned, earned.c.user_id == User.id)
        .where(
            active_staff(),
            User.role == Role.STAFF,
            or_(scores.c.rounds > 0, earned.c.points > 0),
        )
    )
    if criteria.unit_code:
        # Named like every other scoped lookup: a unit outside the viewer's subtree is "not found".
        unit = db.session.scalar(visible_units(viewer).where(Unit.code == criteria.unit_code))
        if unit is None:
            raise NotFound(f"单位“{criteria.unit_code}”不存在")
        stmt = stmt.where(in_subtree(unit))
    for field in ("job_section", "level", "gender"):
        if value := getattr(criteria, field):
            stmt = stmt.where(getattr(User, field) == value)
    if criteria.age_band in AGE_BANDS:
        low, high = AGE_BANDS[criteria.age_band]
        year = criteria.ends_on.year
        stmt = stmt.where(User.birth_year.between(year - high, year - low))
    rows = db.session.execute(
        stmt.order_by(
            func.coalesce(scores.c.avg, 0.0).desc(), func.coalesce(earned.c.points, 0).desc(), User.username
        ).limit(criteria.top)
    ).all()
    return [
        {
            "rank": index,
            "username": user.username,
            "name": user.name,
            "unit": unit_name,
            "job_section": user.job_section,
            "level": user.level,
            "gender": user.gender,
            "age": criteria.ends_on.year - user.birth_year if user.birth_year else None,
            "phone": user.phone,
            "avg_score": round(float(avg), 1),
            "rounds": rounds,
            "points": int(earned_points),
        }
        for index, (user, unit_name, avg, rounds, earned_points) in enumerate(rows, 1)
    ]
