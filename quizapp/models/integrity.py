"""Integrity reviews: an attempt or a 日日学 day whose signals scored above zero, with the signals
explained, and — for one held out of official counts — the reviewer's decision."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .bank import str_enum
from .org import Unit, User


class ReviewStatus(enum.StrEnum):
    FLAGGED = "flagged"  # signals below the hold threshold: shown, counts as usual
    HELD = "held"  # over the threshold: out of every official count until decided
    CLEARED = "cleared"  # a reviewer found it genuine: counts again
    VOIDED = "voided"  # a reviewer found it not genuine: never counts

    @property
    def label(self) -> str:
        return {"flagged": "有提示", "held": "待核", "cleared": "已核准", "voided": "已作废"}[self.value]


class IntegrityReview(db.Model):
    __tablename__ = "integrity_review"
    __table_args__ = (
        CheckConstraint("(attempt_id IS NULL) <> (daily_set_id IS NULL)", name="one_subject"),
        Index("ix_integrity_review_status_unit", "status", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id"), unique=True)
    daily_set_id: Mapped[int | None] = mapped_column(ForeignKey("daily_set.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"), index=True)
    day: Mapped[date | None] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    signals: Mapped[list] = mapped_column(JSON)  # [{"code", "label", "detail", "points"}, …]
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus, "review_status"))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    unit: Mapped[Unit] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
