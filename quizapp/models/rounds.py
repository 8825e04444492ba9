"""Rounds (周周练, 月月比, 专项考试): one model for all three, their paper, attempts and answers."""

from __future__ import annotations

import enum
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
from sqlalchemy.sql.expression import false

from ..extensions import db
from ._types import UTCDateTime, partial_unique, utcnow
from .bank import QuestionVersion, str_enum
from .org import Unit, User


class RoundKind(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    EXAM = "exam"

    @property
    def label(self) -> str:
        return {"weekly": "周周练", "monthly": "月月比", "exam": "专项考试"}[self.value]


class ShowAnswers(enum.StrEnum):
    AFTER_ATTEMPT = "after_attempt"  # score and review right after each submitted attempt
    AFTER_CLOSE = "after_close"  # "submitted" until the round closes

    @property
    def label(self) -> str:
        return {"after_attempt": "每次交卷后", "after_close": "本轮结束后"}[self.value]


class PaperMode(enum.StrEnum):
    SHARED = "shared"  # one paper drawn once for every taker and attempt (统一试卷)
    DRAWN = "drawn"  # a paper drawn from the blueprint for each attempt (随机组卷、一人一卷)

    @property
    def label(self) -> str:
        return {"shared": "统一试卷（所有人同一套题）", "drawn": "随机组卷（每人每次单独抽题）"}[self.value]


class RoundStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    MARKING = "marking"  # closed to takers; written answers being marked, results not out yet
    CLOSED = "closed"  # results frozen: graded, ranked

    @property
    def label(self) -> str:
        return {"scheduled": "未开始", "open": "进行中", "marking": "评阅中", "closed": "已结束"}[self.value]


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    AUTO_SUBMITTED = "auto_submitted"

    @property
    def label(self) -> str:
        return {"in_progress": "作答中", "submitted": "已交卷", "auto_submitted": "到时自动交卷"}[self.value]


class Round(db.Model):
    __tablename__ = "round"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("attempts_allowed >= 1", name="attempts_positive"),
        CheckConstraint("time_limit_seconds > 0", name="time_limit_positive"),
        CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark_percent"),
        Index("ix_round_status_times", "status", "opens_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RoundKind] = mapped_column(str_enum(RoundKind, "round_kind"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[RoundStatus] = mapped_column(
        str_enum(RoundStatus, "round_status"), default=RoundStatus.SCHEDULED
    )
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_limit_seconds: Mapped[int] = mapped_column(Integer)
    attempts_allowed: Mapped[int] = mapped_column(Integer)
    pass_mark: Mapped[float] = mapped_column(Float, default=60.0)  # percent of the paper's marks
    show_answers: Mapped[ShowAnswers] = mapped_column(str_enum(ShowAnswers, "show_answers"))
    grace_seconds: Mapped[int] = mapped_column(Integer, default=30)
    # [{"type": "single"|"case"|None, "category": "社会保险"|None, "difficulty": 1-3|None, "count": n}, …]
    blueprint: Mapped[list] = mapped_column(JSON)
    paper_mode: Mapped[PaperMode] = mapped_column(
        str_enum(PaperMode, "paper_mode"), default=PaperMode.SHARED, server_default=PaperMode.SHARED.value
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paper_drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on rounds the planning sweep creates from a template ("weekly:2026-W10"): unique, so a
    # period is planned once however often, or however concurrently, the sweep runs.
    plan_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    # Written answers (简答, 情景应答): two markers each; when their totals differ by more than this
    # share of the question's points (percent), a third marks, and the final mark is by third_rule.
    marking_gap: Mapped[float] = mapped_column(Float, default=20.0, server_default="20")
    third_rule: Mapped[str] = mapped_column(String(8), default="closest", server_default="closest")

    targets: Mapped[list[RoundTarget]] = relationship(back_populates="round", cascade="all, delete-orphan")
    paper: Mapped[list[PaperQuestion]] = relationship(  # the shared paper (attempts' own are apart)
        primaryjoin="and_(Round.id == PaperQuestion.round_id, PaperQuestion.attempt_id.is_(None))",
        order_by="PaperQuestion.position",
        viewonly=True,
    )

    @property
    def question_count(self) -> int:
        """Questions on the paper: a case row counts its cases' sub-questions once drawn (``items``),
        its cases until then."""
        return sum(int(row.get("items") or row["count"]) for row in self.blueprint)

    def is_open_at(self, now: datetime) -> bool:
        return self.status != RoundStatus.CLOSED and self.opens_at <= now < self.closes_at


class RoundTarget(db.Model):
    """A unit the round is for; everyone in its subtree may take part."""

    __tablename__ = "round_target"
    __table_args__ = (UniqueConstraint("round_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    round: Mapped[Round] = relationship(back_populates="targets")
    unit: Mapped[Unit] = relationship()


class PaperQuestion(db.Model):
    """A question of a paper. A shared round's paper is drawn once (``attempt_id`` NULL) and every
    taker gets it; a drawn round's attempt has a paper of its own (``attempt_id`` set), drawn at its
    start and never changed. Each paper holds a question once and a position once."""

    __tablename__ = "paper_question"
    __table_args__ = (
        partial_unique(
            "uq_paper_question_shared_position", "round_id", "position", where="attempt_id IS NULL"
        ),
        partial_unique(
            "uq_paper_question_shared_question", "round_id", "question_id", where="attempt_id IS NULL"
        ),
        UniqueConstraint("attempt_id", "position"),
        UniqueConstraint("attempt_id", "question_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id"))
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))

    version: Mapped[QuestionVersion] = relationship()


class Attempt(db.Model):
    """One sitting of a round by one person (答卷).

    ``number`` counts the person's attempts at the round and ``max_attempts`` is the round's limit
    copied at the start, so ``UNIQUE(round, user, number)`` with ``CHECK(number <= max_attempts)``
    makes an attempt beyond the limit impossible in the database itself — on a one-attempt round a
    second attempt can be neither number 1 (taken) nor number 2 (over the limit).
    """

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "number"),
        CheckConstraint("number >= 1 AND number <= max_attempts", name="within_allowed_attempts"),
        Index("ix_attempt_round_status", "round_id", "status", "deadline_at"),
        Index("ix_attempt_user", "user_id", "round_id"),
        Index("ix_attempt_status_deadline", "status", "deadline_at"),
        Index("ix_attempt_submitted", "submitted_at"),  # the live refresh reads the days not folded yet
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the unit at the start
    number: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[AttemptStatus] = mapped_column(
        str_enum(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)  # min(start + limit, close) + extensions
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Shuffles, stored so a reload or another device shows the same order:
    question_order: Mapped[list] = mapped_column(JSON)  # [question_id, …]
    option_orders: Mapped[dict] = mapped_column(JSON)  # {"question_id": ["C", "A", "D", "B"], …}
    # Results (graded at submit for rounds that show answers at once, at close otherwise):
    score: Mapped[float | None] = mapped_column(Float)  # marks, one per question
    percent: Mapped[float | None] = mapped_column(Float)
    correct_count: Mapped[int | None] = mapped_column(Integer)
    time_used_seconds: Mapped[int | None] = mapped_column(Integer)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counted: Mapped[bool] = mapped_column(Boolean, default=False)  # the attempt that counts for the person
    rank_in_round: Mapped[int | None] = mapped_column(Integer)
    rank_in_unit: Mapped[int | None] = mapped_column(Integer)
    # Integrity (services.integrity): the explained score once assessed (NULL before), and whether
    # the attempt is held out of every official count (held for review, or voided after it).
    integrity_score: Mapped[int | None] = mapped_column(Integer)
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    clients: Mapped[list | None] = mapped_column(JSON)  # the sessions and addresses that saved answers
    focus: Mapped[dict | None] = mapped_column(JSON)  # the page's visibility reports, per page load

    round: Mapped[Round] = relationship()
    user: Mapped[User] = relationship()
    unit: Mapped[Unit] = relationship()

    @property
    def finished(self) -> bool:
        return self.status != AttemptStatus.IN_PROGRESS


class AttemptAnswer(db.Model):
    """A saved answer, with the server's time. Scored when saved; the score stays on the server."""

    __tablename__ = "attempt_answer"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    response: Mapped[object] = mapped_column(JSON)  # in the question's own option keys
    score: Mapped[float] = mapped_column(Float)
    correct: Mapped[bool] = mapped_column(Boolean)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it was first given
    gap_seconds: Mapped[float | None] = mapped_column(Float)  # since the attempt's previous first save
    revision: Mapped[int] = mapped_column(Integer, default=1)  # how many times it was saved
    # A written answer's final mark in the rubric's points, once its markers agree (NULL before; the
    # answer's ``score`` is then this over the rubric's total).
    mark_final: Mapped[float | None] = mapped_column(Float)


class RoundTemplate(db.Model):
    """When the weekly and monthly rounds run and what they contain; the planning sweep creates the
    coming rounds from these. Weekly: ``open_day``/``close_day`` are weekdays (0 = Monday). Monthly:
    the round opens ``open_day`` days before the month's end and closes on its last day."""

    __tablename__ = "round_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RoundKind] = mapped_column(str_enum(RoundKind, "template_kind"), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    open_day: Mapped[int] = mapped_column(Integer)
    open_time: Mapped[str] = mapped_column(String(5))  # "00:00", business time zone
    close_day: Mapped[int] = mapped_column(Integer)
    close_time: Mapped[str] = mapped_column(String(5))  # "23:59"
    plan_ahead_days: Mapped[int] = mapped_column(Integer, default=7)
    target_codes: Mapped[list] = mapped_column(JSON)
    time_limit_minutes: Mapped[int] = mapped_column(Integer)
    attempts_allowed: Mapped[int] = mapped_column(Integer)
    pass_mark: Mapped[float] = mapped_column(Float)
    show_answers: Mapped[ShowAnswers] = mapped_column(str_enum(ShowAnswers, "template_show_answers"))
    grace_seconds: Mapped[int] = mapped_column(Integer, default=30)
    blueprint: Mapped[list] = mapped_column(JSON)
    paper_mode: Mapped[PaperMode] = mapped_column(
        str_enum(PaperMode, "template_paper_mode"),
        default=PaperMode.SHARED,
        server_default=PaperMode.SHARED.value,
    )
