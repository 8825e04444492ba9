"""现场比武 (the live contest): a contest's set-up (teams, segments, questions), the phones joined to
it, and its event log. The log is the record: the contest's state is a replay of its events
(services.contest.replay), so a reload or a server restart resumes exactly where it was."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UTCDateTime, utcnow
from .bank import str_enum


class SegmentKind(enum.StrEnum):
    REQUIRED = "required"  # 必答: each team answers in turn
    BUZZ = "buzz"  # 抢答: first valid buzz answers
    RISK = "risk"  # 风险题: the team stakes points before seeing the question
    TIEBREAK = "tiebreak"  # 加赛: a buzz segment among the teams tied at the top

    @property
    def label(self) -> str:
        return {"required": "必答题", "buzz": "抢答题", "risk": "风险题", "tiebreak": "加赛题"}[self.value]


class Contest(db.Model):
    __tablename__ = "contest"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)  # the hall's join code
    title: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # whose contest (scope)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by the finish event
    podium: Mapped[list | None] = mapped_column(JSON)  # the final standings, for the 光荣榜

    unit = relationship("Unit")
    teams: Mapped[list[ContestTeam]] = relationship(order_by="ContestTeam.position")
    segments: Mapped[list[ContestSegment]] = relationship(order_by="ContestSegment.position")


class ContestTeam(db.Model):
    __tablename__ = "contest_team"
    __table_args__ = (UniqueConstraint("contest_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    unit_name: Mapped[str] = mapped_column(String(100))
    members: Mapped[list] = mapped_column(JSON)  # 2–4 names
    pin: Mapped[str] = mapped_column(String(8))  # handed to the team on paper: joins its phones


class ContestSegment(db.Model):
    __tablename__ = "contest_segment"
    __table_args__ = (UniqueConstraint("contest_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SegmentKind] = mapped_column(str_enum(SegmentKind, "segment_kind"))
    title: Mapped[str] = mapped_column(String(50))
    points_right: Mapped[int] = mapped_column(Integer)
    points_wrong: Mapped[int] = mapped_column(Integer)  # deducted (0: no deduction)
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    early_penalty: Mapped[int] = mapped_column(Integer, default=0)  # 抢答 before open
    stakes: Mapped[list] = mapped_column(JSON, default=list)  # 风险题: the stakes offered
    team_ids: Mapped[list | None] = mapped_column(JSON)  # which teams answer (None: all)
    phone_answers: Mapped[bool] = mapped_column(default=True)  # choice items answered on the phone

    questions: Mapped[list[ContestQuestion]] = relationship(order_by="ContestQuestion.position")


class ContestQuestion(db.Model):
    __tablename__ = "contest_question"
    __table_args__ = (UniqueConstraint("segment_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("contest_segment.id"))
    position: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("contest_team.id"))  # 必答/风险: who answers

    version = relationship("QuestionVersion")


class ContestDevice(db.Model):
    """A phone joined to a team (by the contest's code and the team's PIN); the token is its key."""

    __tablename__ = "contest_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("contest_team.id"))
    member: Mapped[str] = mapped_column(String(50))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContestEvent(db.Model):
    """One action, in the order the server accepted it (``seq``, unique per contest). ``mono_ns`` is
    the server's monotonic clock at receipt in process ``boot``: buzz delays are measured with it."""

    __tablename__ = "contest_event"
    __table_args__ = (UniqueConstraint("contest_id", "seq"),)  # also the index replay reads by

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("contest_team.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("contest_device.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mono_ns: Mapped[int] = mapped_column(BigInteger)
    boot: Mapped[str] = mapped_column(String(16))
