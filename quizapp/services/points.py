"""The points ledger (积分): awarding with daily caps, totals as sums, and a recount from the facts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..models import Battle, BattlePlayer, DailySet, ItemKind, LearningItem, PointsEntry
from .rules import LearningRules

# Which learning facts earn which rule: a right daily answer, a finished set, a right practice answer.
ITEM_RULES = {ItemKind.DAILY: "daily_correct", ItemKind.PRACTICE: "practice_correct"}


def award(user_id: int, rule: str, source_id: int, day: date, rules: LearningRules) -> int:
    """Pay ``rule`` for ``source_id`` once, within the day's cap for the rule's group.

    The caller holds the user's lock (``database.lock_user``), so the cap check and the insert
    cannot interleave with another of the user's answers. Returns the points paid (0 when capped
    or already paid).
    """
    amount = rules.points.get(rule, 0)
    cap = rules.cap_for(rule)
    if cap is not None:
        used = db.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.user_id == user_id,
                PointsEntry.day == day,
                PointsEntry.rule.in_(rules.group_rules(rule)),
            )
        )
        amount = min(amount, cap - used)
    if amount <= 0:
        return 0
    already = db.session.scalar(
        select(PointsEntry.id).where(
            PointsEntry.user_id == user_id, PointsEntry.rule == rule, PointsEntry.source_id == source_id
        )
    )
    if already is not None:
        return 0
    db.session.add(PointsEntry(user_id=user_id, rule=rule, amount=amount, source_id=source_id, day=day))
    db.session.flush()
    return amount


def earned_between(start: date, end: date):
    """Points per user over business days [start, end): a subquery (user_id, points)."""
    return (
        select(PointsEntry.user_id, func.sum(PointsEntry.amount).label("points"))
        .where(PointsEntry.day >= start, PointsEntry.day < end)
        .group_by(PointsEntry.user_id)
        .subquery()
    )


def totals(user_id: int, today: date) -> dict[str, int]:
    """Points today, this month and in total, in one query."""
    month_start = today.replace(day=1)
    amount = PointsEntry.amount
    row = db.session.execute(
        select(
            func.coalesce(func.sum(amount).filter(PointsEntry.day == today), 0),
            func.coalesce(func.sum(amount).filter(PointsEntry.day >= month_start), 0),
            func.coalesce(func.sum(amount), 0),
        ).where(PointsEntry.user_id == user_id)
    ).one()
    return {"today": int(row[0]), "month": int(row[1]), "total": int(row[2])}


def ledger(user_id: int) -> dict[tuple[date, str], int]:
    rows = db.session.execute(
        select(PointsEntry.day, PointsEntry.rule, func.sum(PointsEntry.amount))
        .where(PointsEntry.user_id == user_id)
        .group_by(PointsEntry.day, PointsEntry.rule)
    ).all()
    return {(day, rule): int(total) for day, rule, total in rows}


def recount(user_id: int, rules: LearningRules) -> dict[tuple[date, str], int]:
    """Recompute what the ledger should hold from the facts (answers, finished sets), replaying
    the rules and caps in the order the events happened. Equal to ``ledger`` when all is well. A day
    held for review (or voided) earns nothing."""
    events = []  # (time, order, day, rule, source)
    held = select(DailySet.id).where(DailySet.user_id == user_id, DailySet.held.is_(True))
    for item in db.session.scalars(
        select(LearningItem).where(
            LearningItem.user_id == user_id,
            LearningItem.correct.is_(True),
            LearningItem.kind.in_(list(ITEM_RULES)),
            LearningItem.daily_set_id.is_(None) | LearningItem.daily_set_id.not_in(held),
        )
    ):
        events.append((item.answered_at, 0, item.id, item.day, ITEM_RULES[item.kind]))
    for daily_set in db.session.scalars(
        select(DailySet).where(DailySet.user_id == user_id, DailySet.counts())
    ):
        events.append((daily_set.finished_at, 1, daily_set.id, daily_set.day, "daily_finish"))
    for seat_id, finished_at, outcome in db.session.execute(
        select(BattlePlayer.id, Battle.finished_at, BattlePlayer.outcome)
        .join(Battle, Battle.id == BattlePlayer.battle_id)
        .where(
            BattlePlayer.user_id == user_id,
            Battle.status == "finished",
            BattlePlayer.held.is_(False),
            BattlePlayer.forfeited_at.is_(None),
        )
    ):
        day = clock.business_date(finished_at, rules.tz)
        events.append((finished_at, 2, seat_id, day, "battle_play"))
        if outcome == "win":
            events.append((finished_at, 3, seat_id, day, "battle_win"))
    used: dict[tuple[date, str], int] = defaultdict(int)
    expected: dict[tuple[date, str], int] = defaultdict(int)
    for _, _, _, day, rule in sorted(events, key=lambda event: event[:3]):
        group_key = (day, rules.point_groups[rule])
        amount = rules.points.get(rule, 0)
        cap = rules.cap_for(rule)
        if cap is not None:
            amount = min(amount, cap - used[group_key])
        if amount > 0:
            used[group_key] += amount
            expected[(day, rule)] += amount
    return dict(expected)
