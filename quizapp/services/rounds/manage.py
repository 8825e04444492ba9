"""Creating, changing and looking up rounds; granting a taker more time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Attempt, AttemptStatus, Round, RoundStatus, RoundTarget, User
from .. import audit
from ..errors import Conflict, DomainError, NotFound
from .papers import require_pool
from .settings import RoundSettings, validate


def create_round(settings: RoundSettings, *, actor_id: int | None) -> Round:
    units, blueprint = validate(settings)
    require_pool(blueprint, settings.kind, settings.paper_mode)
    round_ = Round(
        kind=settings.kind,
        title=settings.title.strip(),
        status=RoundStatus.SCHEDULED,
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
        time_limit_seconds=settings.time_limit_minutes * 60,
        attempts_allowed=settings.attempts_allowed,
        pass_mark=settings.pass_mark,
        show_answers=settings.show_answers,
        grace_seconds=settings.grace_seconds,
        blueprint=blueprint,
        paper_mode=settings.paper_mode,
        created_by_id=actor_id,
        targets=[RoundTarget(unit_id=unit.id) for unit in units],
    )
    db.session.add(round_)
    db.session.flush()
    audit.record(
        "round.create",
        "round",
        round_.id,
        actor_id=actor_id,
        after={"title": round_.title, "kind": settings.kind, "targets": settings.target_codes},
    )
    return round_


def update_round(round_id: int, settings: RoundSettings, *, actor_id: int | None) -> Round:
    """Change a round. Once the paper is drawn the blueprint is fixed; once someone has started, so
    are the time limit, attempts and pass mark (everyone sits the same round)."""
    round_ = get_round(round_id)
    if round_.status in (RoundStatus.CLOSED, RoundStatus.MARKING):
        raise Conflict("本轮已结束，不能修改")
    units, blueprint = validate(settings)
    started = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.round_id == round_id))
    before = {
        "title": round_.title,
        "opens_at": round_.opens_at.isoformat(),
        "closes_at": round_.closes_at.isoformat(),
    }
    if (blueprint, settings.paper_mode, settings.kind) != (round_.blueprint, round_.paper_mode, round_.kind):
        require_pool(blueprint, settings.kind, settings.paper_mode)
    if round_.paper_drawn_at and blueprint != round_.blueprint:
        raise Conflict("试卷已抽取，不能再修改试卷结构")
    if started and (
        settings.time_limit_minutes * 60 != round_.time_limit_seconds
        or settings.attempts_allowed != round_.attempts_allowed
        or settings.pass_mark != round_.pass_mark
        or settings.kind != round_.kind
        or settings.paper_mode != round_.paper_mode
    ):
        raise Conflict("已有人开始作答，不能修改类型、时限、作答次数、及格线和组卷方式")
    round_.kind, round_.title = settings.kind, settings.title.strip()
    round_.opens_at, round_.closes_at = settings.opens_at, settings.closes_at
    round_.time_limit_seconds = settings.time_limit_minutes * 60
    round_.attempts_allowed, round_.pass_mark = settings.attempts_allowed, settings.pass_mark
    round_.show_answers, round_.grace_seconds = settings.show_answers, settings.grace_seconds
    round_.blueprint, round_.paper_mode = blueprint, settings.paper_mode
    wanted = {unit.id for unit in units}
    round_.targets = [t for t in round_.targets if t.unit_id in wanted] + [
        RoundTarget(unit_id=unit_id) for unit_id in wanted - {t.unit_id for t in round_.targets}
    ]
    db.session.flush()
    audit.record(
        "round.update",
        "round",
        round_.id,
        actor_id=actor_id,
        before=before,
        after={
            "title": round_.title,
            "opens_at": round_.opens_at.isoformat(),
            "closes_at": round_.closes_at.isoformat(),
        },
    )
    return round_


def get_round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound("本轮不存在")
    return round_


def extend_attempt(
    round_id: int, username: str, minutes: int, *, actor_id: int | None, now: datetime
) -> Attempt:
    """Give one taker (by login name) more time on their running attempt at a round (an admin's
    override), even past the round's close."""
    if not 1 <= minutes <= 240:
        raise DomainError("延长时间应为 1–240 分钟")
    attempt = db.session.scalar(
        select(Attempt)
        .join(User, User.id == Attempt.user_id)
        .where(
            Attempt.round_id == round_id,
            User.username == username.strip(),
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    )
    if attempt is None:
        raise NotFound(f"“{username}”在本轮没有正在进行的答卷")
    before = attempt.deadline_at
    attempt.deadline_at = max(attempt.deadline_at, now) + timedelta(minutes=minutes)
    db.session.flush()
    audit.record(
        "attempt.extend",
        "attempt",
        attempt.id,
        actor_id=actor_id,
        before={"deadline_at": before.isoformat()},
        after={"deadline_at": attempt.deadline_at.isoformat(), "user_id": attempt.user_id},
    )
    return attempt
