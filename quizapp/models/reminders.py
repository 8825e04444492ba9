"""Reminders (催办): each unit's channel and every delivery sent through it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .org import Unit

CHANNEL_KINDS = ("log", "wecom", "dingtalk", "email")
DELIVERY_STATUSES = ("pending", "sent", "failed", "gave_up", "skipped")


class ReminderChannel(db.Model):
    """How a unit is reminded: one channel per unit. The webhook address (its key or access token
    lets anyone post) and the 钉钉 signing secret are stored encrypted (Fernet, see
    ``services.reminders.secrets``) and never shown again; only the host is kept readable."""

    __tablename__ = "reminder_channel"
    __table_args__ = (CheckConstraint(f"kind IN {CHANNEL_KINDS}", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="log")
    webhook_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_host: Mapped[str | None] = mapped_column(String(255))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[str | None] = mapped_column(Text)  # e-mail addresses, one a line
    name_people: Mapped[bool] = mapped_column(Boolean, default=True)  # False: counts only
    last_manual_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 一键催办's cool-down
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    unit: Mapped[Unit] = relationship()


class ReminderDelivery(db.Model):
    """One message to one unit: by the sweep (at most one a business day and unit: ``sweep_day`` is
    set only on the sweep's rows, and unique with the unit) or by 一键催办. A failed one is tried
    again by later sweeps after ``next_try_at`` (exponential back-off), the same business day."""

    __tablename__ = "reminder_delivery"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        CheckConstraint("kind IN ('sweep', 'manual')", name="kind"),
        UniqueConstraint("unit_id", "sweep_day"),
        Index("ix_reminder_delivery_retry", "status", "next_try_at"),
        Index("ix_reminder_delivery_unit_created", "unit_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    day: Mapped[date] = mapped_column(Date)
    sweep_day: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    people: Mapped[int] = mapped_column(Integer, default=0)  # how many the message reminds
    message: Mapped[str | None] = mapped_column(Text)
    response_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    unit: Mapped[Unit] = relationship()
