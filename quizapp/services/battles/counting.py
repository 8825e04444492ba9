"""What a finished battle counts for: integrity first, then points and the leaderboards.

Integrity (the signals of the papers, applied to a battle's answers): a person is **held** — no
points, out of the leaderboards — when at least ``fast_share`` of their answers came faster than the
reading-speed floor (base + characters ÷ reading speed, as for papers), or when their answers came
from two sign-in sessions of the account. Points go to the ledger (``PointsEntry``) once per seat:
``battle_play`` for a battle played to the end, ``battle_win`` for a win, within the daily cap of
the ``battle`` group (defaults in config: 1, 3, cap 10).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import case, func, select

from ... import clock
from ...database import lock_user
from ...extensions import db
from ...models import Battle, BattleAnswer, BattlePlayer, PointsEntry, QuestionVersion, Unit, User
from .. import points
from .. import rules as learning_rules
from ..integrity.signals import thresholds


def settle(
    battle: Battle, players: list[BattlePlayer], answers: list[BattleAnswer], *, now: datetime
) -> None:
    limits = thresholds()
    chars = dict(
        db.session.execute(
            select(QuestionVersion.id, QuestionVersion.reading_chars).where(
                QuestionVersion.id.in_(battle.question_version_ids)
            )
        ).all()
    )
    rules = learning_rules.current()
    day = clock.business_date(now, current_app.config["TZINFO"])
    for player in players:
        if player.user_id is None:
            continue
        mine = [a for a in answers if a.player_id == player.id]
        signals = []
        fast = [
            a
            for a in mine
            if a.seconds
            < limits.reading_base_seconds
            + chars[battle.question_version_ids[a.position]] / limits.reading_chars_per_second
        ]
        if mine and len(fast) >= limits.fast_share * len(mine) and len(fast) >= 2:
            signals.append(
                {"code": "fast", "label": "秒答", "detail": f"{len(fast)}/{len(mine)} 题快于阅读速度"}
            )
        sessions = {client.split("@")[0] for client in player.clients or []}
        if len(sessions) > 1:
            signals.append(
                {"code": "sessions", "label": "多处登录", "detail": f"{len(sessions)} 个登录会话作答"}
            )
        player.signals = signals or None
        player.held = bool(signals)
        if player.held or player.forfeited_at is not None:
            continue  # a held or forfeited seat earns nothing
        lock_user(player.user_id)
        points.award(player.user_id, "battle_play", player.id, day, rules)
        if player.outcome == "win":
            points.award(player.user_id, "battle_win", player.id, day, rules)
    db.session.flush()


def leaderboard(unit: Unit, start: datetime, end: datetime, *, limit: int | None = None) -> list[dict]:
    """个人对战榜 of a subtree over [start, end): battles, wins, win rate and battle points, held
    seats left out; by wins, then win rate, then points."""
    earned = (
        select(PointsEntry.user_id, func.sum(PointsEntry.amount).label("points"))
        .where(
            PointsEntry.rule.in_(["battle_play", "battle_win"]),
            PointsEntry.created_at >= start,
            PointsEntry.created_at < end,
        )
        .group_by(PointsEntry.user_id)
        .subquery()
    )
    wins = func.sum(case((BattlePlayer.outcome == "win", 1), else_=0))
    rows = db.session.execute(
        select(
            User.id,
            User.name,
            User.username,
            Unit.name.label("unit"),
            func.count(BattlePlayer.id).label("battles"),
            wins.label("wins"),
            func.coalesce(func.max(earned.c.points), 0).label("points"),
        )
        .join(Battle, Battle.id == BattlePlayer.battle_id)
        .join(User, User.id == BattlePlayer.user_id)
        .join(Unit, Unit.id == User.unit_id)
        .outerjoin(earned, earned.c.user_id == User.id)
        .where(
            Battle.status == "finished",
            Battle.finished_at >= start,
            Battle.finished_at < end,
            BattlePlayer.held.is_(False),
            Unit.path.startswith(unit.path, autoescape=True),
        )
        .group_by(User.id, User.name, User.username, Unit.name)
    ).all()
    board = [
        {
            "user_id": r.id,
            "name": r.name,
            "username": r.username,
            "unit": r.unit,
            "battles": r.battles,
            "wins": int(r.wins or 0),
            "win_rate": round((r.wins or 0) / r.battles, 3) if r.battles else 0.0,
            "points": int(r.points or 0),
        }
        for r in rows
    ]
    board.sort(key=lambda r: (-r["wins"], -r["win_rate"], -r["points"], r["name"]))
    for rank, row in enumerate(board, 1):
        row["rank"] = rank
    return board if limit is None else board[:limit]


def unit_ladder(parent: Unit, start: datetime, end: datetime) -> list[dict]:
    """单位对战周赛 (optional): the parent's child units by the wins of their members (held seats
    left out) over [start, end)."""
    children = db.session.execute(
        select(Unit.id, Unit.name, Unit.path).where(Unit.parent_id == parent.id)
    ).all()
    wins = dict(
        db.session.execute(
            select(Unit.path, func.count(BattlePlayer.id))
            .select_from(BattlePlayer)
            .join(Battle, Battle.id == BattlePlayer.battle_id)
            .join(Unit, Unit.id == BattlePlayer.unit_id)
            .where(
                Battle.status == "finished",
                Battle.finished_at >= start,
                Battle.finished_at < end,
                BattlePlayer.outcome == "win",
                BattlePlayer.held.is_(False),
                Unit.path.startswith(parent.path, autoescape=True),
            )
            .group_by(Unit.path)
        ).all()
    )
    rows = [
        {
            "unit_id": unit_id,
            "name": name,
            "wins": sum(n for path_, n in wins.items() if path_.startswith(path)),
        }
        for unit_id, name, path in children
    ]
    rows.sort(key=lambda r: (-r["wins"], r["name"]))
    return rows
