"""The mistake book (错题本): every wrong answer puts the question in; spaced reviews take it out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select

from .. import clock
from ..extensions import db
from ..models import Category, ItemKind, MistakeEntry, Question, QuestionVersion, Source
from . import grading, seal
from .favourites import full_question, hidden_because, is_starred, on_open_paper
from .rules import LearningRules

ORIGIN_LABELS = {kind.value: kind.label for kind in ItemKind}


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


# ---------------------------------------------------------------------------------------------
# The book as the learner reads it


def _open_entries(user_id: int):
    """The learner's open entries whose questions are still theirs to see (not moved to the
    reserve pool, 考试专用, since they were missed), with the current version's columns joinable."""
    return (
        select()
        .select_from(MistakeEntry)
        .join(
            QuestionVersion,
            and_(QuestionVersion.question_id == MistakeEntry.question_id, QuestionVersion.is_current),
        )
        .join(Question, Question.id == MistakeEntry.question_id)
        .where(
            MistakeEntry.user_id == user_id,
            MistakeEntry.cleared_at.is_(None),
            Question.reserved.is_(False),
        )
    )


def review_day(day: date, today: date) -> str:
    """When the next review is due, as the home tile says it: 明天, 后天, 3月9日."""
    return {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days, f"{day.month}月{day.day}日")


def summary(user_id: int, *, now: datetime, rules: LearningRules) -> dict:
    """The home tile: how many questions the book holds, how many are due, and when the next review
    is (a book of fresh misses holds questions although none is due before tomorrow)."""
    total, due, next_due = db.session.execute(
        _open_entries(user_id).add_columns(
            func.count(MistakeEntry.id),
            func.count(case((MistakeEntry.due_at <= now, MistakeEntry.id))),
            func.min(case((MistakeEntry.due_at > now, MistakeEntry.due_at))),
        )
    ).one()
    today = clock.business_date(now, rules.tz)
    return {
        "total": total,
        "due": due,
        "next_review": review_day(clock.business_date(next_due, rules.tz), today) if next_due else None,
    }


def shelves(user_id: int, *, now: datetime) -> dict:
    """What the book's filters offer: its 业务类别 and source documents with their counts, and the
    totals (one grouped query)."""
    rows = db.session.execute(
        _open_entries(user_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .add_columns(
            Category.id,
            Category.name,
            Category.sort,
            Source.id,
            Source.title,
            func.count(MistakeEntry.id),
            func.count(
                case(
                    (
                        and_(MistakeEntry.due_at <= now, ~seal.is_sealed(MistakeEntry.question_id)),
                        MistakeEntry.id,
                    )
                )
            ),
        )
        .group_by(Category.id, Category.name, Category.sort, Source.id, Source.title)
    ).all()
    categories: dict[int, list] = {}
    sources: dict[int, list] = {}
    for category_id, category, sort, source_id, title, count, _ in rows:
        categories.setdefault(category_id, [sort, category, 0])[2] += count
        if source_id is not None:  # 无出处 questions count in the totals, not under a document
            sources.setdefault(source_id, [title, 0])[1] += count
    return {
        "total": sum(row[5] for row in rows),
        "due": sum(row[6] for row in rows),
        "categories": [
            {"id": cid, "name": name, "count": count}
            for cid, (_, name, count) in sorted(categories.items(), key=lambda kv: (kv[1][0], kv[0]))
        ],
        "sources": [
            {"id": sid, "title": title, "count": count}
            for sid, (title, count) in sorted(sources.items(), key=lambda kv: kv[1][0])
        ],
    }


def book(
    user_id: int, *, now: datetime, category_id: int | None = None, source_id: int | None = None
) -> list[dict]:
    """The open entries, due ones first, each with the whole question — options, the learner's last
    answer, the key, 解析 and 出处 — unless the rules hide the key now (a running contest's paper):
    one query, whatever the book's size."""
    stmt = (
        _open_entries(user_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .add_columns(
            MistakeEntry,
            QuestionVersion,
            Category.name,
            Source.title,
            seal.is_sealed(MistakeEntry.question_id).label("sealed"),
            on_open_paper(user_id, MistakeEntry.question_id).label("open_paper"),
            is_starred(user_id, MistakeEntry.question_id).label("favourite"),
        )
        .order_by(MistakeEntry.due_at, MistakeEntry.id)
    )
    if category_id:
        stmt = stmt.where(QuestionVersion.category_id == category_id)
    if source_id:
        stmt = stmt.where(QuestionVersion.source_id == source_id)
    entries = []
    for entry, version, category, source_title, sealed, open_paper, favourite in db.session.execute(stmt):
        hidden = hidden_because(False, sealed, open_paper)
        shown = full_question(version, category, source_title, hidden=hidden)
        shown |= {
            "source": source_title,
            "origin": entry.origin,
            "origin_label": ORIGIN_LABELS.get(entry.origin, entry.origin),
            "wrong_count": entry.wrong_count,
            "last_wrong_at": entry.last_wrong_at.isoformat(),
            "your_answer_text": grading.describe(version.type, version.options, entry.last_response),
            "right_streak": entry.right_streak,
            "due_at": entry.due_at.isoformat(),
            "due": entry.due_at <= now and not sealed,
            "sealed": sealed,  # on a running contest's paper: not reviewed, no key shown, until it closes
            "favourite": favourite,
        }
        entries.append(shown)
    return entries
