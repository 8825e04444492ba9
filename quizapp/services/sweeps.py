"""The sweeps the scheduler runs (DESIGN §3), as reconciliations of state.

Each finds all due work from the database ("every round whose close time has passed and is still
open") and does it, each item in its own savepoint so one bad round does not hold up the rest.
Running a sweep twice, or in two processes at once, changes nothing the second time: the state it
reconciles is already right, and the writes are guarded by unique keys and row locks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import (
    Bulletin,
    DailySet,
    DayRollup,
    Round,
    RoundStatus,
    UnitDayStat,
    User,
)
from . import accounts, battles, period_reports, period_totals, points, previews, rankings, reports, rounds
from . import reminders as reminders_
from .errors import DomainError
from .org import active_staff

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


def finish_battles(now: datetime) -> dict:
    """对战 nobody is looking at any more: finish those whose time is over (``battles.play``)."""
    return {"battles_finished": battles.play.finish_due(now)}


def close_due_rounds(now: datetime) -> dict:
    """Close every round past its close time (``rounds.close_round``: the one close), each in its own
    savepoint."""
    due = db.session.scalars(
        select(Round.id)
        .where(Round.status != RoundStatus.CLOSED, Round.closes_at <= now)
        .order_by(Round.closes_at)
    ).all()
    closed, waiting = 0, 0
    for round_id in due:
        with db.session.begin_nested():
            if rounds.close_round(round_id, now=now)["closed"]:
                closed += 1
            else:
                waiting += 1
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
    # The live refresh's per-person totals: the past days of this week and month folded in.
    return {"rolled": len(days), **period_totals.fold_due(now)}


def reroll_day(day: date) -> None:
    """Roll a day over again, if it was rolled (a reviewer's decision changed who took part)."""
    if db.session.get(DayRollup, day) is None:
        return
    db.session.execute(delete(UnitDayStat).where(UnitDayStat.day == day))
    db.session.execute(delete(DayRollup).where(DayRollup.day == day))
    db.session.flush()
    _roll_day(day)


def _roll_day(day: date) -> None:
    db.session.add(DayRollup(day=day))
    db.session.flush()  # claims the day first: a concurrent roll of the same day fails here
    sets = (
        select(DailySet.user_id, DailySet.correct_count == DailySet.size)
        .where(DailySet.day == day, DailySet.counts())
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
        .where(active_staff())
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


def build_due_reports(now: datetime) -> dict:
    """季度汇报 and 半年总结, the 月通报's companions: at the start of a quarter or half-year, the
    report of the one that ended, once (``period_reports.build_due_reports``)."""
    return period_reports.build_due_reports(now)


def housekeeping(now: datetime) -> dict:
    """Remove import previews nobody confirmed within ``UPLOAD_PREVIEW_HOURS`` and sign-in sessions
    that ended or expired over a week ago."""
    return {
        "previews_removed": previews.remove_expired(
            now=now, hours=current_app.config["UPLOAD_PREVIEW_HOURS"]
        ),
        "sessions_removed": accounts.remove_old_sessions(now=now),
    }


@dataclass(frozen=True)
class Then:
    """A sweep's second step: the scheduler commits the first step's work, then runs ``step`` (with
    no transaction open until it reads or writes) and commits it; ``step`` returns the run's counts."""

    step: Callable[[], dict]


def send_reminders(now: datetime) -> Then:
    """催办: today's reminder to each configured unit from ``REMINDER_HOUR``, once a day and unit,
    and the retries of failed deliveries (``services.reminders.sending``): the claims are committed
    first, then the messages sent — no transaction held while the robots answer."""
    claimed = reminders_.sweep(now, reminders_.ReminderSettings.from_config(current_app.config))
    return Then(claimed.send)
