"""Drawing questions for a learner (日日学, 专项练习, mistake review): the DESIGN §3 draw order, and
cases drawn as whole units."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_, select

from .. import clock
from ..extensions import db
from ..models import (
    WRITTEN_TYPES,
    DrawReason,
    ItemKind,
    LearningItem,
    MarkKind,
    MistakeEntry,
    Question,
    QuestionMark,
    QuestionVersion,
)
from . import seal
from .favourites import favourite_ids, on_open_paper
from .questions import in_use
from .rules import LearningRules

# from: favourites | mistakes; source (a document's code) and locator: 政策原文 练一练
PRACTICE_FILTERS = ("category", "type", "ability", "difficulty", "from", "source", "locator")


CASE_FILTER = "case"  # practice 案例分析: any case's sub-questions, worked through case by case


@dataclass
class Filters:
    """Practice filters; ``None`` means any."""

    category_id: int | None = None
    type: str | None = None
    ability_id: int | None = None
    difficulty: int | None = None
    # 练习收藏 / 练习全部错题: only this learner's starred questions, or every open mistake of theirs
    # (due or not); a chosen set is practised question by question, a case is not widened to all of it.
    favourites_of: int | None = None
    mistakes_of: int | None = None
    # 政策原文 练一练: the questions drawn from one document, and from one article of it (第十条, with
    # its 款 第十条第二款) or one paragraph (第3段); 背题模式's 已掌握: a learner's mastered ones left out.
    source_id: int | None = None
    locator: str | None = None
    without_mastered_of: int | None = None
    # Written practice (简答, 情景应答): nothing on the paper of a round not closed that this learner
    # could take — its keypoints and model answer wait for the round's marking and results.
    off_open_papers_of: int | None = None

    @property
    def picks_questions(self) -> bool:
        return bool(self.favourites_of or self.mistakes_of or self.source_id)  # 练一练: the article's own

    def conditions(self) -> list:
        conditions = []
        if self.favourites_of:
            conditions += [
                QuestionVersion.question_id.in_(favourite_ids(self.favourites_of)),
                ~on_open_paper(self.favourites_of, QuestionVersion.question_id),
            ]
        if self.mistakes_of:
            conditions.append(
                QuestionVersion.question_id.in_(
                    select(MistakeEntry.question_id).where(
                        MistakeEntry.user_id == self.mistakes_of, MistakeEntry.cleared_at.is_(None)
                    )
                )
            )
        if self.category_id:
            conditions.append(QuestionVersion.category_id == self.category_id)
        if self.type == CASE_FILTER:
            conditions.append(QuestionVersion.case_id.is_not(None))
        elif self.type:  # 判断 means standalone judge questions; a case comes whole, under 案例分析
            conditions += [QuestionVersion.type == self.type, QuestionVersion.case_id.is_(None)]
        if self.ability_id:
            conditions.append(QuestionVersion.ability_id == self.ability_id)
        if self.difficulty:
            conditions.append(QuestionVersion.difficulty == self.difficulty)
        if self.source_id:
            conditions.append(QuestionVersion.source_id == self.source_id)
        if self.locator:
            conditions.append(
                or_(
                    QuestionVersion.locator == self.locator,
                    QuestionVersion.locator.startswith(self.locator + "第", autoescape=True),
                )
            )
        if self.off_open_papers_of:
            conditions.append(~on_open_paper(self.off_open_papers_of, QuestionVersion.question_id))
        if self.without_mastered_of:
            conditions.append(
                ~exists().where(
                    QuestionMark.user_id == self.without_mastered_of,
                    QuestionMark.kind == MarkKind.MASTERED,
                    QuestionMark.question_id == QuestionVersion.question_id,
                )
            )
        return conditions


@dataclass
class Drawn:
    version_id: int
    question_id: int
    reason: DrawReason


def _seed(user_id: int, day: date, salt: str = "") -> int:
    digest = hashlib.sha256(f"{user_id}:{day.isoformat()}:{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 65521


def _shuffle_key(seed: int):
    """A per-(user, day) pseudo-random order that SQL can compute on both backends."""
    return (QuestionVersion.question_id * 40503 + seed) % 65521


def available(filters: Filters | None = None):
    """Current versions of active questions that no running contest has sealed, outside the reserve
    pool (考试专用 questions are kept for monthly contests and exams). Written questions (简答,
    情景应答) only when practice asks for their type: never in 日日学 or the mistake book."""
    written_chosen = filters is not None and filters.type in WRITTEN_TYPES
    return in_use(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.category_id).where(
        Question.reserved.is_(False),
        seal.not_sealed(QuestionVersion.question_id),
        *(filters.conditions() if filters else []),
        *(() if written_chosen else (QuestionVersion.type.not_in(WRITTEN_TYPES),)),
    )


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
            available(filters)
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
            available(filters)
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
            available(filters)
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


CASE_MAX = 5  # sub-questions a case may hold


def with_whole_cases(picked: list[Drawn], need: int) -> list[Drawn]:
    """A case is drawn as one unit: wherever one of its sub-questions was picked, all of them stand,
    in their order; then units are kept in order while they fit in ``need`` (a case that does not
    fit is left for another day, never cut). Two queries, and only when a case was picked."""
    case_of = dict(
        db.session.execute(
            select(QuestionVersion.id, QuestionVersion.case_id).where(
                QuestionVersion.id.in_([pick.version_id for pick in picked]),
                QuestionVersion.case_id.is_not(None),
            )
        ).all()
    )
    if not case_of:
        return picked[:need]
    members: dict[int, list] = {}
    for row in db.session.execute(
        available()
        .add_columns(QuestionVersion.case_id)
        .where(QuestionVersion.case_id.in_(set(case_of.values())))
        .order_by(QuestionVersion.case_id, QuestionVersion.case_position)
    ):
        members.setdefault(row.case_id, []).append(row)
    units, taken = [], set()
    for pick in picked:
        case_id = case_of.get(pick.version_id)
        unit = (
            [pick]
            if case_id is None
            else [Drawn(row.id, row.question_id, pick.reason) for row in members.get(case_id, [])]
        )
        unit = [one for one in unit if one.question_id not in taken]
        taken.update(one.question_id for one in unit)
        if unit:
            units.append(unit)
    kept: list[Drawn] = []
    for unit in units:
        if len(kept) + len(unit) <= need:
            kept += unit
    return kept


def next_in_case(user_id: int, filters: Filters) -> Drawn | None:
    """After a practice answer to a case's sub-question, its next sub-question (the case is worked
    through in order, as one unit) — unless the learner has since asked for one type of question."""
    if filters.type not in (None, CASE_FILTER) or filters.picks_questions:
        return None
    last = db.session.execute(
        select(QuestionVersion.case_id, QuestionVersion.case_position, LearningItem.answered_at)
        .join(LearningItem, LearningItem.question_version_id == QuestionVersion.id)
        .where(LearningItem.user_id == user_id, LearningItem.kind == ItemKind.PRACTICE)
        .order_by(LearningItem.id.desc())
        .limit(1)
    ).first()
    if last is None or last.case_id is None or last.answered_at is None:
        return None
    row = db.session.execute(
        available()
        .where(QuestionVersion.case_id == last.case_id, QuestionVersion.case_position > last.case_position)
        .order_by(QuestionVersion.case_position)
        .limit(1)
    ).first()
    return Drawn(row.id, row.question_id, DrawReason.NEW) if row else None


def first_in_case(pick: Drawn) -> Drawn:
    """A case is practised from its first sub-question on."""
    row = db.session.execute(
        available()
        .where(
            QuestionVersion.case_id
            == select(QuestionVersion.case_id).where(QuestionVersion.id == pick.version_id).scalar_subquery()
        )
        .order_by(QuestionVersion.case_position)
        .limit(1)
    ).first()
    return Drawn(row.id, row.question_id, pick.reason) if row else pick
