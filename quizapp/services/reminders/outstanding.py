"""Who in a unit's subtree is behind today, and the message that reminds them.

Behind means: today's 日日学 set not finished (not drawn counts as not finished), or an open round
closing within ``round_hours`` that they may take and have not started. Each list is one set-based
query over the subtree (the path prefix of ``org.in_subtree``), whatever its size; names are
fetched only when the unit names people, and only up to ``max_names``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from ... import clock
from ...extensions import db
from ...models import Attempt, DailySet, Round, RoundStatus, RoundTarget, Unit, User
from ..org import active_staff, in_subtree


@dataclass
class Group:
    title: str
    count: int
    names: list[tuple[str, str]] = field(default_factory=list)  # (unit name, person's name)


@dataclass
class Message:
    subject: str
    text: str
    people: int  # reminders in it: people behind on the daily set plus, per round, those not started

    @property
    def empty(self) -> bool:
        return self.people == 0


def _behind_daily(unit: Unit, day: date):
    finished = exists().where(
        DailySet.user_id == User.id, DailySet.day == day, DailySet.finished_at.is_not(None)
    )
    return select(User).join(Unit, Unit.id == User.unit_id).where(in_subtree(unit), active_staff(), ~finished)


def _behind_round(unit: Unit, round_id: int):
    target = aliased(Unit)
    eligible = exists().where(
        RoundTarget.round_id == round_id,
        RoundTarget.unit_id == target.id,
        Unit.path.startswith(target.path),  # paths hold digits and slashes only
    )
    started = exists().where(Attempt.user_id == User.id, Attempt.round_id == round_id)
    return (
        select(User)
        .join(Unit, Unit.id == User.unit_id)
        .where(in_subtree(unit), active_staff(), eligible, ~started)
    )


def _group(title: str, stmt, *, names: bool, limit: int) -> Group:
    count = db.session.scalar(stmt.with_only_columns(func.count(User.id)).order_by(None))
    group = Group(title, count)
    if names and count:
        group.names = [
            (unit_name, name)
            for unit_name, name in db.session.execute(
                stmt.with_only_columns(Unit.name, User.name).order_by(Unit.code, User.name).limit(limit)
            )
        ]
    return group


def _names_lines(group: Group) -> list[str]:
    by_unit: dict[str, list[str]] = {}
    for unit_name, name in group.names:
        by_unit.setdefault(unit_name, []).append(name)
    lines = [f"  {unit_name}：{'、'.join(names)}" for unit_name, names in by_unit.items()]
    if group.count > len(group.names):
        lines.append(f"  ……等共 {group.count} 人")
    return lines


def _local(moment: datetime, tz) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def build_message(
    unit: Unit, *, now: datetime, tz, name_people: bool, round_hours: int = 24, max_names: int = 100
) -> Message:
    """Today's reminder for ``unit`` (naming people or counting them). ``people`` 0: nobody is behind,
    and nothing should be sent."""
    day = clock.business_date(now, tz)
    headcount = db.session.scalar(
        select(func.count(User.id))
        .join(Unit, Unit.id == User.unit_id)
        .where(in_subtree(unit), active_staff())
    )
    daily = _group("日日学", _behind_daily(unit, day), names=name_people, limit=max_names)
    rounds = []
    due = db.session.execute(
        select(Round.id, Round.title, Round.closes_at)
        .where(
            Round.status == RoundStatus.OPEN,
            Round.opens_at <= now,
            Round.closes_at > now,
            Round.closes_at <= now + timedelta(hours=round_hours),
        )
        .order_by(Round.closes_at, Round.id)
    ).all()
    for round_id, title, closes_at in due:
        group = _group(
            f"{title}（{_local(closes_at, tz)} 截止）",
            _behind_round(unit, round_id),
            names=name_people,
            limit=max_names,
        )
        if group.count:
            rounds.append(group)
    lines = [f"【催办】{unit.name} · {day.month}月{day.day}日"]
    if daily.count:
        lines.append(f"今日日日学：共 {headcount} 人，尚有 {daily.count} 人未完成。")
        lines += _names_lines(daily)
    else:
        lines.append(f"今日日日学：共 {headcount} 人，已全部完成。")
    for group in rounds:
        lines.append(f"即将截止：{group.title}，尚有 {group.count} 人未参加。")
        lines += _names_lines(group)
    people = daily.count + sum(group.count for group in rounds)
    if people:
        lines.append("请抓紧时间完成学习和练习。")
    return Message(f"【催办】{unit.name} {day.isoformat()}", "\n".join(lines), people)
