"""日日学: today's set, fixed for (learner, day), answered one question at a time with immediate
feedback. Every question a learner is shown outside rounds is a ``LearningItem``; its one answer is
graded on the server, feeds the mistake book and may earn points (practice and review: ``practice``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..database import lock_user
from ..extensions import db
from ..models import (
    Category,
    DailySet,
    DrawReason,
    ItemKind,
    LearningItem,
    QuestionVersion,
    Source,
)
from . import grading, integrity, mistakes, points, seal
from .draws import CASE_MAX, draw, with_whole_cases
from .errors import Conflict, NotFound
from .favourites import is_starred
from .history import streak
from .rules import LearningRules


@dataclass
class AnswerOutcome:
    item: LearningItem
    feedback: dict
    first: bool  # False when the item had been answered already (the first answer stands)
    points_awarded: int = 0  # everything this answer paid, finishing the set included
    finish_points: int = 0  # of which, for finishing the set
    extra: dict = field(default_factory=dict)


class DayOver(Conflict):
    """An answer sent for a set of another business day (queued offline, sent after midnight)."""

    code = "day_over"


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
    drawn = draw(
        user_id, rules.daily_size + CASE_MAX, now=now, rules=rules, mistakes_first=rules.daily_max_mistakes
    )
    drawn = with_whole_cases(drawn, rules.daily_size)
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


def item_rows(*conditions):
    """Items with their versions, source titles, category names, sealed flags and whether the
    learner starred the question (收藏): one query."""
    return db.session.execute(
        select(
            LearningItem,
            QuestionVersion,
            Source.title,
            Category.name,
            seal.is_sealed(LearningItem.question_id).label("sealed"),
            is_starred(LearningItem.user_id, LearningItem.question_id).label("favourite"),
        )
        .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .join(Category, Category.id == QuestionVersion.category_id)
        .where(*conditions)
        .order_by(LearningItem.position, LearningItem.id)
    ).all()


def item_view(
    item: LearningItem,
    version: QuestionVersion,
    source_title: str,
    category: str,
    sealed: bool,
    favourite: bool = False,
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
        view["feedback"] = feedback_of(item, version, source_title, sealed, favourite)
    return view


def feedback_of(
    item: LearningItem, version: QuestionVersion, source_title: str, sealed: bool, favourite: bool = False
) -> dict:
    if sealed:
        return seal.withheld_feedback()
    return grading.feedback(version, item.response, item.score, item.correct, source_title) | {
        "favourite": bool(favourite)  # 收藏: the feedback's star shows it
    }


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
    rows = item_rows(LearningItem.daily_set_id == daily_set.id)
    if _swap_sealed(daily_set, rows, now=now, rules=rules):
        rows = item_rows(LearningItem.daily_set_id == daily_set.id)
    return {
        "date": daily_set.day.isoformat(),
        "size": daily_set.size,
        "answered": daily_set.answered_count,
        "correct": daily_set.correct_count,
        "finished": daily_set.finished,
        "star": daily_set.is_star,
        "held": daily_set.held,
        "points_today": points.totals(user_id, today)["today"],
        "streak": streak(user_id, today),
        "items": [item_view(*row) for row in rows],
    }


def grade_once(
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
    user_id: int,
    question_id: int,
    raw,
    *,
    now: datetime,
    rules: LearningRules,
    client: str | None = None,
    day: date | None = None,
    answered_at: datetime | None = None,
) -> AnswerOutcome:
    """Answer a question of today's set. A second answer returns the first result and changes nothing
    (an answer queued offline and sent again after a lost response is graded and paid once).

    ``day``: the business day of the set the answer was given for (an answer queued on the device
    says it); a set of another day is refused (``DayOver``) — offline answers count on their own
    day only. ``answered_at``: when the device says it was given; kept, within the time the
    question was served and now, so that answers sent together after a time offline keep their
    own pace for the timing signals (without it they would all look given in the same second).

    Points: ``daily_correct`` for a right answer and ``daily_finish`` when the set is complete, both
    within the day's cap for daily learning — unless the day's integrity signals (its timing, the
    sessions and addresses, ``client``, it came from) hold it for review.
    """
    lock_user(user_id)
    today = clock.business_date(now, rules.tz)
    if day is not None and day != today:
        raise DayOver(
            f"这是 {day.month}月{day.day}日 的日日学题目，已不是当天（今天是 {today.month}月{today.day}日），"
            "答案未被接受，不计分"
        )
    daily_set = db.session.scalar(select(DailySet).where(DailySet.user_id == user_id, DailySet.day == today))
    rows = (
        item_rows(LearningItem.daily_set_id == daily_set.id, LearningItem.question_id == question_id)
        if daily_set
        else []
    )
    if not rows:
        raise Conflict("这道题不在今天的题目中（可能已过零点，题目已更新），请刷新页面")
    item, version, source_title, _, sealed, favourite = rows[0]
    if sealed and item.answered_at is None:
        raise Conflict("这道题正用于进行中的比赛，已从今天的题目中换下，请刷新页面")
    given = now if answered_at is None else min(max(answered_at, item.served_at), now)
    first = grade_once(item, version, raw, now=given, rules=rules)
    paid = finish_paid = 0
    if first:
        daily_set.answered_count += 1
        daily_set.correct_count += int(bool(item.correct))
        daily_set.clients = integrity.with_client(daily_set.clients, client) or daily_set.clients
        finishing = daily_set.answered_count >= daily_set.size and daily_set.finished_at is None
        if finishing:
            daily_set.finished_at = given
        if not integrity.assess_day(daily_set, now=now):
            if item.correct:
                paid += points.award(user_id, "daily_correct", item.id, today, rules)
            if finishing:
                finish_paid = points.award(user_id, "daily_finish", daily_set.id, today, rules)
                paid += finish_paid
        db.session.flush()
    outcome = AnswerOutcome(
        item, feedback_of(item, version, source_title, sealed, favourite), first, paid, finish_paid
    )
    outcome.extra = {
        "answered": daily_set.answered_count,
        "size": daily_set.size,
        "correct": daily_set.correct_count,
        "finished": daily_set.finished,
        "star": daily_set.is_star,
        "held": daily_set.held,
        "points_today": points.totals(user_id, today)["today"],
        "streak": streak(user_id, today),
    }
    return outcome
