"""The mistake book (错题本): every wrong answer puts the question in; spaced reviews take it out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import MistakeEntry
from .rules import LearningRules


def due_from(day: date, days: int, rules: LearningRules) -> datetime:
    """Due at the start of the business day ``days`` after ``day``, so it is in that day's set."""
    return clock.day_bounds(day + timedelta(days=days), rules.tz)[0]


def _gap(entry: MistakeEntry, rules: LearningRules) -> int:
    return rules.review_days[min(entry.reviews_right, len(rules.review_days) - 1)]


def record(
    user_id: int,
    question_id: int,
    *,
    correct: bool,
    response,
    review: bool,
    origin: str,
    now: datetime,
    rules: LearningRules,
) -> MistakeEntry | None:
    """Apply one answer to the learner's mistake book.

    - A wrong answer anywhere adds the question (or reopens it) and resets its run of right answers.
    - A right answer counts only in review (a due item in the daily set, or review mode): the run
      grows, and at ``clear_streak`` (default 2) in a row the question leaves the book.
    - The next review is due ``review_days[k]`` business days later (default 1, 3, 7), where k is the
      number of right reviews since the question (re)entered the book: the gaps widen as the
      learner shows they know it, and a wrong answer never widens them.
    """
    today = clock.business_date(now, rules.tz)
    entry = db.session.scalar(
        select(MistakeEntry).where(MistakeEntry.user_id == user_id, MistakeEntry.question_id == question_id)
    )
    if not correct:
        if entry is None:
            entry = MistakeEntry(
                user_id=user_id,
                question_id=question_id,
                origin=origin,
                wrong_count=0,
                right_streak=0,
                reviews_right=0,
                added_at=now,
            )
            db.session.add(entry)
        elif entry.cleared_at is not None:
            entry.cleared_at = None
            entry.reviews_right = 0
            entry.added_at = now
        entry.wrong_count += 1
        entry.last_wrong_at = now
        entry.last_response = response
        entry.right_streak = 0
        if review:
            entry.last_reviewed_at = now
        entry.due_at = due_from(today, _gap(entry, rules), rules)
    elif entry is not None and entry.cleared_at is None and review:
        entry.right_streak += 1
        entry.reviews_right += 1
        entry.last_reviewed_at = now
        if entry.right_streak >= rules.clear_streak:
            entry.cleared_at = now
        else:
            entry.due_at = due_from(today, _gap(entry, rules), rules)
    db.session.flush()
    return entry


def is_due(user_id: int, question_id: int, now: datetime) -> bool:
    return (
        db.session.scalar(
            select(MistakeEntry.id).where(
                MistakeEntry.user_id == user_id,
                MistakeEntry.question_id == question_id,
                MistakeEntry.cleared_at.is_(None),
                MistakeEntry.due_at <= now,
            )
        )
        is not None
    )
