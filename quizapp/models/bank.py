"""The question bank: source documents, the taxonomy, and questions with immutable versions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, partial_unique, utcnow
from .org import User


class Category(db.Model):
    """业务类别 — data, not code, so a province can add its own line of business."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Ability(db.Model):
    """能力 — the four abilities the campaign grows."""

    __tablename__ = "ability"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)


class Source(db.Model):
    """A policy document the questions quote; ``body`` is its text, one paragraph or article a line."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str | None] = mapped_column(String(400))
    effective: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuestionType(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    JUDGE = "judge"
    FILL = "fill"
    CALC = "calc"  # 计算题: a number with a unit, within a tolerance
    SHORT = "short"  # 简答: written, marked by people against a rubric of keypoints
    SITUATION = "situation"  # 情景应答: a scene and a member of the public's words, answered in writing

    @property
    def label(self) -> str:
        return TYPE_LABELS[self.value]

    @property
    def written(self) -> bool:
        return self.value in WRITTEN_TYPES


TYPE_LABELS = {
    "single": "单选",
    "multiple": "多选",
    "judge": "判断",
    "fill": "填空",
    "calc": "计算",
    "short": "简答",
    "situation": "情景应答",
}
# Answered in writing and marked by people (rounds) or by the learner against the rubric (practice);
# never in 日日学, the mistake book, the live contest or a blueprint row of "any type".
WRITTEN_TYPES = ("short", "situation")


class QuestionStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


def str_enum(enum_cls, name):
    return Enum(
        enum_cls,
        native_enum=False,
        length=16,
        create_constraint=True,
        name=name,
        values_callable=lambda e: [m.value for m in e],
    )


class Question(db.Model):
    """A question's identity. Its content lives in versions; exactly one of them is current."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[QuestionStatus] = mapped_column(
        str_enum(QuestionStatus, "question_status"), default=QuestionStatus.ACTIVE, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 考试专用: kept for monthly contests and exams — never in 日日学, practice, the mistake book or
    # weekly rounds (a question's identity, so it survives edits into new versions).
    reserved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", order_by="QuestionVersion.number"
    )
    current: Mapped[QuestionVersion] = relationship(
        primaryjoin="and_(Question.id == QuestionVersion.question_id, QuestionVersion.is_current)",
        viewonly=True,
        uselist=False,
    )


class QuestionCase(db.Model):
    """案例分析: a case text that 2–5 sub-questions share. It is shown once, above them; each
    sub-question is an ordinary question (its versions carry ``case_id`` and ``case_position``),
    graded on its own, and drawn together with its siblings as one unit."""

    __tablename__ = "question_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def reading_chars(stem: str, options: list | None) -> int:
    """The characters a reader must take in to answer: the stem and every option's text."""
    return len(stem or "") + sum(len(str(option.get("text", ""))) for option in options or [])


def _reading_chars_default(context) -> int:
    values = context.get_current_parameters()
    return reading_chars(values.get("stem"), values.get("options"))


class QuestionVersion(db.Model):
    """Frozen content. Attempts point here, so an edit of a used question adds a version instead."""

    __tablename__ = "question_version"
    __table_args__ = (
        UniqueConstraint("question_id", "number"),
        CheckConstraint("difficulty BETWEEN 1 AND 3", name="difficulty_range"),
        # At most one current version per question, and no two current questions with one content.
        partial_unique("uq_question_version_current", "question_id", where="is_current"),
        partial_unique("uq_question_version_current_hash", "content_hash", where="is_current"),
        Index("ix_question_version_filters", "is_current", "type", "category_id", "difficulty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    number: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    type: Mapped[QuestionType] = mapped_column(str_enum(QuestionType, "question_type"))
    stem: Mapped[str] = mapped_column(Text)
    # [{"key": "A", "text": "…"}, …] for single/multiple; [] otherwise.
    options: Mapped[list] = mapped_column(JSON, default=list)
    # single: "A"; multiple: ["A", "C"]; judge: true/false; fill: [["accepted", …] per blank];
    # calc: {"value": 600, "unit": ["元"], "tolerance": 0.5}; short/situation: {"model": "参考答案",
    # "rubric": [{"point": "…", "points": 2, "phrases": ["…"]}], "deductions": [same shape]}.
    answer: Mapped[object] = mapped_column(JSON)
    # 情景应答: what the member of the public says (the stem is the scene); None for other types.
    says: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    ability_id: Mapped[int] = mapped_column(ForeignKey("ability.id"), index=True)
    difficulty: Mapped[int] = mapped_column(Integer)
    # None: 无出处 — a unit's own question imported from Word or Moodle without a source document
    # (locator and quote are then ""); the shipped bank quotes a source for every question.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"), index=True)
    locator: Mapped[str] = mapped_column(String(64))
    quote: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The reading-speed floor of the integrity signals is measured against this (stem + options).
    reading_chars: Mapped[int] = mapped_column(Integer, default=_reading_chars_default, server_default="0")
    # A rule that changes on a known date (the 15-year minimum from 2030, …), shown with the question.
    note: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("question_case.id"), index=True)
    case_position: Mapped[int | None] = mapped_column(Integer)  # 1, 2, … within the case
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)

    question: Mapped[Question] = relationship(back_populates="versions")
    case: Mapped[QuestionCase | None] = relationship(lazy="joined")  # small; read with its questions
    category: Mapped[Category] = relationship()
    ability: Mapped[Ability] = relationship()
    source: Mapped[Source | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class ErrorReport(db.Model):
    """纠错: a learner says a question is wrong; an admin fixes it (a new version) or dismisses it,
    with a reply the learner sees."""

    __tablename__ = "error_report"
    __table_args__ = (Index("ix_error_report_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | fixed | dismissed
    reply: Mapped[str | None] = mapped_column(Text)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reporter: Mapped[User] = relationship(foreign_keys=[user_id])
    version: Mapped[QuestionVersion] = relationship()
