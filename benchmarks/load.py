"""Load figures through the deployed stack: gunicorn app workers in front of the benchmark database.

- autosave: 32 clients saving answers, beside the stack's floor (GET /api/v1/session: sign-in
  check, one user read, JSON). Throughput is measured closed-loop (each client sends its next
  request as soon as the last one is answered, so the machine is saturated); latency is measured
  at 32 clients paced to half of that endpoint's saturated throughput, from each request's
  scheduled time (so a slow answer is not hidden by the client waiting for it).
- contest start: N staff start the same monthly round at moments spread over 10 s.
- peak memory (VmHWM) of each app worker after those runs.
- SQLite: 200 autosaves sent at the same instant, several times, counting errors.

Sessions are minted with the app's secret key, as a sign-in would write them: sign-in itself
(a deliberately slow password hash) is not what these figures measure.
"""

from __future__ import annotations

import http.client
import json
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptAnswer,
    PaperQuestion,
    RankingSnapshot,
    Round,
    RoundTarget,
    SnapshotRow,
    Unit,
    User,
)
from quizapp.services import accounts, sweeps
from quizapp.services import rounds as round_service
from tests.live import Gunicorn

from .common import percentile


@dataclass
class Client:
    """One signed-in person: their session cookie and CSRF header, and what they work on."""

    user_id: int
    headers: dict
    attempt: dict | None = None
    answers: int = 0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock = threading.Lock()

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            else:
                self.latencies.append(seconds)

    def summary(self, seconds: float | None = None) -> dict:
        figures = {
            "requests": len(self.latencies),
            "errors": sum(self.errors.values()),
            "p50 ms": round(percentile(self.latencies, 0.5) * 1000, 1) if self.latencies else None,
            "p95 ms": round(percentile(self.latencies, 0.95) * 1000, 1) if self.latencies else None,
        }
        if seconds:
            figures["per second"] = round(len(self.latencies) / seconds, 1)
        if self.errors:
            figures["error kinds"] = dict(self.errors)
        return figures


def mint_clients(app, user_ids: list[int]) -> list[Client]:
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    csrf = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    with app.app_context():
        versions = dict(
            db.session.execute(select(User.id, User.session_version).where(User.id.in_(user_ids))).all()
        )
        tokens = {
            user_id: accounts.open_session(user_id, now=datetime.now(UTC), hours=24) for user_id in user_ids
        }
        db.session.commit()
    clients = []
    for user_id in user_ids:
        raw = secrets.token_hex(20)
        cookie = serializer.dumps(
            {
                "_user_id": f"{user_id}:{versions[user_id]}",
                "_fresh": True,
                "csrf_token": raw,
                "sid": tokens[user_id],
            }
        )
        headers = {"Cookie": f"{cookie_name}={cookie}", "X-CSRFToken": csrf.dumps(raw)}
        clients.append(Client(user_id, headers | {"Content-Type": "application/json"}))
    return clients


class Connection:
    """A keep-alive HTTP connection that reconnects after an error."""

    def __init__(self, port: int):
        self.port, self.connection = port, None

    def send(self, method: str, path: str, headers: dict, body=None) -> tuple[int, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.connection.request(
                method, path, body=None if body is None else json.dumps(body), headers=headers
            )
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise


def _one(connection: Connection, request, tally: Tally, since: float) -> None:
    method, path, headers, body = request
    try:
        status, payload = connection.send(method, path, headers, body)
        error = None if status < 400 else f"HTTP {status}: {payload[:80].decode(errors='replace')}"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
    tally.add(time.perf_counter() - since, error)


def closed_loop(port: int, clients: list[Client], make_request, seconds: float) -> dict:
    tally, stop = Tally(), time.perf_counter() + seconds

    def run(client: Client) -> None:
        connection = Connection(port)
        while time.perf_counter() < stop:
            _one(connection, make_request(client), tally, time.perf_counter())

    _threads(run, clients)
    return tally.summary(seconds)


def paced(port: int, clients: list[Client], make_request, rate: float, seconds: float) -> dict:
    """Open loop: each client sends at fixed moments (rate / clients per second), latency counted
    from the moment the request was due."""
    tally, interval, start = Tally(), len(clients) / rate, time.perf_counter() + 0.2

    def run(client: Client, offset: float) -> None:
        connection, due = Connection(port), start + offset
        while due < start + seconds:
            time.sleep(max(0.0, due - time.perf_counter()))
            _one(connection, make_request(client), tally, due)
            due += interval

    _threads(run, clients, [n * interval / len(clients) for n in range(len(clients))])
    return tally.summary(seconds)


def _threads(target, clients, offsets=None) -> None:
    threads = [
        threading.Thread(target=target, args=(client,) if offsets is None else (client, offsets[n]))
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def open_round(app, kind: str, questions: int, paper_mode: str = "shared", opens_in: float = 0) -> int:
    """A round of ``kind`` open for the whole organisation: one paper drawn for all, or (drawn) a
    paper drawn for each attempt at its start. ``opens_in``: scheduled that many seconds ahead, as
    rounds are planned, and returned the moment it opens (the open sweep run, as the scheduler
    would within its minute); 0: open now."""
    with app.app_context():
        tz = app.config["TZINFO"]
        now = clock.utcnow()
        opens_at = now + timedelta(seconds=opens_in) if opens_in else now - timedelta(minutes=5)
        root = db.session.scalar(select(Unit.code).where(Unit.parent_id.is_(None)).order_by(Unit.id.desc()))
        settings = round_service.RoundSettings.from_defaults(
            kind, clock.business_date(now, tz), tz, [root]
        ).but(
            title=f"负载测试{kind}{secrets.token_hex(3)}",
            opens_at=opens_at,
            closes_at=now + timedelta(hours=3),
            blueprint=[{"type": None, "count": questions}],
            paper_mode=paper_mode,
        )
        round_ = round_service.create_round(settings, actor_id=None)
        db.session.commit()
        time.sleep(max(0.0, (opens_at - clock.utcnow()).total_seconds()))
        sweeps.open_due_rounds(clock.utcnow())
        db.session.commit()
        assert db.session.get(Round, round_.id).status == "open"
        return round_.id


def remove_round(app, round_id: int) -> None:
    """Take a load round away again, so it does not weigh on the next figures (an open round is in
    every live ranking refresh)."""
    with app.app_context():
        attempts = select(Attempt.id).where(Attempt.round_id == round_id)
        db.session.execute(delete(AttemptAnswer).where(AttemptAnswer.attempt_id.in_(attempts)))
        snapshots = select(RankingSnapshot.id).where(RankingSnapshot.round_id == round_id)
        db.session.execute(delete(SnapshotRow).where(SnapshotRow.snapshot_id.in_(snapshots)))
        for model in (PaperQuestion, Attempt, RoundTarget, RankingSnapshot):
            db.session.execute(delete(model).where(model.round_id == round_id))
        db.session.execute(delete(Round).where(Round.id == round_id))
        db.session.commit()


def staff_ids(app, count: int, skip: int = 0) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(User.id)
                .where(User.role == "staff", User.active.is_(True))
                .order_by(User.id)
                .offset(skip)
                .limit(count)
            )
        )


def start_attempts(port: int, clients: list[Client], round_id: int) -> None:
    connection = Connection(port)
    for client in clients:
        status, body = connection.send("POST", f"/api/v1/rounds/{round_id}/attempts", client.headers)
        assert status in (200, 201), body[:300]
        client.attempt = json.loads(body)


def autosave_request(client: Client):
    questions = client.attempt["questions"]
    question = questions[client.answers % len(questions)]
    if question["type"] == "judge":
        answer = client.answers % 2 == 0
    elif question["type"] == "fill":
        answer = [f"答案{client.answers}"] * max(1, question.get("blanks") or 1)
    else:
        answer = question["options"][client.answers % len(question["options"])]["key"]
        answer = [answer] if question["type"] == "multiple" else answer
    client.answers += 1
    return (
        "PUT",
        f"/api/v1/attempts/{client.attempt['id']}/answers/{question['id']}",
        client.headers,
        {"answer": answer},
    )


def floor_request(client: Client):
    return ("GET", "/api/v1/session", client.headers, None)


def get_request(path: str):
    """A GET of ``path`` with the client's session (pages take the CSRF header as any other)."""
    return lambda client: ("GET", path, client.headers, None)


# The snapshot-backed and everyday reads, each measured beside the floor (issue 24: the rankings
# API and page at ≥ 0.8 of the floor's throughput, the home page and 日日学 at ≥ 0.6).
READS = (
    ("rankings API", "/api/v1/rankings/units", 0.8),
    ("rankings page", "/rankings", 0.8),
    ("home page", "/", 0.6),
    ("daily API", "/api/v1/daily", 0.6),
)


def read_figures(app, port: int, clients: list[Client], results: dict, seconds: float) -> None:
    """Each read at 32 clients saturated, as a ratio to the floor measured in the same run (the
    floor before and after the reads, their mean: this shared machine drifts). The month's live
    snapshot is written first, as the scheduler keeps it, and every read warmed once per client."""
    with app.app_context():
        sweeps.refresh_rankings(clock.utcnow())
        db.session.commit()
    for _, path, _ in READS:
        closed_loop(port, clients, get_request(path), 1)
    before = closed_loop(port, clients, floor_request, seconds)
    figures = {label: closed_loop(port, clients, get_request(path), seconds) for label, path, _ in READS}
    after = closed_loop(port, clients, floor_request, seconds)
    floor = (before["per second"] + after["per second"]) / 2
    _report(results, "reads: floor before, 32 clients, saturated", before)
    for (label, _, _), measured in zip(READS, figures.values(), strict=True):
        _report(results, f"reads: {label}, 32 clients, saturated", measured)
    _report(results, "reads: floor after, 32 clients, saturated", after)
    for label, _, target in READS:
        ratio = round(figures[label]["per second"] / floor, 2)
        results[f"{label} / floor throughput"] = ratio
        print(f"  {label + ' / floor throughput':<44} {ratio:>9.2f}  (target ≥ {target})", flush=True)


class Stack(Gunicorn):
    """gunicorn workers on the benchmark database, with the app's key (the sessions are minted with it)."""

    def __init__(self, app, workers: int, threads: int):
        folder = Path(tempfile.mkdtemp(prefix="quizapp-load-"))
        url, key = app.config["SQLALCHEMY_DATABASE_URI"], app.config["SECRET_KEY"]
        super().__init__(url, folder, workers=workers, threads=threads, env={"QUIZAPP_SECRET_KEY": key})

    def worker_peak_mb(self) -> list[float]:
        """VmHWM (peak resident memory) of each worker."""
        peaks = []
        for pid in self.worker_pids():
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
            peaks.append(round(int(fields["VmHWM"].split()[0]) / 1024, 1))
        return sorted(peaks)


def load_figures(
    app, results: dict, *, quick: bool, workers: int, threads: int, reads_only: bool = False
) -> None:
    """``reads_only``: the floor, autosave and the reads, no contest start (quick A/B runs)."""
    seconds = 5 if quick else 15
    with Stack(app, workers, threads) as stack:
        clients = mint_clients(app, staff_ids(app, 32))
        weekly = open_round(app, "weekly", 20)
        start_attempts(stack.port, clients, weekly)
        closed_loop(stack.port, clients, floor_request, 2)  # warm every worker
        floor = closed_loop(stack.port, clients, floor_request, seconds)
        autosave = closed_loop(stack.port, clients, autosave_request, seconds)
        # Latency at half of each endpoint's own saturated throughput: busy, not overloaded.
        floor_rate, autosave_rate = floor["per second"] / 2, autosave["per second"] / 2
        floor_paced = paced(stack.port, clients, floor_request, floor_rate, seconds)
        autosave_paced = paced(stack.port, clients, autosave_request, autosave_rate, seconds)
        _report(results, "floor, 32 clients, saturated", floor)
        _report(results, "autosave, 32 clients, saturated", autosave)
        results["autosave / floor throughput"] = round(autosave["per second"] / floor["per second"], 2)
        print(f"  {'autosave / floor throughput':<44} {results['autosave / floor throughput']:>9.2f}")
        _report(results, f"floor, 32 clients at {floor_rate:.0f}/s", floor_paced)
        _report(results, f"autosave, 32 clients at {autosave_rate:.0f}/s", autosave_paced)
        read_figures(app, stack.port, clients, results, seconds)
        if reads_only:
            results["peak memory per worker MB"] = stack.worker_peak_mb()
            remove_round(app, weekly)
            return

        starters = 500 if quick else 2000
        spike_clients = mint_clients(app, staff_ids(app, starters, skip=32))
        monthly = open_round(app, "monthly", 50)
        spike = spread(stack.port, spike_clients, monthly, window=10.0)
        _report(results, f"contest start: {starters} staff within 10 s", spike)
        # 随机组卷: the same spike on a round that draws each taker's 50 questions at the start. It is
        # scheduled a minute ahead, as rounds are (the planner works a week ahead), so each worker's
        # paper warmer has read its pool when the spike comes at its opening; the same spike on a
        # round opened the moment it comes shows what a cold pool costs.
        drawn_clients = mint_clients(app, staff_ids(app, starters, skip=32 + starters))
        drawn = open_round(app, "monthly", 50, paper_mode="drawn", opens_in=60)
        drawn_spike = spread(stack.port, drawn_clients, drawn, window=10.0)
        _report(results, f"contest start, paper per taker: {starters} staff within 10 s", drawn_spike)
        results["paper per taker: max share of papers holding one question"] = exposure_share(app, drawn)
        print(
            f"  {'paper per taker: max question share':<44} {results['paper per taker: max share of papers holding one question']:>9.3f}"
        )
        cold_clients = mint_clients(app, staff_ids(app, starters, skip=32 + 2 * starters))
        cold = open_round(app, "monthly", 50, paper_mode="drawn")
        cold_spike = spread(stack.port, cold_clients, cold, window=10.0)
        _report(results, f"…the same on a round opened as it comes: {starters} staff", cold_spike)
        results["peak memory per worker MB"] = stack.worker_peak_mb()
        print(f"  {'peak memory per worker (VmHWM)':<44} {results['peak memory per worker MB']} MB")
    for round_id in (weekly, monthly, drawn, cold):
        remove_round(app, round_id)


def exposure_share(app, round_id: int) -> float:
    """The largest share of a drawn round's papers that hold one question."""
    with app.app_context():
        papers = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.round_id == round_id))
        holding = (
            select(func.count().label("papers"))
            .where(PaperQuestion.round_id == round_id, PaperQuestion.attempt_id.is_not(None))
            .group_by(PaperQuestion.question_id)
            .subquery()
        )
        most = db.session.scalar(select(func.max(holding.c.papers)))
        return round((most or 0) / max(papers, 1), 3)


def spread(port: int, clients: list[Client], round_id: int, window: float, threads: int = 64) -> dict:
    """Each client starts the round once, at a moment spread evenly over ``window`` seconds."""
    tally, start = Tally(), time.perf_counter() + 0.5
    step = window / len(clients)

    def run(lane: int) -> None:
        connection = Connection(port)
        for n in range(lane, len(clients), threads):
            due = start + n * step
            time.sleep(max(0.0, due - time.perf_counter()))
            client = clients[n]
            _one(
                connection, ("POST", f"/api/v1/rounds/{round_id}/attempts", client.headers, None), tally, due
            )

    lanes = [threading.Thread(target=run, args=(lane,)) for lane in range(threads)]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    return tally.summary()


def burst(port: int, clients: list[Client], waves: int) -> dict:
    """All clients send one autosave at the same instant (a barrier), ``waves`` times."""
    tally, barrier = Tally(), threading.Barrier(len(clients))

    def run(client: Client) -> None:
        connection = Connection(port)
        for _ in range(waves):
            request = autosave_request(client)
            barrier.wait()
            _one(connection, request, tally, time.perf_counter())

    _threads(run, clients)
    return tally.summary()


def sqlite_burst_figures(
    app, database_url: str, results: dict, *, quick: bool, workers: int, threads: int
) -> None:
    with Stack(app, workers, threads) as stack:
        clients = mint_clients(app, staff_ids(app, 200))
        weekly = open_round(app, "weekly", 20)
        start_attempts(stack.port, clients, weekly)
        outcome = burst(stack.port, clients, 2 if quick else 5)
        locked = stack.output().count("database is locked")
        outcome["database is locked"] = locked
        _report(results, "SQLite: 200 concurrent autosaves", outcome)
    remove_round(app, weekly)


def _report(results: dict, label: str, figures: dict) -> None:
    results[label] = figures
    shown = ", ".join(f"{k} {v}" for k, v in figures.items() if k != "error kinds")
    print(f"  {label:<44} {shown}", flush=True)
    if figures.get("error kinds"):
        print(f"  {'':<44} errors: {figures['error kinds']}", flush=True)
