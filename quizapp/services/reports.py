"""Bulletins (通报): who did not take part, who failed, the top units and staff — per round and month.

A bulletin is built once, when its period ends, from the official snapshot and the frozen results,
and kept as built. Every entry carries its unit's path, so a unit admin's view is the same bulletin
filtered to their subtree.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import exists, func, or_, select

from .. import clock
from ..extensions import db
from ..models import (
    Attempt,
    AttemptStatus,
    Bulletin,
    DailySet,
    PointsEntry,
    RankingSnapshot,
    Round,
    RoundKind,
    RoundTarget,
    SnapshotRow,
    Unit,
    User,
)
from . import period_reports, rankings
from .org import active_staff

TOP = 10


# A person and their unit, as plain columns: a province's bulletin lists tens of thousands.
PERSON = (
    User.username,
    User.name,
    Unit.code.label("unit_code"),
    Unit.name.label("unit_name"),
    Unit.path.label("unit_path"),
)


def _unit_of(row) -> dict:
    return {"unit_code": row.unit_code, "unit_name": row.unit_name, "unit_path": row.unit_path}


def _group_by_unit(rows) -> list[dict]:
    """Rows of PERSON → [{"unit_…", "people": [{"username", "name"}]}], by unit code."""
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(row.unit_code, {**_unit_of(row), "people": []})
        group["people"].append({"username": row.username, "name": row.name})
    return [groups[code] for code in sorted(groups)]


def _top_units(snapshot: RankingSnapshot, parents: list[Unit]) -> list[dict]:
    entries = []
    for parent in parents:
        for entry in rankings.rank_children(snapshot, parent.id, "composite")[:TOP]:
            entries.append(
                {
                    "parent_code": parent.code,
                    "parent_name": parent.name,
                    "unit_path": f"{parent.path}{entry['unit_id']}/",
                    **entry,
                }
            )
    return entries


def _round_key(round_id: int) -> str:
    return f"round:{round_id}"


def rebuild_bulletin(period, snapshot: RankingSnapshot, *, now: datetime) -> None:
    """Build a published bulletin of a round, a month, a quarter or a half-year again (its official
    snapshot was restated); nothing when none was published."""
    key = _round_key(period.round_id) if period.round_id is not None else period.key
    existing = db.session.scalar(select(Bulletin).where(Bulletin.period_key == key))
    if existing is None:
        return
    db.session.delete(existing)
    db.session.flush()
    if period.round_id is not None:
        build_round_bulletin(period.round_id, snapshot, now=now)
    elif period.kind in period_reports.STORED_KINDS:  # a 季度汇报 or 半年总结
        period_reports.build_report_bulletin(period, now=now)
    else:
        build_month_bulletin(period.starts_on, now=now)


def build_round_bulletin(round_id: int, snapshot: RankingSnapshot, *, now: datetime) -> Bulletin:
    """Non-participants (absentees for an exam) by unit, failures, top units and top staff."""
    key = _round_key(round_id)
    existing = db.session.scalar(select(Bulletin).where(Bulletin.period_key == key))
    if existing is not None:
        return existing
    round_ = db.session.get(Round, round_id)
    targets = [t.unit for t in round_.targets]
    target_paths = (
        select(Unit.path)
        .join(RoundTarget, RoundTarget.unit_id == Unit.id)
        .where(RoundTarget.round_id == round_id)
        .subquery()
    )
    own = Unit.__table__.alias("own")
    absent = db.session.execute(
        select(*PERSON)
        .join(Unit, Unit.id == User.unit_id)
        .join(own, own.c.id == User.unit_id)
        .where(
            active_staff(),
            exists().where(own.c.path.startswith(target_paths.c.path)),
            ~exists().where(
                Attempt.round_id == round_id,
                Attempt.user_id == User.id,
                Attempt.status != AttemptStatus.IN_PROGRESS,
            ),
        )
        .order_by(Unit.code, User.username)
    ).all()
    counted = (Attempt.round_id == round_id, Attempt.counted.is_(True))
    ranked = (
        select(*PERSON, Attempt.percent, Attempt.rank_in_round, Attempt.time_used_seconds)
        .join(User, User.id == Attempt.user_id)
        .join(Unit, Unit.id == Attempt.unit_id)
        .where(*counted)
        .order_by(Attempt.rank_in_round, User.username)
    )
    failures = [
        {"username": row.username, "name": row.name, "percent": row.percent, **_unit_of(row)}
        for row in db.session.execute(ranked.where(Attempt.percent < round_.pass_mark))
    ]
    top_staff = [
        {
            "rank": row.rank_in_round,
            "username": row.username,
            "name": row.name,
            "percent": row.percent,
            "time_used_seconds": row.time_used_seconds,
            **_unit_of(row),
        }
        for row in db.session.execute(ranked.limit(TOP))
    ]
    content = {
        "kind": str(round_.kind),
        "pass_mark": round_.pass_mark,
        "headcount": sum(r.headcount for r in _roots(snapshot, targets)),
        "participants": db.session.scalar(select(func.count(Attempt.id)).where(*counted)),
        "non_participants": _group_by_unit(absent),
        "failures": failures,
        "top_units": _top_units(snapshot, targets),
        "top_staff": top_staff,
    }
    label = "缺考与不合格人员通报" if round_.kind == RoundKind.EXAM else "参与情况通报"
    return _store(key, f"{round_.title} {label}", snapshot, content, now=now, round_id=round_id)


def _store(key: str, title: str, snapshot, content: dict, *, now: datetime, round_id: int | None = None):
    bulletin = Bulletin(
        period_key=key,
        title=title,
        round_id=round_id,
        snapshot_id=snapshot.id,
        content=content,
        created_at=now,
    )
    db.session.add(bulletin)
    db.session.flush()
    return bulletin


def _roots(snapshot: RankingSnapshot, units: list[Unit]):
    return db.session.scalars(
        select(SnapshotRow).where(
            SnapshotRow.snapshot_id == snapshot.id, SnapshotRow.unit_id.in_([u.id for u in units])
        )
    ).all()


def build_month_bulletin(month_start: date, *, now: datetime) -> Bulletin | None:
    """The monthly bulletin (月通报) of a month that has ended: built once, from its official snapshot."""
    tz = current_app.config["TZINFO"]
    period = rankings.month_period(month_start)
    key = period.key
    existing = db.session.scalar(select(Bulletin).where(Bulletin.period_key == key))
    if existing is not None:
        return existing
    snapshot = rankings.write_snapshot(period, official=True, now=now, tz=tz)
    roots = list(db.session.scalars(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code)))
    start_utc, end_utc = clock.day_bounds(period.starts_on, tz)[0], clock.day_bounds(period.ends_on, tz)[0]
    took_part = or_(
        exists().where(
            DailySet.user_id == User.id,
            DailySet.day >= period.starts_on,
            DailySet.day < period.ends_on,
            DailySet.counts(),
        ),
        exists().where(
            Attempt.user_id == User.id, Attempt.submitted_at >= start_utc, Attempt.submitted_at < end_utc
        ),
    )
    absent = db.session.execute(
        select(*PERSON)
        .join(Unit, Unit.id == User.unit_id)
        .where(active_staff(), ~took_part)
        .order_by(Unit.code, User.username)
    ).all()
    earned = func.sum(PointsEntry.amount).label("points")
    leaders = db.session.execute(
        select(*PERSON, earned)
        .join(PointsEntry, PointsEntry.user_id == User.id)
        .join(Unit, Unit.id == User.unit_id)
        .where(PointsEntry.day >= period.starts_on, PointsEntry.day < period.ends_on)
        .group_by(User.id, Unit.id)
        .order_by(earned.desc(), User.username)
        .limit(TOP)
    ).all()
    content = {
        "kind": "month",
        "headcount": sum(r.headcount for r in _roots(snapshot, roots)),
        "participants": sum(r.participants for r in _roots(snapshot, roots)),
        "non_participants": _group_by_unit(absent),
        "failures": [],
        "top_units": _top_units(snapshot, roots),
        "top_staff": [
            {
                "rank": i,
                "username": row.username,
                "name": row.name,
                "points": int(row.points),
                **_unit_of(row),
            }
            for i, row in enumerate(leaders, 1)
        ],
    }
    return _store(key, f"{period.label} 日日学、周周练、月月比情况通报", snapshot, content, now=now)


def view_for(bulletin: Bulletin, unit: Unit | None) -> dict:
    """The bulletin as its reader sees it: whole for an admin (``unit`` None); a unit admin's opens
    on their own unit — its headcount and participants from the bulletin's snapshot, not the
    province's — and lists only entries inside their subtree."""
    if unit is None:
        return {**bulletin.content, "scope_name": None}
    content = scoped(bulletin.content, unit.path)
    row = db.session.execute(
        select(SnapshotRow.headcount, SnapshotRow.participants).where(
            SnapshotRow.snapshot_id == bulletin.snapshot_id, SnapshotRow.unit_id == unit.id
        )
    ).first()
    headcount, participants = row if row is not None else (None, None)
    return {**content, "scope_name": unit.name, "headcount": headcount, "participants": participants}


def scoped(content: dict, unit_path: str | None) -> dict:
    """The bulletin as a unit admin sees it: only entries inside their subtree."""
    if unit_path is None:
        return content
    inside = lambda entry: entry.get("unit_path", "").startswith(unit_path)  # noqa: E731
    return {
        **content,
        "non_participants": [g for g in content["non_participants"] if inside(g)],
        "failures": [e for e in content["failures"] if inside(e)],
        "top_units": [e for e in content["top_units"] if inside(e)],
        "top_staff": [e for e in content["top_staff"] if inside(e)],
    }
