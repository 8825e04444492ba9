"""Results: ranking snapshots (official at a round's close, live refreshed), daily roll-ups, bulletins."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .org import Unit


class RankingSnapshot(db.Model):
    """Unit totals for one period, for every unit at every level.

    An official snapshot is written once, when its round closes (or its month ends), and never
    changed afterwards; a live one is replaced by the scheduler every few minutes. Pages read these.
    """

    __tablename__ = "ranking_snapshot"
    __table_args__ = (
        # One official snapshot per period; the live one is replaced in place.
        UniqueConstraint("period_key", "official"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(String(40))  # "round:12", "week:2026-W10", "month:2026-03"
    period_kind: Mapped[str] = mapped_column(String(10))  # round | week | month | custom
    official: Mapped[bool] = mapped_column(Boolean)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # exclusive
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rows: Mapped[list[SnapshotRow]] = relationship(back_populates="snapshot", cascade="all, delete-orphan")


class SnapshotRow(db.Model):
    """A unit's totals (its whole subtree) in a snapshot. Rates and ranks are derived on reading,
    against the siblings being compared."""

    __tablename__ = "snapshot_row"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "unit_id"),
        Index("ix_snapshot_row_parent", "snapshot_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshot.id", ondelete="CASCADE"))
    # The unit as it was: its id, parent, code, name and level are copied (units move and are renamed
    # later), so no foreign key, which only cost a lookup per row on every live refresh.
    unit_id: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    headcount: Mapped[int] = mapped_column(Integer, default=0)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    person_times: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    stars: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[float] = mapped_column(Float, default=0.0)  # sum of counted attempts' percents
    score_count: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    # Accuracy by ability: {"<ability id>": [answers, sum of the fractions right]} (NULL in rows
    # written before it was kept: shown as —).
    abilities: Mapped[dict | None] = mapped_column(JSON)

    snapshot: Mapped[RankingSnapshot] = relationship(back_populates="rows")


class DayRollup(db.Model):
    """A business day that has been rolled over (its unit totals frozen in ``UnitDayStat``)."""

    __tablename__ = "day_rollup"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnitDayStat(db.Model):
    """日日学 participation of one unit (its own staff, not the subtree) on one business day."""

    __tablename__ = "unit_day_stat"
    __table_args__ = (UniqueConstraint("day", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    headcount: Mapped[int] = mapped_column(Integer)
    participants: Mapped[int] = mapped_column(Integer)  # finished the daily set
    stars: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)


class Bulletin(db.Model):
    """通报: non-participants, exam failures, top units and staff of a round or a month, kept as built."""

    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_key: Mapped[str] = mapped_column(String(40))  # "round:12", "month:2026-03"
    title: Mapped[str] = mapped_column(String(200))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"))
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("ranking_snapshot.id"))
    content: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScreenLink(db.Model):
    """A read-only big-screen link for one unit (the office TV), usable without signing in until revoked."""

    __tablename__ = "screen_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    label: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()


class ItemStat(db.Model):
    """Item analysis of one question in one closed round (computed once, at the close)."""

    __tablename__ = "item_stat"
    __table_args__ = (UniqueConstraint("round_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    position: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    facility: Mapped[float | None] = mapped_column(Float)  # mean score, 0..1
    discrimination: Mapped[float | None] = mapped_column(Float)  # r(item, rest of the paper)
    distribution: Mapped[dict] = mapped_column(JSON)  # option / answer → how many chose it
    flags: Mapped[list] = mapped_column(JSON)  # too_easy | too_hard | negative_discrimination
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
