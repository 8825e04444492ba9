"""学习记录: streaks, daily stars, finished days and accuracy by category and ability."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union_all
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import (
    WRITTEN_TYPES,
    Ability,
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Category,
    DailySet,
    LearningItem,
    PaperMode,
    PaperQuestion,
    QuestionVersion,
    Round,
    RoundStatus,
    ShowAnswers,
)


def streak(user_id: int, today: date) -> int:
    """连续学习: consecutive days with a finished set, up to today (or yesterday, while today is open)."""
    days = db.session.scalars(
        select(DailySet.day)
        .where(DailySet.user_id == user_id, DailySet.counts(), DailySet.day <= today)
        .order_by(DailySet.day.desc())
        .limit(3660)
    ).all()
    expected = today if days and days[0] == today else today - timedelta(days=1)
    count = 0
    for day in days:
        if day != expected:
            break
        count += 1
        expected -= timedelta(days=1)
    return count


def stars_between(user_id: int, start: date, end: date) -> int:
    return db.session.scalar(
        select(func.count(DailySet.id)).where(
            DailySet.user_id == user_id,
            DailySet.day >= start,
            DailySet.day < end,
            DailySet.counts(),
            DailySet.correct_count == DailySet.size,
        )
    )


def finished_days(user_id: int, start: date, end: date) -> dict[date, bool]:
    """Finished days in [start, end) → whether the day earned a star."""
    rows = db.session.execute(
        select(DailySet.day, DailySet.correct_count == DailySet.size).where(
            DailySet.user_id == user_id,
            DailySet.day >= start,
            DailySet.day < end,
            DailySet.counts(),
        )
    ).all()
    return {day: bool(star) for day, star in rows}


def results_shown() -> ColumnElement[bool]:
    """A condition on ``Attempt`` joined to its ``Round``: the taker may see the attempt's results —
    ``rounds.views.results_visible`` in SQL (closed; or answers after each attempt, once no further
    attempt could use them — never while written answers are being marked, nor on a paper with
    written questions before the close). The two change together."""
    other = aliased(Attempt)
    finished = (
        select(func.count(other.id))
        .where(
            other.round_id == Attempt.round_id,
            other.user_id == Attempt.user_id,
            other.status != AttemptStatus.IN_PROGRESS,
        )
        .scalar_subquery()
    )
    written_on_paper = (
        select(PaperQuestion.id)
        .join(QuestionVersion, QuestionVersion.id == PaperQuestion.question_version_id)
        .where(
            PaperQuestion.round_id == Attempt.round_id,
            or_(PaperQuestion.attempt_id.is_(None), PaperQuestion.attempt_id == Attempt.id),
            QuestionVersion.type.in_(WRITTEN_TYPES),
        )
        .exists()
    )
    return or_(
        Round.status == RoundStatus.CLOSED,
        and_(
            Round.status != RoundStatus.MARKING,
            Round.show_answers == ShowAnswers.AFTER_ATTEMPT,
            Attempt.graded_at.is_not(None),
            or_(
                Round.paper_mode == PaperMode.DRAWN,
                Attempt.max_attempts == 1,
                finished >= Attempt.max_attempts,
            ),
            ~written_on_paper,
        ),
    )


def round_answer_counts() -> ColumnElement[bool]:
    """A condition on ``AttemptAnswer`` joined to its ``Attempt`` and ``QuestionVersion``: the answer
    counts towards accuracy — its attempt graded and not held for review (or voided), and a written
    answer (简答, 情景应答) only once its marking is final. Its ``score`` is the fraction right."""
    return and_(
        Attempt.graded_at.is_not(None),
        Attempt.held.is_(False),
        or_(QuestionVersion.type.not_in(WRITTEN_TYPES), AttemptAnswer.mark_final.is_not(None)),
    )


def _answers(user_id: int):
    """Every answer of the learner's that counts for accuracy: (question version, fraction right).
    Learning answers (日日学, practice, review) count by ``correct``; a written one there is the
    learner's own self-marking, so it does not count. Round answers count by their score (a half-
    right multiple choice is 0.5, a marked written answer its mark over the rubric's total) once the
    taker may see the results."""
    learning = (
        select(
            LearningItem.question_version_id.label("version_id"),
            case((LearningItem.correct.is_(True), 1.0), else_=0.0).label("right"),
        )
        .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
        .where(
            LearningItem.user_id == user_id,
            LearningItem.answered_at.is_not(None),
            QuestionVersion.type.not_in(WRITTEN_TYPES),
        )
    )
    in_rounds = (
        select(
            AttemptAnswer.question_version_id.label("version_id"),
            AttemptAnswer.score.label("right"),
        )
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(Round, Round.id == Attempt.round_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
        .where(Attempt.user_id == user_id, round_answer_counts(), results_shown())
    )
    return union_all(learning, in_rounds).subquery("answers")


def accuracy(user_id: int) -> dict[str, list[dict]]:
    """Answers and right answers by category and by ability, over every learning answer and every
    round answer whose results are out (one query each). ``correct`` is the sum of the fractions
    right: a half-right round answer adds 0.5."""
    answers = _answers(user_id)
    right = func.sum(answers.c.right)
    result = {}
    for key, model, column in (
        ("category", Category, QuestionVersion.category_id),
        ("ability", Ability, QuestionVersion.ability_id),
    ):
        rows = db.session.execute(
            select(model.name, func.count(answers.c.version_id), right)
            .select_from(model)
            .outerjoin(QuestionVersion, column == model.id)
            .outerjoin(answers, answers.c.version_id == QuestionVersion.id)
            .group_by(model.id, model.name, model.sort)
            .order_by(model.sort)
        ).all()
        result[key] = [
            {
                "name": name,
                "answered": answered,
                "correct": _figure(correct),
                "rate": round((correct or 0) / answered, 3) if answered else None,
            }
            for name, answered, correct in rows
        ]
    return result


def _figure(value) -> int | float:
    """A sum of fractions as shown: 7 for 7.0, 7.5 for 7.5 (to two places)."""
    value = round(float(value or 0), 2)
    return int(value) if value.is_integer() else value
