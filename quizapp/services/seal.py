"""Sealed questions: the answer keys of contests that are still running.

DESIGN §3: while a round that shows answers only after it closes is open, no route shows the key of
a question on its paper. A question is *sealed* while it is on the paper of such a round that has
not closed (its paper may be drawn before it opens). Every learner-facing read that can reveal a key,
a correctness flag or an explanation takes its sealed flag from here, in the same query that reads
the question:

- draws (日日学, 专项练习, mistake review, other rounds' papers) skip sealed questions;
- an unanswered sealed item of today's set is swapped for another; answered items, practice and
  review items, mistake-book entries, round reviews and error-report replies withhold the key.

``sealed_questions`` is the one definition; everything else composes it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, exists, select

from ..extensions import db
from ..models import PaperQuestion, Round, RoundStatus, ShowAnswers

WITHHELD = "该题正用于进行中的比赛，答案和解析将在比赛结束后公布"


def sealed_questions() -> Select:
    """The ids of every sealed question (a subquery to compose into other statements)."""
    return (
        select(PaperQuestion.question_id)
        .join(Round, Round.id == PaperQuestion.round_id)
        .where(Round.show_answers == ShowAnswers.AFTER_CLOSE, Round.status != RoundStatus.CLOSED)
    )


def is_sealed(question_id_column) -> ColumnElement[bool]:
    """A boolean column: whether the question in ``question_id_column`` is sealed."""
    return exists(sealed_questions().where(PaperQuestion.question_id == question_id_column).limit(1))


def not_sealed(question_id_column) -> ColumnElement[bool]:
    return question_id_column.not_in(sealed_questions())


def sealed_among(question_ids) -> set[int]:
    ids = list(question_ids)
    if not ids:
        return set()
    return set(db.session.scalars(sealed_questions().where(PaperQuestion.question_id.in_(ids))))


def withheld_feedback() -> dict:
    """What a learner sees instead of the feedback of a sealed question."""
    return {"sealed": True, "message": WITHHELD}
