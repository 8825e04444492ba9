"""Marking written answers (简答, 情景应答): a round's markers and their tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .org import User


class RoundMarker(db.Model):
    """A person the admin chose to mark a round's written answers (阅卷人): a unit admin or named staff.
    ``own_unit_ok``: may also mark takers of their own unit's subtree (off by default)."""

    __tablename__ = "round_marker"
    __table_args__ = (UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    own_unit_ok: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class MarkingTask(db.Model):
    """One marker's marking of one written answer: the first or second (each answer has both), or a
    third when the first two differ by more than the round's gap. A marker marks an answer once
    (UNIQUE answer, marker) and an answer has one task per place (UNIQUE answer, seq); ``marker_id``
    is NULL while no eligible marker is free (it waits for the admin to add one)."""

    __tablename__ = "marking_task"
    __table_args__ = (
        UniqueConstraint("attempt_answer_id", "seq"),
        UniqueConstraint("attempt_answer_id", "marker_id"),
        CheckConstraint("seq BETWEEN 1 AND 3", name="seq_range"),
        Index("ix_marking_task_queue", "round_id", "marker_id", "marked_at", "question_id", "sort_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    attempt_answer_id: Mapped[int] = mapped_column(ForeignKey("attempt_answer.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    # The taker's unit at the start: the own-unit rule is checked against it without reading the taker.
    taker_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    sort_key: Mapped[int] = mapped_column(Integer)  # random: answers come to markers in no useful order
    awarded: Mapped[list | None] = mapped_column(JSON)  # points per keypoint, in rubric order
    deducted: Mapped[list | None] = mapped_column(JSON)  # indexes of the deductions applied
    total: Mapped[float | None] = mapped_column(Float)
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
