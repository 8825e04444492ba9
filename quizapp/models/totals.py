"""Running totals the live ranking refresh reads instead of the month's facts (issue 24).

Per person and period (a week, a month): the days folded in so far (``TotalsDay``) summed — sets
finished, daily stars, submitted attempts, finished battles, points, and per ability the learning
answers and the sum of their fractions right. Per closed round and unit: the round's official
results and its answers by ability. ``services.period_totals`` keeps them; the facts stay the truth
(``quizapp rankings rebuild-totals`` recomputes every row from them).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._types import UTCDateTime


class TotalsDay(db.Model):
    """A business day whose facts are in the person totals (claimed once: the fold's marker)."""

    __tablename__ = "totals_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    folded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonPeriodTotal(db.Model):
    """One person's facts over the folded days of one period (``week:…``/``month:…`` key)."""

    __tablename__ = "person_period_total"

    period_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sets: Mapped[int] = mapped_column(Integer, default=0)  # 日日学 sets that count (finished, not held)
    stars: Mapped[int] = mapped_column(Integer, default=0)
    tries: Mapped[int] = mapped_column(Integer, default=0)  # attempts submitted, not held
    battles: Mapped[int] = mapped_column(Integer, default=0)  # 对战 seats played to the end, not held
    points: Mapped[int] = mapped_column(Integer, default=0)


class PersonPeriodAbility(db.Model):
    """One person's learning answers of one ability over the folded days of one period."""

    __tablename__ = "person_period_ability"

    period_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    ability_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    right: Mapped[float] = mapped_column(Float, default=0.0)


class TotalsRound(db.Model):
    """A closed round whose results per unit are written (``RoundUnitTotal``/``RoundUnitAbility``)."""

    __tablename__ = "totals_round"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoundUnitTotal(db.Model):
    """A closed round's counted attempts taken in one unit: how many, their scores, how many passed."""

    __tablename__ = "round_unit_total"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # as snapshot rows: no key
    counted: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[float] = mapped_column(Float, default=0.0)
    passed: Mapped[int] = mapped_column(Integer, default=0)


class RoundUnitAbility(db.Model):
    """A closed round's answers that count, taken in one unit, of one ability."""

    __tablename__ = "round_unit_ability"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ability_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    right: Mapped[float] = mapped_column(Float, default=0.0)
