"""Unit rankings (DESIGN §3 Rankings): totals per unit subtree and period, snapshots, and ranking
child units by an indicator.

Totals are computed set-based — a handful of GROUP BY queries over staff, daily sets, attempts,
the points ledger and the answers (for accuracy by ability), then summed up the tree along each
unit's path — and written as a snapshot for every unit at every level. Rates, the composite index
and ranks are derived when a page reads the children of one parent, because the composite's points
term is normalised to the best sibling.

The module is long because those steps are one contract, read together: the totals, the roll-up,
the snapshot and the ranks must agree (accuracy by ability lives in ``ranking_abilities``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import case, delete, exists, func, or_, select

from .. import clock, database, kept, read_cache
from ..extensions import db
from ..models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Battle,
    BattlePlayer,
    DailySet,
    PointsEntry,
    QuestionVersion,
    RankingSnapshot,
    Round,
    RoundStatus,
    RoundTarget,
    SnapshotRow,
    Unit,
    User,
)
from . import period_totals
from .errors import DomainError
from .history import round_answer_counts
from .org import active_staff
from .periods import (  # noqa: F401  (re-exported: callers read periods through rankings)
    EARLIEST,
    LATEST,
    Period,
    custom_period,
    month_period,
    parse_month,
    parse_period,
    previous_period,
    round_period,
    week_period,
)
from .ranking_abilities import (  # noqa: F401  (re-exported: pages read them through rankings)
    ABILITY_KEY,
    abilities_for,
    abilities_of,
    abilities_store,
    ability_rates,
    ability_totals,
    add_answers,
    answers_by_ability,
)

TOTALS = (
    "headcount",
    "participants",
    "person_times",
    "points",
    "stars",
    "score_sum",
    "score_count",
    "passed",
)
INDICATORS = {
    "composite": "综合指数",
    "participation": "参与率",
    "avg_score": "平均分",
    "pass_rate": "及格率",
    "points_per_head": "人均积分",
    "stars_per_head": "人均日日学之星",
    "person_times": "参与人次",
}


def _blank() -> dict:
    return {**dict.fromkeys(TOTALS, 0), "abilities": {}}


# ---------------------------------------------------------------------------------------------
# Totals


def _own_totals(period: Period, tz) -> dict[int, dict]:
    """Totals of each unit's own staff (not yet its subtree), set-based."""
    totals: dict[int, dict] = defaultdict(_blank)
    if period.round_id is not None:
        target = (
            select(Unit.path)
            .join(RoundTarget, RoundTarget.unit_id == Unit.id)
            .where(RoundTarget.round_id == period.round_id)
            .subquery()
        )
        own_unit = Unit.__table__.alias("own_unit")
        heads = db.session.execute(
            select(User.unit_id, func.count(User.id))
            .join(own_unit, own_unit.c.id == User.unit_id)
            .where(active_staff(), exists().where(own_unit.c.path.startswith(target.c.path)))
            .group_by(User.unit_id)
        ).all()
        for unit_id, headcount in heads:
            totals[unit_id]["headcount"] = headcount
        round_ = db.session.get(Round, period.round_id)
        rows = db.session.execute(
            select(
                Attempt.unit_id,
                func.count(Attempt.id).filter(Attempt.counted.is_(True)),
                func.count(Attempt.id),
                func.coalesce(func.sum(Attempt.percent).filter(Attempt.counted.is_(True)), 0.0),
                func.count(Attempt.id).filter(Attempt.counted.is_(True), Attempt.percent >= round_.pass_mark),
            )
            .where(
                Attempt.round_id == period.round_id,
                Attempt.status != AttemptStatus.IN_PROGRESS,
                Attempt.held.is_(False),
            )
            .group_by(Attempt.unit_id)
        ).all()
        for unit_id, counted, submitted, score_sum, passed in rows:
            entry = totals[unit_id]
            entry.update(
                participants=counted,
                person_times=submitted,
                score_sum=float(score_sum),
                score_count=counted,
                passed=passed,
            )
        # Accuracy by ability: every answer that counts of the round's attempts, once it has closed
        # (its written answers all marked).
        answered = db.session.execute(
            select(
                Attempt.unit_id,
                QuestionVersion.ability_id,
                func.count(AttemptAnswer.id),
                func.sum(AttemptAnswer.score),
            )
            .select_from(AttemptAnswer)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .join(Round, Round.id == Attempt.round_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
            .where(
                Attempt.round_id == period.round_id, Round.status == RoundStatus.CLOSED, round_answer_counts()
            )
            .group_by(Attempt.unit_id, QuestionVersion.ability_id)
        ).all()
        for unit_id, ability_id, count, right in answered:
            add_answers(totals[unit_id], ability_id, count, right)
        return totals

    return _calendar_totals([period], tz)[period.key]


def _calendar_totals(periods: list[Period], tz) -> dict[str, dict[int, dict]]:
    """Totals of each unit's own staff for several week/month/custom periods in one pass over the
    facts: each fact table is read once over the union of the periods, with one FILTER per period."""
    first, last = min(p.starts_on for p in periods), max(p.ends_on for p in periods)
    bounds = [(clock.day_bounds(p.starts_on, tz)[0], clock.day_bounds(p.ends_on, tz)[0]) for p in periods]

    def in_days(column, period):
        return (column >= period.starts_on) & (column < period.ends_on)

    daily_columns, attempt_columns, point_columns = [], [], []
    for i, period in enumerate(periods):
        days = in_days(DailySet.day, period)
        daily_columns += [
            func.count(DailySet.id).filter(days).label(f"sets{i}"),
            func.count(DailySet.id).filter(days, DailySet.correct_count == DailySet.size).label(f"stars{i}"),
        ]
        start_utc, end_utc = bounds[i]
        attempt_columns.append(
            func.count(Attempt.id)
            .filter(Attempt.submitted_at >= start_utc, Attempt.submitted_at < end_utc)
            .label(f"n{i}")
        )
        point_columns.append(
            func.sum(PointsEntry.amount).filter(in_days(PointsEntry.day, period)).label(f"points{i}")
        )
    daily = (
        select(DailySet.user_id, *daily_columns)
        .where(DailySet.day >= first, DailySet.day < last, DailySet.counts())
        .group_by(DailySet.user_id)
        .subquery()
    )
    attempts = (
        select(Attempt.user_id, *attempt_columns)
        .where(
            Attempt.submitted_at >= min(b[0] for b in bounds),
            Attempt.submitted_at < max(b[1] for b in bounds),
            Attempt.held.is_(False),
        )
        .group_by(Attempt.user_id)
        .subquery()
    )
    earned = (
        select(PointsEntry.user_id, *point_columns)
        .where(PointsEntry.day >= first, PointsEntry.day < last)
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    battles = _battle_seats(bounds) if current_app.config["BATTLE_IN_MONTHLY"] else None
    columns = [User.unit_id, func.count(User.id)]
    for i in range(len(periods)):
        sets, tries = func.coalesce(daily.c[f"sets{i}"], 0), func.coalesce(attempts.c[f"n{i}"], 0)
        if battles is not None:  # 对战 counted as the campaign's monthly contest, where the admin chose
            tries = tries + func.coalesce(battles.c[f"n{i}"], 0)
        columns += [
            func.sum(case((or_(sets > 0, tries > 0), 1), else_=0)),
            func.sum(sets + tries),
            func.sum(func.coalesce(earned.c[f"points{i}"], 0)),
            func.sum(func.coalesce(daily.c[f"stars{i}"], 0)),
        ]
    statement = (
        select(*columns)
        .outerjoin(daily, daily.c.user_id == User.id)
        .outerjoin(attempts, attempts.c.user_id == User.id)
        .outerjoin(earned, earned.c.user_id == User.id)
    )
    if battles is not None:
        statement = statement.outerjoin(battles, battles.c.user_id == User.id)
    rows = db.session.execute(statement.where(active_staff()).group_by(User.unit_id)).all()
    result = unit_activity(rows, periods)
    # Scores: the counted attempts of rounds that closed within each period.
    score_columns = []
    for start_utc, end_utc in bounds:
        closed_in = (Round.closes_at >= start_utc) & (Round.closes_at < end_utc)
        score_columns += [
            func.count(Attempt.id).filter(closed_in),
            func.coalesce(func.sum(Attempt.percent).filter(closed_in), 0.0),
            func.count(Attempt.id).filter(closed_in, Attempt.percent >= Round.pass_mark),
        ]
    scores = db.session.execute(
        select(Attempt.unit_id, *score_columns)
        .join(Round, Round.id == Attempt.round_id)
        .where(
            Attempt.counted.is_(True),
            Round.status == RoundStatus.CLOSED,
            Round.closes_at >= min(b[0] for b in bounds),
            Round.closes_at < max(b[1] for b in bounds),
        )
        .group_by(Attempt.unit_id)
    ).all()
    for row in scores:
        for i, period in enumerate(periods):
            counted, score_sum, passed = row[1 + 3 * i : 4 + 3 * i]
            if counted:
                result[period.key][row[0]].update(
                    score_sum=float(score_sum), score_count=counted, passed=passed
                )
    for row in ability_totals(periods, bounds):
        for i, period in enumerate(periods):
            if row[2 + 2 * i]:
                add_answers(result[period.key][row[0]], row[1], row[2 + 2 * i], row[3 + 2 * i])
    return result


def _battle_seats(bounds: list[tuple]):
    """Finished 对战 per person and period (seats played to the end, not held): with
    ``BATTLE_IN_MONTHLY`` each counts like a round's attempt — participation and person-times (its
    points are in the ledger whatever the setting)."""
    columns = [
        func.count(BattlePlayer.id)
        .filter(Battle.finished_at >= start, Battle.finished_at < end)
        .label(f"n{i}")
        for i, (start, end) in enumerate(bounds)
    ]
    return (
        select(BattlePlayer.user_id, *columns)
        .join(Battle, Battle.id == BattlePlayer.battle_id)
        .where(
            Battle.status == "finished",
            Battle.finished_at >= min(b[0] for b in bounds),
            Battle.finished_at < max(b[1] for b in bounds),
            BattlePlayer.user_id.is_not(None),
            BattlePlayer.held.is_(False),
            BattlePlayer.forfeited_at.is_(None),
        )
        .group_by(BattlePlayer.user_id)
        .subquery()
    )


@dataclass(frozen=True)
class UnitRow:
    id: int
    parent_id: int | None
    code: str
    name: str
    level: int
    path: str


def _units() -> list[UnitRow]:
    return [
        UnitRow(*row)
        for row in db.session.execute(
            select(Unit.id, Unit.parent_id, Unit.code, Unit.name, Unit.level, Unit.path)
        )
    ]


def _roll_up(own: dict[int, dict], units: list[UnitRow]) -> dict[int, dict]:
    """Every unit's totals over its whole subtree: the deepest units first, each added to its
    parent once it is complete (one addition per unit and total, whatever the depth)."""
    summed: dict[int, dict] = {unit.id: _blank() for unit in units}

    def add(target: dict, values: dict) -> None:
        for key in TOTALS:
            target[key] += values[key]
        abilities = target["abilities"]
        for ability, (answered, right) in values["abilities"].items():
            pair = abilities.get(ability)
            if pair is None:
                abilities[ability] = [answered, right]
            else:
                pair[0] += answered
                pair[1] += right

    for unit_id, values in own.items():
        target = summed.get(unit_id)
        if target is not None:
            add(target, values)
    for unit in sorted(units, key=lambda u: -u.level):
        if unit.parent_id is not None and unit.parent_id in summed:
            add(summed[unit.parent_id], summed[unit.id])
    return summed


def subtree_totals(period: Period, tz) -> tuple[list[UnitRow], dict[int, dict]]:
    """Every unit with the totals of its whole subtree."""
    units = _units()
    return units, _roll_up(_own_totals(period, tz), units)


def write_snapshot(
    period: Period,
    *,
    official: bool,
    now: datetime,
    tz,
    computed: tuple[list[UnitRow], dict] | None = None,
    restate: bool = False,
) -> RankingSnapshot:
    """Write the period's totals (``computed``: units and totals already worked out by the caller).
    An official snapshot, once written, is returned as it is and never recomputed — unless a
    reviewer's decision on a held attempt or day ``restate``s it; the live one is replaced."""
    existing = db.session.scalar(
        select(RankingSnapshot).where(
            RankingSnapshot.period_key == period.key, RankingSnapshot.official.is_(official)
        )
    )
    if existing is not None and official and not restate:
        return existing
    units, totals = computed or subtree_totals(period, tz)
    if existing is not None:
        db.session.execute(delete(SnapshotRow).where(SnapshotRow.snapshot_id == existing.id))
        _ranked_store().forget(lambda key: key[0] == existing.id)  # a rewrite within the same instant
        abilities_store().forget(lambda key: key[0] == existing.id)
        existing.computed_at = now
        snapshot = existing
    else:
        snapshot = RankingSnapshot(
            period_key=period.key,
            period_kind=period.kind,
            official=official,
            round_id=period.round_id,
            starts_on=period.starts_on,
            ends_on=period.ends_on,
            computed_at=now,
        )
        db.session.add(snapshot)
        db.session.flush()
    # PostgreSQL's COPY takes the JSON column as text; INSERTs take the value.
    encode = json.dumps if db.session.get_bind().dialect.name == "postgresql" else None
    rows = [
        {
            "snapshot_id": snapshot.id,
            "unit_id": unit.id,
            "parent_id": unit.parent_id,
            "code": unit.code,
            "name": unit.name,
            "level": unit.level,
            **{key: totals[unit.id][key] for key in TOTALS},
            "abilities": encode(totals[unit.id]["abilities"]) if encode else totals[unit.id]["abilities"],
        }
        for unit in units
    ]
    database.bulk_insert(SnapshotRow.__table__, rows)
    db.session.flush()
    read_cache.snapshots_written()  # kept responses: a new stamp, even within the same instant
    return snapshot


def refresh_live(now: datetime, *, full: bool = False) -> dict:
    """The scheduler's live refresh: this week, this month and every open round. The week and the
    month come from the per-person totals (``period_totals``: one row a person, plus the days not
    folded yet); ``full`` recomputes them from every fact instead (the same result, slower)."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    database.bulk_work()
    units = _units()
    calendar = [week_period(today), month_period(today)]
    totals = (
        _calendar_totals(calendar, tz) if full else period_totals.live_calendar_totals(calendar, tz, now=now)
    )
    for period, own in zip(calendar, totals.values(), strict=True):
        write_snapshot(period, official=False, now=now, tz=tz, computed=(units, _roll_up(own, units)))
    open_rounds = db.session.scalars(
        # A round in marking (written answers) has no live figures: its results wait for the marks.
        select(Round).where(
            Round.status.in_([RoundStatus.SCHEDULED, RoundStatus.OPEN]), Round.opens_at <= now
        )
    ).all()
    for round_ in open_rounds:
        period = round_period(round_, tz)
        write_snapshot(
            period, official=False, now=now, tz=tz, computed=(units, _roll_up(_own_totals(period, tz), units))
        )
    return {"snapshots": len(calendar) + len(open_rounds)}


def snapshot_for(period_key: str) -> RankingSnapshot | None:
    """The official snapshot when there is one, else the live one."""
    return db.session.scalar(
        select(RankingSnapshot)
        .where(RankingSnapshot.period_key == period_key)
        .order_by(RankingSnapshot.official.desc())
        .limit(1)
    )


# ---------------------------------------------------------------------------------------------
# Ranking children


def indicators(snapshot: RankingSnapshot) -> dict[str, str]:
    """Every indicator a snapshot's children can be ranked on: key → label."""
    return {**INDICATORS, **{a["key"]: a["label"] for a in abilities_for(snapshot)}}


def indicators_of(row, *, best_points_per_head: float, weights: dict[str, float]) -> dict:
    headcount = row.headcount or 0
    participation = row.participants / headcount if headcount else 0.0
    avg_score = row.score_sum / row.score_count if row.score_count else None
    points_per_head = row.points / headcount if headcount else 0.0
    composite = (
        weights["participation"] * participation
        + weights["avg_score"] * ((avg_score or 0.0) / 100)
        + weights["points"] * (points_per_head / best_points_per_head if best_points_per_head else 0.0)
    )
    return {
        "participation": participation,
        "avg_score": avg_score,
        "pass_rate": row.passed / headcount if headcount else 0.0,
        "points_per_head": points_per_head,
        "stars_per_head": row.stars / headcount if headcount else 0.0,
        "person_times": row.person_times,
        "composite": composite,
    }


def competition_ranks(values: list[tuple]) -> list[int]:
    """Standard competition ranking (1, 2, 2, 4) of already sorted keys: equal keys share a rank."""
    ranks, previous = [], None
    for position, key in enumerate(values, 1):
        ranks.append(ranks[-1] if key == previous else position)
        previous = key
    return ranks


def rank_children(
    snapshot: RankingSnapshot, parent_id: int | None, indicator: str = "composite"
) -> list[dict]:
    """The parent's child units with every indicator and its rank among them, ordered by ``indicator``.

    Rank: standard competition ranking on the indicator, ties broken by participation; units equal
    on both share the rank and are listed by unit code. Composite index (weights configurable,
    default 40/40/20): participation + average score as a fraction + points per head normalised to
    the best sibling. The rows are the caller's to change (``ranked_siblings`` keeps its own).
    """
    entries = ranked_siblings([snapshot], parent_id)[snapshot.id]
    return sorted(({**entry} for entry in entries), key=lambda e: (e["ranks"][indicator], e["code"]))


def ranked_siblings(snapshots: list[RankingSnapshot], parent_id: int | None) -> dict[int, list[dict]]:
    """Per snapshot, the parent's children ranked on every indicator. A snapshot's rows change only
    when it is rewritten, which stamps a new ``computed_at``: the ranked rows are kept per process
    under (snapshot, computed_at, parent, the abilities ranked on), so a page read all day ranks
    them once. Read-only."""
    store = _ranked_store()
    abilities = abilities_of(snapshots)
    keys = {
        s.id: (s.id, s.computed_at, parent_id, tuple(a["id"] for a in abilities[s.id])) for s in snapshots
    }
    found = {s.id: store.get(keys[s.id]) for s in snapshots}
    missing = [s for s in snapshots if found[s.id] is None]
    if missing:
        rows = _sibling_rows([s.id for s in missing], parent_id)
        for s in missing:
            found[s.id] = store.put(keys[s.id], _ranked(rows[s.id], list(keys[s.id][3])))
    return found


def _ranked_store() -> kept.Kept:
    return kept.store("ranked", 256)  # parents × periods in view at once (a few MB at most)


def _sibling_rows(snapshot_ids: list[int], parent_id: int | None) -> dict[int, list]:
    """The snapshot rows of one parent's children, per snapshot, in one query. Plain rows, not ORM
    objects: a province has hundreds of children."""
    rows = db.session.execute(
        select(*[column for column in SnapshotRow.__table__.columns]).where(
            SnapshotRow.snapshot_id.in_(snapshot_ids),
            SnapshotRow.parent_id.is_(None) if parent_id is None else SnapshotRow.parent_id == parent_id,
        )
    ).all()
    grouped: dict[int, list] = {snapshot_id: [] for snapshot_id in snapshot_ids}
    for row in rows:
        grouped[row.snapshot_id].append(row)
    return grouped


def _ranked(rows: list, ability_ids: list[int]) -> list[dict]:
    weights = current_app.config["RANKING_WEIGHTS"]
    best = max((r.points / r.headcount for r in rows if r.headcount), default=0.0)
    entries = [
        {
            "unit_id": r.unit_id,
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "headcount": r.headcount,
            "participants": r.participants,
            "points": r.points,
            "stars": r.stars,
            **indicators_of(r, best_points_per_head=best, weights=weights),
            **ability_rates(r, ability_ids),
            "ranks": {},
        }
        for r in rows
    ]
    for name in [*INDICATORS, *(f"ability_{ability_id}" for ability_id in ability_ids)]:
        ordered = sorted(entries, key=lambda e: (-(e[name] or 0), -e["participation"], e["code"]))
        for entry, rank in zip(
            ordered,
            competition_ranks([(round(e[name] or 0, 9), round(e["participation"], 9)) for e in ordered]),
            strict=True,
        ):
            entry["ranks"][name] = rank
    return entries


# ---------------------------------------------------------------------------------------------
# Reading: tables, trends


def ensure_snapshot(period: Period, *, now: datetime, tz) -> RankingSnapshot:
    """The period's snapshot; computed now (as a live one) the first time anyone asks for it. A week
    or month that has ended is settled on first sight: its official snapshot is written then (a
    reconciliation, as the sweeps do), so a closed period reads as final, never as live."""
    snapshot = snapshot_for(period.key)
    if (snapshot is None or not snapshot.official) and settles(period, now=now, tz=tz):
        return write_snapshot(period, official=True, now=now, tz=tz)
    return snapshot or write_snapshot(period, official=False, now=now, tz=tz)


def settles(period: Period, *, now: datetime, tz) -> bool:
    """Whether a calendar period (a week, a month, two months, a quarter, a half-year) is over and
    final: its last day has passed and every round closing within it has been closed (its scores
    count in the period). Rounds settle when they close and custom ranges never do (anyone may ask
    for any range)."""
    if period.kind in ("round", "custom") or period.ends_on > clock.business_date(now, tz):
        return False
    start_utc, end_utc = clock.day_bounds(period.starts_on, tz)[0], clock.day_bounds(period.ends_on, tz)[0]
    unclosed = db.session.scalar(
        select(Round.id)
        .where(Round.status != RoundStatus.CLOSED, Round.closes_at >= start_utc, Round.closes_at < end_utc)
        .limit(1)
    )
    return unclosed is None


def state_of(period: Period, snapshot: RankingSnapshot, *, now: datetime, tz) -> dict:
    """How a page labels a ranking: 实时排名 while its period runs, 最终排名 once it is over and
    its snapshot official, 已结束 for an ended range that never settles (a custom range)."""
    if snapshot.official:
        return {"key": "final", "label": "最终排名（已结算，不再变动）"}
    over = (
        period.ends_on <= clock.business_date(now, tz)
        if period.kind != "round"
        else db.session.scalar(select(Round.status).where(Round.id == period.round_id)) == RoundStatus.CLOSED
    )
    if over:
        return {"key": "ended", "label": "已结束，统计于"}
    return {"key": "live", "label": "实时排名，更新于"}


def unit_totals(snapshot: RankingSnapshot, unit_id: int) -> dict | None:
    """One unit's subtree totals in a snapshot (headcount, participants...), or None when the
    snapshot predates the unit."""
    row = db.session.execute(
        select(*[column for column in SnapshotRow.__table__.columns]).where(
            SnapshotRow.snapshot_id == snapshot.id, SnapshotRow.unit_id == unit_id
        )
    ).first()
    return None if row is None else {key: getattr(row, key) for key in TOTALS}


def previous_ranks(period: Period, parent_id: int | None, indicator: str) -> dict[int, int]:
    """Ranks of the same children in the previous period (week, month, or the previous round of the
    same kind), from its snapshot if there is one."""
    key = None
    if period.kind == "round":
        current = db.session.get(Round, period.round_id)
        previous = db.session.scalar(
            select(Round.id)
            .where(
                Round.kind == current.kind,
                Round.status == RoundStatus.CLOSED,
                Round.closes_at < current.closes_at,
            )
            .order_by(Round.closes_at.desc())
            .limit(1)
        )
        key = f"round:{previous}" if previous else None
    elif (earlier := previous_period(period)) is not None:
        key = earlier.key
    snapshot = snapshot_for(key) if key else None
    if snapshot is None:
        return {}
    return {
        entry["unit_id"]: entry["ranks"][indicator]
        for entry in ranked_siblings([snapshot], parent_id)[snapshot.id]
        if _known(entry, indicator)
    }


def _known(entry: dict, indicator: str) -> bool:
    """Whether a ranked row has the indicator: an ability's accuracy is unknown in a snapshot written
    before abilities were kept (or before the ability existed), so it has no rank to compare."""
    return indicator in entry["ranks"] and (indicator in INDICATORS or entry.get(indicator) is not None)


def trend(unit_id: int, parent_id: int | None, period: Period, indicator: str, limit: int = 12) -> list[dict]:
    """The unit's rank among its siblings over the last ``limit`` snapshots of the same kind."""
    snapshots = db.session.scalars(
        select(RankingSnapshot)
        .where(RankingSnapshot.period_kind == period.kind, RankingSnapshot.starts_on <= period.starts_on)
        .order_by(RankingSnapshot.starts_on.desc(), RankingSnapshot.official.desc())
        .limit(limit * 2)
    ).all()
    latest: dict[str, RankingSnapshot] = {}  # per period, the official one when there is one
    for snapshot in snapshots:
        if snapshot.period_key not in latest and len(latest) < limit:
            latest[snapshot.period_key] = snapshot
    siblings = ranked_siblings(list(latest.values()), parent_id)
    points = []
    for snapshot in latest.values():
        for entry in siblings[snapshot.id]:
            if entry["unit_id"] == unit_id and _known(entry, indicator):
                points.append(
                    {
                        "period": snapshot.period_key,
                        "starts_on": snapshot.starts_on.isoformat(),
                        "rank": entry["ranks"][indicator],
                        "value": entry[indicator],
                    }
                )
    return list(reversed(points))


def children_table(period_value: str | None, parent: Unit, indicator: str, *, now: datetime, tz) -> dict:
    """What the unit rankings page and API show: the parent's children ranked, with rank changes.
    ``indicators``: every indicator of the snapshot (the abilities' among them), key → label."""
    if indicator not in INDICATORS and not ABILITY_KEY.fullmatch(indicator):
        raise DomainError(f"指标“{indicator}”无效")
    period = parse_period(period_value, today=clock.business_date(now, tz), tz=tz)
    snapshot = ensure_snapshot(period, now=now, tz=tz)
    choices = indicators(snapshot)
    if indicator not in choices:
        raise DomainError(f"指标“{indicator}”无效")
    rows = rank_children(snapshot, parent.id, indicator)
    before = previous_ranks(period, parent.id, indicator)
    for row in rows:
        previous = before.get(row["unit_id"])
        row["change"] = None if previous is None else previous - row["ranks"][indicator]
    return {
        "period": period,
        "parent": parent,
        "snapshot": snapshot,
        "rows": rows,
        "indicator": indicator,
        "indicators": choices,
        "abilities": abilities_for(snapshot),
    }


def unit_activity(rows, periods) -> dict[str, dict[int, dict]]:
    """period key → unit → totals, from rows (unit_id, headcount, then per period: participants,
    person-times, points, stars) — the live refresh's and the full recompute's one reading."""
    result: dict[str, dict[int, dict]] = {p.key: defaultdict(_blank) for p in periods}
    for row in rows:
        unit_id, headcount = row[0], row[1]
        for i, period in enumerate(periods):
            participants, person_times, earned_points, stars = row[2 + 4 * i : 6 + 4 * i]
            result[period.key][unit_id].update(
                headcount=headcount,
                participants=int(participants or 0),
                person_times=int(person_times or 0),
                points=int(earned_points or 0),
                stars=int(stars or 0),
            )
    return result
