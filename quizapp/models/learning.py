"""Daily learning: daily sets, every question served to a learner, the mistake book, the points ledger."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .bank import QuestionVersion, str_enum


class DailySet(db.Model):
    """One learner's set for one business day, drawn once: reloads and other devices see the same.

    The counters are kept with every answer so rankings can count participation, person-times and
    daily stars set-based, without reading the items.
    """

    __tablename__ = "daily_set"
    __table_args__ = (
        UniqueConstraint("user_id", "day"),
        Index("ix_daily_set_day_finished", "day", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    day: Mapped[date] = mapped_column(Date)
    size: Mapped[int] = mapped_column(Integer)
    answered_count: Mapped[int] = mapped_column(Integer, default=0)
    correct_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Integrity (services.integrity): the day's explained score, whether its participation, star
    # and points are held out (for review, or voided), and the sessions and addresses it came from.
    integrity_score: Mapped[int | None] = mapped_column(Integer)
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    clients: Mapped[list | None] = mapped_column(JSON)

    items: Mapped[list[LearningItem]] = relationship(
        back_populates="daily_set", order_by="LearningItem.position"
    )

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def is_star(self) -> bool:
        """日日学之星: finished with every answer right (and not held for review)."""
        return self.finished and not self.held and self.correct_count == self.size

    @classmethod
    def counts(cls):
        """A condition: the day counts (finished, not held for review or voided)."""
        return and_(cls.finished_at.is_not(None), cls.held.is_(False))


class ItemKind(enum.StrEnum):
    DAILY = "daily"
    PRACTICE = "practice"
    REVIEW = "review"  # mistake-book review mode

    @property
    def label(self) -> str:
        return {"daily": "日日学", "practice": "专项练习", "review": "错题复习"}[self.value]


class DrawReason(enum.StrEnum):
    MISTAKE = "mistake"  # a due mistake-book item
    NEW = "new"  # never seen before
    REPEAT = "repeat"  # the least recently seen


class LearningItem(db.Model):
    """A question served to a learner outside rounds, and their one answer to it.

    The answer columns are written once (``answered_at IS NULL`` guards the update), so answering
    twice, or from two tabs at once, keeps the first answer.
    """

    __tablename__ = "learning_item"
    __table_args__ = (
        UniqueConstraint("daily_set_id", "position"),
        Index("ix_learning_item_user_question", "user_id", "question_id", "served_at"),
        Index("ix_learning_item_user_day", "user_id", "day", "kind"),
        Index("ix_learning_item_day", "day"),  # the live refresh reads the days not folded yet
        CheckConstraint("(kind = 'daily') = (daily_set_id IS NOT NULL)", name="daily_has_set"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, "item_kind"))
    daily_set_id: Mapped[int | None] = mapped_column(ForeignKey("daily_set.id"))
    position: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[DrawReason | None] = mapped_column(str_enum(DrawReason, "draw_reason"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    day: Mapped[date] = mapped_column(Date)  # business date it was served
    served_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response: Mapped[object | None] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)  # 0..1 of the question's marks
    correct: Mapped[bool | None] = mapped_column(Boolean)

    daily_set: Mapped[DailySet | None] = relationship(back_populates="items")
    version: Mapped[QuestionVersion] = relationship()


class MistakeEntry(db.Model):
    """A question in a learner's mistake book (错题本). One row per (user, question), reopened when
    the question is missed again after it left."""

    __tablename__ = "mistake_entry"
    __table_args__ = (
        UniqueConstraint("user_id", "question_id"),
        Index("ix_mistake_entry_due", "user_id", "cleared_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    origin: Mapped[str] = mapped_column(String(16))  # where it was first missed: daily/practice/round…
    wrong_count: Mapped[int] = mapped_column(Integer, default=1)
    last_wrong_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_response: Mapped[object | None] = mapped_column(JSON)
    right_streak: Mapped[int] = mapped_column(Integer, default=0)  # right answers in a row in review
    reviews_right: Mapped[int] = mapped_column(Integer, default=0)  # right reviews since (re)opened
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PointsEntry(db.Model):
    """The points ledger: every point a learner holds is one of these rows (totals are sums).

    (user, rule, source) is unique, so an event can never be paid twice.
    """

    __tablename__ = "points_entry"
    __table_args__ = (
        UniqueConstraint("user_id", "rule", "source_id"),
        Index("ix_points_entry_user_day", "user_id", "day"),
        Index("ix_points_entry_day", "day"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    rule: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int] = mapped_column(Integer)  # the learning item or daily set it pays for
    day: Mapped[date] = mapped_column(Date)  # business date it counts for
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarkKind(enum.StrEnum):
    FAVOURITE = "favourite"  # 收藏: kept in the learner's favourites list
    MASTERED = "mastered"  # 已掌握 (背题模式): left out of the learner's later practice


class QuestionMark(db.Model):
    """A learner's mark on a question: 收藏 or 已掌握. One row per (user, question, kind); removing
    the mark deletes the row. Marks follow the question, not a version (an edit keeps them)."""

    __tablename__ = "question_mark"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "question_id"),
        Index("ix_question_mark_question", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    kind: Mapped[MarkKind] = mapped_column(str_enum(MarkKind, "mark_kind"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
