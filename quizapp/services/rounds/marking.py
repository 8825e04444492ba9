"""Marking finished attempts and ranking a round's counted ones, set-based."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Numeric, cast, func, or_, select, update

from ...extensions import db
from ...models import Attempt, AttemptAnswer, AttemptStatus, PaperQuestion, Round


def grade_attempts(*conditions, now: datetime) -> int:
    """Grade finished, ungraded attempts in one statement: score = the sum of the answers' scores
    (each scored when it was saved), percent over the paper's question count. The answers are
    summed in one grouped pass (a 50,000-taker close reads 2.5 million answers once, not once per
    attempt and figure)."""
    totals = (
        select(
            Attempt.id,
            func.coalesce(func.sum(AttemptAnswer.score), 0.0).label("score"),
            func.count(AttemptAnswer.id).filter(AttemptAnswer.correct.is_(True)).label("right"),
        )
        .join(Round, Round.id == Attempt.round_id)
        .outerjoin(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
        .where(Attempt.status != AttemptStatus.IN_PROGRESS, Attempt.graded_at.is_(None), *conditions)
        .group_by(Attempt.id)
        .subquery()
    )
    questions = (  # on the attempt's paper: the round's shared one, or its own
        select(func.count(PaperQuestion.id))
        .where(
            PaperQuestion.round_id == Attempt.round_id,
            or_(PaperQuestion.attempt_id.is_(None), PaperQuestion.attempt_id == Attempt.id),
        )
        .scalar_subquery()
    )
    return db.session.execute(
        update(Attempt)
        .where(Attempt.id == totals.c.id)
        .values(
            score=totals.c.score,
            correct_count=totals.c.right,
            percent=func.round(cast(100.0 * totals.c.score / func.nullif(questions, 0), Numeric), 2),
            graded_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def rank_round(round_id: int) -> None:
    """Mark each person's counted attempt and rank the counted ones, set-based (window functions).
    An attempt held for review (or voided) counts for nothing: a person's best standing one counts.

    Order: percent desc, time used asc, submitted earlier first; equal on all three share a rank
    (1, 2, 2, 4). Two statements: clear what an earlier ranking set (nothing, at a first close),
    then one UPDATE marks the best attempt of each person with both of its ranks."""
    order = (Attempt.percent.desc(), Attempt.time_used_seconds.asc(), Attempt.submitted_at.asc())
    db.session.execute(
        update(Attempt)
        .where(
            Attempt.round_id == round_id,
            or_(
                Attempt.counted.is_(True),
                Attempt.rank_in_round.is_not(None),
                Attempt.rank_in_unit.is_not(None),
            ),
        )
        .values(counted=False, rank_in_round=None, rank_in_unit=None)
        .execution_options(synchronize_session=False)
    )
    numbered = (
        select(
            Attempt.id,
            Attempt.unit_id,
            Attempt.percent,
            Attempt.time_used_seconds,
            Attempt.submitted_at,
            func.row_number()
            .over(partition_by=Attempt.user_id, order_by=(*order, Attempt.id.asc()))
            .label("n"),
        )
        .where(Attempt.round_id == round_id, Attempt.graded_at.is_not(None), Attempt.held.is_(False))
        .subquery()
    )
    best_order = (
        numbered.c.percent.desc(),
        numbered.c.time_used_seconds.asc(),
        numbered.c.submitted_at.asc(),
    )
    ranks = (
        select(
            numbered.c.id,
            func.rank().over(order_by=best_order).label("in_round"),
            func.rank().over(partition_by=numbered.c.unit_id, order_by=best_order).label("in_unit"),
        )
        .where(numbered.c.n == 1)
        .subquery()
    )
    db.session.execute(
        update(Attempt)
        .where(Attempt.id == ranks.c.id)
        .values(counted=True, rank_in_round=ranks.c.in_round, rank_in_unit=ranks.c.in_unit)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
