"""现场比武 figures (issue 19 "Speed"): one hall served as ``quizapp serve`` serves it.

Always on SQLite in a temporary instance of its own (whatever database the other figures use): a
hall runs on one laptop. ``quizapp serve`` (waitress, its default thread count, no scheduler)
runs in a child process; this process is the hall: 8 teams × 4 phones, each phone a real HTTP
client holding the event stream (``/contest/<code>/events?as=team``) in a thread of its own, plus
the big screen's stream and the host console's (34 held streams, as in a hall).

- open → phones: from the moment the host's "open buzzers" request is sent to the moment each of
  the 32 phone streams has delivered that state (32 samples a question).
- buzz → screen: once the buzzers are open, the 32 phones buzz at moments spread at random over
  50 ms. For each buzz: from the moment it is sent to the moment the screen's stream has delivered a
  state that shows the winner and this buzz's team in the buzz order. A phone whose teammate's buzz
  was already on the screen before it sent its own (a double tap of the team: the server records
  nothing) counts until the server's reply to it.

Targets (issue 19): p95 ≤ 100 ms and ≤ 150 ms.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from quizapp import create_app
from quizapp.extensions import db
from quizapp.models import Unit, User
from quizapp.services import accounts, org
from quizapp.services.contest import play, setup
from tests.live import Process, free_port, wait_until_serving

from .common import percentile

TEAMS, MEMBERS = 8, 4
BUZZ_WINDOW = 0.050  # the 32 buzzes are sent within 50 ms of each other
OPEN_TARGET_MS, BUZZ_TARGET_MS = 100, 150


@dataclass
class Stream:
    """One held event stream: every state it delivered, with the moment it arrived."""

    port: int
    path: str
    headers: dict
    seen: list[tuple[float, dict | bytes]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    connection: http.client.HTTPConnection | None = None

    def run(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        self.connection.request("GET", self.path, headers=self.headers | {"Accept": "text/event-stream"})
        response = self.connection.getresponse()
        assert response.status == 200, response.status
        data: list[bytes] = []
        try:
            while True:
                line = response.readline()
                if not line:
                    return
                if line.startswith(b"data:"):
                    data.append(line[5:].strip())
                elif line in (b"\n", b"\r\n") and data:
                    arrived = time.perf_counter()  # parsed when asked for: this process is the hall's 34
                    raw, data = b"\n".join(data), []  # clients and should not slow its own clock readings
                    with self.changed:
                        self.seen.append((arrived, raw))
                        self.changed.notify_all()
                    self.ready.set()
        except (OSError, http.client.HTTPException, ValueError):
            return  # closed at the end

    def wait_for(self, predicate, timeout: float = 10.0) -> tuple[float, dict]:
        """The first state delivered that satisfies ``predicate``, (arrival, state)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for n, (arrived, state) in enumerate(self.seen):
                    if isinstance(state, bytes):
                        state = json.loads(state)
                        self.seen[n] = (arrived, state)
                    if predicate(state):
                        return arrived, state
                left = deadline - time.monotonic()
                assert left > 0, f"{self.path}: no such state within {timeout} s"
                self.changed.wait(left)

    def close(self) -> None:
        if self.connection is not None and self.connection.sock is not None:
            self.connection.sock.shutdown(2)


class Poster:
    """A keep-alive connection for one client's POSTs (the host's actions, a phone's buzzes)."""

    def __init__(self, port: int, headers: dict):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = headers | {"Content-Type": "application/json", "Accept": "application/json"}

    def post(self, path: str, body: dict) -> dict:
        self.connection.request("POST", path, body=json.dumps(body), headers=self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        assert response.status == 200, (response.status, payload[:300])
        return json.loads(payload)


def _cookie_headers(app, data: dict) -> dict:
    """A session cookie and CSRF header as the server would have written them (same key)."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    csrf = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    raw = secrets.token_hex(20)
    cookie = serializer.dumps(data | {"csrf_token": raw})
    return {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}", "X-CSRFToken": csrf.dumps(raw)}


def _hall(app, questions: int) -> tuple[str, dict, list[tuple[int, dict]]]:
    """The contest (8 teams × 4, one 抢答 segment), the host's headers and every phone's (team, headers)."""
    with app.app_context():
        if db.session.scalar(select(Unit.id)) is None:
            org.create_unit("HALL", "比武会场")
        unit = db.session.scalar(select(Unit.code))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        contest = setup.create_contest(
            admin,
            title="基准现场比武",
            unit_code=unit,
            teams=[
                setup.TeamSpec(f"第{n}队", f"单位{n}", [f"队员{n}-{m}" for m in range(1, MEMBERS + 1)])
                for n in range(1, TEAMS + 1)
            ],
            segments=[
                setup.SegmentSpec(
                    "buzz",
                    points_right=20,
                    points_wrong=10,
                    early_penalty=5,
                    count=questions,
                    types=["single"],
                )
            ],
            rng=random.Random(19),
        )
        code = contest.code
        phones = []
        for team in setup.team_pins(contest):
            members = setup.load_setup(contest)["teams"][team["position"] - 1]["members"]
            for member in members:
                device = play.join(contest, team["id"], team["pin"], member)
                phones.append((team["id"], device.token))
        sid = accounts.open_session(admin.id, now=datetime.now(UTC), hours=2)
        host = {"_user_id": f"{admin.id}:{admin.session_version}", "_fresh": True, "sid": sid}
        db.session.commit()
        db.engine.dispose()
    return (
        code,
        _cookie_headers(app, host),
        [(team_id, _cookie_headers(app, {"contest_devices": {code: token}})) for team_id, token in phones],
    )


def _buzz_round(code: str, host: Poster, phones, streams, screen, rng) -> tuple[list[float], list[float]]:
    """One 抢答 question: next, open (timed to every phone), 32 buzzes (timed to the screen), reveal."""
    base = f"/contest/{code}"
    shown_seq = host.post(f"{base}/host/act", {"action": "next"})["seq"]
    for stream in [*streams, screen]:
        stream.wait_for(lambda s: s["seq"] >= shown_seq)
    sent = time.perf_counter()
    open_seq = host.post(f"{base}/host/act", {"action": "open"})["seq"]
    open_ms = [(stream.wait_for(lambda s: s["seq"] >= open_seq)[0] - sent) * 1000 for stream in streams]

    offsets = [rng.uniform(0, BUZZ_WINDOW) for _ in phones]
    buzzes: list[tuple[int, float, float]] = [None] * len(phones)  # (team, sent, replied)
    start = time.perf_counter() + 0.05

    def buzz(n: int) -> None:
        team_id, poster = phones[n]
        time.sleep(max(0.0, start + offsets[n] - time.perf_counter()))
        at = time.perf_counter()
        poster.post(f"{base}/play", {"action": "buzz"})
        buzzes[n] = (team_id, at, time.perf_counter())

    threads = [threading.Thread(target=buzz, args=(n,)) for n in range(len(phones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    buzz_ms = []
    for team_id, at, replied in buzzes:
        shown, _ = screen.wait_for(
            lambda s, team_id=team_id: (
                s["seq"] > open_seq and s["floor_name"] and any(b["team_id"] == team_id for b in s["buzzes"])
            )
        )
        buzz_ms.append(((shown if shown >= at else replied) - at) * 1000)
    host.post(f"{base}/host/act", {"action": "reveal"})
    return open_ms, buzz_ms


def contest_figures(results: dict, questions: int = 12) -> None:
    folder = Path(tempfile.mkdtemp(prefix="quizapp-contest-bench-"))
    key = secrets.token_hex(32)
    url = f"sqlite:///{folder / 'hall.db'}"
    env = os.environ | {
        "QUIZAPP_INSTANCE_PATH": str(folder),
        "QUIZAPP_DATABASE_URL": url,
        "QUIZAPP_SECRET_KEY": key,
        "QUIZAPP_ADMIN_PASSWORD": secrets.token_urlsafe(12),
    }
    env.pop("QUIZAPP_REDIS_URL", None)
    port = free_port()
    server = Process(
        [sys.executable, "-m", "quizapp", "serve", "--port", str(port), "--no-scheduler"],
        env,
        folder / "serve.log",
    ).start()
    streams: list[Stream] = []
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", server.process, server.log_path)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": key, "RATELIMIT_ENABLED": False})
        code, host_headers, phone_headers = _hall(app, questions)
        events = f"/contest/{code}/events"
        phone_streams = [Stream(port, f"{events}?as=team", headers) for _, headers in phone_headers]
        screen = Stream(port, f"{events}?as=screen", {})
        console = Stream(port, f"{events}?as=host", host_headers)
        streams = [*phone_streams, screen, console]
        for stream in streams:
            threading.Thread(target=stream.run, daemon=True).start()
        for stream in streams:
            assert stream.ready.wait(30), "an event stream did not start"
        host = Poster(port, host_headers)
        phones = [(team_id, Poster(port, headers)) for team_id, headers in phone_headers]
        rng = random.Random(50)
        open_ms, buzz_ms = [], []
        _buzz_round(code, host, phones, phone_streams, screen, rng)  # warm up: first requests, caches
        for _ in range(questions - 1):
            opened, buzzed = _buzz_round(code, host, phones, phone_streams, screen, rng)
            open_ms += opened
            buzz_ms += buzzed
    finally:
        for stream in streams:
            stream.close()
        server.stop()
    for label, values, target in (
        (f"contest: open → {TEAMS * MEMBERS} phones", open_ms, OPEN_TARGET_MS),
        (f"contest: {TEAMS * MEMBERS} buzzes in 50 ms → screen", buzz_ms, BUZZ_TARGET_MS),
    ):
        figures = {
            "samples": len(values),
            "p50 ms": round(percentile(values, 0.5), 1),
            "p95 ms": round(percentile(values, 0.95), 1),
            "max ms": round(max(values), 1),
            "target p95 ms": target,
        }
        results[label] = figures
        verdict = "ok" if figures["p95 ms"] <= target else "MISSED"
        print(
            f"  {label:<44} p95 {figures['p95 ms']:>7.1f} ms (target ≤ {target}, {verdict}); "
            f"p50 {figures['p50 ms']}, max {figures['max ms']}, n={len(values)}",
            flush=True,
        )
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    figures: dict = {}
    contest_figures(figures)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
