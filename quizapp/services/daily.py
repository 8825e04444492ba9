"""日日学 and its companions: the daily set, practice (专项练习), mistake review, answers and history.

Every question a learner is shown outside rounds is a ``LearningItem``; its one answer is graded on
the server, feeds the mistake book and may earn points.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..database import lock_user
from ..extensions import db
from ..models import (
    Ability,
    Category,
    DailySet,
    DrawReason,
    ItemKind,
    LearningItem,
    MistakeEntry,
    Question,
    QuestionStatus,
    QuestionVersion,
    Source,
)
from . import grading, mistakes, points, seal
from .errors import Conflict, NotFound
from .rules import LearningRules

PRACTICE_FILTERS = ("category", "type", "ability", "difficulty")
ORIGIN_LABELS = {kind.value: kind.label for kind in ItemKind}


@dataclass
class Filters:
    """Practice filters; ``None`` means any."""

    category_id: int | None = None
    type: str | None = None
    ability_id: int | None = None
    difficulty: int | None = None

    def conditions(self) -> list:
        conditions = []
        if self.category_id:
            conditions.append(QuestionVersion.category_id == self.category_id)
        if self.type:
            conditions.append(QuestionVersion.type == self.type)
        if self.ability_id:
            conditions.append(QuestionVersion.ability_id == self.ability_id)
        if self.difficulty:
            conditions.append(QuestionVersion.difficulty == self.difficulty)
        return conditions


@dataclass
class Drawn:
    version_id: int
    question_id: int
    reason: DrawReason


@dataclass
class AnswerOutcome:
    item: LearningItem
    feedback: dict
    first: bool  # False when the item had been answered already (the first answer stands)
    points_awarded: int = 0
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Drawing questions


def _seed(user_id: int, day: date, salt: str = "") -> int:
    digest = hashlib.sha256(f"{user_id}:{day.isoformat()}:{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 65521


def _shuffle_key(seed: int):
    """A per-(user, day) pseudo-random order that SQL can compute on both backends."""
    return (QuestionVersion.question_id * 40503 + seed) % 65521


def _available(filters: Filters | None = None):
    """Current versions of active questions that no running contest has sealed."""
    stmt = (
        select(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.category_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(
            QuestionVersion.is_current,
            Question.status == QuestionStatus.ACTIVE,
            seal.not_sealed(QuestionVersion.question_id),
        )
    )
    return stmt.where(*(filters.conditions() if filters else []))


def _seen_by(user_id: int):
    return exists().where(
        LearningItem.user_id == user_id, LearningItem.question_id == QuestionVersion.question_id
    )


def draw(
    user_id: int,
    need: int,
    *,
    now: datetime,
    rules: LearningRules,
    filters: Filters | None = None,
    mistakes_first: int = 0,
    salt: str = "",
) -> list[Drawn]:
    """Pick ``need`` questions for a learner, in DESIGN §3 order:

    1. up to ``mistakes_first`` due mistake-book questions, the longest overdue first;
    2. questions the learner has never been shown, rotating through the categories (the starting
       category moves on each day), in a per-(learner, day) shuffled order;
    3. the questions the learner saw least recently.
    Three queries whatever the bank's size.
    """
    today = clock.business_date(now, rules.tz)
    seed = _seed(user_id, today, salt)
    picked: list[Drawn] = []
    if mistakes_first:
        due = db.session.execute(
            _available(filters)
            .join(
                MistakeEntry,
                and_(
                    MistakeEntry.question_id == QuestionVersion.question_id, MistakeEntry.user_id == user_id
                ),
            )
            .where(MistakeEntry.cleared_at.is_(None), MistakeEntry.due_at <= now)
            .order_by(MistakeEntry.due_at, MistakeEntry.id)
            .limit(min(mistakes_first, need))
        ).all()
        picked += [Drawn(row.id, row.question_id, DrawReason.MISTAKE) for row in due]

    if len(picked) < need:
        taken = [drawn.question_id for drawn in picked]
        ranked = (
            _available(filters)
            .where(~_seen_by(user_id), QuestionVersion.question_id.not_in(taken))
            .add_columns(
                func.row_number()
                .over(
                    partition_by=QuestionVersion.category_id,
                    order_by=(_shuffle_key(seed), QuestionVersion.question_id),
                )
                .label("rank")
            )
            .subquery()
        )
        rows = db.session.execute(select(ranked).where(ranked.c.rank <= need - len(picked))).all()
        categories = sorted({row.category_id for row in rows})
        offset = today.toordinal() % len(categories) if categories else 0
        rotation = {cid: (i - offset) % len(categories) for i, cid in enumerate(categories)}
        rows.sort(key=lambda row: (row.rank, rotation[row.category_id]))
        picked += [Drawn(row.id, row.question_id, DrawReason.NEW) for row in rows[: need - len(picked)]]

    if len(picked) < need:
        taken = [drawn.question_id for drawn in picked]
        last_seen = func.max(LearningItem.served_at)
        rows = db.session.execute(
            _available(filters)
            .join(
                LearningItem,
                and_(
                    LearningItem.user_id == user_id, LearningItem.question_id == QuestionVersion.question_id
                ),
            )
            .where(QuestionVersion.question_id.not_in(taken))
            .group_by(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.category_id)
            .order_by(last_seen, _shuffle_key(seed), QuestionVersion.question_id)
            .limit(need - len(picked))
        ).all()
        picked += [Drawn(row.id, row.question_id, DrawReason.REPEAT) for row in rows]
    return picked


# ---------------------------------------------------------------------------------------------
# The daily set


def todays_set(user_id: int, *, now: datetime, rules: LearningRules) -> DailySet:
    """Today's set for the learner, drawn on first sight and fixed for the rest of the day.

    Two first requests at once (two tabs, two devices) race on the unique (user, day): the loser
    drops its draw and reads the winner's.
    """
    today = clock.business_date(now, rules.tz)
    existing = db.session.scalar(select(DailySet).where(DailySet.user_id == user_id, DailySet.day == today))
    if existing is not None:
        return existing
    drawn = draw(user_id, rules.daily_size, now=now, rules=rules, mistakes_first=rules.daily_max_mistakes)
    if not drawn:
        raise NotFound("题库中暂无可用题目，请联系管理员导入题库")
    try:
        with db.session.begin_nested():
            daily_set = DailySet(
                user_id=user_id, day=today, size=len(drawn), answered_count=0, correct_count=0, created_at=now
            )
            db.session.add(daily_set)
            db.session.flush()
            db.session.execute(
                insert(LearningItem),
                [
                    {
                        "user_id": user_id,
                        "kind": ItemKind.DAILY,
                        "daily_set_id": daily_set.id,
                        "position": position,
                        "reason": pick.reason,
                        "question_id": pick.question_id,
                        "question_version_id": pick.version_id,
                        "day": today,
                        "served_at": now,
                    }
                    for position, pick in enumerate(drawn, 1)
                ],
            )
    except IntegrityError:
        return db.session.scalar(select(DailySet).where(DailySet.user_id == user_id, DailySet.day == today))
    return daily_set


def _item_rows(*conditions):
    """Items with their versions, source titles, category names and sealed flags: one query."""
    return db.session.execute(
        select(
            LearningItem,
            QuestionVersion,
            Source.title,
            Category.name,
            seal.is_sealed(LearningItem.question_id).label("sealed"),
        )
        .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
        .join(Source, Source.id == QuestionVersion.source_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .where(*conditions)
        .order_by(LearningItem.position, LearningItem.id)
    ).all()


def item_view(
    item: LearningItem, version: QuestionVersion, source_title: str, category: str, sealed: bool
) -> dict:
    """An item as the API shows it: the feedback only once it has been answered, and never while a
    running contest has the question sealed."""
    view = {
        "item_id": item.id,
        "position": item.position,
        "reason": str(item.reason) if item.reason else None,
        "question": grading.public_question(version, category=category),
        "answered": item.answered_at is not None,
    }
    if item.answered_at is not None:
        view["feedback"] = _feedback(item, version, source_title, sealed)
    return view


def _feedback(item: LearningItem, version: QuestionVersion, source_title: str, sealed: bool) -> dict:
    if sealed:
        return seal.withheld_feedback()
    return grading.feedback(version, item.response, item.score, item.correct, source_title)


def _swap_sealed(daily_set: DailySet, rows, *, now: datetime, rules: LearningRules) -> bool:
    """Replace the set's unanswered questions that a contest opened since the draw has sealed (the
    one exception to a fixed daily set). True if anything changed."""
    sealed = [row[0] for row in rows if row.sealed and row[0].answered_at is None]
    if not sealed:
        return False
    keep = [row[0].question_id for row in rows if row[0] not in sealed]
    fresh = draw(
        daily_set.user_id, len(sealed) + len(keep), now=now, rules=rules, salt="sealed", mistakes_first=0
    )
    fresh = [pick for pick in fresh if pick.question_id not in keep][: len(sealed)]
    for item, pick in zip(sealed, fresh, strict=False):
        item.question_id, item.question_version_id, item.reason = (
            pick.question_id,
            pick.version_id,
            pick.reason,
        )
    for item in sealed[len(fresh) :]:  # the bank cannot replace it: the set shrinks instead
        db.session.delete(item)
        daily_set.size -= 1
    db.session.flush()
    return True


def daily_view(
    daily_set: DailySet, *, today: date, user_id: int, now: datetime, rules: LearningRules
) -> dict:
    rows = _item_rows(LearningItem.daily_set_id == daily_set.id)
    if _swap_sealed(daily_set, rows, now=now, rules=rules):
        rows = _item_rows(LearningItem.daily_set_id == daily_set.id)
    return {
        "date": daily_set.day.isoformat(),
        "size": daily_set.size,
        "answered": daily_set.answered_count,
        "correct": daily_set.correct_count,
        "finished": daily_set.finished,
        "star": daily_set.is_star,
        "points_today": points.totals(user_id, today)["today"],
        "streak": streak(user_id, today),
        "items": [item_view(*row) for row in rows],
    }


def _grade_once(
    item: LearningItem, version: QuestionVersion, raw, *, now: datetime, rules: LearningRules
) -> bool:
    """Grade and store the item's answer unless it has one. True if this call stored it."""
    if item.answered_at is not None:
        return False
    response = grading.parse_response(version, raw)  # InvalidResponse: nothing is written
    result = grading.grade(version, response, multiple_partial=rules.multiple_partial)
    stored = db.session.execute(
        update(LearningItem)
        .where(LearningItem.id == item.id, LearningItem.answered_at.is_(None))
        .values(answered_at=now, response=response, score=result.score, correct=result.correct)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(item)
    if not stored:
        return False
    review = item.kind == ItemKind.REVIEW or item.reason == DrawReason.MISTAKE
    mistakes.record(
        item.user_id,
        item.question_id,
        correct=result.correct,
        response=response,
        review=review,
        origin=str(item.kind),
        now=now,
        rules=rules,
    )
    return True


def answer_daily(
    user_id: int, question_id: int, raw, *, now: datetime, rules: LearningRules
) -> AnswerOutcome:
    """Answer a question of today's set. A second answer returns the first result and changes nothing.

    Points: ``daily_correct`` for a right answer and ``daily_finish`` when the set is complete, both
    within the day's cap for daily learning.
    """
    lock_user(user_id)
    today = clock.business_date(now, rules.tz)
    daily_set = db.session.scalar(select(DailySet).where(DailySet.user_id == user_id, DailySet.day == today))
    rows = (
        _item_rows(LearningItem.daily_set_id == daily_set.id, LearningItem.question_id == question_id)
        if daily_set
        else []
    )
    if not rows:
        raise Conflict("这道题不在今天的题目中（可能已过零点，题目已更新），请刷新页面")
    item, version, source_title, _, sealed = rows[0]
    if sealed and item.answered_at is None:
        raise Conflict("这道题正用于进行中的比赛，已从今天的题目中换下，请刷新页面")
    first = _grade_once(item, version, raw, now=now, rules=rules)
    paid = 0
    if first:
        daily_set.answered_count += 1
        daily_set.correct_count += int(bool(item.correct))
        if item.correct:
            paid += points.award(user_id, "daily_correct", item.id, today, rules)
        if daily_set.answered_count >= daily_set.size and daily_set.finished_at is None:
            daily_set.finished_at = now
            paid += points.award(user_id, "daily_finish", daily_set.id, today, rules)
        db.session.flush()
    outcome = AnswerOutcome(item, _feedback(item, version, source_title, sealed), first, paid)
    outcome.extra = {
        "answered": daily_set.answered_count,
        "size": daily_set.size,
        "correct": daily_set.correct_count,
        "finished": daily_set.finished,
        "star": daily_set.is_star,
        "points_today": points.totals(user_id, today)["today"],
        "streak": streak(user_id, today),
    }
    return outcome


# ---------------------------------------------------------------------------------------------
# Practice and mistake review


def serve_practice(user_id: int, filters: Filters, *, now: datetime, rules: LearningRules) -> dict:
    """The next practice question matching the filters: unseen first, then least recently seen."""
    salt = f"practice:{now.timestamp()}"
    drawn = draw(user_id, 1, now=now, rules=rules, filters=filters, salt=salt)
    if not drawn:
        raise NotFound("没有符合条件的题目，请换个筛选条件")
    return _serve(user_id, ItemKind.PRACTICE, drawn[0], now=now, rules=rules)


def serve_review(user_id: int, *, now: datetime, rules: LearningRules) -> dict | None:
    """The next due mistake-book question (an unanswered review item is served again), or None."""
    pending = _item_rows(
        LearningItem.user_id == user_id,
        LearningItem.kind == ItemKind.REVIEW,
        LearningItem.answered_at.is_(None),
    )
    for row in pending:
        if not row.sealed and mistakes.is_due(user_id, row[0].question_id, now):
            return item_view(*row)
    drawn = draw(user_id, 1, now=now, rules=rules, mistakes_first=1)
    if not drawn or drawn[0].reason != DrawReason.MISTAKE:
        return None
    return _serve(user_id, ItemKind.REVIEW, drawn[0], now=now, rules=rules, reason=DrawReason.MISTAKE)


def _serve(
    user_id: int,
    kind: ItemKind,
    pick: Drawn,
    *,
    now: datetime,
    rules: LearningRules,
    reason: DrawReason | None = None,
) -> dict:
    item = LearningItem(
        user_id=user_id,
        kind=kind,
        reason=reason or pick.reason,
        question_id=pick.question_id,
        question_version_id=pick.version_id,
        day=clock.business_date(now, rules.tz),
        served_at=now,
    )
    db.session.add(item)
    db.session.flush()
    return item_view(*_item_rows(LearningItem.id == item.id)[0])


def answer_item(user_id: int, item_id: int, raw, *, now: datetime, rules: LearningRules) -> AnswerOutcome:
    """Answer a practice or review item. Another learner's item is "not found"."""
    lock_user(user_id)
    rows = _item_rows(
        LearningItem.id == item_id,
        LearningItem.user_id == user_id,
        LearningItem.kind.in_([ItemKind.PRACTICE, ItemKind.REVIEW]),
    )
    if not rows:
        raise NotFound("题目不存在")
    item, version, source_title, _, sealed = rows[0]
    if sealed and item.answered_at is None:
        raise Conflict("这道题正用于进行中的比赛，比赛结束后才能练习，请换一题")
    first = _grade_once(item, version, raw, now=now, rules=rules)
    paid = 0
    if first and item.correct and item.kind == ItemKind.PRACTICE:
        paid = points.award(user_id, "practice_correct", item.id, clock.business_date(now, rules.tz), rules)
    return AnswerOutcome(item, _feedback(item, version, source_title, sealed), first, paid)


def mistake_book(user_id: int, *, now: datetime) -> list[dict]:
    """The open entries with their questions, due ones first: one query."""
    rows = db.session.execute(
        select(
            MistakeEntry,
            QuestionVersion,
            Category.name,
            Source.title,
            seal.is_sealed(MistakeEntry.question_id),
        )
        .join(
            QuestionVersion,
            and_(QuestionVersion.question_id == MistakeEntry.question_id, QuestionVersion.is_current),
        )
        .join(Category, Category.id == QuestionVersion.category_id)
        .join(Source, Source.id == QuestionVersion.source_id)
        .where(MistakeEntry.user_id == user_id, MistakeEntry.cleared_at.is_(None))
        .order_by(MistakeEntry.due_at, MistakeEntry.id)
    ).all()
    return [
        {
            "question_id": entry.question_id,
            "stem": version.stem,
            "type": str(version.type),
            "type_label": version.type.label,
            "category": category,
            "source": source_title,
            "origin": entry.origin,
            "origin_label": ORIGIN_LABELS.get(entry.origin, entry.origin),
            "wrong_count": entry.wrong_count,
            "last_wrong_at": entry.last_wrong_at.isoformat(),
            "right_streak": entry.right_streak,
            "due_at": entry.due_at.isoformat(),
            "due": entry.due_at <= now and not sealed,
            "sealed": sealed,  # on a running contest's paper: not reviewed, no key shown, until it closes
        }
        for entry, version, category, source_title, sealed in rows
    ]


# ---------------------------------------------------------------------------------------------
# Streaks, stars and history


def streak(user_id: int, today: date) -> int:
    """连续学习: consecutive days with a finished set, up to today (or yesterday, while today is open)."""
    days = db.session.scalars(
        select(DailySet.day)
        .where(DailySet.user_id == user_id, DailySet.finished_at.is_not(None), DailySet.day <= today)
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
            DailySet.finished_at.is_not(None),
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
            DailySet.finished_at.is_not(None),
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
