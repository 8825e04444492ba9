"""对战 (battles): 1v1, four players, or one against the machine (人机对战), and the waiting queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .org import User


class Battle(db.Model):
    """One battle. Its questions are the same for every player; its clock is the server's: question
    ``i`` opens when ``i - 1`` has ended and its key has been shown for ``reveal_seconds``, and ends
    ``question_seconds`` after opening or as soon as every player still in has answered
    (``services.battles.timeline`` derives all of it from the answers, nothing is scheduled)."""

    __tablename__ = "battle"
    __table_args__ = (
        CheckConstraint("mode IN ('duel', 'four', 'machine')", name="battle_mode"),
        CheckConstraint("status IN ('invited', 'running', 'finished', 'declined')", name="battle_status"),
        Index("ix_battle_status_started", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))  # duel (1v1) | four | machine (人机对战)
    status: Mapped[str] = mapped_column(String(10), default="running")
    challenge: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # 点名挑战
    question_version_ids: Mapped[list] = mapped_column(JSON)
    question_seconds: Mapped[int] = mapped_column(Integer, default=15)
    reveal_seconds: Mapped[int] = mapped_column(Integer, default=4)
    lead_seconds: Mapped[int] = mapped_column(Integer, default=3)  # the countdown before question 1
    # 人机对战: per question, whether the machine answers right and after how many seconds.
    machine_plan: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    players: Mapped[list[BattlePlayer]] = relationship(back_populates="battle", order_by="BattlePlayer.seat")


class BattlePlayer(db.Model):
    """A seat in a battle: a person (``user_id``) or the machine (``user_id`` NULL). A person sits in a
    battle once (UNIQUE battle, user), so two sessions of one account can never play each other."""

    __tablename__ = "battle_player"
    __table_args__ = (
        UniqueConstraint("battle_id", "seat"),
        UniqueConstraint("battle_id", "user_id"),
        Index("ix_battle_player_user", "user_id", "battle_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    battle_id: Mapped[int] = mapped_column(ForeignKey("battle.id"))
    seat: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)  # at the start
    # A challenge's answer: the challenged seat waits unaccepted until its person says yes.
    accepted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forfeited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # gone for more than 10 s
    # At the finish: the score, right answers, the place (1 = best; equal scores share it) and outcome.
    score: Mapped[float | None] = mapped_column(Float)
    right: Mapped[int | None] = mapped_column(Integer)
    place: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(5))  # win | draw | loss
    # Integrity: held out of points and leaderboards (answers faster than reading, two sessions).
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    signals: Mapped[list | None] = mapped_column(JSON)
    clients: Mapped[list | None] = mapped_column(JSON)

    battle: Mapped[Battle] = relationship(back_populates="players")
    user: Mapped[User | None] = relationship()


class BattleAnswer(db.Model):
    """A player's answer to one question of a battle: one per (player, position), stamped with the
    server's time; refused once the question has ended (a late answer is void)."""

    __tablename__ = "battle_answer"
    __table_args__ = (UniqueConstraint("player_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    battle_id: Mapped[int] = mapped_column(ForeignKey("battle.id"), index=True)
    player_id: Mapped[int] = mapped_column(ForeignKey("battle_player.id"))
    position: Mapped[int] = mapped_column(Integer)  # 0-based
    response: Mapped[object] = mapped_column(JSON)
    correct: Mapped[bool] = mapped_column(Boolean)
    points: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)  # from the question's opening
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BattleQueue(db.Model):
    """Someone waiting for opponents (匹配中): matched with others of the same mode and province within
    the wait, or else given the machine."""

    __tablename__ = "battle_queue"
    __table_args__ = (Index("ix_battle_queue_match", "mode", "province_id", "joined_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    mode: Mapped[str] = mapped_column(String(8))
    province_id: Mapped[int | None] = mapped_column(Integer)  # the top unit of the person's tree
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    battle_id: Mapped[int | None] = mapped_column(ForeignKey("battle.id"))  # set when matched
