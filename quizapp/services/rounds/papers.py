"""Papers. A shared round's paper is drawn once from the blueprint and read by takers from a
per-process copy; a drawn round (随机组卷) draws each attempt a paper of its own at its start — the
same counts in every blueprint row, the least-exposed questions first, the taker's earlier ones last —
kept with the attempt and never changed."""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import Integer, bindparam, cast, delete, exists, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from ... import kept
from ...extensions import db
from ...models import (
    WRITTEN_TYPES,
    Attempt,
    Category,
    PaperMode,
    PaperQuestion,
    Question,
    QuestionCase,
    QuestionType,
    QuestionVersion,
    Round,
    RoundKind,
    RoundStatus,
    Source,
)
from .. import audit, grading
from ..errors import Conflict, DomainError, NotFound
from ..questions import in_use
from .settings import CASE_ROW, clean_blueprint


class PaperError(DomainError):
    code = "paper_unfillable"
    status = 409


def describe_row(row: dict) -> str:
    parts = [
        "案例分析"
        if row.get("type") == CASE_ROW
        else QuestionType(row["type"]).label
        if row.get("type")
        else "任意题型",
        row.get("category") or "任意类别",
        f"难度{row['difficulty']}" if row.get("difficulty") else "任意难度",
    ]
    return "·".join(parts)


def _row_candidates(row: dict, kind: str):
    """Current active versions a blueprint row may draw: standalone questions of its type, or, for a
    case row, the first sub-question of each case (the case is then drawn whole). Reserve questions
    (考试专用) go to monthly contests and exams only."""
    stmt = in_use(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.case_id)
    if kind == RoundKind.WEEKLY:
        stmt = stmt.where(Question.reserved.is_(False))
    if row.get("type") == CASE_ROW:
        stmt = stmt.where(QuestionVersion.case_position == 1)
    else:
        stmt = stmt.where(QuestionVersion.case_id.is_(None))
    if row.get("type") and row["type"] != CASE_ROW:
        stmt = stmt.where(QuestionVersion.type == row["type"])
    elif not row.get("type"):  # "any type": the objective ones; written questions only by their own rows
        stmt = stmt.where(QuestionVersion.type.not_in(WRITTEN_TYPES))
    if row.get("category"):
        stmt = stmt.join(Category, Category.id == QuestionVersion.category_id).where(
            Category.name == row["category"]
        )
    if row.get("difficulty"):
        stmt = stmt.where(QuestionVersion.difficulty == row["difficulty"])
    return stmt


def draw_paper(
    round_id: int, *, now: datetime, redraw: bool = False, actor_id: int | None = None
) -> list[PaperQuestion]:
    """Draw the paper once from the blueprint (row by row, without repeats). Every row that the bank
    cannot fill is reported, and nothing is written. ``redraw`` replaces a paper nobody has used.
    An admin's draw (``actor_id``) is audited; the opening sweep's is not."""
    round_ = db.session.scalar(
        select(Round).where(Round.id == round_id).with_for_update().execution_options(populate_existing=True)
    )
    if round_ is None:
        raise NotFound("本轮不存在")
    if round_.paper_mode == PaperMode.DRAWN:
        return []  # 随机组卷: no shared paper; each attempt draws its own at its start
    if round_.paper_drawn_at is not None:
        if not redraw:
            return list(round_.paper)
        if db.session.scalar(select(exists().where(Attempt.round_id == round_id))):
            raise Conflict("已有人作答，不能重新抽题")
        db.session.execute(delete(PaperQuestion).where(PaperQuestion.round_id == round_id))
        db.session.expire(round_, ["paper"])
    picked: list[tuple[int, int]] = []
    problems, blueprint = [], []
    for index, row in enumerate(round_.blueprint, 1):
        taken = [question_id for _, question_id in picked]
        rows = db.session.execute(
            _row_candidates(row, round_.kind)
            .where(QuestionVersion.question_id.not_in(taken))
            .order_by(func.random())
            .limit(row["count"])
        ).all()
        if len(rows) < row["count"]:
            what = "个案例" if row.get("type") == CASE_ROW else "题"
            problems.append(
                f"第{index}行（{describe_row(row)}）需要 {row['count']} {what}，题库中只有 {len(rows)} {what}可用"
            )
        drawn = _whole(rows)
        picked.extend(drawn)
        # a case row records how many questions its cases brought (the round's question count)
        blueprint.append({**row, "items": len(drawn)} if row.get("type") == CASE_ROW else row)
    if problems:
        raise PaperError("题库不足以组卷：" + "；".join(problems))
    db.session.add_all(
        PaperQuestion(
            round_id=round_id, position=position, question_version_id=version_id, question_id=question_id
        )
        for position, (version_id, question_id) in enumerate(picked, 1)
    )
    round_.paper_drawn_at = now
    round_.blueprint = blueprint
    _papers().forget(lambda key: key[0] == round_id)  # a redraw within the same instant
    db.session.flush()
    if actor_id is not None:
        audit.record("round.paper", "round", round_id, actor_id=actor_id, after={"redraw": redraw})
    db.session.expire(round_, ["paper"])
    return list(round_.paper)


def _whole(rows) -> list[tuple[int, int]]:
    """(version, question) of the drawn rows, a case's first sub-question standing for all of them,
    in their order."""
    cases = [row.case_id for row in rows if row.case_id is not None]
    members: dict[int, list] = {}
    if cases:
        for member in db.session.execute(
            in_use(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.case_id)
            .where(QuestionVersion.case_id.in_(cases))
            .order_by(QuestionVersion.case_id, QuestionVersion.case_position)
        ):
            members.setdefault(member.case_id, []).append((member.id, member.question_id))
    drawn = []
    for row in rows:
        drawn += members[row.case_id] if row.case_id is not None else [(row.id, row.question_id)]
    return drawn


def pool_sizes(blueprint: list[dict], kind: str) -> list[int]:
    """How many questions (cases, for a case row) each blueprint row may draw from."""
    return [
        db.session.scalar(select(func.count()).select_from(_row_candidates(row, kind).subquery()))
        for row in blueprint
    ]


def needed_pool(count: int) -> int:
    """The pool a drawn row needs so that no question lands on more than its share of papers."""
    return math.ceil(count / current_app.config["PAPER_MAX_EXPOSURE"])


def check_blueprint(
    blueprint: list[dict], kind: str = RoundKind.MONTHLY, mode: str = PaperMode.SHARED
) -> list[str]:
    """How the bank stands against a blueprint, row by row (for the admin form), without drawing:
    the rows it cannot fill, and for a drawn paper the rows whose pool is too small."""
    notes = []
    rows = clean_blueprint(blueprint)
    for index, (row, pool) in enumerate(zip(rows, pool_sizes(rows, kind), strict=True), 1):
        what = "个案例" if row.get("type") == CASE_ROW else "题"
        if pool < row["count"]:
            notes.append(
                f"第{index}行（{describe_row(row)}）需要 {row['count']} {what}，题库中只有 {pool} {what}可用"
            )
        elif mode == PaperMode.DRAWN and pool < needed_pool(row["count"]):
            share = round(100 * current_app.config["PAPER_MAX_EXPOSURE"])
            notes.append(
                f"第{index}行（{describe_row(row)}）随机组卷每份 {row['count']} {what}，至少需要 "
                f"{needed_pool(row['count'])} {what}可选（每题最多出现在 {share}% 的试卷中），题库中只有 {pool} {what}"
            )
    return notes


def require_pool(blueprint: list[dict], kind: str, mode: str) -> None:
    """A drawn round is refused when a row's pool is too small for exposure control."""
    if mode == PaperMode.DRAWN and (notes := check_blueprint(blueprint, kind, mode)):
        raise PaperError("题库不足以随机组卷：" + "；".join(notes))


POOL_SECONDS = 60  # a drawn row's pool is read once a minute per process (retirements show within it)
EXPOSURE_SECONDS = 5  # a process reads how many papers hold each question this often
DRAW_SAMPLE = 200  # questions weighed per row: all of a smaller pool, else this many at random
PUBLIC_ITEMS = 20000  # questions kept ready to show per process: a province's bank, about 1 KB each


def _pool(round_: Round, index: int, row: dict, *, fresher_than: float = POOL_SECONDS) -> list:
    """The questions (cases) a drawn row may take, kept per process. A cold pool is read by one
    thread while the others wait for it; the pool's questions are made ready to show in the same
    read, so the first starts do not each read the versions they drew. A pool older than
    ``fresher_than`` seconds is re-read by one thread while the others go on with the one they have
    (retirements show within a minute). A server process's warmer (``warm_coming_rounds``) reads
    the pools of rounds about to open before anyone starts them and keeps them fresh, so a start
    never waits for a pool."""

    def read() -> list:
        # Plain reads only, nothing of this transaction flushed: a thread holding the pool's lock
        # must never wait for a row lock another thread's transaction holds while that thread waits
        # for this lock (the first starts of a round each mark it open).
        with db.session.no_autoflush:
            rows = db.session.execute(_row_candidates(row, round_.kind)).all()
            if len(rows) <= PUBLIC_ITEMS:
                _warm_public_items([one.id for one in rows])
        return rows

    pool = _pools().get_or_make((round_.id, index), _Pool, once=True)
    if pool.rows is None:
        with pool.reading:
            if pool.rows is None:
                pool.read(read)
    elif time.monotonic() - pool.read_at >= fresher_than and pool.reading.acquire(blocking=False):
        try:
            pool.read(read)
        finally:
            pool.reading.release()
    return pool.rows


class _Pool:
    def __init__(self) -> None:
        self.rows: list | None = None
        self.read_at = -math.inf
        self.reading = threading.Lock()

    def read(self, read) -> None:
        self.rows, self.read_at = read(), time.monotonic()


def _pools() -> kept.Kept:
    return kept.store("pools", 256)


WARM_AHEAD = timedelta(minutes=15)


def warm_coming_rounds(now: datetime) -> int:
    """Read, in this process, the pools of every drawn round open now or opening within WARM_AHEAD,
    and re-read those half a refresh old: the 2,000 staff who start a monthly round in its first
    seconds then find every pool ready (a cold pool of 10,000 questions costs its first start
    about half a second of CPU, and every start behind it waits). Returns the rows made ready."""
    rounds = db.session.scalars(
        select(Round).where(
            Round.paper_mode == PaperMode.DRAWN,
            Round.status != RoundStatus.CLOSED,
            Round.opens_at <= now + WARM_AHEAD,
            Round.closes_at > now,
        )
    ).all()
    warmed = 0
    for round_ in rounds:
        for index, row in enumerate(round_.blueprint, 1):
            _pool(round_, index, row, fresher_than=POOL_SECONDS / 2)
            warmed += 1
    return warmed


class _Exposure:
    """How many of a round's papers hold each question: as the database had them at this process's
    last read, plus the papers this process has drawn since. A start writes no shared counter (2,000
    starts at once would queue on hot counter rows); another process's papers show here within
    EXPOSURE_SECONDS, which least-exposed-first absorbs. One thread re-reads while the others go on
    with the counts they have."""

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.read_at = -math.inf
        self.reading = threading.Lock()

    def current(self, round_id: int) -> dict[int, int]:
        if time.monotonic() - self.read_at >= EXPOSURE_SECONDS and self.reading.acquire(blocking=False):
            try:
                self.counts = dict(
                    db.session.execute(
                        select(PaperQuestion.question_id, func.count())
                        .where(PaperQuestion.round_id == round_id, PaperQuestion.attempt_id.is_not(None))
                        .group_by(PaperQuestion.question_id)
                    ).all()
                )
                self.read_at = time.monotonic()
            finally:
                self.reading.release()
        return self.counts


def _exposure(round_id: int) -> dict[int, int]:
    return kept.store("exposure", 64).get_or_make(round_id, _Exposure, once=True).current(round_id)


def draw_for_attempt(round_: Round, user_id: int, *, earlier_attempts: int = 1) -> list[tuple[int, int]]:
    """(version, question) of a new attempt's own paper, row by row: the counts of the blueprint,
    the questions fewest papers of this round hold first, the taker's earlier attempts' questions
    last, at random among equals. A pool of up to DRAW_SAMPLE is weighed whole (exact least-exposed
    first); from a larger one DRAW_SAMPLE questions drawn at random are weighed (the power of many
    choices: exposure stays within a paper or two of even), so a draw costs the same for a pool of
    200 and of 20,000. ``earlier_attempts``: 0 spares the query for the taker's earlier questions.
    No query while the process's pools and exposure counts are fresh, one for the earlier questions;
    nothing is written (``keep_attempt_paper`` does, once the attempt exists)."""
    rng = random.Random(secrets.randbits(64))
    earlier = (
        set(
            db.session.scalars(
                select(PaperQuestion.question_id)
                .join(Attempt, Attempt.id == PaperQuestion.attempt_id)
                .where(Attempt.round_id == round_.id, Attempt.user_id == user_id)
            )
        )
        if earlier_attempts
        else set()
    )
    picked: list[tuple[int, int]] = []
    exposure = _exposure(round_.id)
    exposed = exposure.get
    for index, row in enumerate(round_.blueprint, 1):
        taken = {question_id for _, question_id in picked}
        pool = _pool(round_, index, row)
        # A random order first (a sample comes in one), so the stable sort leaves equals at random.
        weighed = rng.sample(pool, min(len(pool), DRAW_SAMPLE + len(taken)))
        if taken:
            weighed = [one for one in weighed if one.question_id not in taken]  # a sample, not the pool
        if len(weighed) < row["count"]:
            raise PaperError(f"题库不足以组卷：第{index}行（{describe_row(row)}）需要 {row['count']} 题")
        if earlier:
            weighed.sort(key=lambda one: (one.question_id in earlier, exposed(one.question_id, 0)))
        else:
            weighed.sort(key=lambda one: exposed(one.question_id, 0))
        picked.extend(_whole(weighed[: row["count"]]))
    for _, question_id in picked:
        exposure[question_id] = exposure.get(question_id, 0) + 1
    return picked


def keep_attempt_paper(round_id: int, attempt_id: int, picked: list[tuple[int, int]]) -> None:
    """Write an attempt's own paper, one executemany (on PostgreSQL the start writes it in the
    attempt's own INSERT: ``with_paper``)."""
    db.session.execute(
        PaperQuestion.__table__.insert(),
        [
            {
                "round_id": round_id,
                "attempt_id": attempt_id,
                "position": position,
                "question_version_id": version_id,
                "question_id": question_id,
            }
            for position, (version_id, question_id) in enumerate(picked, 1)
        ],
    )


def with_paper(insert_attempt):
    """PostgreSQL: ``insert_attempt`` (an INSERT … RETURNING id) and the new attempt's paper, given
    as the arrays ``versions`` and ``questions`` (``paper_arrays``), in one statement: one round trip
    for the attempt and its 50 questions. No paper is written when the attempt is not."""
    new = insert_attempt.cte("new_attempt")
    drawn = (
        func.unnest(cast(bindparam("versions"), ARRAY(Integer)), cast(bindparam("questions"), ARRAY(Integer)))
        .table_valued("version_id", "question_id", with_ordinality="position")
        .render_derived()
    )
    table = PaperQuestion.__table__
    paper = table.insert().from_select(
        ["round_id", "attempt_id", "position", "question_version_id", "question_id"],
        select(bindparam("round_id"), new.c.id, drawn.c.position, drawn.c.version_id, drawn.c.question_id)
        .select_from(new)
        .join(drawn, true()),
    )
    return select(new.c.id).add_cte(paper.cte("new_paper"))


def paper_arrays(picked: list[tuple[int, int]]) -> dict[str, list[int]]:
    return {
        "versions": [version_id for version_id, _ in picked],
        "questions": [question_id for _, question_id in picked],
    }


def paper_rows(
    round_id: int, attempt_id: int | None = None
) -> list[tuple[PaperQuestion, QuestionVersion, str, str]]:
    """The shared paper, or an attempt's own, with versions, categories and source titles: one query."""
    return db.session.execute(
        select(PaperQuestion, QuestionVersion, Category.name, Source.title)
        .join(QuestionVersion, QuestionVersion.id == PaperQuestion.question_version_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .where(
            PaperQuestion.round_id == round_id,
            PaperQuestion.attempt_id.is_(None)
            if attempt_id is None
            else PaperQuestion.attempt_id == attempt_id,
        )
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

    return _papers().get_or_make((round_.id, round_.paper_drawn_at), lambda: _items(paper_rows(round_.id)))


def attempt_paper(attempt: Attempt) -> list[PaperItem]:
    """The paper this attempt answers, as takers see it: its own in a drawn round (kept per process
    too: it never changes), else the round's shared one (the per-process copy)."""
    if attempt.round.paper_mode == PaperMode.DRAWN:
        return _attempt_papers().get_or_make(
            (attempt.id, attempt.started_at), lambda: _items(attempt_paper_rows(attempt))
        )
    return public_paper(attempt.round)


def keep_attempt_items(attempt: Attempt, items: list[PaperItem]) -> None:
    """The paper just drawn for ``attempt``, as ``attempt_paper`` gives it (the start's view needs no
    read of what it has just written)."""
    _attempt_papers().put((attempt.id, attempt.started_at), items)


def _attempt_papers() -> kept.Kept:
    return kept.store("attempt papers", 5000)  # the takers of a contest's first minutes


def attempt_paper_rows(attempt: Attempt) -> list[tuple[PaperQuestion, QuestionVersion, str, str]]:
    """``paper_rows`` of the paper this attempt answers."""
    own = attempt.id if attempt.round.paper_mode == PaperMode.DRAWN else None
    return paper_rows(attempt.round_id, own)


def drawn_items(picked: list[tuple[int, int]]) -> list[PaperItem]:
    """A just-drawn paper as takers see it, in drawn order. Versions never change, so each one's
    public form is kept per process (made ready with the pool): no query."""
    items = _public_items()
    _warm_public_items([version_id for version_id, _ in picked])  # a case's later sub-questions
    return [items.get(version_id) for version_id, _ in picked]


def _warm_public_items(version_ids: list[int]) -> None:
    """Make the public form of versions ready, from plain rows: a pool of 10,000 is read at a
    round's first start in each process, where loading ORM objects cost three times as much."""
    items = _public_items()
    missing = [version_id for version_id in version_ids if items.get(version_id) is None]
    for start in range(0, len(missing), 2000):
        rows = db.session.execute(
            select(*_PUBLIC_COLUMNS, QuestionCase.title, QuestionCase.body, Category.name.label("category"))
            .join(Category, Category.id == QuestionVersion.category_id)
            .outerjoin(QuestionCase, QuestionCase.id == QuestionVersion.case_id)
            .where(QuestionVersion.id.in_(missing[start : start + 2000]))
        ).all()
        versions = [
            SimpleNamespace(
                **{column.key: getattr(row, column.key) for column in _PUBLIC_COLUMNS},
                case=SimpleNamespace(title=row.title, body=row.body) if row.case_id is not None else None,
            )
            for row in rows
        ]
        made = _items(
            [(None, version, row.category, None) for version, row in zip(versions, rows, strict=True)]
        )
        for version, item in zip(versions, made, strict=True):
            items.put(version.id, item)


# What grading.public_question reads of a version.
_PUBLIC_COLUMNS = (
    QuestionVersion.id,
    QuestionVersion.question_id,
    QuestionVersion.type,
    QuestionVersion.stem,
    QuestionVersion.options,
    QuestionVersion.answer,
    QuestionVersion.says,  # 情景应答: the public's words
    QuestionVersion.difficulty,
    QuestionVersion.case_id,
    QuestionVersion.case_position,
)


def _public_items() -> kept.Kept:
    return kept.store("public items", PUBLIC_ITEMS)


def _items(rows) -> list[PaperItem]:
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
        for _, version, category, _ in rows
    ]
