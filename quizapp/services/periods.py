"""Periods a ranking covers: a week, a month, a round, a custom range — and the two months, quarters
and half-years of the period reports — their keys, labels and dates, and parsing the period a page or
the API asks for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .. import clock
from ..extensions import db
from ..models import Round
from ..models._types import MAX_ID
from .errors import DomainError, NotFound


@dataclass(frozen=True)
class Period:
    kind: str  # round | week | month | custom | bimonth | quarter | half
    key: str
    starts_on: date
    ends_on: date  # exclusive
    label: str
    round_id: int | None = None


def week_period(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period(
        "week", f"week:{year}-W{week:02d}", monday, monday + timedelta(days=7), f"{year}年第{week}周"
    )


def month_period(day: date) -> Period:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period("month", f"month:{start:%Y-%m}", start, end, f"{start.year}年{start.month}月")


def custom_period(start: date, end_inclusive: date) -> Period:
    return Period(
        "custom",
        f"custom:{start.isoformat()}:{end_inclusive.isoformat()}",
        start,
        end_inclusive + timedelta(days=1),
        f"{start:%m.%d}–{end_inclusive:%m.%d}",
    )


# The periods of the period reports (双月评估, 季度汇报, 半年总结): months per period, and how each
# is keyed and named. Numbered from 1 within the year: 2026-Q1 is January to March.
SPANS = {"bimonth": 2, "quarter": 3, "half": 6}
SPAN_NAMES = {"bimonth": "双月", "quarter": "季度", "half": "半年"}
_SPAN_LETTER = {"bimonth": "B", "quarter": "Q", "half": "H"}


def span_period(kind: str, year: int, number: int) -> Period:
    """The ``number``-th two months, quarter or half-year of ``year``."""
    months = SPANS[kind]
    first_month = (number - 1) * months + 1
    start = date(year, first_month, 1)
    end_year, end_month = divmod(first_month - 1 + months, 12)
    end = date(year + end_year, end_month + 1, 1)
    if kind == "quarter":
        label = f"{year}年第{'一二三四'[number - 1]}季度"
    elif kind == "half":
        label = f"{year}年{'上下'[number - 1]}半年"
    else:
        label = f"{year}年{first_month}–{first_month + 1}月"
    return Period(kind, f"{kind}:{year}-{_SPAN_LETTER[kind]}{number}", start, end, label)


def span_of(kind: str, day: date) -> Period:
    """The two months, quarter or half-year that ``day`` falls in."""
    return span_period(kind, day.year, (day.month - 1) // SPANS[kind] + 1)


def round_period(round_: Round, tz) -> Period:
    return Period(
        "round",
        f"round:{round_.id}",
        clock.business_date(round_.opens_at, tz),
        clock.business_date(round_.closes_at, tz) + timedelta(days=1),
        round_.title,
        round_.id,
    )


def previous_period(period: Period) -> Period | None:
    if period.kind == "week":
        return week_period(period.starts_on - timedelta(days=7))
    if period.kind == "month":
        return month_period(period.starts_on - timedelta(days=1))
    if period.kind in SPANS:
        return span_of(period.kind, period.starts_on - timedelta(days=1))
    return None


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # periods anyone can ask about


def _within_range(period: Period) -> Period:
    if not EARLIEST <= period.starts_on <= period.ends_on <= LATEST:
        raise DomainError("统计周期超出范围（2000–2099 年）")
    return period


def parse_month(value: str | None, *, today: date) -> date:
    """ "2026-03" → 2026-03-01; default: ``today``'s month."""
    if not value:
        return today.replace(day=1)
    try:
        day = date.fromisoformat(f"{value}-01")
    except ValueError:
        raise DomainError("月份格式应为 2026-03") from None
    if not EARLIEST <= day <= LATEST:
        raise DomainError("月份超出范围（2000–2099 年）")
    return day


def parse_period(value: str | None, *, today: date, tz) -> Period:
    """ "week:2026-W10" | "month:2026-03" | "round:12" | "custom:2026-03-01:2026-03-15"; default: this month."""
    if not value:
        return month_period(today)
    kind, _, rest = value.partition(":")
    try:
        if kind == "week":
            year, week = rest.split("-W")
            return _within_range(week_period(date.fromisocalendar(int(year), int(week), 1)))
        if kind == "month":
            return _within_range(month_period(date.fromisoformat(f"{rest}-01")))
        if kind == "custom":
            start, end = (date.fromisoformat(part) for part in rest.split(":"))
            if end < start or (end - start).days > 366:
                raise ValueError
            return _within_range(custom_period(start, end))
        if kind == "round":
            round_id = int(rest)
            round_ = db.session.get(Round, round_id) if 0 < round_id <= MAX_ID else None
            if round_ is None:
                raise NotFound("本轮不存在")
            return round_period(round_, tz)
    except (ValueError, TypeError, OverflowError):  # OverflowError: a date past year 9999
        pass
    raise DomainError(f"统计周期“{value}”无效，应为 week:2026-W10、month:2026-03、round:编号 或 custom:起:止")
