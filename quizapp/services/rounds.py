"""Rounds: 周周练, 月月比 and 专项考试 — creating them, drawing the paper, and the attempt lifecycle.

started → answers saved one by one (server time) → submitted | auto-submitted. The server keeps the
deadline: min(start + time limit, round close), plus any extension an admin grants. Answers arriving
after deadline + grace are refused (409), never dropped silently.
"""

from __future__ import annotations

import calendar
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Numeric, and_, bindparam, cast, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from .. import kept
from ..database import bulk_work, dialect_insert, lock_user, per_dialect, refresh_statistics
from ..extensions import db
from ..models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Category,
    PaperQuestion,
    Question,
    QuestionStatus,
    QuestionType,
    QuestionVersion,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    RoundTarget,
    ShowAnswers,
    Source,
    Unit,
    User,
)
from . import audit, grading, seal
from .errors import Conflict, DomainError, NotFound

OPTION_LETTERS = "ABCDEF"
# The page's countdown starts from the server's whole remaining seconds and fires when it rounds
# to zero, so it may hand in a little before the server's deadline.
TIME_UP_TOLERANCE = timedelta(seconds=5)


class PaperError(DomainError):
    code = "paper_unfillable"
    status = 409


@dataclass
class RoundSettings:
    kind: str
    title: str
    opens_at: datetime
    closes_at: datetime
    target_codes: list[str]
    time_limit_minutes: int
    attempts_allowed: int
    pass_mark: float
    show_answers: str
    grace_seconds: int
    blueprint: list[dict]


# ---------------------------------------------------------------------------------------------
# Defaults and creation


def default_window(kind: str, today: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Weekly: this week's Monday 00:00 to Sunday 23:59. Monthly: the last MONTHLY_OPEN_DAYS days of
    the month, 00:00 to the last day's 23:59. Exam: tomorrow 09:00–11:00 (an admin sets it)."""

    def local(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=tz)

    if kind == RoundKind.WEEKLY:
        monday = today - timedelta(days=today.weekday())
        return local(monday, time(0, 0)), local(monday + timedelta(days=6), time(23, 59))
    if kind == RoundKind.MONTHLY:
        last = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
        first_open = last - timedelta(days=current_app.config["MONTHLY_OPEN_DAYS"] - 1)
        return local(first_open, time(0, 0)), local(last, time(23, 59))
    tomorrow = today + timedelta(days=1)
    return local(tomorrow, time(9, 0)), local(tomorrow, time(11, 0))


def default_settings(kind: str, today: date, tz: ZoneInfo, target_codes: list[str]) -> RoundSettings:
    defaults = current_app.config["ROUND_DEFAULTS"][kind]
    opens_at, closes_at = default_window(kind, today, tz)
    if kind == RoundKind.WEEKLY:
        title = f"{today.year}年第{today.isocalendar().week}周 周周练"
    elif kind == RoundKind.MONTHLY:
        title = f"{today.year}年{today.month}月 月月比"
    else:
        title = f"{today.year}年{today.month}月 专项考试"
    return RoundSettings(
        kind=kind,
        title=title,
        opens_at=opens_at,
        closes_at=closes_at,
        target_codes=target_codes,
        time_limit_minutes=defaults["time_limit_minutes"],
        attempts_allowed=defaults["attempts_allowed"],
        pass_mark=defaults["pass_mark"],
        show_answers=defaults["show_answers"],
        grace_seconds=defaults["grace_seconds"],
        blueprint=[dict(row) for row in defaults["blueprint"]],
    )


def _clean_blueprint(rows: list[dict]) -> list[dict]:
    categories = set(db.session.scalars(select(Category.name)))
    cleaned, problems = [], []
    for index, row in enumerate(rows, 1):
        qtype = row.get("type") or None
        category = row.get("category") or None
        difficulty = row.get("difficulty") or None
        try:
            count = int(row.get("count") or 0)
        except (TypeError, ValueError):
            count = -1
        if qtype is not None and qtype not in {t.value for t in QuestionType}:
            problems.append(f"第{index}行：题型“{qtype}”无效")
        if category is not None and category not in categories:
            problems.append(f"第{index}行：业务类别“{category}”不存在")
        if difficulty is not None and str(difficulty) not in ("1", "2", "3"):
            problems.append(f"第{index}行：难度应为 1、2 或 3")
        if count <= 0 or count > 200:
            problems.append(f"第{index}行：题数应为 1–200")
        cleaned.append(
            {
                "type": qtype,
                "category": category,
                "difficulty": int(difficulty) if difficulty else None,
                "count": count,
            }
        )
    if not cleaned:
        problems.append("试卷结构至少需要一行")
    if problems:
        raise DomainError("；".join(problems))
    return cleaned


def _check(settings: RoundSettings) -> list[Unit]:
    if not settings.title.strip():
        raise DomainError("标题不能为空")
    if settings.kind not in {k.value for k in RoundKind}:
        raise DomainError("类型应为周周练、月月比或专项考试")
    if settings.closes_at <= settings.opens_at:
        raise DomainError("结束时间必须晚于开始时间")
    if not 1 <= settings.time_limit_minutes <= 600:
        raise DomainError("答题时限应为 1–600 分钟")
    if not 1 <= settings.attempts_allowed <= 20:
        raise DomainError("作答次数应为 1–20 次")
    if not 0 <= settings.pass_mark <= 100:
        raise DomainError("及格线应为 0–100 分")
    if not 0 <= settings.grace_seconds <= 600:
        raise DomainError("宽限时间应为 0–600 秒")
    if settings.show_answers not in {s.value for s in ShowAnswers}:
        raise DomainError("答案公布方式无效")
    if not settings.target_codes:
        raise DomainError("请至少选择一个参加单位")
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(settings.target_codes))))
    missing = sorted(set(settings.target_codes) - {u.code for u in units})
    if missing:
        raise NotFound(f"单位编码不存在：{'、'.join(missing)}")
    return units


def validate(settings: RoundSettings) -> tuple[list[Unit], list[dict]]:
    """Check settings; returns the target units and the cleaned blueprint, or raises DomainError."""
    return _check(settings), _clean_blueprint(settings.blueprint)


def create_round(settings: RoundSettings, *, actor_id: int | None) -> Round:
    units, blueprint = validate(settings)
    round_ = Round(
        kind=settings.kind,
        title=settings.title.strip(),
        status=RoundStatus.SCHEDULED,
        opens_at=settings.opens_at,
        closes_at=settings.closes_at,
        time_limit_seconds=settings.time_limit_minutes * 60,
        attempts_allowed=settings.attempts_allowed,
        pass_mark=settings.pass_mark,
        show_answers=settings.show_answers,
        grace_seconds=settings.grace_seconds,
        blueprint=blueprint,
        created_by_id=actor_id,
        targets=[RoundTarget(unit_id=unit.id) for unit in units],
    )
    db.session.add(round_)
    db.session.flush()
    audit.record(
        "round.create",
        "round",
        round_.id,
        actor_id=actor_id,
        after={"title": round_.title, "kind": settings.kind, "targets": settings.target_codes},
    )
    return round_


def update_round(round_id: int, settings: RoundSettings, *, actor_id: int | None) -> Round:
    """Change a round. Once the paper is drawn the blueprint is fixed; once someone has started, so
    are the time limit, attempts and pass mark (everyone sits the same round)."""
    round_ = get_round(round_id)
    if round_.status == RoundStatus.CLOSED:
        raise Conflict("本轮已结束，不能修改")
    units, blueprint = validate(settings)
    started = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.round_id == round_id))
    before = {
        "title": round_.title,
        "opens_at": round_.opens_at.isoformat(),
        "closes_at": round_.closes_at.isoformat(),
    }
    if round_.paper_drawn_at and blueprint != round_.blueprint:
        raise Conflict("试卷已抽取，不能再修改试卷结构")
    if started and (
        settings.time_limit_minutes * 60 != round_.time_limit_seconds
        or settings.attempts_allowed != round_.attempts_allowed
        or settings.pass_mark != round_.pass_mark
        or settings.kind != round_.kind
    ):
        raise Conflict("已有人开始作答，不能修改类型、时限、作答次数和及格线")
    round_.kind, round_.title = settings.kind, settings.title.strip()
    round_.opens_at, round_.closes_at = settings.opens_at, settings.closes_at
    round_.time_limit_seconds = settings.time_limit_minutes * 60
    round_.attempts_allowed, round_.pass_mark = settings.attempts_allowed, settings.pass_mark
    round_.show_answers, round_.grace_seconds = settings.show_answers, settings.grace_seconds
    round_.blueprint = blueprint
    wanted = {unit.id for unit in units}
    round_.targets = [t for t in round_.targets if t.unit_id in wanted] + [
        RoundTarget(unit_id=unit_id) for unit_id in wanted - {t.unit_id for t in round_.targets}
    ]
    db.session.flush()
    audit.record(
        "round.update",
        "round",
        round_.id,
        actor_id=actor_id,
        before=before,
        after={
            "title": round_.title,
            "opens_at": round_.opens_at.isoformat(),
            "closes_at": round_.closes_at.isoformat(),
        },
    )
    return round_


def get_round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound("本轮不存在")
    return round_


def settings_of(round_: Round) -> RoundSettings:
    return RoundSettings(
        kind=str(round_.kind),
        title=round_.title,
        opens_at=round_.opens_at,
        closes_at=round_.closes_at,
        target_codes=[target.unit.code for target in round_.targets],
        time_limit_minutes=round_.time_limit_seconds // 60,
        attempts_allowed=round_.attempts_allowed,
        pass_mark=round_.pass_mark,
        show_answers=str(round_.show_answers),
        grace_seconds=round_.grace_seconds,
        blueprint=[dict(row) for row in round_.blueprint],
    )


# ---------------------------------------------------------------------------------------------
# The paper


def describe_row(row: dict) -> str:
    parts = [
        QuestionType(row["type"]).label if row.get("type") else "任意题型",
        row.get("category") or "任意类别",
        f"难度{row['difficulty']}" if row.get("difficulty") else "任意难度",
    ]
    return "·".join(parts)


def _row_candidates(row: dict):
    stmt = (
        select(QuestionVersion.id, QuestionVersion.question_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.is_current, Question.status == QuestionStatus.ACTIVE)
    )
    if row.get("type"):
        stmt = stmt.where(QuestionVersion.type == row["type"])
    if row.get("category"):
        stmt = stmt.join(Category, Category.id == QuestionVersion.category_id).where(
            Category.name == row["category"]
        )
    if row.get("difficulty"):
        stmt = stmt.where(QuestionVersion.difficulty == row["difficulty"])
    return stmt


def draw_paper(round_id: int, *, now: datetime, redraw: bool = False) -> list[PaperQuestion]:
    """Draw the paper once from the blueprint (row by row, without repeats). Every row that the bank
    cannot fill is reported, and nothing is written. ``redraw`` replaces a paper nobody has used."""
    round_ = db.session.scalar(
        select(Round).where(Round.id == round_id).with_for_update().execution_options(populate_existing=True)
    )
    if round_ is None:
        raise NotFound("本轮不存在")
    if round_.paper_drawn_at is not None:
        if not redraw:
            return list(round_.paper)
        if db.session.scalar(select(exists().where(Attempt.round_id == round_id))):
            raise Conflict("已有人作答，不能重新抽题")
        db.session.execute(delete(PaperQuestion).where(PaperQuestion.round_id == round_id))
        db.session.expire(round_, ["paper"])
    picked: list[tuple[int, int]] = []
    problems = []
    for index, row in enumerate(round_.blueprint, 1):
        taken = [question_id for _, question_id in picked]
        rows = db.session.execute(
            _row_candidates(row)
            .where(QuestionVersion.question_id.not_in(taken))
            .order_by(func.random())
            .limit(row["count"])
        ).all()
        if len(rows) < row["count"]:
            problems.append(
                f"第{index}行（{describe_row(row)}）需要 {row['count']} 题，题库中只有 {len(rows)} 题可用"
            )
        picked.extend((r.id, r.question_id) for r in rows)
    if problems:
        raise PaperError("题库不足以组卷：" + "；".join(problems))
    db.session.add_all(
        PaperQuestion(
            round_id=round_id, position=position, question_version_id=version_id, question_id=question_id
        )
        for position, (version_id, question_id) in enumerate(picked, 1)
    )
    round_.paper_drawn_at = now
    _papers().forget(lambda key: key[0] == round_id)  # a redraw within the same instant
    db.session.flush()
    db.session.expire(round_, ["paper"])
    return list(round_.paper)


def check_blueprint(blueprint: list[dict]) -> list[str]:
    """How the bank stands against a blueprint, row by row (for the admin form), without drawing."""
    notes = []
    for index, row in enumerate(_clean_blueprint(blueprint), 1):
        available = db.session.scalar(select(func.count()).select_from(_row_candidates(row).subquery()))
        if available < row["count"]:
            notes.append(
                f"第{index}行（{describe_row(row)}）需要 {row['count']} 题，题库中只有 {available} 题可用"
            )
    return notes


def paper_rows(round_id: int) -> list[tuple[PaperQuestion, QuestionVersion, str, str]]:
    """The paper with versions, categories and source titles: one query."""
    return db.session.execute(
        select(PaperQuestion, QuestionVersion, Category.name, Source.title)
        .join(QuestionVersion, QuestionVersion.id == PaperQuestion.question_version_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .join(Source, Source.id == QuestionVersion.source_id)
        .where(PaperQuestion.round_id == round_id)
        .order_by(PaperQuestion.position)
    ).all()


@dataclass(frozen=True)
class PaperItem:
    """One question of a drawn paper as a taker sees it before answering. Carries what shuffling and
    showing answers read of a QuestionVersion (``question_id``, ``type``, ``options``)."""

    question_id: int
    type: QuestionType
    options: list[dict]
    public: dict  # grading.public_question, without the options (each attempt shuffles them)


def _papers() -> kept.Kept:
    return kept.store("papers", 64)  # a few rounds are open at once


def public_paper(round_: Round) -> list[PaperItem]:
    """The round's drawn paper in position order, read once per process: a drawn paper never changes
    (question versions are immutable; a redraw, allowed only before anyone starts, stamps a new
    ``paper_drawn_at``, which is part of the key)."""

    def read() -> list[PaperItem]:
        return [
            PaperItem(
                version.question_id,
                version.type,
                [{"key": option["key"], "text": option["text"]} for option in version.options],
                {
                    name: value
                    for name, value in grading.public_question(version, category=category).items()
                    if name != "options"
                },
            )
            for _, version, category, _ in paper_rows(round_.id)
        ]

    return _papers().get_or_make((round_.id, round_.paper_drawn_at), read)


# ---------------------------------------------------------------------------------------------
# Who may take part


_OWN_UNIT = Unit.__table__.alias("own")


def _eligible(unit_id, round_id):
    """SQL: whether the unit (a staff member's own) lies in one of the round's target subtrees."""
    return exists().where(
        RoundTarget.round_id == round_id,
        RoundTarget.unit_id == Unit.id,
        _OWN_UNIT.c.id == unit_id,
        _OWN_UNIT.c.path.startswith(Unit.path),
    )


def _may_take_part(user: User) -> bool:
    return user.unit_id is not None and user.role != Role.ADMIN


def is_eligible(user: User, round_: Round) -> bool:
    """Whether the user's unit lies in one of the round's target subtrees (one query)."""
    return _may_take_part(user) and bool(db.session.scalar(select(_eligible(user.unit_id, round_.id))))


def visible_rounds(user: User, now: datetime, *, recent_days: int = 45) -> list[Round]:
    """Rounds for the user's unit: open, coming within two weeks, or closed recently."""
    if user.unit is None:
        return []
    path = literal(user.unit.path)
    stmt = (
        select(Round)
        .where(
            exists().where(
                RoundTarget.round_id == Round.id, RoundTarget.unit_id == Unit.id, path.startswith(Unit.path)
            ),
            Round.opens_at <= now + timedelta(days=14),
            Round.closes_at >= now - timedelta(days=recent_days),
        )
        .order_by(Round.closes_at.desc())
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Attempts


def _grace(round_: Round) -> timedelta:
    return timedelta(seconds=round_.grace_seconds)


_MINE = (Attempt.round_id == bindparam("round_id"), Attempt.user_id == bindparam("user_id"))
_START_FACTS = select(  # built once: the statement of the spike is not rebuilt per request
    Round,
    _eligible(bindparam("unit_id"), Round.id),
    select(func.count(Attempt.id)).where(*_MINE).scalar_subquery(),
    select(Attempt.id).where(*_MINE, Attempt.status == AttemptStatus.IN_PROGRESS).limit(1).scalar_subquery(),
).where(Round.id == bindparam("round_id"))


_RESULTS = (  # empty at the start
    "submitted_at",
    "score",
    "percent",
    "correct_count",
    "time_used_seconds",
    "graded_at",
    "rank_in_round",
    "rank_in_unit",
)
_INSERTED = (
    "round_id",
    "user_id",
    "unit_id",
    "number",
    "max_attempts",
    "status",
    "started_at",
    "deadline_at",
    "question_order",
    "option_orders",
    "counted",
)


@per_dialect
def _insert_attempt():
    """INSERT … ON CONFLICT DO NOTHING RETURNING id."""
    table = Attempt.__table__
    return (
        dialect_insert()(table)
        .values({name: bindparam(name, type_=table.c[name].type) for name in _INSERTED})
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )


def start_attempt(user: User, round_id: int, *, now: datetime) -> tuple[Attempt, bool]:
    """Start an attempt, or resume the one in progress. Returns (attempt, created).

    Refused (409) when the round is not open or no attempt is left. Two simultaneous starts cannot
    both succeed: the unique (round, user, number) lets one in; the other resumes it.

    The spike of a contest's first minute, so two statements: one read (the round, whether the user
    may take it, their attempts at it) and one INSERT … ON CONFLICT DO NOTHING; the shuffle is drawn
    from this process's copy of the paper (``public_paper``).
    """
    mine = (Attempt.round_id == round_id, Attempt.user_id == user.id)
    facts = None
    if _may_take_part(user):
        keys = {"round_id": round_id, "user_id": user.id, "unit_id": user.unit_id}
        facts = db.session.execute(_START_FACTS, keys).first()
    if facts is None or not facts[1]:
        raise NotFound("本轮不存在")
    round_, _, used, current_id = facts
    if current_id is not None:
        current = db.session.get(Attempt, current_id)
        if now > current.deadline_at + _grace(round_):
            finish_overdue(now=now, round_id=round_id, user_id=user.id)
            db.session.refresh(current)
        if current.status == AttemptStatus.IN_PROGRESS:
            set_committed_value(current, "round", round_)
            return current, False
    if not round_.is_open_at(now):
        raise Conflict("本轮尚未开始" if now < round_.opens_at else "本轮已结束")
    if used >= round_.attempts_allowed:
        raise Conflict(f"您已用完本轮的 {round_.attempts_allowed} 次作答机会")
    if round_.paper_drawn_at is None:
        draw_paper(round_id, now=now)
    if round_.status == RoundStatus.SCHEDULED:
        round_.status = RoundStatus.OPEN
    rng = random.Random(secrets.randbits(64))
    paper = public_paper(round_)
    order = [item.question_id for item in paper]
    rng.shuffle(order)
    option_orders = {}
    for item in paper:
        keys = [option["key"] for option in item.options]
        if keys:
            rng.shuffle(keys)
            option_orders[str(item.question_id)] = keys
    attempt = Attempt(
        round_id=round_id,
        user_id=user.id,
        unit_id=user.unit_id,
        number=used + 1,
        max_attempts=round_.attempts_allowed,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=min(now + timedelta(seconds=round_.time_limit_seconds), round_.closes_at),
        question_order=order,
        option_orders=option_orders,
        counted=False,
        **dict.fromkeys(_RESULTS),
    )
    columns = {name: getattr(attempt, name) for name in _INSERTED}
    attempt.id = db.session.scalar(_insert_attempt(), columns)
    if attempt.id is not None:
        # The row as inserted: persistent in the session without reading it back.
        make_transient_to_detached(attempt)
        db.session.add(attempt)
        set_committed_value(attempt, "round", round_)  # the view reads it; no second load
        return attempt, True
    current = db.session.scalar(  # a simultaneous start of the same person got in first
        select(Attempt).where(*mine, Attempt.status == AttemptStatus.IN_PROGRESS)
    )
    if current is None:
        raise Conflict(f"您已用完本轮的 {round_.attempts_allowed} 次作答机会")
    return current, False


def get_attempt(user_id: int, attempt_id: int) -> Attempt:
    """The user's own attempt; anybody else's is "not found" (no hint that it exists)."""
    attempt = db.session.scalar(select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == user_id))
    if attempt is None:
        raise NotFound("答卷不存在")
    return attempt


def _to_original(attempt: Attempt, version: QuestionVersion, raw):
    """Display letters (this attempt's shuffled order) → the question's own option keys."""
    order = attempt.option_orders.get(str(version.question_id))
    if not order or version.type not in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return raw

    def convert(letter):
        if not isinstance(letter, str) or letter.strip().upper() not in OPTION_LETTERS[: len(order)]:
            raise grading.InvalidResponse(f"选项只能是 {'、'.join(OPTION_LETTERS[: len(order)])}")
        return order[OPTION_LETTERS.index(letter.strip().upper())]

    if version.type == QuestionType.SINGLE:
        return convert(raw)
    if not isinstance(raw, list):
        raise grading.InvalidResponse("多选题请至少选择一个选项")
    return [convert(letter) for letter in raw]


def to_display(attempt: Attempt, version: QuestionVersion, value):
    """A stored answer in the form the taker gives it: this attempt's letters, "true"/"false"."""
    if version.type == QuestionType.JUDGE and isinstance(value, bool):
        return "true" if value else "false"
    order = attempt.option_orders.get(str(version.question_id))
    if value is None or not order or version.type not in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return value
    if version.type == QuestionType.SINGLE:
        return OPTION_LETTERS[order.index(value)]
    return sorted(OPTION_LETTERS[order.index(key)] for key in value)


def displayed_options(attempt: Attempt, version: QuestionVersion) -> list[dict]:
    order = attempt.option_orders.get(str(version.question_id))
    if not order:
        return []
    texts = {option["key"]: option["text"] for option in version.options}
    return [{"key": OPTION_LETTERS[i], "text": texts[key]} for i, key in enumerate(order)]


class DeadlinePassed(Conflict):
    code = "deadline_passed"


class AlreadySubmitted(Conflict):
    code = "already_submitted"


# The hottest statements of a contest, built once (not per request) on the tables: the ORM and
# rebuilding the statements cost more than the database's own work. One row: the attempt (locked,
# so a submit waits for this save or this save sees the submit), its round's grace and the
# paper's version of the question.
_ATTEMPT, _ANSWER = Attempt.__table__, AttemptAnswer.__table__
_PAPER, _VERSION = PaperQuestion.__table__.alias("paper"), QuestionVersion.__table__.alias("version")
_SAVE_READ = (
    select(
        _ATTEMPT.c.id,
        _ATTEMPT.c.status,
        _ATTEMPT.c.deadline_at,
        _ATTEMPT.c.option_orders,
        Round.__table__.c.grace_seconds,
        _VERSION.c.id.label("version_id"),
        _VERSION.c.question_id,
        _VERSION.c.type,
        _VERSION.c.options,
        _VERSION.c.answer,
    )
    .join(Round.__table__, Round.__table__.c.id == _ATTEMPT.c.round_id)
    .outerjoin(
        _PAPER,
        (_PAPER.c.round_id == _ATTEMPT.c.round_id) & (_PAPER.c.question_id == bindparam("question_id")),
    )
    .outerjoin(_VERSION, _VERSION.c.id == _PAPER.c.question_version_id)
    .where(_ATTEMPT.c.id == bindparam("attempt_id"), _ATTEMPT.c.user_id == bindparam("user_id"))
    .with_for_update(of=_ATTEMPT)
)
_SAVE_CLEAR = delete(_ANSWER).where(
    _ANSWER.c.attempt_id == bindparam("attempt_id"), _ANSWER.c.question_id == bindparam("question_id")
)
_SAVED = ("attempt_id", "question_id", "question_version_id", "response", "score", "correct", "saved_at")


@per_dialect
def _save_upsert():
    """INSERT … ON CONFLICT (attempt, question) DO UPDATE, revision + 1."""
    insert = dialect_insert()(_ANSWER).values(
        {**{name: bindparam(name, type_=_ANSWER.c[name].type) for name in _SAVED}, "revision": 1}
    )
    replaced = ("question_version_id", "response", "score", "correct", "saved_at")
    return insert.on_conflict_do_update(
        index_elements=[_ANSWER.c.attempt_id, _ANSWER.c.question_id],
        set_={**{name: insert.excluded[name] for name in replaced}, "revision": _ANSWER.c.revision + 1},
    )


def save_answer(user: User, attempt_id: int, question_id: int, raw, *, now: datetime) -> datetime | None:
    """Autosave one answer (insert or replace), stamped with the server's time; returns that time,
    or None when ``raw`` is None and the answer is cleared. Refused with 409 once the attempt is
    submitted or past deadline + grace; nothing changes. Two statements: the read above and one
    upsert (or delete)."""
    connection = db.session.connection()
    keys = {"attempt_id": attempt_id, "question_id": question_id}
    row = connection.execute(_SAVE_READ, {**keys, "user_id": user.id}).first()
    if row is None:
        raise NotFound("答卷不存在")
    if row.status != AttemptStatus.IN_PROGRESS:
        raise AlreadySubmitted("答卷已提交，不能再修改")
    if now > row.deadline_at + timedelta(seconds=row.grace_seconds):
        raise DeadlinePassed("作答时间已到，本次保存未被接受")
    if row.version_id is None:
        raise NotFound("这道题不在本试卷中")
    if raw is None:
        connection.execute(_SAVE_CLEAR, keys)
        return None
    response = grading.parse_response(row, _to_original(row, row, raw))
    result = grading.grade(row, response, multiple_partial=current_app.config["MULTIPLE_PARTIAL_CREDIT"])
    connection.execute(
        _save_upsert(),
        {
            **keys,
            "question_version_id": row.version_id,
            "response": response,
            "score": result.score,
            "correct": result.correct,
            "saved_at": now,
        },
    )
    return now


def submit(user: User, attempt_id: int, *, now: datetime, time_up: bool = False) -> Attempt:
    """Hand in. Idempotent: a second submit (or one from another tab) returns the same result.
    After deadline + grace the attempt counts as auto-submitted at its deadline. ``time_up`` is the
    page's countdown handing in at zero: auto-submitted too, if the server agrees that the time is
    (within the countdown's rounding) up — the learner did not choose to hand in."""
    lock_user(user.id)
    attempt = get_attempt(user.id, attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        late = now > attempt.deadline_at + _grace(attempt.round)
        timed_out = late or (time_up and now >= attempt.deadline_at - TIME_UP_TOLERANCE)
        _finish(
            attempt.round_id,
            Attempt.id == attempt.id,
            status=AttemptStatus.AUTO_SUBMITTED if timed_out else AttemptStatus.SUBMITTED,
            at=min(now, attempt.deadline_at) if timed_out else now,
        )
        db.session.refresh(attempt)
    if attempt.round.show_answers == ShowAnswers.AFTER_ATTEMPT and attempt.graded_at is None:
        grade_attempts(Attempt.id == attempt.id, now=now)
        db.session.refresh(attempt)
    return attempt


def _seconds_between(start, end):
    if db.engine.dialect.name == "sqlite":
        return func.cast((func.julianday(end) - func.julianday(start)) * 86400 + 0.5, db.Integer)
    return func.cast(func.extract("epoch", end - start), db.Integer)


def _finish(round_id: int | None, which, *, status: AttemptStatus, at) -> int:
    """Mark in-progress attempts finished (``at`` may be a column: their own deadline)."""
    conditions = [Attempt.status == AttemptStatus.IN_PROGRESS, which]
    if round_id is not None:
        conditions.append(Attempt.round_id == round_id)
    end = at if not isinstance(at, datetime) else literal(at, type_=Attempt.submitted_at.type)
    return db.session.execute(
        update(Attempt)
        .where(*conditions)
        .values(status=status, submitted_at=end, time_used_seconds=_seconds_between(Attempt.started_at, end))
        .execution_options(synchronize_session=False)
    ).rowcount


def finish_overdue(*, now: datetime, round_id: int | None = None, user_id: int | None = None) -> int:
    """Auto-submit every attempt past deadline + grace (at its deadline), then grade those whose round
    shows results at once. Set-based: one UPDATE per distinct grace period in play."""
    scope = [Attempt.status == AttemptStatus.IN_PROGRESS, Attempt.deadline_at <= now]
    if round_id is not None:
        scope.append(Attempt.round_id == round_id)
    if user_id is not None:
        scope.append(Attempt.user_id == user_id)
    graces = db.session.scalars(
        select(Round.grace_seconds).join(Attempt, Attempt.round_id == Round.id).where(*scope).distinct()
    ).all()
    finished = 0
    for grace in graces:
        # The conditions sit on the attempt rows themselves, the grace on a semi-join with the few
        # rounds: no self-join that a stale row estimate (50,000 attempts started since the last
        # ANALYZE) could turn into a nested loop over attempts × attempts.
        with_grace = Attempt.round_id.in_(select(Round.id).where(Round.grace_seconds == grace))
        finished += _finish(
            None,
            and_(*scope, with_grace, Attempt.deadline_at < now - timedelta(seconds=grace)),
            status=AttemptStatus.AUTO_SUBMITTED,
            at=Attempt.deadline_at,
        )
    if finished:
        grade_attempts(Round.show_answers == ShowAnswers.AFTER_ATTEMPT, *scope[2:], now=now)
    return finished


def grade_attempts(*conditions, now: datetime) -> int:
    """Grade finished, ungraded attempts in one statement: score = the sum of the answers' scores
    (each scored when it was saved), percent over the paper's question count. The answers are
    summed in one grouped pass (a 50,000-taker close reads 2.5 million answers once, not once per
    attempt and figure)."""
    totals = (
        select(
            Attempt.id,
            func.coalesce(func.sum(AttemptAnswer.score), 0.0).label("score"),
            func.count(AttemptAnswer.id).filter(AttemptAnswer.correct.is_(True)).label("right"),
        )
        .join(Round, Round.id == Attempt.round_id)
        .outerjoin(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
        .where(Attempt.status != AttemptStatus.IN_PROGRESS, Attempt.graded_at.is_(None), *conditions)
        .group_by(Attempt.id)
        .subquery()
    )
    questions = (
        select(func.count(PaperQuestion.id))
        .where(PaperQuestion.round_id == Attempt.round_id)
        .scalar_subquery()
    )
    return db.session.execute(
        update(Attempt)
        .where(Attempt.id == totals.c.id)
        .values(
            score=totals.c.score,
            correct_count=totals.c.right,
            percent=func.round(cast(100.0 * totals.c.score / func.nullif(questions, 0), Numeric), 2),
            graded_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount


def close_round(round_id: int, *, now: datetime) -> dict:
    """Close a round whose time is up: auto-submit what is open, grade every attempt in one pass,
    mark the attempt that counts for each person (the best: score, then less time, then earlier),
    rank them in the round and in their unit, and freeze the results. Safe to run again: a closed
    round is left as it is. A round with an extended attempt still running waits for it."""
    bulk_work()
    round_ = db.session.scalar(select(Round).where(Round.id == round_id).with_for_update())
    if round_ is None:
        raise NotFound("本轮不存在")
    if round_.status == RoundStatus.CLOSED:
        return {"closed": False, "reason": "already closed"}
    if now < round_.closes_at:
        raise Conflict("本轮尚未到结束时间")
    refresh_statistics(Attempt)  # what follows reads every attempt of the round, set-based
    auto = finish_overdue(now=now, round_id=round_id)
    running = db.session.scalar(
        select(func.count(Attempt.id)).where(
            Attempt.round_id == round_id, Attempt.status == AttemptStatus.IN_PROGRESS
        )
    )
    if running:
        return {"closed": False, "reason": f"{running} attempts still running", "auto_submitted": auto}
    graded = grade_attempts(Attempt.round_id == round_id, now=now)
    rank_round(round_id)
    round_.status = RoundStatus.CLOSED
    round_.closed_at = now
    db.session.flush()
    return {"closed": True, "auto_submitted": auto, "graded": graded}


def rank_round(round_id: int) -> None:
    """Mark each person's counted attempt and rank the counted ones, set-based (window functions).

    Order: percent desc, time used asc, submitted earlier first; equal on all three share a rank
    (1, 2, 2, 4). Two statements: clear what an earlier ranking set (nothing, at a first close),
    then one UPDATE marks the best attempt of each person with both of its ranks."""
    order = (Attempt.percent.desc(), Attempt.time_used_seconds.asc(), Attempt.submitted_at.asc())
    db.session.execute(
        update(Attempt)
        .where(
            Attempt.round_id == round_id,
            or_(
                Attempt.counted.is_(True),
                Attempt.rank_in_round.is_not(None),
                Attempt.rank_in_unit.is_not(None),
            ),
        )
        .values(counted=False, rank_in_round=None, rank_in_unit=None)
        .execution_options(synchronize_session=False)
    )
    numbered = (
        select(
            Attempt.id,
            Attempt.unit_id,
            Attempt.percent,
            Attempt.time_used_seconds,
            Attempt.submitted_at,
            func.row_number()
            .over(partition_by=Attempt.user_id, order_by=(*order, Attempt.id.asc()))
            .label("n"),
        )
        .where(Attempt.round_id == round_id, Attempt.graded_at.is_not(None))
        .subquery()
    )
    best_order = (
        numbered.c.percent.desc(),
        numbered.c.time_used_seconds.asc(),
        numbered.c.submitted_at.asc(),
    )
    ranks = (
        select(
            numbered.c.id,
            func.rank().over(order_by=best_order).label("in_round"),
            func.rank().over(partition_by=numbered.c.unit_id, order_by=best_order).label("in_unit"),
        )
        .where(numbered.c.n == 1)
        .subquery()
    )
    db.session.execute(
        update(Attempt)
        .where(Attempt.id == ranks.c.id)
        .values(counted=True, rank_in_round=ranks.c.in_round, rank_in_unit=ranks.c.in_unit)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


def extend_attempt(attempt_id: int, minutes: int, *, actor_id: int | None, now: datetime) -> Attempt:
    """Give one taker more time (an admin's override), even past the round's close."""
    if not 1 <= minutes <= 240:
        raise DomainError("延长时间应为 1–240 分钟")
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound("答卷不存在")
    if attempt.status != AttemptStatus.IN_PROGRESS:
        raise Conflict("答卷已提交，不能延时")
    before = attempt.deadline_at
    attempt.deadline_at = max(attempt.deadline_at, now) + timedelta(minutes=minutes)
    db.session.flush()
    audit.record(
        "attempt.extend",
        "attempt",
        attempt.id,
        actor_id=actor_id,
        before={"deadline_at": before.isoformat()},
        after={"deadline_at": attempt.deadline_at.isoformat(), "user_id": attempt.user_id},
    )
    return attempt


# ---------------------------------------------------------------------------------------------
# What a taker sees


def results_visible(attempt: Attempt) -> bool:
    """DESIGN §3: weekly rounds show score and answers after each attempt; monthly rounds and exams
    only once the round has closed."""
    if not attempt.finished:
        return False
    if attempt.round.show_answers == ShowAnswers.AFTER_ATTEMPT:
        return attempt.graded_at is not None
    return attempt.round.status == RoundStatus.CLOSED


def attempt_view(attempt: Attempt, *, now: datetime, fresh: bool = False) -> dict:
    """The attempt as its taker sees it: questions in this attempt's order with shuffled options,
    saved answers, the server's deadline — and results and the review only when the rules allow.
    ``fresh``: the attempt was just started, so it has no answers to read."""
    round_ = attempt.round
    paper = {item.question_id: item for item in public_paper(round_)}
    answers = (
        {}
        if fresh
        else {
            a.question_id: a
            for a in db.session.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
        }
    )
    questions = []
    for position, question_id in enumerate(attempt.question_order, 1):
        item = paper[question_id]
        questions.append({**item.public, "options": displayed_options(attempt, item), "position": position})
    view = {
        "id": attempt.id,
        "round": {
            "id": round_.id,
            "title": round_.title,
            "kind": str(round_.kind),
            "kind_label": round_.kind.label,
            "show_answers": str(round_.show_answers),
            "pass_mark": round_.pass_mark,
        },
        "number": attempt.number,
        "attempts_allowed": attempt.max_attempts,
        "status": str(attempt.status),
        "status_label": attempt.status.label,
        "started_at": attempt.started_at.isoformat(),
        "deadline_at": attempt.deadline_at.isoformat(),
        "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
        "server_now": now.isoformat(),
        "remaining_seconds": max(0, int((attempt.deadline_at - now).total_seconds()))
        if attempt.status == AttemptStatus.IN_PROGRESS
        else 0,
        "grace_seconds": round_.grace_seconds,
        "questions": questions,
        "answers": {
            str(qid): {
                "answer": to_display(attempt, paper[qid], answer.response),
                "saved_at": answer.saved_at.isoformat(),
            }
            for qid, answer in answers.items()
            if qid in paper
        },
        "result": None,
        "review": None,
    }
    if results_visible(attempt):
        rows = {row[0].question_id: row for row in paper_rows(round_.id)}
        sealed = seal.sealed_among(attempt.question_order)  # by another contest still running
        view["result"] = result_of(attempt)
        view["review"] = []
        for question_id in attempt.question_order:
            _, version, _, source_title = rows[question_id]
            answer = answers.get(question_id)
            view["review"].append(
                _sealed_review_item(attempt, version, answer)
                if question_id in sealed
                else review_item(attempt, version, answer, source_title)
            )
    return view


def result_of(attempt: Attempt) -> dict:
    round_ = attempt.round
    result = {
        "score": attempt.score,
        "percent": attempt.percent,
        "correct_count": attempt.correct_count,
        "total": len(attempt.question_order),
        "time_used_seconds": attempt.time_used_seconds,
        "passed": attempt.percent is not None and attempt.percent >= round_.pass_mark,
        "counted": attempt.counted,
        "rank_in_round": attempt.rank_in_round,
        "rank_in_unit": attempt.rank_in_unit,
    }
    if round_.status == RoundStatus.CLOSED:
        result["participants"] = db.session.scalar(
            select(func.count(Attempt.id)).where(Attempt.round_id == round_.id, Attempt.counted.is_(True))
        )
        result["unit_participants"] = db.session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.round_id == round_.id, Attempt.counted.is_(True), Attempt.unit_id == attempt.unit_id
            )
        )
    return result


def review_item(
    attempt: Attempt, version: QuestionVersion, answer: AttemptAnswer | None, source_title: str
) -> dict:
    response = answer.response if answer else None
    shown_key = to_display(attempt, version, version.answer)
    shown_response = to_display(attempt, version, response)
    options = displayed_options(attempt, version) or version.options
    return {
        "question_id": version.question_id,
        "score": answer.score if answer else 0.0,
        "correct": bool(answer and answer.correct),
        "your_answer": shown_response,
        "your_answer_text": grading.describe(version.type, options, shown_response),
        "correct_answer": shown_key,
        "correct_answer_text": grading.describe(version.type, options, shown_key),
        "explanation": version.explanation,
        "source": {"title": source_title, "locator": version.locator, "quote": version.quote},
    }


def _sealed_review_item(attempt: Attempt, version: QuestionVersion, answer: AttemptAnswer | None) -> dict:
    """A question another running contest has sealed: the taker's own answer, nothing that tells
    whether it was right."""
    shown_response = to_display(attempt, version, answer.response if answer else None)
    options = displayed_options(attempt, version) or version.options
    return {
        "question_id": version.question_id,
        "your_answer": shown_response,
        "your_answer_text": grading.describe(version.type, options, shown_response),
        **seal.withheld_feedback(),
    }


def rounds_for_user(user: User, *, now: datetime) -> list[dict]:
    """Rounds open to the user with their attempts and what they may still do: one query for the
    rounds, one for the attempts."""
    rounds = visible_rounds(user, now)
    attempts: dict[int, list[Attempt]] = {}
    mine_in_rounds = (
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.round_id.in_([r.id for r in rounds]))
        .order_by(Attempt.number)
    )
    for attempt in db.session.scalars(mine_in_rounds) if rounds else []:
        attempts.setdefault(attempt.round_id, []).append(attempt)
    listing = []
    for round_ in rounds:
        mine = attempts.get(round_.id, [])
        running = next(
            (
                a
                for a in mine
                if a.status == AttemptStatus.IN_PROGRESS and now <= a.deadline_at + _grace(round_)
            ),
            None,
        )
        state = (
            "closed"
            if round_.status == RoundStatus.CLOSED or now >= round_.closes_at
            else "upcoming"
            if now < round_.opens_at
            else "open"
        )
        visible = [a for a in mine if results_visible(a)]
        best = max((a.percent for a in visible if a.percent is not None), default=None)
        listing.append(
            {
                "id": round_.id,
                "title": round_.title,
                "kind": str(round_.kind),
                "kind_label": round_.kind.label,
                "state": state,
                "opens_at": round_.opens_at.isoformat(),
                "closes_at": round_.closes_at.isoformat(),
                "time_limit_minutes": round_.time_limit_seconds // 60,
                "question_count": round_.question_count,
                "attempts_allowed": round_.attempts_allowed,
                "attempts_used": len(mine),
                "in_progress_attempt_id": running.id if running else None,
                "can_start": state == "open" and running is None and len(mine) < round_.attempts_allowed,
                "best_percent": best,
                "attempts": [
                    {
                        "id": a.id,
                        "number": a.number,
                        "status": str(a.status),
                        "status_label": a.status.label,
                        "percent": a.percent if results_visible(a) else None,
                    }
                    for a in mine
                ],
            }
        )
    return listing
