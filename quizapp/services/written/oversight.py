"""The admin's view of marking: progress, marker quality, re-assignment."""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select, update

from ...extensions import db
from ...models import (
    Attempt,
    AttemptAnswer,
    MarkingTask,
    RoundMarker,
    RoundStatus,
    Unit,
    User,
)
from .. import audit
from ..errors import Conflict, NotFound
from .tasks import eligible, get_round, written_answers


def progress(round_id: int) -> dict:
    """How far marking has got: written answers settled of all, tasks marked of all, answers
    waiting for a third marker, tasks waiting for a marker."""
    answers = written_answers(round_id).subquery()
    settled, total = db.session.execute(
        select(
            func.count().filter(AttemptAnswer.mark_final.is_not(None)),
            func.count(),
        ).where(AttemptAnswer.id.in_(select(answers.c.id)))
    ).one()
    marked, tasks, thirds, unassigned = db.session.execute(
        select(
            func.count().filter(MarkingTask.marked_at.is_not(None)),
            func.count(),
            func.count().filter(MarkingTask.seq == 3, MarkingTask.marked_at.is_(None)),
            func.count().filter(MarkingTask.marker_id.is_(None)),
        ).where(MarkingTask.round_id == round_id)
    ).one()
    return {
        "answers": total,
        "settled": settled,
        "tasks": tasks,
        "marked": marked,
        "third_waiting": thirds,
        "unassigned": unassigned,
        "percent": round(100 * settled / total, 1) if total else 100.0,
        "complete": settled == total,
    }


def complete(round_id: int) -> bool:
    return not db.session.scalar(
        select(
            exists().where(
                AttemptAnswer.id.in_(written_answers(round_id)), AttemptAnswer.mark_final.is_(None)
            )
        )
    )


def quality(round_id: int) -> list[dict]:
    """Per marker: answers marked, still to mark, the mean gap to the co-marker (first and second
    marks, both given), and the share of their answers that went to a third marker."""
    mine, other = MarkingTask.__table__.alias("mine"), MarkingTask.__table__.alias("other")
    third = MarkingTask.__table__.alias("third")
    gaps = (
        select(
            mine.c.marker_id,
            func.avg(func.abs(mine.c.total - other.c.total)).label("gap"),
            func.count().label("paired"),
            func.count(third.c.id).label("thirds"),
        )
        .join(
            other,
            and_(
                other.c.attempt_answer_id == mine.c.attempt_answer_id,
                other.c.seq == 3 - mine.c.seq,
                other.c.marked_at.is_not(None),
            ),
        )
        .outerjoin(third, and_(third.c.attempt_answer_id == mine.c.attempt_answer_id, third.c.seq == 3))
        .where(mine.c.round_id == round_id, mine.c.seq.in_([1, 2]), mine.c.marked_at.is_not(None))
        .group_by(mine.c.marker_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            User.id,
            User.name,
            User.username,
            Unit.name.label("unit"),
            func.count(MarkingTask.id).filter(MarkingTask.marked_at.is_not(None)).label("marked"),
            func.count(MarkingTask.id).filter(MarkingTask.marked_at.is_(None)).label("left"),
            gaps.c.gap,
            gaps.c.paired,
            gaps.c.thirds,
        )
        .select_from(RoundMarker)
        .join(User, User.id == RoundMarker.user_id)
        .join(Unit, Unit.id == User.unit_id)
        .outerjoin(MarkingTask, and_(MarkingTask.round_id == round_id, MarkingTask.marker_id == User.id))
        .outerjoin(gaps, gaps.c.marker_id == User.id)
        .where(RoundMarker.round_id == round_id)
        .group_by(User.id, User.name, User.username, Unit.name, gaps.c.gap, gaps.c.paired, gaps.c.thirds)
        .order_by(User.username)
    ).all()
    return [
        {
            "user_id": r.id,
            "name": r.name,
            "username": r.username,
            "unit": r.unit,
            "marked": r.marked,
            "left": r.left,
            "mean_gap": round(r.gap, 2) if r.gap is not None else None,
            "third_share": round(r.thirds / r.paired, 3) if r.paired else None,
        }
        for r in rows
    ]


def reassign(round_id: int, from_id: int, to_id: int, *, actor_id: int | None) -> dict:
    """Move a marker's remaining answers to another marker of the round, where the other may mark
    them (not their own unit's or answer, not an answer they mark already). Returns moved and kept."""
    round_ = get_round(round_id)
    if round_.status != RoundStatus.MARKING:
        raise Conflict("本轮不在评阅中")
    target = db.session.execute(
        select(RoundMarker.user_id, RoundMarker.own_unit_ok, Unit.path)
        .join(User, User.id == RoundMarker.user_id)
        .join(Unit, Unit.id == User.unit_id)
        .where(RoundMarker.round_id == round_id, RoundMarker.user_id == to_id)
    ).first()
    if target is None or from_id == to_id:
        raise NotFound("请选择本轮的另一位阅卷人")
    open_tasks = db.session.execute(
        select(MarkingTask.id, MarkingTask.attempt_answer_id, Attempt.user_id, Unit.path)
        .join(AttemptAnswer, AttemptAnswer.id == MarkingTask.attempt_answer_id)
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(Unit, Unit.id == Attempt.unit_id)
        .where(
            MarkingTask.round_id == round_id,
            MarkingTask.marker_id == from_id,
            MarkingTask.marked_at.is_(None),
        )
    ).all()
    taken = set(
        db.session.scalars(
            select(MarkingTask.attempt_answer_id).where(
                MarkingTask.round_id == round_id, MarkingTask.marker_id == to_id
            )
        )
    )
    movable = [t.id for t in open_tasks if t.attempt_answer_id not in taken and eligible(target, t)]
    if movable:
        db.session.execute(
            update(MarkingTask)
            .where(MarkingTask.id.in_(movable))
            .values(marker_id=to_id)
            .execution_options(synchronize_session=False)
        )
    outcome = {"moved": len(movable), "kept": len(open_tasks) - len(movable)}
    audit.record(
        "marking.reassign",
        "round",
        round_id,
        actor_id=actor_id,
        after={"from": from_id, "to": to_id, **outcome},
    )
    return outcome
