"""Finding opponents: the waiting queue (匹配), the machine after the wait, and challenges (点名挑战).

Someone who asks for a 1v1 or four-player battle waits in the queue. Each time anyone of the same
mode and province polls, the oldest waiting people are matched (two, or four) into a battle under a
lock, so two polls never put one person in two battles. Whoever has waited ``BATTLE_WAIT_SECONDS``
(default 20) without enough opponents gets the machine instead: a 1v1 becomes 人机对战, and a
four-player wait of two or three becomes a battle among them. A person plays one battle at a time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, select
from sqlalchemy.orm import aliased

from ...database import lock_user
from ...extensions import db
from ...models import Battle, BattlePlayer, BattleQueue, Unit, User
from ..errors import DomainError, NotFound
from .play import BattleError, current_battle, start_battle

SEATS = {"duel": 2, "four": 4}


def province_of(user: User) -> int | None:
    """The top unit of the person's tree: a province's deployment is one tree."""
    path = db.session.scalar(select(Unit.path).where(Unit.id == user.unit_id)) if user.unit_id else None
    return int(path.strip("/").split("/")[0]) if path else None


def join(user: User, mode: str, *, now: datetime) -> dict:
    """Wait for opponents (or, for ``machine``, play the machine at once)."""
    if mode not in ("duel", "four", "machine"):
        raise DomainError("对战模式无效，应为 duel（双人）、four（四人）或 machine（人机）")
    lock_user(user.id)
    running = current_battle(user.id)
    if running is not None:
        return {"battle": running}
    if mode == "machine":
        return {"battle": start_battle("machine", [user.id], now=now).id}
    db.session.execute(delete(BattleQueue).where(BattleQueue.user_id == user.id))
    db.session.add(BattleQueue(user_id=user.id, mode=mode, province_id=province_of(user), joined_at=now))
    db.session.flush()
    return poll(user, now=now)


def poll(user: User, *, now: datetime) -> dict:
    """Where the person's wait stands: matched into a battle, still waiting (with the seconds so
    far), or not waiting at all."""
    entry = db.session.scalar(select(BattleQueue).where(BattleQueue.user_id == user.id))
    if entry is None:
        running = current_battle(user.id)
        if running is not None:
            return {"battle": running}
        raise NotFound("您不在匹配队列中")
    if entry.battle_id is None:
        _match(entry.mode, entry.province_id, now=now)
        db.session.refresh(entry)
    if entry.battle_id is not None:
        battle_id = entry.battle_id
        db.session.delete(entry)
        db.session.flush()
        return {"battle": battle_id}
    return {"waiting": round((now - entry.joined_at).total_seconds(), 1)}


def leave(user: User) -> None:
    db.session.execute(
        delete(BattleQueue).where(BattleQueue.user_id == user.id, BattleQueue.battle_id.is_(None))
    )


def _match(mode: str, province_id: int | None, *, now: datetime) -> None:
    """Match the oldest waiting of this mode and province, under the queue's lock (the first
    waiting row: polls of one queue take turns; SQLite's writer is alone anyway)."""
    seats = SEATS[mode]
    wait = timedelta(seconds=current_app.config["BATTLE_WAIT_SECONDS"])
    waiting_rows = (
        select(BattleQueue)
        .where(
            BattleQueue.mode == mode, BattleQueue.province_id == province_id, BattleQueue.battle_id.is_(None)
        )
        .order_by(BattleQueue.joined_at, BattleQueue.id)
    )
    waiting = list(db.session.scalars(waiting_rows.with_for_update()))
    while len(waiting) >= seats:
        group, waiting = waiting[:seats], waiting[seats:]
        _seat(group, mode, now)
    if waiting and now - waiting[0].joined_at >= wait:
        if mode == "duel" or len(waiting) == 1:
            for entry in waiting:  # each alone: the machine
                _seat([entry], "machine", now)
        else:
            _seat(waiting, mode, now)


def _seat(entries: list[BattleQueue], mode: str, now: datetime) -> None:
    battle = start_battle(mode, [entry.user_id for entry in entries], now=now)
    for entry in entries:
        entry.battle_id = battle.id
    db.session.flush()


def challenge(user: User, opponent_username: str, *, now: datetime) -> int:
    """点名挑战: a 1v1 battle with a named colleague, waiting for them to accept (an invitation may be
    sent at any time; its acceptance needs both to be free)."""
    opponent = db.session.scalar(
        select(User).where(User.username == opponent_username.strip(), User.active.is_(True))
    )
    if opponent is None:
        raise NotFound(f"账号“{opponent_username}”不存在")
    if opponent.id == user.id:
        raise BattleError("不能向自己发起挑战")
    return start_battle("duel", [user.id, opponent.id], now=now, challenge=True).id


def respond(user: User, battle_id: int, accept: bool, *, now: datetime) -> None:
    """The challenged person accepts (the battle starts now) or declines."""
    battle = db.session.scalar(select(Battle).where(Battle.id == battle_id).with_for_update())
    seat = db.session.scalar(
        select(BattlePlayer).where(BattlePlayer.battle_id == battle_id, BattlePlayer.user_id == user.id)
    )
    if battle is None or seat is None or seat.accepted:
        raise NotFound("没有待回应的挑战")
    if battle.status != "invited":
        raise BattleError("这项挑战已失效")
    if not accept:
        battle.status = "declined"
    else:
        if _playing(user.id):
            raise BattleError("您有一场对战尚未结束")
        challenger = db.session.scalar(
            select(BattlePlayer.user_id).where(BattlePlayer.battle_id == battle_id, BattlePlayer.seat == 1)
        )
        if _playing(challenger):
            raise BattleError("对方正在另一场对战中，请稍后再接受")
        seat.accepted = True
        battle.status, battle.started_at = "running", now
        for player in db.session.scalars(select(BattlePlayer).where(BattlePlayer.battle_id == battle_id)):
            player.last_seen_at = now
    db.session.flush()
    from .push import changed

    changed(battle_id)


def _playing(user_id: int) -> bool:
    """In a running battle, still in it."""
    return (
        db.session.scalar(
            select(BattlePlayer.id)
            .join(Battle, Battle.id == BattlePlayer.battle_id)
            .where(
                BattlePlayer.user_id == user_id,
                Battle.status == "running",
                BattlePlayer.forfeited_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def invitations(user_id: int) -> list[dict]:
    """Challenges waiting for this person's answer, with who sent them."""
    mine, sender = aliased(BattlePlayer), aliased(BattlePlayer)
    rows = db.session.execute(
        select(Battle.id, User.name)
        .join(mine, mine.battle_id == Battle.id)
        .join(sender, and_(sender.battle_id == Battle.id, sender.seat == 1))
        .join(User, User.id == sender.user_id)
        .where(Battle.status == "invited", mine.user_id == user_id, mine.accepted.is_(False))
        .order_by(Battle.id)
    ).all()
    return [{"battle": battle_id, "from": name} for battle_id, name in rows]
