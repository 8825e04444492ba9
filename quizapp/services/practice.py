"""专项练习 and the mistake book's review: practice by category, type, ability or difficulty, from
the learner's favourites or all their mistakes (unlimited; points within a daily cap), and the spaced
review of mistakes (the book itself is ``mistakes.book``).

A written question (简答, 情景应答) is practised in two steps, self-marked: the learner writes the
answer (kept, and rewritable until the next step), then sees the rubric's keypoints — their points,
not the model answer nor the phrases markers match on — and ticks those the answer covered; only then
is the item answered (``grading.self_mark``) and the model answer, the explanation and the source
shown. The keypoints are given for a practice item only, never for a question a running contest has
sealed nor one on the paper of a round not closed that the learner could take (a written answer's
key waits for the round's marking and results, whatever the round shows of the others). A self-marked answer earns ``practice_correct`` within the practice cap when every keypoint is
ticked, and never enters the mistake book (a learner's own tick is no verdict to review against)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import literal, select, update

from .. import clock
from ..database import lock_user
from ..extensions import db
from ..models import WRITTEN_TYPES, DrawReason, ItemKind, LearningItem, QuestionVersion
from . import grading, mistakes, period_totals, points
from .daily import AnswerOutcome, feedback_of, grade_once, item_rows, item_view
from .draws import Drawn, Filters, draw, first_in_case, next_in_case
from .errors import Conflict, NotFound
from .favourites import on_open_paper
from .rules import LearningRules


def serve_practice(user_id: int, filters: Filters, *, now: datetime, rules: LearningRules) -> dict:
    """The next practice question matching the filters: unseen first, then least recently seen;
    never one the learner has marked 已掌握 in 背题模式."""
    filters = replace(
        filters,
        without_mastered_of=user_id,
        off_open_papers_of=user_id if filters.type in WRITTEN_TYPES else None,
    )
    follow = next_in_case(user_id, filters)
    if follow is not None:
        return _serve(user_id, ItemKind.PRACTICE, follow, now=now, rules=rules)
    salt = f"practice:{now.timestamp()}"
    drawn = draw(user_id, 1, now=now, rules=rules, filters=filters, salt=salt)
    if not drawn:
        raise NotFound("没有符合条件的题目，请换个筛选条件")
    first = drawn[0] if filters.picks_questions else first_in_case(drawn[0])
    return _serve(user_id, ItemKind.PRACTICE, first, now=now, rules=rules)


def serve_review(user_id: int, *, now: datetime, rules: LearningRules) -> dict | None:
    """The next due mistake-book question (an unanswered review item is served again), or None."""
    pending = item_rows(
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
    return item_view(*item_rows(LearningItem.id == item.id)[0])


def answer_item(user_id: int, item_id: int, raw, *, now: datetime, rules: LearningRules) -> AnswerOutcome:
    """Answer a practice or review item. Another learner's item is "not found"."""
    lock_user(user_id)
    rows = item_rows(
        LearningItem.id == item_id,
        LearningItem.user_id == user_id,
        LearningItem.kind.in_([ItemKind.PRACTICE, ItemKind.REVIEW]),
    )
    if not rows:
        raise NotFound("题目不存在")
    item, version, source_title, _, sealed, favourite = rows[0]
    if sealed and item.answered_at is None:
        raise Conflict("这道题正用于进行中的比赛，比赛结束后才能练习，请换一题")
    if version.type in WRITTEN_TYPES:
        if item.answered_at is not None:  # self-marked already: the first result stands
            return AnswerOutcome(item, feedback_of(item, version, source_title, sealed, favourite), False)
        return _write(item, version, raw)
    first = grade_once(item, version, raw, now=now, rules=rules)
    if first and item.day != clock.business_date(now, rules.tz):  # served on an earlier day
        period_totals.late_answer(user_id, item.day, now=now)
    paid = 0
    if first and item.correct and item.kind == ItemKind.PRACTICE:
        paid = points.award(user_id, "practice_correct", item.id, clock.business_date(now, rules.tz), rules)
    return AnswerOutcome(item, feedback_of(item, version, source_title, sealed, favourite), first, paid)


ON_OPEN_PAPER = "这道题在进行中的比赛试卷上，比赛结束后才能练习，请换一题"


def keypoints(version: QuestionVersion) -> dict:
    """What self-marking shows once the answer is written: the keypoints with their points (no model
    answer, no phrases, no deductions)."""
    rubric = version.answer["rubric"]
    return {
        "keypoints": [{"point": item["point"], "points": item["points"]} for item in rubric],
        "max_points": grading.rubric_total(version.answer),
    }


def _on_open_paper(user_id: int, question_id: int) -> bool:
    """The question is on the paper of a round not closed that the learner could take (served before
    the round drew it): its keypoints wait for the round's results."""
    return bool(db.session.scalar(select(on_open_paper(user_id, literal(question_id)))))


def _write(item: LearningItem, version: QuestionVersion, raw) -> AnswerOutcome:
    """A written practice answer, step one: keep the text (replacing an earlier one until the item is
    self-marked) and give the keypoints to tick."""
    if _on_open_paper(item.user_id, item.question_id):
        raise Conflict(ON_OPEN_PAPER)
    text = grading.parse_response(version, raw)
    if not text:
        raise grading.InvalidResponse("请先写下您的回答，再自评")
    item.response = text
    db.session.flush()
    return AnswerOutcome(item, None, True, extra={"self_mark": keypoints(version) | {"answer": text}})


def self_mark_item(
    user_id: int, item_id: int, covered, *, now: datetime, rules: LearningRules
) -> AnswerOutcome:
    """A written practice answer, step two: the keypoints the learner says the answer covered (indexes
    into the rubric) give its score (``grading.self_mark``); then the feedback with the model answer.
    Self-marking again returns the first result and changes nothing."""
    lock_user(user_id)
    rows = item_rows(
        LearningItem.id == item_id, LearningItem.user_id == user_id, LearningItem.kind == ItemKind.PRACTICE
    )
    if not rows:
        raise NotFound("题目不存在")
    item, version, source_title, _, sealed, favourite = rows[0]
    if version.type not in WRITTEN_TYPES:
        raise grading.InvalidResponse("只有简答题和情景应答题需要自评")
    if item.answered_at is None:
        if sealed:
            raise Conflict("这道题正用于进行中的比赛，比赛结束后才能练习，请换一题")
        if _on_open_paper(user_id, item.question_id):
            raise Conflict(ON_OPEN_PAPER)
        if not item.response:
            raise Conflict("请先写下您的回答，再自评")
        result = grading.self_mark(version, covered)  # InvalidResponse: nothing is written
        stored = db.session.execute(
            update(LearningItem)
            .where(LearningItem.id == item.id, LearningItem.answered_at.is_(None))
            .values(answered_at=now, score=result.score, correct=result.correct)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.refresh(item)
        first = bool(stored)
    else:
        first = False
    paid = 0
    if first and item.correct:
        paid = points.award(user_id, "practice_correct", item.id, clock.business_date(now, rules.tz), rules)
    feedback = feedback_of(item, version, source_title, sealed, favourite)
    return AnswerOutcome(
        item, feedback, first, paid, extra={"covered": sorted(set(covered)) if first else None}
    )
