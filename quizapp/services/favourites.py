"""收藏 (favourites): a learner stars a question they have answered, keeps a list of them with the
whole question, and practises from it (``draws.Filters.favourites_of``).

Two rules keep the list from becoming a way to read keys:

- only a question the learner has *answered* can be starred — an answered 日日学/练习/复习 item, or a
  question on the paper of one of their finished attempts — so an id read off a running paper, or
  guessed, stars nothing;
- the list shows a question's key, 解析 and 出处 only while the rules let it: never for a reserve
  (考试专用) question, a question sealed by a running contest (``seal``), or a question on the paper
  of a round that has not closed (the round's shared paper, or the viewer's own drawn one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Attempt,
    AttemptStatus,
    Category,
    LearningItem,
    MarkKind,
    PaperQuestion,
    Question,
    QuestionMark,
    QuestionVersion,
    Round,
    RoundStatus,
    Source,
)
from . import grading, seal
from .errors import NotFound

HIDDEN_RESERVED = "该题已转为考试专用题，不再显示答案和解析"
HIDDEN_OPEN_ROUND = "该题正用于尚未结束的练习或比赛，答案和解析将在结束后显示"


def favourite_ids(user_id):
    """The ids of the learner's starred questions (a subquery; ``user_id`` may be a column)."""
    return select(QuestionMark.question_id).where(
        QuestionMark.user_id == user_id, QuestionMark.kind == MarkKind.FAVOURITE
    )


def is_starred(user_id_column, question_id_column):
    """A boolean column: whether that learner starred that question (for the pages' star buttons)."""
    return exists().where(
        QuestionMark.user_id == user_id_column,
        QuestionMark.question_id == question_id_column,
        QuestionMark.kind == MarkKind.FAVOURITE,
    )


def starred_among(user_id: int, question_ids) -> set[int]:
    ids = list(question_ids)
    if not ids:
        return set()
    return set(db.session.scalars(favourite_ids(user_id).where(QuestionMark.question_id.in_(ids))))


def answered_by(user_id: int, question_id: int) -> bool:
    """Whether the learner has answered the question: outside rounds, or on a paper they handed in."""
    learned = exists().where(
        LearningItem.user_id == user_id,
        LearningItem.question_id == question_id,
        LearningItem.answered_at.is_not(None),
    )
    handed_in = exists().where(
        PaperQuestion.question_id == question_id,
        Attempt.round_id == PaperQuestion.round_id,
        Attempt.user_id == user_id,
        Attempt.status != AttemptStatus.IN_PROGRESS,
        or_(PaperQuestion.attempt_id.is_(None), PaperQuestion.attempt_id == Attempt.id),
    )
    return bool(db.session.scalar(select(or_(learned, handed_in))))


def star(user_id: int, question_id: int, *, now: datetime) -> None:
    """收藏. Starring twice keeps one mark (the unique (user, kind, question) decides a race)."""
    if not answered_by(user_id, question_id):
        raise NotFound("只能收藏答过的题目")
    if question_id in starred_among(user_id, [question_id]):
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                QuestionMark(
                    user_id=user_id, question_id=question_id, kind=MarkKind.FAVOURITE, created_at=now
                )
            )
    except IntegrityError:  # starred at the same moment from another tab
        pass


def unstar(user_id: int, question_id: int) -> None:
    """取消收藏 (nothing to do when it was not starred)."""
    db.session.execute(
        delete(QuestionMark).where(
            QuestionMark.user_id == user_id,
            QuestionMark.question_id == question_id,
            QuestionMark.kind == MarkKind.FAVOURITE,
        )
    )


def on_open_paper(user_id: int, question_id_column):
    """A boolean column: the question is on the paper of a round that has not closed — its shared
    paper, or a paper drawn for one of this learner's attempts."""
    shared = exists().where(
        PaperQuestion.question_id == question_id_column,
        PaperQuestion.attempt_id.is_(None),
        Round.id == PaperQuestion.round_id,
        Round.status != RoundStatus.CLOSED,
    )
    own = exists().where(
        PaperQuestion.question_id == question_id_column,
        Attempt.id == PaperQuestion.attempt_id,
        Attempt.user_id == user_id,
        Round.id == Attempt.round_id,
        Round.status != RoundStatus.CLOSED,
    )
    return or_(shared, own)


def hidden_because(reserved: bool, sealed: bool, open_paper: bool) -> str | None:
    """Why a question's key, 解析 and quote are not shown now (None: they are)."""
    if reserved:
        return HIDDEN_RESERVED
    if sealed:
        return seal.WITHHELD
    if open_paper:
        return HIDDEN_OPEN_ROUND
    return None


def full_question(version: QuestionVersion, category: str, source_title: str, *, hidden: str | None) -> dict:
    """A question as the favourites list and the mistake book show it: everything, or — when
    ``hidden`` says why — the stem and options without key, 解析 or 出处 quote."""
    shown = {
        "question_id": version.question_id,
        "type": str(version.type),
        "type_label": version.type.label,
        "category": category,
        "stem": version.stem,
        "options": [{"key": o["key"], "text": o["text"]} for o in version.options],
        "case": {"title": version.case.title, "body": version.case.body, "position": version.case_position}
        if version.case_id is not None
        else None,
        "source_id": version.source_id,
        "source_title": source_title,
        "locator": version.locator,
        "hidden": hidden,
    }
    if hidden is None:
        shown |= {
            "key_text": grading.describe(version.type, version.options, version.answer),
            "explanation": version.explanation,
            "quote": version.quote,
            "note": version.note,
        }
    return shown


def listing(user_id: int, *, limit: int = 500) -> list[dict]:
    """我的收藏: the starred questions, newest first, in full where the rules allow: one query."""
    rows = db.session.execute(
        select(
            QuestionMark.created_at,
            QuestionVersion,
            Category.name,
            Source.title,
            Question.reserved,
            seal.is_sealed(QuestionMark.question_id).label("sealed"),
            on_open_paper(user_id, QuestionMark.question_id).label("open_paper"),
        )
        .join(
            QuestionVersion,
            and_(QuestionVersion.question_id == QuestionMark.question_id, QuestionVersion.is_current),
        )
        .join(Question, Question.id == QuestionMark.question_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .where(QuestionMark.user_id == user_id, QuestionMark.kind == MarkKind.FAVOURITE)
        .order_by(QuestionMark.created_at.desc(), QuestionMark.id.desc())
        .limit(limit)
    ).all()
    listed = []
    for starred_at, version, category, source_title, reserved, sealed, open_paper in rows:
        entry = full_question(
            version, category, source_title, hidden=hidden_because(reserved, sealed, open_paper)
        )
        entry["starred_at"] = starred_at.isoformat()
        listed.append(entry)
    return listed
