"""Who may take part in a round, and which rounds a person sees."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, literal, select

from ...extensions import db
from ...models import Role, Round, RoundTarget, Unit, User

_OWN_UNIT = Unit.__table__.alias("own")


def eligible(unit_id, round_id):
    """SQL: whether the unit (a staff member's own) lies in one of the round's target subtrees."""
    return exists().where(
        RoundTarget.round_id == round_id,
        RoundTarget.unit_id == Unit.id,
        _OWN_UNIT.c.id == unit_id,
        _OWN_UNIT.c.path.startswith(Unit.path),
    )


def may_take_part(user: User) -> bool:
    return user.unit_id is not None and user.role != Role.ADMIN


def is_eligible(user: User, round_: Round) -> bool:
    """Whether the user's unit lies in one of the round's target subtrees (one query)."""
    return may_take_part(user) and bool(db.session.scalar(select(eligible(user.unit_id, round_.id))))


def visible_rounds(user: User, now: datetime, *, recent_days: int = 45) -> list[Round]:
    """Rounds for the user's unit: open, coming within two weeks, or closed recently."""
    if user.unit is None:
        return []
    path = literal(user.unit.path)
    stmt = (
        select(Round)
        .where(
            exists().where(
                RoundTarget.round_id == Round.id, RoundTarget.unit_id == Unit.id, path.startswith(Unit.path)
            ),
            Round.opens_at <= now + timedelta(days=14),
            Round.closes_at >= now - timedelta(days=recent_days),
        )
        .order_by(Round.closes_at.desc())
    )
    return list(db.session.scalars(stmt))
