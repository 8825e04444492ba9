"""A round's parameters, in one value object, and the one rule for a period's window and title.

Every way a round comes to be — the admin form, ``quizapp round create``, the planning sweep from a
schedule template, the demo — builds a ``RoundSettings`` through ``from_defaults``, ``from_round``
or ``from_template``, and ``validate`` checks it the same way for all of them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import Category, PaperMode, QuestionType, Round, RoundKind, RoundTemplate, ShowAnswers, Unit
from ..errors import DomainError, NotFound

CASE_ROW = "case"  # a blueprint row of cases: ``count`` cases, each with all its sub-questions


@dataclass(frozen=True)
class Period:
    """One period of a kind: its window, its title and the key that plans it once."""

    opens_at: datetime
    closes_at: datetime
    title: str
    plan_key: str


def window_and_title(
    kind: str,
    day: date,
    tz: ZoneInfo,
    *,
    open_day: int | None = None,
    open_time: str = "00:00",
    close_day: int | None = None,
    close_time: str = "23:59",
) -> Period:
    """The period of ``kind`` that ``day`` falls in (DESIGN §3 defaults, or a template's days).

    Weekly: the ISO week (Monday to Sunday) holding ``day``, titled and keyed by the ISO
    week-year, so 2027-01-01 (a Friday) is in "2026年第53周". ``open_day``/``close_day`` are
    weekdays (0 = Monday; a close day before the open day falls in the next week).
    Monthly: the last ``open_day`` days of the month (default MONTHLY_OPEN_DAYS).
    Exam: the next day, 09:00–11:00 (an admin sets the real times).
    """

    def at(on: date, hhmm: str) -> datetime:
        hours, minutes = (int(part) for part in hhmm.split(":"))
        return datetime.combine(on, time(hours, minutes), tzinfo=tz)

    if kind == RoundKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        opens_on = monday + timedelta(days=open_day or 0)
        close_offset = 6 if close_day is None else close_day + (7 if close_day < (open_day or 0) else 0)
        year, week, _ = monday.isocalendar()
        return Period(
            at(opens_on, open_time),
            at(monday + timedelta(days=close_offset), close_time),
            f"{year}年第{week}周 周周练",
            f"weekly:{year}-W{week:02d}",
        )
    if kind == RoundKind.MONTHLY:
        last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        days_open = open_day or current_app.config["MONTHLY_OPEN_DAYS"]
        return Period(
            at(last - timedelta(days=days_open - 1), open_time),
            at(last, close_time),
            f"{day.year}年{day.month}月 月月比",
            f"monthly:{day:%Y-%m}",
        )
    tomorrow = day + timedelta(days=1)
    return Period(
        at(tomorrow, "09:00"), at(tomorrow, "11:00"), f"{day.year}年{day.month}月 专项考试", f"exam:{day}"
    )


@dataclass(frozen=True)
class RoundSettings:
    kind: str
    title: str
    opens_at: datetime
    closes_at: datetime
    target_codes: list[str]
    time_limit_minutes: int
    attempts_allowed: int
    pass_mark: float
    show_answers: str
    grace_seconds: int
    blueprint: list[dict] = field(default_factory=list)
    paper_mode: str = "shared"  # PaperMode: one paper for all, or one drawn per attempt

    @classmethod
    def from_defaults(cls, kind: str, day: date, tz: ZoneInfo, target_codes: list[str]) -> RoundSettings:
        """The kind's defaults (ROUND_DEFAULTS) for the period holding ``day``."""
        defaults = current_app.config["ROUND_DEFAULTS"][kind]
        period = window_and_title(kind, day, tz)
        return cls(
            kind=kind,
            title=period.title,
            opens_at=period.opens_at,
            closes_at=period.closes_at,
            target_codes=list(target_codes),
            time_limit_minutes=defaults["time_limit_minutes"],
            attempts_allowed=defaults["attempts_allowed"],
            pass_mark=defaults["pass_mark"],
            show_answers=defaults["show_answers"],
            grace_seconds=defaults["grace_seconds"],
            blueprint=[dict(row) for row in defaults["blueprint"]],
            paper_mode=defaults["paper_mode"],
        )

    @classmethod
    def from_round(cls, round_: Round) -> RoundSettings:
        return cls(
            kind=str(round_.kind),
            title=round_.title,
            opens_at=round_.opens_at,
            closes_at=round_.closes_at,
            target_codes=[target.unit.code for target in round_.targets],
            time_limit_minutes=round_.time_limit_seconds // 60,
            attempts_allowed=round_.attempts_allowed,
            pass_mark=round_.pass_mark,
            show_answers=str(round_.show_answers),
            grace_seconds=round_.grace_seconds,
            blueprint=[dict(row) for row in round_.blueprint],
            paper_mode=str(round_.paper_mode),
        )

    @classmethod
    def from_template(cls, template: RoundTemplate, day: date, tz: ZoneInfo) -> tuple[RoundSettings, Period]:
        """The round a schedule template plans for the period holding ``day``, with that period."""
        period = template_period(template, day, tz)
        settings = cls(
            kind=str(template.kind),
            title=period.title,
            opens_at=period.opens_at,
            closes_at=period.closes_at,
            target_codes=list(template.target_codes),
            time_limit_minutes=template.time_limit_minutes,
            attempts_allowed=template.attempts_allowed,
            pass_mark=template.pass_mark,
            show_answers=str(template.show_answers),
            grace_seconds=template.grace_seconds,
            blueprint=[dict(row) for row in template.blueprint],
            paper_mode=str(template.paper_mode),
        )
        return settings, period

    def but(self, **changes) -> RoundSettings:
        """A copy with some values changed (None leaves a value as it is)."""
        return replace(self, **{name: value for name, value in changes.items() if value is not None})


def template_period(template: RoundTemplate, day: date, tz: ZoneInfo) -> Period:
    return window_and_title(
        str(template.kind),
        day,
        tz,
        open_day=template.open_day,
        open_time=template.open_time,
        close_day=template.close_day if template.kind == RoundKind.WEEKLY else None,
        close_time=template.close_time,
    )


def clean_blueprint(rows: list[dict]) -> list[dict]:
    categories = set(db.session.scalars(select(Category.name)))
    cleaned, problems = [], []
    for index, row in enumerate(rows, 1):
        qtype = row.get("type") or None
        category = row.get("category") or None
        difficulty = row.get("difficulty") or None
        try:
            count = int(row.get("count") or 0)
        except (TypeError, ValueError):
            count = -1
        if qtype is not None and qtype not in {t.value for t in QuestionType} | {CASE_ROW}:
            problems.append(f"第{index}行：题型“{qtype}”无效")
        if category is not None and category not in categories:
            problems.append(f"第{index}行：业务类别“{category}”不存在")
        if difficulty is not None and str(difficulty) not in ("1", "2", "3"):
            problems.append(f"第{index}行：难度应为 1、2 或 3")
        if count <= 0 or count > 200:
            problems.append(f"第{index}行：题数应为 1–200")
        cleaned.append(
            {
                "type": qtype,
                "category": category,
                "difficulty": int(difficulty) if difficulty else None,
                "count": count,
            }
        )
    if not cleaned:
        problems.append("试卷结构至少需要一行")
    if problems:
        raise DomainError("；".join(problems))
    return cleaned


def _check(settings: RoundSettings) -> list[Unit]:
    if not settings.title.strip():
        raise DomainError("标题不能为空")
    if settings.kind not in {k.value for k in RoundKind}:
        raise DomainError("类型应为周周练、月月比或专项考试")
    if settings.closes_at <= settings.opens_at:
        raise DomainError("结束时间必须晚于开始时间")
    if not 1 <= settings.time_limit_minutes <= 600:
        raise DomainError("答题时限应为 1–600 分钟")
    if not 1 <= settings.attempts_allowed <= 20:
        raise DomainError("作答次数应为 1–20 次")
    if not 0 <= settings.pass_mark <= 100:
        raise DomainError("及格线应为 0–100 分")
    if not 0 <= settings.grace_seconds <= 600:
        raise DomainError("宽限时间应为 0–600 秒")
    if settings.show_answers not in {s.value for s in ShowAnswers}:
        raise DomainError("答案公布方式无效")
    if settings.paper_mode not in {m.value for m in PaperMode}:
        raise DomainError("组卷方式无效")
    if not settings.target_codes:
        raise DomainError("请至少选择一个参加单位")
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(settings.target_codes))))
    missing = sorted(set(settings.target_codes) - {u.code for u in units})
    if missing:
        raise NotFound(f"单位编码不存在：{'、'.join(missing)}")
    return units


def validate(settings: RoundSettings) -> tuple[list[Unit], list[dict]]:
    """Check settings; returns the target units and the cleaned blueprint, or raises DomainError."""
    return _check(settings), clean_blueprint(settings.blueprint)
