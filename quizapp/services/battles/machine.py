"""The machine opponent (人机对战): as hard as the question pool really is.

For each question the machine answers right with the question's **facility** — the share of right
answers it has had in 日日学, practice and rounds — estimated with a prior so that a new question is
not judged on two answers: ``(right + K × prior) / (answered + K)``, the prior by difficulty
(PRIOR: easy 0.75, medium 0.6, hard 0.45, about what the shipped bank shows), K = 5 answers' worth.
A question nobody has answered yet is its difficulty's prior. The machine answers after a human-like
delay: the time to read the question (about 8 characters a second) plus a think time drawn from a
log-normal (median 3 s), never past the limit. The plan is drawn once, when the battle starts, and
stored with it: the machine's answers show at their moments like anyone's.
"""

from __future__ import annotations

import math
import random

from sqlalchemy import case, func, select, union_all

from ...extensions import db
from ...models import Attempt, AttemptAnswer, LearningItem, QuestionVersion

PRIOR = {1: 0.75, 2: 0.6, 3: 0.45}
K = 5
READING_PER_SECOND = 8
THINK_MEDIAN = 3.0
THINK_SIGMA = 0.45


def facility(question_ids: list[int]) -> dict[int, tuple[int, int]]:
    """question → (answered, right) over learning answers and graded round answers."""
    learning = select(
        LearningItem.question_id.label("question_id"),
        case((LearningItem.correct.is_(True), 1), else_=0).label("right"),
    ).where(LearningItem.question_id.in_(question_ids), LearningItem.answered_at.is_not(None))
    rounds = (
        select(
            AttemptAnswer.question_id.label("question_id"),
            case((AttemptAnswer.correct.is_(True), 1), else_=0).label("right"),
        )
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(AttemptAnswer.question_id.in_(question_ids), Attempt.graded_at.is_not(None))
    )
    both = union_all(learning, rounds).subquery()
    rows = db.session.execute(
        select(both.c.question_id, func.count(), func.sum(both.c.right)).group_by(both.c.question_id)
    ).all()
    return {question_id: (answered, int(right or 0)) for question_id, answered, right in rows}


def estimated(answered: int, right: int, difficulty: int) -> float:
    prior = PRIOR.get(difficulty, 0.6)
    return (right + K * prior) / (answered + K)


def plan(versions: list[QuestionVersion], limit: int, rng: random.Random) -> list[dict]:
    """Per question: {"correct": bool, "seconds": float, "facility": float}."""
    seen = facility([version.question_id for version in versions])
    steps = []
    for version in versions:
        rate = estimated(*seen.get(version.question_id, (0, 0)), version.difficulty)
        think = math.exp(rng.gauss(math.log(THINK_MEDIAN), THINK_SIGMA))
        seconds = min(limit - 0.5, 1.0 + version.reading_chars / READING_PER_SECOND + think)
        steps.append(
            {"correct": rng.random() < rate, "seconds": round(seconds, 2), "facility": round(rate, 3)}
        )
    return steps
