"""Scoring on a schedule (DESIGN §3): the sweeps the scheduler runs, as reconciliations of state.

Each finds all due work from the database ("every round whose close time has passed and is still
open") and does it, each item in its own savepoint so one bad round does not hold up the rest.
Running a sweep twice, or in two processes at once, changes nothing the second time: the state it
reconciles is already right, and the writes are guarded by unique keys and row locks.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import (
    Bulletin,
    DailySet,
    DayRollup,
    Role,
    Round,
    RoundStatus,
    RoundTemplate,
    Unit,
    UnitDayStat,
    User,
)
from . import accounts, analysis, audit, points, previews, rankings, reports, rounds
from .errors import DomainError

ROLLUP_BACKFILL_DAYS = 62


def open_due_rounds(now: datetime) -> dict:
    """Open every scheduled round whose opening time has come (drawing its paper if missing)."""
    due = db.session.scalars(
        select(Round.id).where(
            Round.status == RoundStatus.SCHEDULED, Round.opens_at <= now, Round.closes_at > now
        )
    ).all()
    opened, problems = 0, []
    for round_id in due:
        try:
            with db.session.begin_nested():
                rounds.draw_paper(round_id, now=now)
                db.session.get(Round, round_id).status = RoundStatus.OPEN
            opened += 1
        except DomainError as error:  # the bank cannot fill the paper: said in the run log, retried next time
            problems.append(f"#{round_id}: {error.message}")
    return {"opened": opened, "problems": problems} if problems else {"opened": opened}


def finish_overdue_attempts(now: datetime) -> dict:
    return {"auto_submitted": rounds.finish_overdue(now=now)}


def close_due_rounds(now: datetime) -> dict:
    """Close every round past its close time: auto-submit, grade in one pass, rank, then write the
    official ranking snapshot, the bulletin and the item analysis — in the same transaction."""
    tz = current_app.config["TZINFO"]
    due = db.session.scalars(
        select(Round.id)
        .where(Round.status != RoundStatus.CLOSED, Round.closes_at <= now)
        .order_by(Round.closes_at)
    ).all()
    closed, waiting = 0, 0
    for round_id in due:
        with db.session.begin_nested():
            outcome = rounds.close_round(round_id, now=now)
            if not outcome["closed"]:
                waiting += 1
                continue
            round_ = db.session.get(Round, round_id)
            snapshot = rankings.write_snapshot(
                rankings.round_period(round_, tz), official=True, now=now, tz=tz
            )
            reports.build_round_bulletin(round_id, snapshot, now=now)
            analysis.analyse_round(round_id, now=now)
            closed += 1
    return {"closed": closed, "waiting": waiting}


def refresh_rankings(now: datetime) -> dict:
    return rankings.refresh_live(now)


def roll_days(now: datetime) -> dict:
    """Freeze each past business day's 日日学 participation per unit, once per day, catching up on
    every day missed while the scheduler was down (up to two months back)."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    rolled = set(
        db.session.scalars(
            select(DayRollup.day).where(DayRollup.day >= today - timedelta(days=ROLLUP_BACKFILL_DAYS))
        )
    )
    first_activity = db.session.scalar(select(func.min(DailySet.day)))
    if first_activity is None:
        return {"rolled": 0}
    start = max(first_activity, today - timedelta(days=ROLLUP_BACKFILL_DAYS))
    days = [
        start + timedelta(days=n)
        for n in range((today - start).days)
        if start + timedelta(days=n) not in rolled
    ]
    for day in days:
        try:
            with db.session.begin_nested():
                _roll_day(day)
        except IntegrityError:  # another scheduler rolled it at the same moment
            continue
    return {"rolled": len(days)}


def _roll_day(day: date) -> None:
    db.session.add(DayRollup(day=day))
    db.session.flush()  # claims the day first: a concurrent roll of the same day fails here
    sets = (
        select(DailySet.user_id, DailySet.correct_count == DailySet.size)
        .where(DailySet.day == day, DailySet.finished_at.is_not(None))
        .subquery()
    )
    earned = points.earned_between(day, day + timedelta(days=1))
    rows = db.session.execute(
        select(
            User.unit_id,
            func.count(User.id),
            func.count(sets.c.user_id),
            func.count(sets.c.user_id).filter(sets.c[1].is_(True)),
            func.coalesce(func.sum(earned.c.points), 0),
        )
        .outerjoin(sets, sets.c.user_id == User.id)
        .outerjoin(earned, earned.c.user_id == User.id)
        .where(User.active.is_(True), User.role != Role.ADMIN, User.unit_id.is_not(None))
        .group_by(User.unit_id)
    ).all()
    db.session.add_all(
        UnitDayStat(
            day=day,
            unit_id=unit_id,
            headcount=headcount,
            participants=participants,
            stars=stars,
            points=int(points),
        )
        for unit_id, headcount, participants, stars, points in rows
    )
    db.session.flush()


def build_due_bulletins(now: datetime) -> dict:
    """月通报: on (or after) the 1st, the bulletin of the month that ended, if not built yet."""
    today = clock.business_date(now, current_app.config["TZINFO"])
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    first_activity = db.session.scalar(select(func.min(DailySet.day)))
    if first_activity is None or first_activity >= today.replace(day=1):
        return {"built": 0}
    key = rankings.month_period(last_month).key
    if db.session.scalar(select(Bulletin.id).where(Bulletin.period_key == key)) is not None:
        return {"built": 0}
    reports.build_month_bulletin(last_month, now=now)
    return {"built": 1}


def housekeeping(now: datetime) -> dict:
    """Remove import previews nobody confirmed within ``UPLOAD_PREVIEW_HOURS`` and sign-in sessions
    that ended or expired over a week ago."""
    return {
        "previews_removed": previews.remove_expired(
            now=now, hours=current_app.config["UPLOAD_PREVIEW_HOURS"]
        ),
        "sessions_removed": accounts.remove_old_sessions(now=now),
    }


# ---------------------------------------------------------------------------------------------
# Planning from the schedule templates


def _at(day: date, hhmm: str, tz) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=tz)


def planned_windows(template: RoundTemplate, today: date, tz) -> list[tuple[str, str, datetime, datetime]]:
    """(plan key, title, opens, closes) of this period's and the next period's round."""
    windows = []
    if template.kind == "weekly":
        monday = today - timedelta(days=today.weekday())
        for week_start in (monday, monday + timedelta(days=7)):
            close_offset = template.close_day + (7 if template.close_day < template.open_day else 0)
            opens = _at(week_start + timedelta(days=template.open_day), template.open_time, tz)
            closes = _at(week_start + timedelta(days=close_offset), template.close_time, tz)
            year, week, _ = week_start.isocalendar()
            windows.append((f"weekly:{year}-W{week:02d}", f"{year}年第{week}周 周周练", opens, closes))
    else:
        first = today.replace(day=1)
        for month_start in (first, (first + timedelta(days=32)).replace(day=1)):
            last = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            opens = _at(last - timedelta(days=template.open_day - 1), template.open_time, tz)
            closes = _at(last, template.close_time, tz)
            windows.append(
                (
                    f"monthly:{month_start:%Y-%m}",
                    f"{month_start.year}年{month_start.month}月 月月比",
                    opens,
                    closes,
                )
            )
    return windows


def plan_rounds(now: datetime) -> dict:
    """Create the coming weekly and monthly rounds from the enabled templates, each period once:
    a round is planned when it opens within ``plan_ahead_days`` (or is open now) and its plan key
    is not taken. The unique plan key makes a second or concurrent run a no-op."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    created, problems = 0, []
    for template in db.session.scalars(select(RoundTemplate).where(RoundTemplate.enabled.is_(True))):
        for plan_key, title, opens, closes in planned_windows(template, today, tz):
            if closes <= now or opens > now + timedelta(days=template.plan_ahead_days):
                continue
            if db.session.scalar(select(Round.id).where(Round.plan_key == plan_key)) is not None:
                continue
            settings = rounds.RoundSettings(
                kind=str(template.kind),
                title=title,
                opens_at=opens,
                closes_at=closes,
                target_codes=list(template.target_codes),
                time_limit_minutes=template.time_limit_minutes,
                attempts_allowed=template.attempts_allowed,
                pass_mark=template.pass_mark,
                show_answers=str(template.show_answers),
                grace_seconds=template.grace_seconds,
                blueprint=[dict(row) for row in template.blueprint],
            )
            try:
                with db.session.begin_nested():
                    round_ = rounds.create_round(settings, actor_id=None)
                    round_.plan_key = plan_key
                    db.session.flush()
                created += 1
            except IntegrityError:
                continue  # planned by a concurrent run
            except DomainError as error:
                problems.append(f"{plan_key}: {error.message}")
    return {"created": created, "problems": problems} if problems else {"created": created}


def template_for(kind: str) -> RoundTemplate:
    """The kind's template, or an unsaved one filled with the defaults (disabled until saved)."""
    template = db.session.scalar(select(RoundTemplate).where(RoundTemplate.kind == kind))
    if template is not None:
        return template
    defaults = current_app.config["ROUND_DEFAULTS"][kind]
    codes = list(db.session.scalars(select(Unit.code).where(Unit.parent_id.is_(None)).order_by(Unit.code)))
    weekly = kind == "weekly"
    return RoundTemplate(
        kind=kind,
        enabled=False,
        open_day=0 if weekly else current_app.config["MONTHLY_OPEN_DAYS"],
        open_time="00:00",
        close_day=6 if weekly else 0,
        close_time="23:59",
        plan_ahead_days=7,
        target_codes=codes,
        time_limit_minutes=defaults["time_limit_minutes"],
        attempts_allowed=defaults["attempts_allowed"],
        pass_mark=defaults["pass_mark"],
        show_answers=defaults["show_answers"],
        grace_seconds=defaults["grace_seconds"],
        blueprint=[dict(row) for row in defaults["blueprint"]],
    )


TEMPLATE_FIELDS = (
    "enabled",
    "open_day",
    "open_time",
    "close_day",
    "close_time",
    "plan_ahead_days",
    "time_limit_minutes",
    "attempts_allowed",
    "pass_mark",
    "show_answers",
    "grace_seconds",
)


def save_template(
    kind: str, values: dict, target_codes: list[str], blueprint: list[dict], *, actor_id: int | None
) -> RoundTemplate:
    """Save the kind's schedule template after the same checks a round gets."""
    tz = current_app.config["TZINFO"]
    opens, closes = rounds.default_window(kind, clock.business_date(clock.utcnow(), tz), tz)
    _, cleaned = rounds.validate(
        rounds.RoundSettings(
            kind=kind,
            title=kind,
            opens_at=opens,
            closes_at=closes,
            target_codes=target_codes,
            time_limit_minutes=values["time_limit_minutes"],
            attempts_allowed=values["attempts_allowed"],
            pass_mark=values["pass_mark"],
            show_answers=values["show_answers"],
            grace_seconds=values["grace_seconds"],
            blueprint=blueprint,
        )
    )
    template = template_for(kind)
    for field in TEMPLATE_FIELDS:
        setattr(template, field, values[field])
    template.target_codes, template.blueprint = target_codes, cleaned
    db.session.add(template)
    db.session.flush()
    audit.record(
        "schedule.update",
        "round_template",
        template.id,
        actor_id=actor_id,
        after={"kind": kind, "enabled": template.enabled, "targets": target_codes},
    )
    return template
