"""Certificates (人人持证): one per person and passed exam, with an unguessable serial that anyone can
verify at ``/verify/<serial>``, and its revocation.

What the certificate says (the holder's name, unit and the exam's title, the score band) is copied
at issue: a certificate is a document, and it reads the same however the person, unit or round is
renamed later. Validity is ``revoked_at`` alone."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .bank import str_enum


class ScoreBand(enum.StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"

    @property
    def label(self) -> str:
        return {"excellent": "优秀", "good": "良好", "pass": "合格"}[self.value]


class Certificate(db.Model):
    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id"),  # one per person and exam, however often issued
        Index("ix_certificate_round_unit", "round_id", "unit_id"),
        Index("ix_certificate_user", "user_id", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)  # "2026-7KQ4-M2XA-9TBC-E5WN"
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # the unit the exam was taken in
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"))
    holder_name: Mapped[str] = mapped_column(String(100))
    unit_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))  # the exam's
    percent: Mapped[float] = mapped_column(Float)
    band: Mapped[ScoreBand] = mapped_column(str_enum(ScoreBand, "score_band"))
    issued_on: Mapped[date] = mapped_column(Date)  # the business day it was issued (the close's)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def valid(self) -> bool:
        return self.revoked_at is None
