"""学习记录: streaks, daily stars, finished days and accuracy by category and ability."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..models import (
    Ability,
    Category,
    DailySet,
    LearningItem,
    QuestionVersion,
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


def accuracy(user_id: int) -> dict[str, list[dict]]:
    """Answers and right answers by category and by ability, over every learning answer."""
    right = func.sum(case((LearningItem.correct.is_(True), 1), else_=0))
    result = {}
    for key, model, column in (
        ("category", Category, QuestionVersion.category_id),
        ("ability", Ability, QuestionVersion.ability_id),
    ):
        rows = db.session.execute(
            select(model.name, func.count(LearningItem.id), right)
            .select_from(model)
            .outerjoin(QuestionVersion, column == model.id)
            .outerjoin(
                LearningItem,
                and_(
                    LearningItem.question_version_id == QuestionVersion.id,
                    LearningItem.user_id == user_id,
                    LearningItem.answered_at.is_not(None),
                ),
            )
            .group_by(model.id, model.name, model.sort)
            .order_by(model.sort)
        ).all()
        result[key] = [
            {
                "name": name,
                "answered": answered,
                "correct": int(correct or 0),
                "rate": round((correct or 0) / answered, 3) if answered else None,
            }
            for name, answered, correct in rows
        ]
    return result
