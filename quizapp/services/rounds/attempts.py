"""The attempt's hot path: start (the spike of a contest's first minute), autosave, submit, and
auto-submitting overdue attempts.

started → answers saved one by one (server time) → submitted | auto-submitted. The server keeps the
deadline: min(start + time limit, round close), plus any extension an admin grants. Answers arriving
after deadline + grace are refused (409), never dropped silently. The statements of this path are
built once (``per_dialect``) here and only here.

The module is long because the save's two ways (one statement from what this process keeps of the
attempt, the long way that reads and says why) share those statements and must agree on every check.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, delete, func, literal, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ... import kept
from ...database import (
    dialect_insert,
    lock_user,
    per_dialect,
    refresh_statistics,
    seconds_between,
    whole_seconds_between,
)
from ...extensions import db
from ...models import (
    WRITTEN_TYPES,
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    PaperMode,
    PaperQuestion,
    QuestionType,
    QuestionVersion,
    Round,
    RoundStatus,
    ShowAnswers,
    User,
)
from .. import grading, integrity
from ..errors import Conflict, NotFound
from .eligibility import eligible, may_take_part
from .marking import grade_attempts
from .papers import (
    draw_for_attempt,
    draw_paper,
    drawn_items,
    keep_attempt_items,
    keep_attempt_paper,
    paper_arrays,
    public_paper,
    with_paper,
)

OPTION_LETTERS = "ABCDEF"
# The page's countdown starts from the server's whole remaining seconds and fires when it rounds
# to zero, so it may hand in a little before the server's deadline.
TIME_UP_TOLERANCE = timedelta(seconds=5)
MANY = 1000  # attempts finished at once (a close): worth analysing the table before reading them


def grace_period(round_: Round) -> timedelta:
    return timedelta(seconds=round_.grace_seconds)


_MINE = (Attempt.round_id == bindparam("round_id"), Attempt.user_id == bindparam("user_id"))
_START_FACTS = select(  # built once: the statement of the spike is not rebuilt per request
    Round,
    eligible(bindparam("unit_id"), Round.id),
    select(func.count(Attempt.id)).where(*_MINE).scalar_subquery(),
    select(Attempt.id).where(*_MINE, Attempt.status == AttemptStatus.IN_PROGRESS).limit(1).scalar_subquery(),
).where(Round.id == bindparam("round_id"))


_RESULTS = (  # empty at the start (set here, so the view reads none of them back)
    "submitted_at",
    "score",
    "percent",
    "correct_count",
    "time_used_seconds",
    "graded_at",
    "rank_in_round",
    "rank_in_unit",
    "integrity_score",
    "clients",
    "focus",
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


@per_dialect
def _insert_attempt_with_paper():
    return with_paper(_insert_attempt())


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
    if may_take_part(user):
        keys = {"round_id": round_id, "user_id": user.id, "unit_id": user.unit_id}
        facts = db.session.execute(_START_FACTS, keys).first()
    if facts is None or not facts[1]:
        raise NotFound("本轮不存在")
    round_, _, used, current_id = facts
    if current_id is not None:
        current = db.session.get(Attempt, current_id)
        if now > current.deadline_at + grace_period(round_):
            finish_overdue(now=now, round_id=round_id, user_id=user.id)
            db.session.refresh(current)
        if current.status == AttemptStatus.IN_PROGRESS:
            set_committed_value(current, "round", round_)
            return current, False
    if not round_.is_open_at(now):
        raise Conflict("本轮尚未开始" if now < round_.opens_at else "本轮已结束")
    if used >= round_.attempts_allowed:
        raise Conflict(f"您已用完本轮的 {round_.attempts_allowed} 次作答机会")
    drawn = round_.paper_mode == PaperMode.DRAWN
    if round_.paper_drawn_at is None and not drawn:
        draw_paper(round_id, now=now)
    if round_.status == RoundStatus.SCHEDULED:
        round_.status = RoundStatus.OPEN
    rng = random.Random(secrets.randbits(64))
    if drawn:  # 随机组卷: this attempt's own paper (written below once the attempt exists)
        picked = draw_for_attempt(round_, user.id, earlier_attempts=used)
        paper = drawn_items(picked)
    else:
        paper = public_paper(round_)
    order = shuffled_units(paper, rng)
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
        held=False,
        **dict.fromkeys(_RESULTS),
    )
    columns = {name: getattr(attempt, name) for name in _INSERTED}
    if drawn and db.engine.dialect.name == "postgresql":  # the attempt and its paper in one statement
        attempt.id = db.session.scalar(_insert_attempt_with_paper(), columns | paper_arrays(picked))
    else:
        attempt.id = db.session.scalar(_insert_attempt(), columns)
        if attempt.id is not None and drawn:
            keep_attempt_paper(round_id, attempt.id, picked)
    if attempt.id is not None and drawn:
        keep_attempt_items(attempt, paper)
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


def shuffled_units(paper, rng: random.Random) -> list[int]:
    """The paper's question ids in a shuffled order, a case's sub-questions kept together and in
    their own order (a case is one unit of the paper; the paper holds them side by side)."""
    units: list[list[int]] = []
    last_case = None
    for item in paper:
        case_id = (item.public.get("case") or {}).get("id")
        if case_id is not None and case_id == last_case:
            units[-1].append(item.question_id)
        else:
            units.append([item.question_id])
        last_case = case_id
    rng.shuffle(units)
    return [question_id for unit in units for question_id in unit]


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


def as_typed(attempt: Attempt, version: QuestionVersion, response):
    """A saved response as the answer box shows it again on resume: a calculation as typed
    ("1234.5元"), anything else as ``to_display`` gives it."""
    if version.type == QuestionType.CALC and isinstance(response, dict):
        return grading.plain_number(response["value"]) + response["unit"]
    return to_display(attempt, version, response)


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
_OWN = PaperQuestion.__table__.alias("own")  # a drawn round's attempt: its own paper
_SAVE_READ = (
    select(
        _ATTEMPT.c.id,
        _ATTEMPT.c.round_id,
        _ATTEMPT.c.status,
        _ATTEMPT.c.deadline_at,
        _ATTEMPT.c.option_orders,
        _ATTEMPT.c.clients,
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
        (_PAPER.c.round_id == _ATTEMPT.c.round_id)
        & (_PAPER.c.question_id == bindparam("question_id"))
        & _PAPER.c.attempt_id.is_(None),
    )
    .outerjoin(_OWN, (_OWN.c.attempt_id == _ATTEMPT.c.id) & (_OWN.c.question_id == bindparam("question_id")))
    .outerjoin(
        _VERSION, _VERSION.c.id == func.coalesce(_PAPER.c.question_version_id, _OWN.c.question_version_id)
    )
    .where(_ATTEMPT.c.id == bindparam("attempt_id"), _ATTEMPT.c.user_id == bindparam("user_id"))
    .with_for_update(of=_ATTEMPT)
)
_SAVE_CLEAR = delete(_ANSWER).where(
    _ANSWER.c.attempt_id == bindparam("attempt_id"), _ANSWER.c.question_id == bindparam("question_id")
)
_SAVED = ("attempt_id", "question_id", "question_version_id", "response", "score", "correct", "saved_at")
_SAVE_CLIENTS = (
    update(_ATTEMPT).where(_ATTEMPT.c.id == bindparam("attempt_id")).values(clients=bindparam("clients"))
)


@per_dialect
def _save_upsert():
    """INSERT … ON CONFLICT (attempt, question) DO UPDATE, revision + 1. A first save also keeps
    its time and the seconds since the attempt's previous first save (the integrity signals' timing,
    read from the attempt's few answers by their index, so the close needs no sort of every answer)."""
    saved_at = bindparam("saved_at", type_=_ANSWER.c.saved_at.type)
    previous = (
        select(func.max(_ANSWER.c.first_saved_at))
        .where(_ANSWER.c.attempt_id == bindparam("attempt_id"))
        .scalar_subquery()
    )
    insert = dialect_insert()(_ANSWER).values(
        {
            **{name: bindparam(name, type_=_ANSWER.c[name].type) for name in _SAVED},
            "first_saved_at": saved_at,
            "gap_seconds": seconds_between(previous, saved_at),
            "revision": 1,
        }
    )
    replaced = ("question_version_id", "response", "score", "correct", "saved_at")
    return insert.on_conflict_do_update(
        index_elements=[_ANSWER.c.attempt_id, _ANSWER.c.question_id],
        set_={**{name: insert.excluded[name] for name in replaced}, "revision": _ANSWER.c.revision + 1},
    )


# A save in one statement. A taker's paper never changes once they have started (no redraw then:
# ``papers.draw_paper``) and a version never changes (an edit makes a new one), so what grading a
# save needs — each question's version on the attempt's paper, the attempt's option orders — is
# kept per process from the attempt's first save here. A later save is then the upsert alone, fed
# by the attempt's row locked and checked in the same statement (its own, in progress, the round's
# grace as kept and the deadline plus that grace not passed): a submit still waits for the save or
# the save sees the submit, as with the read. No row (submitted, late, the grace changed): the
# save is done the long way, which says why.
_KEPT_ATTEMPTS = 4000  # attempts saving in this process at once; about 10 KB each (option orders)


@dataclass(frozen=True)
class _KeptAttempt:
    user_id: int
    option_orders: dict
    grace_seconds: int
    versions: dict  # question id → the paper's version row (id, question_id, type, options, answer)
    clients: tuple


_SAVE_FAST_COLUMNS = ("question_id", "question_version_id", "response", "score", "correct")


@per_dialect
def _save_fast():
    saved_at = bindparam("saved_at", type_=_ANSWER.c.saved_at.type)
    attempt_id = bindparam("attempt_id", type_=_ATTEMPT.c.id.type)
    previous = (
        select(func.max(_ANSWER.c.first_saved_at)).where(_ANSWER.c.attempt_id == attempt_id).scalar_subquery()
    )
    rounds = Round.__table__
    source = (
        select(
            _ATTEMPT.c.id,
            *[bindparam(name, type_=_ANSWER.c[name].type) for name in _SAVE_FAST_COLUMNS],
            saved_at,
            saved_at,
            seconds_between(previous, saved_at),
            literal(1),
        )
        .select_from(_ATTEMPT.join(rounds, rounds.c.id == _ATTEMPT.c.round_id))
        .where(
            _ATTEMPT.c.id == attempt_id,
            _ATTEMPT.c.user_id == bindparam("user_id"),
            _ATTEMPT.c.status == AttemptStatus.IN_PROGRESS,
            _ATTEMPT.c.deadline_at >= bindparam("cutoff", type_=_ATTEMPT.c.deadline_at.type),
            rounds.c.grace_seconds == bindparam("grace_seconds"),
        )
        .with_for_update(of=_ATTEMPT)
    )
    names = ["attempt_id", *_SAVE_FAST_COLUMNS, "saved_at", "first_saved_at", "gap_seconds", "revision"]
    insert = dialect_insert()(_ANSWER).from_select(names, source)
    replaced = ("question_version_id", "response", "score", "correct", "saved_at")
    return insert.on_conflict_do_update(
        index_elements=[_ANSWER.c.attempt_id, _ANSWER.c.question_id],
        set_={**{name: insert.excluded[name] for name in replaced}, "revision": _ANSWER.c.revision + 1},
    ).returning(_ANSWER.c.revision)  # a row saved (rowcount is not told for INSERT … SELECT by psycopg)


_PAPER_VERSIONS = (
    select(
        _VERSION.c.id.label("version_id"),
        _VERSION.c.question_id,
        _VERSION.c.type,
        _VERSION.c.options,
        _VERSION.c.answer,
    )
    .select_from(_PAPER.join(_VERSION, _VERSION.c.id == _PAPER.c.question_version_id))
    .where(
        _PAPER.c.round_id == bindparam("round_id"),
        (_PAPER.c.attempt_id.is_(None)) | (_PAPER.c.attempt_id == bindparam("attempt_id")),
    )
)


def _kept_attempts() -> kept.Kept:
    return kept.store("saving_attempts", _KEPT_ATTEMPTS)


def _keep_attempt(attempt_id: int, user_id: int, row, clients: list | None) -> None:
    """After a save the long way: the attempt's paper and orders, read once for this process."""
    versions = {
        version.question_id: version
        for version in db.session.connection().execute(
            _PAPER_VERSIONS, {"round_id": row.round_id, "attempt_id": attempt_id}
        )
    }
    _kept_attempts().put(
        attempt_id,
        _KeptAttempt(user_id, row.option_orders or {}, row.grace_seconds, versions, tuple(clients or ())),
    )


def _save_kept(user_id: int, attempt_id: int, question_id: int, raw, *, now: datetime, client: str | None):
    """The one-statement save, or None when it cannot be (nothing kept, an answer cleared, a new
    client, an answer that does not parse, or no row: the long way says why)."""
    attempt = _kept_attempts().get(attempt_id)
    if attempt is None or attempt.user_id != user_id or raw is None:
        return None
    version = attempt.versions.get(question_id)
    if version is None or version.type in WRITTEN_TYPES and isinstance(raw, str) and not raw.strip():
        return None
    if integrity.with_client(list(attempt.clients), client) is not None:
        return None
    try:
        shown = _Graded(version, attempt.option_orders)
        response = grading.parse_response(version, _to_original(shown, version, raw))
    except grading.InvalidResponse:
        return None
    result = grading.grade(version, response, multiple_partial=current_app.config["MULTIPLE_PARTIAL_CREDIT"])
    saved = db.session.connection().execute(
        _save_fast(),
        {
            "attempt_id": attempt_id,
            "user_id": user_id,
            "cutoff": now - timedelta(seconds=attempt.grace_seconds),
            "grace_seconds": attempt.grace_seconds,
            "question_id": question_id,
            "question_version_id": version.version_id,
            "response": response,
            "score": result.score,
            "correct": result.correct,
            "saved_at": now,
        },
    )
    if saved.first() is None:
        _kept_attempts().forget(lambda key: key == attempt_id)
        return None
    return now


@dataclass(frozen=True)
class _Graded:
    """What ``_to_original`` reads of an attempt: its option orders."""

    version: object
    option_orders: dict


def save_answer(
    user: User, attempt_id: int, question_id: int, raw, *, now: datetime, client: str | None = None
) -> datetime | None:
    """Autosave one answer (insert or replace), stamped with the server's time; returns that time,
    or None when ``raw`` is None and the answer is cleared. Refused with 409 once the attempt is
    submitted or past deadline + grace; nothing changes. Two statements: the read above and one
    upsert (or delete) — and a third the first time a session or address (``client``, an integrity
    signal) saves into the attempt."""
    fast = _save_kept(user.id, attempt_id, question_id, raw, now=now, client=client)
    if fast is not None:
        return fast
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
    clients = integrity.with_client(row.clients, client)
    if clients is not None:
        connection.execute(_SAVE_CLIENTS, {"attempt_id": attempt_id, "clients": clients})
    if raw is None or (row.type in WRITTEN_TYPES and isinstance(raw, str) and not raw.strip()):
        connection.execute(_SAVE_CLEAR, keys)  # an emptied written answer is no answer
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
    known = _kept_attempts().get(attempt_id)
    if known is None:
        _keep_attempt(attempt_id, user.id, row, clients if clients is not None else row.clients)
    elif clients is not None:  # a new session or address: saves from it are quick from now on
        _kept_attempts().put(attempt_id, replace(known, clients=tuple(clients)))
    return now


def submit(
    user: User, attempt_id: int, *, now: datetime, time_up: bool = False, focus: dict | None = None
) -> Attempt:
    """Hand in. Idempotent: a second submit (or one from another tab) returns the same result.
    After deadline + grace the attempt counts as auto-submitted at its deadline. ``time_up`` is the
    page's countdown handing in at zero: auto-submitted too, if the server agrees that the time is
    (within the countdown's rounding) up — the learner did not choose to hand in. ``focus``: the
    page's last visibility report. The attempt's integrity signals are assessed here."""
    lock_user(user.id)
    if focus is not None:
        integrity.record_focus(user.id, attempt_id, focus)
    attempt = get_attempt(user.id, attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        late = now > attempt.deadline_at + grace_period(attempt.round)
        timed_out = late or (time_up and now >= attempt.deadline_at - TIME_UP_TOLERANCE)
        _finish(
            attempt.round_id,
            Attempt.id == attempt.id,
            status=AttemptStatus.AUTO_SUBMITTED if timed_out else AttemptStatus.SUBMITTED,
            at=min(now, attempt.deadline_at) if timed_out else now,
        )
        integrity.assess_attempts(Attempt.id == attempt.id, now=now)
        db.session.refresh(attempt)
    if attempt.round.show_answers == ShowAnswers.AFTER_ATTEMPT and attempt.graded_at is None:
        grade_attempts(Attempt.id == attempt.id, now=now)
        db.session.refresh(attempt)
    return attempt


def _finish(round_id: int | None, which, *, status: AttemptStatus, at) -> int:
    """Mark in-progress attempts finished (``at`` may be a column: their own deadline)."""
    conditions = [Attempt.status == AttemptStatus.IN_PROGRESS, which]
    if round_id is not None:
        conditions.append(Attempt.round_id == round_id)
    end = at if not isinstance(at, datetime) else literal(at, type_=Attempt.submitted_at.type)
    return db.session.execute(
        update(Attempt)
        .where(*conditions)
        .values(
            status=status, submitted_at=end, time_used_seconds=whole_seconds_between(Attempt.started_at, end)
        )
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
    graces = db.session.execute(
        select(Round.grace_seconds, func.min(Attempt.deadline_at))
        .join(Attempt, Attempt.round_id == Round.id)
        .where(*scope)
        .group_by(Round.grace_seconds)
    ).all()
    finished = 0
    for grace, _ in graces:
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
    if finished > MANY:  # the statuses just changed: the planner must know before reading them
        refresh_statistics(Attempt)
    if finished:
        earliest = min(deadline for _, deadline in graces)
        just_finished = (
            Attempt.status == AttemptStatus.AUTO_SUBMITTED,
            Attempt.deadline_at.between(earliest, now),
        )
        integrity.assess_attempts(*just_finished, *scope[2:], now=now)
        grade_attempts(Round.show_answers == ShowAnswers.AFTER_ATTEMPT, *scope[2:], now=now)
    return finished
