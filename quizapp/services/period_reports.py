"""Period reports (双月评估, 季度汇报, 半年总结): a unit's subtree over two months, a quarter, a half-year
or a custom range, each figure beside the period of the same length before it.

Nothing is counted here that the rankings do not count: the figures are the rankings' snapshots of
the two periods (``rankings.write_snapshot``: the same set-based totals), the child units are ranked
by ``rankings.rank_children`` (the same indicators, composite and tie rules), and "took part" for
the non-participants is the rankings' rule written as a condition per person (a finished 日日学 day
or a handed-in attempt that is not held, and 对战 where ``BATTLE_IN_MONTHLY``), so the list has
headcount − participants names. The one figure of its own is the pass rate (``pass_rate``): over
the attempts, where the rankings' rate over the headcount is meant for one round.

At the start of each quarter and half-year the scheduler stores the report of the one that ended
(``build_due_reports``) as a bulletin, listed with the others: its non-participants as they were
then. The page reads the stored list when there is one; the snapshots are official either way.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import (
    Attempt,
    Battle,
    BattlePlayer,
    Bulletin,
    DailySet,
    RankingSnapshot,
    SnapshotRow,
    Unit,
    User,
)
from . import rankings
from .errors import DomainError
from .org import active_staff, in_subtree
from .periods import EARLIEST, LATEST, SPANS, Period, custom_period, previous_period, span_of, span_period

KINDS = {"bimonth": "双月评估", "quarter": "季度汇报", "half": "半年总结", "custom": "阶段报告"}
STORED_KINDS = ("quarter", "half")  # built by the scheduler at the start of the next one
LIVE_MAX_AGE = timedelta(minutes=5)  # a running period's figures, as old as the live rankings'
PAGE_SIZE = 50  # non-participants per page
PRINT_LIMIT = 1000  # non-participants named in the print view (the .xlsx has them all)
EXTREMES = 3  # the best and the worst units named
CUSTOM_DAYS = 366
# The indicators compared with the previous period, as the rankings compute them.
COMPARED = ("participation", "person_times", "avg_score", "pass_rate", "points_per_head", "composite")
SUMMARY = ("participation", "person_times", "avg_score", "pass_rate", "points_per_head", "stars_per_head")

_SPAN_KEY = re.compile(r"(bimonth|quarter|half):(\d{4})-([BQH])(\d{1,2})")
_LETTERS = {"bimonth": "B", "quarter": "Q", "half": "H"}


# ---------------------------------------------------------------------------------------------
# Periods


def parse(value: str | None, *, today: date) -> Period:
    """ "quarter:2026-Q1" | "half:2026-H2" | "bimonth:2026-B3" | "custom:2026-01-01:2026-03-31";
    default: the last quarter that has ended."""
    if not value:
        return previous_period(span_of("quarter", today))
    kind, _, rest = value.partition(":")
    if kind == "custom":
        try:
            start, end = (date.fromisoformat(part) for part in rest.split(":"))
        except ValueError:
            raise DomainError(f"自定义时间段“{value}”无效，应为 custom:2026-01-01:2026-03-31") from None
        return custom_range(start, end)
    matched = _SPAN_KEY.fullmatch(value)
    if matched is None or matched.group(3) != _LETTERS[kind]:
        raise DomainError(
            f"统计周期“{value}”无效，应为 quarter:2026-Q1（季度）、half:2026-H1（半年）、"
            "bimonth:2026-B1（双月）或 custom:起:止"
        )
    year, number = int(matched.group(2)), int(matched.group(4))
    if not EARLIEST.year <= year <= LATEST.year:
        raise DomainError("年份超出范围（2000–2099 年）")
    count = 12 // SPANS[kind]
    if not 1 <= number <= count:
        raise DomainError(f"{KINDS[kind]}的期数应为 1–{count}")
    return span_period(kind, year, number)


def custom_range(start: date, end: date) -> Period:
    if end < start:
        raise DomainError("截止日期早于起始日期")
    if (end - start).days >= CUSTOM_DAYS:
        raise DomainError(f"自定义时间段不能超过 {CUSTOM_DAYS} 天")
    if not EARLIEST <= start <= end <= LATEST:
        raise DomainError("日期超出范围（2000–2099 年）")
    return custom_period(start, end)


def preceding(period: Period) -> Period:
    """The period of the same length just before: the previous quarter, half-year or two months;
    for a custom range, as many days ending the day before it starts."""
    earlier = previous_period(period)
    if earlier is not None:
        return earlier
    days = period.ends_on - period.starts_on
    return custom_period(period.starts_on - days, period.starts_on - timedelta(days=1))


def choices(today: date) -> list[tuple[str, list[tuple[str, str]]]]:
    """The periods offered in the page's form, newest first, per kind: this year's and the two
    before, up to the running one."""
    groups = []
    for kind in ("quarter", "half", "bimonth"):
        periods, period = [], span_of(kind, today)
        while period.starts_on.year >= today.year - 2:
            periods.append((period.key, period.label + ("（进行中）" if period.ends_on > today else "")))
            period = previous_period(period)
        groups.append((KINDS[kind], periods))
    return groups


# ---------------------------------------------------------------------------------------------
# The report


def snapshot(period: Period, *, now: datetime, tz) -> RankingSnapshot:
    """The period's snapshot: official once it has settled (written then, once); else the live one,
    rewritten when it is older than ``LIVE_MAX_AGE`` and was taken before the period ended."""
    found = rankings.snapshot_for(period.key)
    if found is not None and found.official:
        return found
    if rankings.settles(period, now=now, tz=tz):
        return rankings.write_snapshot(period, official=True, now=now, tz=tz)
    ended_at = clock.day_bounds(period.ends_on, tz)[0]
    if found is not None and (now - found.computed_at <= LIVE_MAX_AGE or found.computed_at >= ended_at):
        return found
    return rankings.write_snapshot(period, official=False, now=now, tz=tz)


def pass_rate(passed: int, counted: int) -> float | None:
    """及格率 of a report: passing attempts ÷ counted attempts of the rounds closed in the period.
    (The rankings divide by the headcount, right for one round; a quarter holds a dozen weekly rounds,
    and that rate would pass 100%.)"""
    return passed / counted if counted else None


def _pass_rates(snapshot_ids: list[int], parent_id: int) -> dict[tuple[int, int], float | None]:
    """(snapshot, child unit) → its pass rate, for the children of ``parent_id``: one query."""
    rows = db.session.execute(
        select(
            SnapshotRow.snapshot_id, SnapshotRow.unit_id, SnapshotRow.passed, SnapshotRow.score_count
        ).where(SnapshotRow.snapshot_id.in_(snapshot_ids), SnapshotRow.parent_id == parent_id)
    )
    return {(row.snapshot_id, row.unit_id): pass_rate(row.passed, row.score_count) for row in rows}


def _rates(totals: dict | None) -> dict | None:
    """A unit's own indicators from its subtree totals (the composite aside: it is relative to the
    siblings)."""
    if totals is None:
        return None
    weights = current_app.config["RANKING_WEIGHTS"]
    values = rankings.indicators_of(SimpleNamespace(**totals), best_points_per_head=0.0, weights=weights)
    rates = {key: values[key] for key in SUMMARY}
    rates["pass_rate"] = pass_rate(totals["passed"], totals["score_count"])
    return {**totals, **rates}


def _delta(now_value, before_value):
    if now_value is None or before_value is None:
        return None
    return now_value - before_value


def report(
    unit: Unit, period: Period, *, now: datetime, tz, page: int = 1, limit: int | None = PAGE_SIZE
) -> dict:
    """The report of ``unit``'s subtree over ``period``: its own figures and each child unit's,
    ranked, each with its change against the previous period of the same length; the best and the
    worst units; one page of the non-participants (``limit`` None: all of them)."""
    before = preceding(period)
    current_snapshot = snapshot(period, now=now, tz=tz)
    previous_snapshot = snapshot(before, now=now, tz=tz)
    rows = rankings.rank_children(current_snapshot, unit.id, "composite")
    earlier = {
        entry["unit_id"]: {**entry}
        for entry in rankings.ranked_siblings([previous_snapshot], unit.id)[previous_snapshot.id]
    }
    passing = _pass_rates([current_snapshot.id, previous_snapshot.id], unit.id)
    for snapshot_id, entries in ((current_snapshot.id, rows), (previous_snapshot.id, earlier.values())):
        for entry in entries:
            entry["pass_rate"] = passing.get((snapshot_id, entry["unit_id"]))
    current = _rates(rankings.unit_totals(current_snapshot, unit.id))
    previous = _rates(rankings.unit_totals(previous_snapshot, unit.id))
    # A previous period in which nothing happened (before the campaign began) is no yardstick: all
    # its units would share the first place, and every change would be against zero.
    compared = bool(previous and previous["participants"]) or any(e["composite"] for e in earlier.values())
    if not compared:
        earlier, previous = {}, None
    for row in rows:
        then = earlier.get(row["unit_id"])
        row["previous"] = None if then is None else {key: then[key] for key in COMPARED}
        row["previous_rank"] = None if then is None else then["ranks"]["composite"]
        row["change"] = None if then is None else then["ranks"]["composite"] - row["ranks"]["composite"]
        row["deltas"] = {key: None if then is None else _delta(row[key], then[key]) for key in COMPARED}
    summary = {
        "current": current,
        "previous": previous,
        "deltas": {
            key: None if current is None or previous is None else _delta(current[key], previous[key])
            for key in SUMMARY
        },
    }
    archived = db.session.scalar(select(Bulletin).where(Bulletin.period_key == period.key))
    absent = non_participants(unit, period, tz=tz, archived=archived, page=page, limit=limit)
    no_data = not (current and current["participants"]) and not any(r["composite"] for r in rows)
    best, worst = extremes(rows) if not no_data else ([], [])
    return {
        "unit": unit,
        "period": period,
        "previous_period": before,
        "kind_label": KINDS[period.kind],
        "title": f"{period.label} {KINDS[period.kind]}",
        "snapshot": current_snapshot,
        "previous_snapshot": previous_snapshot,
        "compared": compared,
        "state": rankings.state_of(period, current_snapshot, now=now, tz=tz),
        "summary": summary,
        "rows": rows,
        "best": best,
        "worst": worst,
        "absent": absent,
        "archived": archived,
        "no_data": no_data,
    }


def extremes(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The best and the worst units by composite rank: up to ``EXTREMES`` each, never the same unit
    in both, and never a unit without staff (its zeros say nothing of how it did)."""
    staffed = [row for row in rows if row["headcount"]]
    count = min(EXTREMES, len(staffed) // 2)
    if count == 0:
        return [], []
    return staffed[:count], list(reversed(staffed[-count:]))


# ---------------------------------------------------------------------------------------------
# Non-participants


def took_part(period: Period, tz):
    """A condition on ``User``: took part in the period, as the rankings count participation."""
    start_utc, end_utc = clock.day_bounds(period.starts_on, tz)[0], clock.day_bounds(period.ends_on, tz)[0]
    conditions = [
        exists().where(
            DailySet.user_id == User.id,
            DailySet.day >= period.starts_on,
            DailySet.day < period.ends_on,
            DailySet.counts(),
        ),
        exists().where(
            Attempt.user_id == User.id,
            Attempt.submitted_at >= start_utc,
            Attempt.submitted_at < end_utc,
            Attempt.held.is_(False),
        ),
    ]
    if current_app.config["BATTLE_IN_MONTHLY"]:
        conditions.append(
            exists().where(
                BattlePlayer.user_id == User.id,
                Battle.id == BattlePlayer.battle_id,
                Battle.status == "finished",
                Battle.finished_at >= start_utc,
                Battle.finished_at < end_utc,
                BattlePlayer.held.is_(False),
                BattlePlayer.forfeited_at.is_(None),
            )
        )
    return or_(*conditions)


PERSON = (User.username, User.name, Unit.code.label("unit_code"), Unit.name.label("unit_name"), Unit.path)


def _person(row) -> dict:
    return {
        "username": row.username,
        "name": row.name,
        "unit_code": row.unit_code,
        "unit_name": row.unit_name,
        "unit_path": row.path,
    }


def non_participants(
    unit: Unit, period: Period, *, tz, archived: Bulletin | None, page: int, limit: int | None
) -> dict:
    """The subtree's active staff who did not take part, by unit code and login: ``total`` and one
    page (``limit`` None: all). From the stored report when there is one (as they were when it was
    built), else from the facts (two queries: the count and the page)."""
    if archived is not None:
        people = [
            {**{key: group[key] for key in ("unit_code", "unit_name", "unit_path")}, **person}
            for group in archived.content["non_participants"]
            if group["unit_path"].startswith(unit.path)
            for person in group["people"]
        ]
        total = len(people)
    else:
        condition = (active_staff(), in_subtree(unit), ~took_part(period, tz))
        total = db.session.scalar(
            select(func.count(User.id)).join(Unit, Unit.id == User.unit_id).where(*condition)
        )
    pages = max(1, math.ceil(total / limit)) if limit else 1
    page = min(max(page, 1), pages)  # a page past the last shows the last
    offset = (page - 1) * limit if limit else 0
    if archived is not None:
        rows = people[offset : offset + limit] if limit else people
    elif total:
        statement = (
            select(*PERSON)
            .join(Unit, Unit.id == User.unit_id)
            .where(*condition)
            .order_by(Unit.code, User.username)
        )
        if limit:
            statement = statement.offset(offset).limit(limit)
        rows = [_person(row) for row in db.session.execute(statement)]
    else:
        rows = []
    return {"total": total, "rows": rows, "page": page, "pages": pages}


# ---------------------------------------------------------------------------------------------
# The stored reports: 季度汇报 and 半年总结, built once when the period has ended and settled


def build_report_bulletin(period: Period, *, now: datetime) -> Bulletin:
    """Store the report of a quarter or half-year for the whole organisation (a unit admin's view of
    it is the same report of their subtree): the official snapshots and, as they are now, the
    non-participants. Once: an existing one is returned as it is."""
    existing = db.session.scalar(select(Bulletin).where(Bulletin.period_key == period.key))
    if existing is not None:
        return existing
    tz = current_app.config["TZINFO"]
    current_snapshot = rankings.write_snapshot(period, official=True, now=now, tz=tz)
    previous_snapshot = snapshot(preceding(period), now=now, tz=tz)
    absent = db.session.execute(
        select(*PERSON)
        .join(Unit, Unit.id == User.unit_id)
        .where(active_staff(), ~took_part(period, tz))
        .order_by(Unit.code, User.username)
    ).all()
    groups: dict[str, dict] = {}
    for row in absent:
        person = _person(row)
        group = groups.setdefault(
            row.unit_code,
            {"unit_code": row.unit_code, "unit_name": row.unit_name, "unit_path": row.path, "people": []},
        )
        group["people"].append({"username": person["username"], "name": person["name"]})
    roots = db.session.execute(
        select(func.sum(SnapshotRow.headcount), func.sum(SnapshotRow.participants)).where(
            SnapshotRow.snapshot_id == current_snapshot.id, SnapshotRow.parent_id.is_(None)
        )
    ).one()
    content = {
        "kind": period.kind,
        "period_key": period.key,
        "previous_snapshot_id": previous_snapshot.id,
        "headcount": int(roots[0] or 0),
        "participants": int(roots[1] or 0),
        "non_participants": list(groups.values()),
        # The keys every bulletin has (this one's figures are the report's page).
        "failures": [],
        "top_units": [],
        "top_staff": [],
    }
    bulletin = Bulletin(
        period_key=period.key,
        title=f"{period.label} {KINDS[period.kind]}",
        snapshot_id=current_snapshot.id,
        content=content,
        created_at=now,
    )
    db.session.add(bulletin)
    db.session.flush()
    return bulletin


def build_due_reports(now: datetime) -> dict:
    """季度汇报 and 半年总结: at the start of a quarter or half-year, the report of the one that ended,
    once it has settled (every round closing in it closed, its marking done) — each in its own
    savepoint; a report built already, or by another scheduler at the same moment, is left alone."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    first_activity = db.session.scalar(select(func.min(DailySet.day)))
    built, waiting = 0, 0
    for kind in STORED_KINDS:
        period = previous_period(span_of(kind, today))
        if first_activity is None or first_activity >= period.ends_on:
            continue  # nothing happened in it, or before it
        if db.session.scalar(select(Bulletin.id).where(Bulletin.period_key == period.key)) is not None:
            continue
        if not rankings.settles(period, now=now, tz=tz):
            waiting += 1
            continue
        try:
            with db.session.begin_nested():
                build_report_bulletin(period, now=now)
            built += 1
        except IntegrityError:  # another scheduler stored it at the same moment
            continue
    return {"reports_built": built, "reports_waiting": waiting}


def spans_touching(day: date) -> list[Period]:
    """The stored kinds' periods that hold ``day`` (what a restatement of that day touches)."""
    return [span_of(kind, day) for kind in STORED_KINDS]


def period_of_bulletin(bulletin: Bulletin) -> Period | None:
    """The period of a stored report's bulletin, or None for any other bulletin."""
    if (bulletin.content or {}).get("kind") not in STORED_KINDS:
        return None
    return parse(bulletin.period_key, today=bulletin.created_at.date())
