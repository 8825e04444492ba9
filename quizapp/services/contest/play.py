"""Playing a contest: every action goes through ``record``, which checks it against the state
replayed from the log and appends it as an event; phones join teams as devices.

Fairness: the order of buzzes is the server's alone. ``arbiter(code)`` is one lock per
contest in this process; the caller takes it when the request reaches the view, reads the
monotonic clock (``time.monotonic_ns``) inside it, and holds it until the event is committed and
published. So the recorded order (``seq``), the clock readings, the replies the phones get and
what the screen shows all agree, whatever threads race: one winner, one order.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import func, select

from ...extensions import db
from ...models import Contest, ContestDevice, ContestEvent, ContestTeam
from .. import grading
from ..errors import DomainError, NotFound, PermissionDenied
from . import rules
from .hub import hub
from .setup import load_setup

BOOT = secrets.token_hex(8)  # this process: monotonic readings compare only within one boot
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_setups: dict[str, dict] = {}  # by join code: a contest's set-up never changes once written
_devices: dict[str, tuple[int, SimpleNamespace]] = {}  # by token: (contest id, the joined phone)


@contextmanager
def arbiter(code: str) -> Iterator[int]:
    """Hold the contest's lock (by join code: taking it needs no database); yields the monotonic
    clock read on entering it (ns).

    Take it before the request's transaction begins (on SQLite a writing transaction holds the
    database's write lock: a thread holding that while waiting here would stall the holder of
    this lock), and keep it until the event is committed and published."""
    with _locks_guard:
        lock = _locks.setdefault(code.strip().upper(), threading.Lock())
    with lock:
        yield time.monotonic_ns()


def setup_of(contest: Contest) -> dict:
    setup = _setups.get(contest.code)
    if setup is None:
        setup = _setups[contest.code] = load_setup(contest)
    return setup


def events_of(contest_id: int) -> list[dict]:
    rows = db.session.scalars(
        select(ContestEvent).where(ContestEvent.contest_id == contest_id).order_by(ContestEvent.seq)
    )
    return [as_dict(row) for row in rows]


def as_dict(row: ContestEvent) -> dict:
    return {
        "seq": row.seq,
        "kind": row.kind,
        "team_id": row.team_id,
        "device_id": row.device_id,
        "actor_id": row.actor_id,
        "payload": row.payload or {},
        "at": row.at.isoformat(),
        "mono_ns": row.mono_ns,
        "boot": row.boot,
    }


def _latest_seq(contest: Contest) -> int:
    return db.session.scalar(
        select(func.coalesce(func.max(ContestEvent.seq), 0)).where(ContestEvent.contest_id == contest.id)
    )


def _held_state(contest: Contest, setup: dict, latest_seq: int) -> dict | None:
    """The published state when it is the log's latest (and this contest's: codes are unique)."""
    held = hub.latest(contest.code)
    if held is not None and held[0] == latest_seq and held[1]["id"] == contest.id:
        return held[2]
    return None


def current(contest: Contest) -> tuple[dict, dict]:
    """(setup, state) now: the published state when it is the log's latest (one indexed max()),
    else a replay of the log, which is then published."""
    setup = setup_of(contest)
    state = _held_state(contest, setup, _latest_seq(contest))
    if state is not None:
        return setup, state
    state = rules.replay(setup, events_of(contest.id))
    hub.publish(contest.code, setup, state)
    return setup, state


def record(
    contest: Contest,
    kind: str,
    *,
    received_ns: int,
    now: datetime,
    team_id: int | None = None,
    device: SimpleNamespace | None = None,
    actor_id: int | None = None,
    payload: dict | None = None,
) -> dict:
    """Check ``kind`` against the replayed state and append it to the log (flushed, not committed).

    Returns {"state", "event" (None when nothing was recorded: a double tap), "outcome"}. A refused
    action raises a DomainError and records nothing. Call it inside ``arbiter``, and publish the
    state after the commit (``publish``)."""
    payload = dict(payload or {})
    setup = setup_of(contest)
    latest_seq = _latest_seq(contest)
    # The published state is the log's replay (read-only here: streams are rendering it); only an
    # undo, or a state this process has not published, needs the log itself. Replaying the whole
    # log on every buzz made each one slower as the contest went on, all under the contest's lock.
    events = events_of(contest.id) if kind == "undo" else None
    state = _held_state(contest, setup, latest_seq) if events is None else None
    if state is None:
        events = events if events is not None else events_of(contest.id)
        state = rules.replay(setup, events)
    if device is not None:
        if team_id is not None and team_id != device.team_id:
            raise PermissionDenied("只能为本队操作，不能替其他队伍抢答或作答")
        team_id = device.team_id
    if kind == "adjust" and team_id is not None:
        payload.setdefault("team_id", team_id)
    if kind == "undo":
        target = rules.last_host_action(events)
        if target is None:
            raise rules.ContestError("没有可撤销的操作")
        checked = {"target": target}
    else:
        if device is not None and kind == "stake":
            payload["from_phone"] = True
        checked = rules.check(setup, state, kind, team_id, payload)
    if checked.get("duplicate"):
        return {"state": state, "event": None, "outcome": _buzz_outcome(state, team_id)}
    if kind == "answer":
        checked.update(_graded(setup, state, payload.get("answer")))
    if kind == "buzz":
        checked["member"] = device.member if device is not None else payload.get("member", "主持人代按")
        if state["buzzes"] and state["buzzes"][0]["boot"] != BOOT:
            first = datetime.fromisoformat(state["buzzes"][0]["at"])
            checked["wall_behind_ms"] = int((now - first).total_seconds() * 1000)
    if kind == "resume" and state["paused_at"]:
        checked["paused_seconds"] = (now - datetime.fromisoformat(state["paused_at"])).total_seconds()
    row = ContestEvent(
        contest_id=contest.id,
        seq=latest_seq + 1,
        kind=kind,
        team_id=team_id if kind in ("buzz", "answer", "stake") else None,
        device_id=device.id if device is not None else None,
        actor_id=actor_id,
        payload=checked,
        at=now,
        mono_ns=received_ns,
        boot=BOOT,
    )
    db.session.add(row)
    db.session.flush()
    event = as_dict(row)
    if kind == "undo":
        state = rules.replay(setup, [*events, event])
    else:
        state = rules.snapshot(state)
        rules.apply(setup, state, event)
        state["seq"] = event["seq"]
    if kind in ("finish", "undo"):  # the record on the 光荣榜 follows the log: an undone finish takes it back
        finished = state["status"] == "finished"
        contest.finished_at = (contest.finished_at or now) if finished else None
        contest.podium = rules.standings(setup, state) if finished else None
    outcome = _buzz_outcome(state, team_id) if kind == "buzz" else None
    return {"state": state, "event": event, "outcome": outcome}


def known_double_tap(code: str, token: str | None) -> dict | None:
    """A phone's buzz that the published state already answers: its team has buzzed (or fouled)
    on this question, so this is the same buzz again and records nothing. Call it inside
    ``arbiter``: there the published state is the log's latest (every write of this process
    publishes before it lets the lock go), so no database is read. In a hall four phones a team all
    press at once; without this each tap held the contest's lock for a transaction and two queries.

    Returns {"seq", "outcome"}, or None when the request must go the whole way (``record``)."""
    known = _devices.get(token or "")
    held = hub.latest(code.strip().upper())
    if known is None or held is None or held[1]["id"] != known[0]:
        return None
    seq, setup, state = held
    team_id = known[1].team_id
    try:
        checked = rules.check(setup, state, "buzz", team_id, {})
    except DomainError:
        return None  # refused: the whole way says why, as ever
    if not checked.get("duplicate"):
        return None
    return {"seq": seq, "outcome": _buzz_outcome(state, team_id)}


def publish(contest: Contest, state: dict) -> None:
    hub.publish(contest.code, setup_of(contest), state)


def _graded(setup: dict, state: dict, raw) -> dict:
    question = rules.current_question(setup, state)
    version = SimpleNamespace(type=question["type"], options=question["options"], answer=question["answer"])
    try:
        answer = grading.parse_response(version, raw)
    except grading.InvalidResponse as error:
        raise rules.ContestError(str(error)) from None
    return {"answer": answer, "correct": grading.grade(version, answer).correct}


def _buzz_outcome(state: dict, team_id: int) -> dict:
    foul = next((f for f in state["fouls"] if f["team_id"] == team_id), None)
    if foul is not None:
        return {"result": "foul", "penalty": foul["penalty"]}
    for rank, buzz in enumerate(state["buzzes"], 1):
        if buzz["team_id"] == team_id:
            return {"result": "first" if rank == 1 else "late", "rank": rank, "behind_ms": buzz["behind_ms"]}
    return {"result": "none"}


# ---------------------------------------------------------------------------------------------
# Phones


def join(contest: Contest, team_id: int, pin: str, member: str) -> ContestDevice:
    """A phone joins a team with the team's PIN; returns the device (its token goes in the cookie)."""
    team = db.session.scalar(
        select(ContestTeam).where(ContestTeam.id == team_id, ContestTeam.contest_id == contest.id)
    )
    if team is None:
        raise NotFound("没有这支队伍")
    if not secrets.compare_digest((pin or "").strip(), team.pin):
        raise DomainError(f"{team.name}的队伍口令不对，请向主持人核对")
    member = (member or "").strip()
    if member not in team.members:
        raise DomainError(f"请选择{team.name}的队员")
    device = ContestDevice(
        contest_id=contest.id, team_id=team.id, member=member, token=secrets.token_urlsafe(24)
    )
    db.session.add(device)
    db.session.flush()
    return device


def device_for(contest: Contest, token: str | None) -> SimpleNamespace | None:
    """The phone with this token in this contest: its id, team_id and member (a joined phone's row
    never changes, so a buzz after the first reads no database for it)."""
    if not token:
        return None
    known = _devices.get(token)
    if known is None:
        row = db.session.scalar(select(ContestDevice).where(ContestDevice.token == token))
        if row is None:
            return None
        known = _devices[token] = (
            row.contest_id,
            SimpleNamespace(id=row.id, team_id=row.team_id, member=row.member),
        )
    return known[1] if known[0] == contest.id else None


def devices_per_team(contest: Contest) -> dict[int, int]:
    return dict(
        db.session.execute(
            select(ContestDevice.team_id, func.count(ContestDevice.id))
            .where(ContestDevice.contest_id == contest.id)
            .group_by(ContestDevice.team_id)
        ).all()
    )
