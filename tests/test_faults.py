"""Fault injection: a server process or worker dies, PostgreSQL restarts mid-round; no acknowledged
answer is lost, and the app recovers by itself."""

from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from quizapp.extensions import db, login_manager
from quizapp.models import AttemptAnswer
from quizapp.services import rounds

from .conftest import PASSWORD as CONFTEST_PASSWORD
from .conftest import ROOT
from .live import Browser, Gunicorn, free_port, wait_until_serving
from .test_rounds import settings

PASSWORD = "Demo12345"


class Server:
    """`quizapp serve --demo` in its own process, as a newcomer runs it."""

    def __init__(self, instance: Path, port: int):
        self.instance, self.port, self.process = instance, port, None

    def start(self) -> None:
        env = os.environ | {
            "QUIZAPP_INSTANCE_PATH": str(self.instance),
            "QUIZAPP_DEMO_PASSWORD": PASSWORD,
            "QUIZAPP_ADMIN_PASSWORD": "Admin1234",
        }
        env.pop("QUIZAPP_DATABASE_URL", None)
        self.log = open(self.instance / f"server-{time.time_ns()}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "quizapp", "serve", "--demo", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_until_serving(f"http://127.0.0.1:{self.port}", self.process, Path(self.log.name))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)  # no clean shutdown, no flush, no goodbye
        self.process.wait(timeout=10)
        self.log.close()


def test_killing_the_server_mid_attempt_loses_no_saved_answer(tmp_path, figures):
    instance = tmp_path / "instance"
    instance.mkdir()
    server = Server(instance, free_port())
    server.start()
    try:
        browser = Browser(f"http://127.0.0.1:{server.port}")
        browser.sign_in("staff07", PASSWORD)
        _, listing = browser.request("GET", "/api/v1/rounds")
        monthly = next(
            r for r in json.loads(listing)["rounds"] if r["kind"] == "monthly" and r["state"] == "open"
        )
        status, body = browser.request("POST", f"/api/v1/rounds/{monthly['id']}/attempts")
        assert status == 201
        attempt = json.loads(body)
        acknowledged = {}
        for question in attempt["questions"][:12]:
            answer = {
                "single": "B",
                "judge": "false",
                "multiple": ["A", "B"],
                "fill": ["答案"] * question["blanks"],
            }[question["type"]]
            status, _ = browser.request(
                "PUT", f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}", {"answer": answer}
            )
            assert status == 200
            acknowledged[str(question["id"])] = answer
        server.kill()
        server.start()  # the same instance folder, as after a crash and a restart
        status, body = browser.request("GET", f"/api/v1/attempts/{attempt['id']}")
        assert status == 200  # the session survives the restart too (key in the instance folder)
        resumed = json.loads(body)
        assert resumed["status"] == "in_progress"
        assert {qid: saved["answer"] for qid, saved in resumed["answers"].items()} == acknowledged
        assert [q["id"] for q in resumed["questions"]] == [q["id"] for q in attempt["questions"]]
        figures.count("faults: kill -9 serve mid-attempt", "answers acknowledged", len(acknowledged))
        figures.count(
            "faults: kill -9 serve mid-attempt",
            "answers lost",
            len(set(acknowledged) - set(resumed["answers"])),
        )
    finally:
        if server.process and server.process.poll() is None:
            server.kill()


@pytest.fixture(autouse=True)
def _no_leftover_servers():
    yield


# --- gunicorn workers and PostgreSQL under an autosave burst --------------------------------------

STAFF = [f"s{n}" for n in range(1, 7)]
KILLS = 3
ANSWERS = {  # what the clients cycle through, per question type, in the letters the attempt shows
    "single": ["A", "B", "C", "D"],
    "judge": ["true", "false"],
    "multiple": [["A", "B"], ["C", "D"], ["A", "C"]],
}


@pytest.fixture
def open_round(app, province, mixed_bank, create_user):
    """A monthly round open now (real time: the servers under test run their own clocks) for the
    province, and six more staff to take it."""
    units, _ = province
    for n, username in enumerate(STAFF):
        create_user(username, unit=units["A1" if n % 2 else "B1"])
    now = datetime.now(UTC)
    with app.app_context():
        round_id = rounds.create_round(
            settings("monthly", opens=now - timedelta(hours=1), closes=now + timedelta(days=1)), actor_id=None
        ).id
        db.session.commit()
    return round_id


@dataclass
class Save:
    question_id: int
    answer: object
    acknowledged: bool  # the server answered 200
    outcome: str  # "200", another status, or the connection error
    at: float


class AutosaveBurst:
    """Each client autosaves its attempt's answers as fast as it can, one request after another,
    cycling through questions and values; every save and what came back is remembered."""

    def __init__(self, base: str, usernames: list[str], round_id: int):
        self.clients = []
        for username in usernames:
            browser = Browser(base)
            browser.sign_in(username, CONFTEST_PASSWORD)
            view = browser.json("POST", f"/api/v1/rounds/{round_id}/attempts", expect=201)
            questions = [q for q in view["questions"] if q["type"] in ANSWERS]
            self.clients.append((browser, view["id"], questions))
        self.saves: dict[int, list[Save]] = {attempt_id: [] for _, attempt_id, _ in self.clients}
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=client) for client in self.clients]

    def _client(self, browser: Browser, attempt_id: int, questions: list[dict]) -> None:
        for n in itertools.count():
            if self.stop.is_set():
                return
            question = questions[n % len(questions)]
            values = ANSWERS[question["type"]]
            answer = values[(n // len(questions)) % len(values)]
            path = f"/api/v1/attempts/{attempt_id}/answers/{question['id']}"
            try:
                status, _ = browser.request("PUT", path, {"answer": answer})
                outcome = str(status)
            except (OSError, HTTPException) as error:  # the connection was cut: no whole answer
                status, outcome = None, type(error).__name__
                time.sleep(0.05)
            self.saves[attempt_id].append(
                Save(question["id"], answer, status == 200, outcome, time.monotonic())
            )
            if status not in (200, None):
                time.sleep(0.05)  # a 5xx: back off a little, as the attempt page does

    def __enter__(self) -> AutosaveBurst:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def acknowledged_since(self, moment: float) -> int:
        return sum(s.acknowledged and s.at > moment for saves in list(self.saves.values()) for s in saves)

    def wait_for(self, count: int, since: float = 0.0, seconds: float = 60) -> int:
        """Go on until ``count`` saves were acknowledged after ``since`` (however slow the machine)."""
        deadline = time.monotonic() + seconds
        while self.acknowledged_since(since) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.acknowledged_since(since)

    def failures(self) -> list[str]:
        return [s.outcome for saves in self.saves.values() for s in saves if not s.acknowledged]

    def lost(self, app) -> tuple[int, int]:
        """(acknowledged saves, acknowledged saves lost). A save the server acknowledged must be in
        the database: each committed save bumps its answer's revision by one, so the revision must
        be at least the acknowledged count; and the answer left must be the last acknowledged one,
        or one sent after it whose fate the client never learnt."""
        acknowledged = lost = 0
        for browser, attempt_id, _ in self.clients:
            shown = browser.json("GET", f"/api/v1/attempts/{attempt_id}")["answers"]
            with app.app_context():
                revisions = dict(
                    db.session.execute(
                        select(AttemptAnswer.question_id, AttemptAnswer.revision).where(
                            AttemptAnswer.attempt_id == attempt_id
                        )
                    ).all()
                )
            by_question: dict[int, list[Save]] = {}
            for save in self.saves[attempt_id]:
                by_question.setdefault(save.question_id, []).append(save)
            for question_id, saves in by_question.items():
                acked = [i for i, save in enumerate(saves) if save.acknowledged]
                acknowledged += len(acked)
                if not acked:
                    continue
                lost += max(0, len(acked) - revisions.get(question_id, 0))
                possible = [saves[acked[-1]].answer] + [s.answer for s in saves[acked[-1] + 1 :]]
                final = shown.get(str(question_id), {}).get("answer")
                if final not in possible:
                    lost += 1
        return acknowledged, lost


def assert_only_server_errors(failures: list[str]) -> None:
    """A save that failed got a connection error or a 5xx: never a 4xx refusal of a valid save."""
    assert all(not outcome.isdigit() or outcome.startswith("5") for outcome in failures), failures


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_kill_9_of_a_gunicorn_worker_mid_burst_loses_no_acknowledged_answer(
    app, app_config, open_round, tmp_path, figures, backend
):
    suite = "faults: kill -9 a gunicorn worker during an autosave burst"
    with Gunicorn(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path) as server:
        burst = AutosaveBurst(server.base, STAFF, open_round)
        killed = set()
        with burst:
            for _ in range(KILLS):
                burst.wait_for(20, since=time.monotonic())
                victim = min(server.worker_pids())
                os.kill(victim, signal.SIGKILL)  # mid-request: no clean shutdown, no rollback by it
                killed.add(victim)
                last_kill = time.monotonic()
                server.wait_for_workers(without=killed)  # the master starts a new one
            assert burst.wait_for(20, since=last_kill) >= 20  # the site goes on serving
        acknowledged, lost = burst.lost(app)
    assert_only_server_errors(burst.failures())
    assert lost == 0
    figures.count(suite, "saves acknowledged", acknowledged)
    figures.count(suite, "saves cut by a kill (error, not 200)", len(burst.failures()))
    figures.count(suite, "workers killed", len(killed))
    figures.count(suite, "acknowledged answers lost", lost)


@pytest.mark.postgres
def test_postgresql_restart_mid_round_recovers_without_an_app_restart(
    private_postgres, app, app_config, open_round, tmp_path, figures
):
    suite = "faults: PostgreSQL restarted (crash) mid-round"
    with Gunicorn(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path) as server:
        workers = server.worker_pids()
        burst = AutosaveBurst(server.base, STAFF, open_round)
        with burst:
            burst.wait_for(30)
            down_at = time.monotonic()
            private_postgres.restart("immediate")  # killed without a checkpoint; recovers from WAL
            back_at = time.monotonic()
            assert burst.wait_for(30, since=back_at) >= 30, server.log.read_text()[-3000:]
        assert server.worker_pids() == workers  # the same processes serve on: no restart needed
        acknowledged, lost = burst.lost(app)
    assert "database system is ready to accept connections" in private_postgres.server_log()
    assert all(outcome == "503" or not outcome.isdigit() for outcome in burst.failures()), (
        collections.Counter(burst.failures()),
        server.log.read_text()[-4000:],
    )
    assert lost == 0
    figures.count(suite, "saves acknowledged", acknowledged)
    figures.count(suite, "saves failed (error, not 200)", len(burst.failures()))
    figures.put(suite, "database down (s)", round(back_at - down_at, 1))
    figures.count(suite, "app restarts", 0)
    figures.count(suite, "acknowledged answers lost", lost)


def test_a_database_outage_is_a_503_to_retry_on_pages_and_the_api(login_as, app, province, monkeypatch):
    """What the clients above get while PostgreSQL is down, without taking a database down."""
    client = login_as("amy")

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused\nis the server running?"))

    monkeypatch.setattr(rounds, "rounds_for_user", unreachable)
    response = client.get("/api/v1/rounds")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.get_json()["error"]["code"] == "database_unavailable"

    def bug(*args, **kwargs):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(rounds, "rounds_for_user", bug)
    with pytest.raises(IntegrityError):  # not an outage: an error for the log (a 500), never a 503
        client.get("/api/v1/rounds")
    monkeypatch.setattr(login_manager, "_user_callback", unreachable)  # even loading the user fails
    page = client.get("/rounds")
    assert page.status_code == 503 and "数据库暂时无法连接" in page.get_data(as_text=True)
