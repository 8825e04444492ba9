"""对战 figures (issue 21 "Speed"): many four-player battles at once through the deployed stack.

PostgreSQL only (the event streams of several gunicorn workers meet through NOTIFY). The battles
(``four``, the configured question count and seconds) are started with the service, with a start
far ahead; gunicorn serves them (gthread workers: each held event stream holds a thread, so the
workers have more threads than the streams they may get, and take no more connections than they have
threads: ``--worker-connections``); one HTTP client per player holds its event stream
(``/battles/<id>/events``, a thread each, its own signed-in session). Once every stream has
delivered its first view, the battles' start is moved to a few seconds ahead, spread over 10 s
(``--stagger``: battles begin as their players are matched, not on one beat), pushed as any change
is, and the battles are played: at each question, each player answers after a human-like delay
(2–8 s after their stream showed the question) with a random option (POST
``/api/v1/battles/<id>/answers``).

- answer → opponents' screens: for each accepted answer, from the moment its POST returned to the
  moment each of the 3 opponents' streams first delivered a view whose ``answered`` count for that
  seat includes it (3 deliveries per answer). A stream that was first (its view arrived before the
  POST's reply: the change is pushed at the commit, before the reply is written) counts 0, and those
  are counted; the same deliveries counted from the moment the POST was sent are printed beside.
- the stack's floor meanwhile: ``GET /api/v1/session`` every 200 ms while the battles run.
- errors: an answer POST answered with HTTP ≥ 400 other than 409 (a late answer, refused by the
  rules; counted apart), a stream that ended before its battle finished, a delivery never seen.
- peak memory (VmHWM) of each worker after the run.

Sessions are minted with the app's key (as in benchmarks/load.py). The battles and what their finish
wrote (points) are removed afterwards.

    python -m benchmarks.battles --database-url postgresql+psycopg://… [--battles 200] [--questions N]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import threading
import time
from datetime import timedelta

from flask_migrate import upgrade
from sqlalchemy import delete, func, select, update

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import Battle, BattleAnswer, BattlePlayer, PointsEntry
from quizapp.services.battles import play, push

from . import load
from .common import app_for, percentile

TARGET_MS = 150
MEMORY_TARGET_MB = 150
SEATS = 4
DELAY = (2.0, 8.0)  # a player's think time, seconds after the question showed on their screen


class Stream:
    """One player's held event stream. Keeps only what the figures need: the phase and question
    shown last, and when each seat's ``answered`` count first reached each value."""

    def __init__(self, port: int, battle_id: int, headers: dict):
        self.port, self.battle_id, self.headers = port, battle_id, headers
        self.seat: int | None = None
        self.phase: tuple[str, int] = ("", -1)
        self.question: dict | None = None  # the open question (type, option keys)
        self.shown: dict[int, float] = {}  # question position → arrival of the view that opened it
        self.counts: dict[int, int] = {}  # seat → answered
        self.reached: dict[tuple[int, int], float] = {}  # (seat, answered) → first arrival
        self.finished = False
        self.error: str | None = None
        self.ready = threading.Event()
        self.changed = threading.Condition()
        self.connection: http.client.HTTPConnection | None = None

    def run(self) -> None:
        try:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connection.request(
                "GET",
                f"/battles/{self.battle_id}/events",
                headers=self.headers | {"Accept": "text/event-stream"},
            )
            response = self.connection.getresponse()
            if response.status != 200:
                self.error = f"stream HTTP {response.status}"
                return
            data: list[bytes] = []
            while True:
                line = response.readline()
                if not line:
                    break
                if line.startswith(b"data:"):
                    data.append(line[5:])
                elif line in (b"\n", b"\r\n") and data:
                    arrived = time.perf_counter()
                    self._take(arrived, json.loads(b"".join(data)))
                    data = []
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.error = f"stream {type(exc).__name__}"
        finally:
            if not self.finished and self.error is None:
                self.error = "stream ended early"
            with self.changed:
                self.changed.notify_all()
            self.ready.set()

    def _take(self, arrived: float, view: dict) -> None:
        phase = view["phase"]
        with self.changed:
            self.seat = view["me"]
            for player in view["players"]:
                seat, answered = player["seat"], player.get("answered", 0)
                for count in range(self.counts.get(seat, 0) + 1, answered + 1):
                    self.reached[(seat, count)] = arrived
                self.counts[seat] = max(answered, self.counts.get(seat, 0))
            self.phase = (phase["kind"], phase.get("index", -1))
            if phase["kind"] == "question" and phase["index"] not in self.shown:
                self.shown[phase["index"]] = arrived
                question = view["current"]["question"]
                self.question = {"type": question["type"], "keys": [o["key"] for o in question["options"]]}
            self.finished = view["status"] == "finished"
            self.changed.notify_all()
        self.ready.set()

    def wait_question(self, position: int, timeout: float) -> tuple[float, dict] | None:
        """(arrival, question) once question ``position`` has shown; None if it never did (the
        battle went past it, the stream ended, or ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while position not in self.shown:
                kind, index = self.phase
                past = (
                    self.finished
                    or index > position
                    or (index == position and kind in ("reveal", "finished"))
                )
                left = deadline - time.monotonic()
                if past or self.error or left <= 0:
                    return None
                self.changed.wait(left)
            return self.shown[position], self.question

    def wait_finished(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not self.finished and not self.error:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return self.finished

    def close(self) -> None:
        if self.connection is not None and self.connection.sock is not None:
            with contextlib.suppress(OSError):
                self.connection.sock.shutdown(2)


def _choice(question: dict, rng: random.Random):
    keys = question["keys"]
    if question["type"] == "judge":
        return rng.random() < 0.5
    if question["type"] == "multiple":
        return sorted(rng.sample(keys, rng.randint(1, len(keys))))
    return rng.choice(keys)


def create_battles(app, user_ids: list[int], count: int, start_in: float) -> list[int]:
    """``count`` four-player battles (seats in the order of ``user_ids``), starting ``start_in``
    seconds from now."""
    ids = []
    with app.app_context():
        now = clock.utcnow() + timedelta(seconds=start_in)
        for n in range(count):
            ids.append(play.start_battle("four", user_ids[n * SEATS : (n + 1) * SEATS], now=now).id)
        db.session.commit()
    return ids


def start_now(app, battle_ids: list[int], lead_in: float, stagger: float) -> None:
    """Move the battles' start to ``lead_in`` seconds from now (every player is connected), spread
    evenly over ``stagger`` seconds more (battles begin as their players are matched, not on one
    beat); the change is pushed as any change to a battle is."""
    with app.app_context():
        now = clock.utcnow()
        for n, battle_id in enumerate(battle_ids):
            at = now + timedelta(seconds=lead_in + stagger * n / len(battle_ids))
            db.session.execute(update(Battle).where(Battle.id == battle_id).values(started_at=at))
            push.changed(battle_id)  # as any change to a battle: its streams read it again
        db.session.commit()


def remove_battles(app, battle_ids: list[int]) -> None:
    """Take the benchmark's battles away again, with the points their finish paid."""
    with app.app_context():
        seats = select(BattlePlayer.id).where(BattlePlayer.battle_id.in_(battle_ids))
        db.session.execute(
            delete(PointsEntry).where(
                PointsEntry.rule.in_(["battle_play", "battle_win"]), PointsEntry.source_id.in_(seats)
            )
        )
        db.session.execute(delete(BattleAnswer).where(BattleAnswer.battle_id.in_(battle_ids)))
        db.session.execute(delete(BattlePlayer).where(BattlePlayer.battle_id.in_(battle_ids)))
        db.session.execute(delete(Battle).where(Battle.id.in_(battle_ids)))
        db.session.commit()


def _post(port: int, path: str, headers: dict, body: dict) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def battle_figures(
    app,
    results: dict,
    *,
    battles: int = 200,
    questions: int | None = None,
    workers: int = 4,
    threads: int = 250,
    stagger: float = 10.0,
    seed: int = 21,
) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    label = f"battles: {battles} × 4 players, answer → opponents"
    if not url.startswith("postgresql"):
        print(f"  {label:<44} skipped: needs PostgreSQL (streams in several workers meet by NOTIFY)")
        results[label] = "skipped (SQLite)"
        return
    with app.app_context():
        upgrade()  # the battle tables, on a benchmark database built before them
    if questions:
        app.config["BATTLE_QUESTIONS"] = questions
    count = app.config["BATTLE_QUESTIONS"]
    players = battles * SEATS
    user_ids = load.staff_ids(app, players, skip=20000)
    clients = load.mint_clients(app, user_ids)
    threading.stack_size(512 * 1024)
    battle_ids = create_battles(app, user_ids, battles, start_in=600)
    streams: list[Stream] = []
    rng = random.Random(seed)
    answers: list[tuple] = []  # (battle index, seat, its answered count, POST sent, POST returned)
    post_seconds: list[float] = []
    late, errors = [0], {}
    lock = threading.Lock()
    before = os.environ.get("GUNICORN_CMD_ARGS")
    try:
        # A worker takes no more connections than it has threads: gthread would otherwise accept a
        # connection it has no thread for behind held streams (gunicorn's default is 1,000).
        os.environ["GUNICORN_CMD_ARGS"] = f"--worker-connections {threads}"
        with load.Stack(app, workers, threads) as stack:
            opened = time.perf_counter()
            for n, client in enumerate(clients):
                stream = Stream(stack.port, battle_ids[n // SEATS], client.headers)
                streams.append(stream)
                threading.Thread(target=stream.run, daemon=True).start()
                if n % 50 == 49:
                    time.sleep(0.2)  # connections arriving as people open the page, not all at once
            for stream in streams:
                assert stream.ready.wait(120), "an event stream did not start"
            failed = [s.error for s in streams if s.error]
            assert not failed, f"{len(failed)} streams failed to open: {failed[:3]}"
            print(f"  {f'…{players} streams open in':<44} {time.perf_counter() - opened:>9.1f} s", flush=True)
            time.sleep(4)  # every stream past its first wake (the process's first read of its battle)
            start_now(app, battle_ids, lead_in=4, stagger=stagger)
            played = time.perf_counter()

            def player(n: int) -> None:
                stream, client = streams[n], clients[n]
                mine = random.Random(rng.random() + n)
                path = f"/api/v1/battles/{stream.battle_id}/answers"
                given = 0
                for position in range(count):
                    shown = stream.wait_question(position, timeout=60)
                    if shown is None:
                        continue
                    arrived, question = shown
                    time.sleep(max(0.0, arrived + mine.uniform(*DELAY) - time.perf_counter()))
                    body = {"position": position, "answer": _choice(question, mine)}
                    sent = time.perf_counter()
                    try:
                        status, payload = _post(stack.port, path, client.headers, body)
                    except (OSError, http.client.HTTPException) as exc:
                        status, payload = 0, type(exc).__name__.encode()
                    returned = time.perf_counter()
                    with lock:
                        post_seconds.append(returned - sent)
                        if status == 200:
                            given += 1
                            answers.append((n // SEATS, stream.seat, given, sent, returned))
                        elif status == 409:
                            late[0] += 1
                        else:
                            kind = f"answer HTTP {status}: {payload[:60].decode(errors='replace')}"
                            errors[kind] = errors.get(kind, 0) + 1

            floor: list[float] = []  # GET /api/v1/session every 200 ms meanwhile: the stack's floor

            def probe() -> None:
                while any(driver.is_alive() for driver in drivers):
                    sent = time.perf_counter()
                    try:
                        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
                        connection.request("GET", "/api/v1/session", headers=clients[0].headers)
                        connection.getresponse().read()
                        connection.close()
                    except (OSError, http.client.HTTPException):
                        pass
                    floor.append(time.perf_counter() - sent)
                    time.sleep(0.2)

            drivers = [threading.Thread(target=player, args=(n,)) for n in range(players)]
            for driver in drivers:
                driver.start()
            prober = threading.Thread(target=probe)
            prober.start()
            for driver in drivers:
                driver.join()
            prober.join()
            for stream in streams:
                stream.wait_finished(60)
            played = time.perf_counter() - played
            peaks = stack.worker_peak_mb()
    finally:
        for stream in streams:
            stream.close()
        with app.app_context():  # every player stayed connected: a forfeit is the server's fault
            forfeits = db.session.scalar(
                select(func.count())
                .select_from(BattlePlayer)
                .where(BattlePlayer.battle_id.in_(battle_ids), BattlePlayer.forfeited_at.is_not(None))
            )
        if forfeits:
            errors["forfeited though connected"] = forfeits
        remove_battles(app, battle_ids)
        threading.stack_size(0)
        if before is None:
            os.environ.pop("GUNICORN_CMD_ARGS", None)
        else:
            os.environ["GUNICORN_CMD_ARGS"] = before

    for stream in streams:
        if stream.error:
            errors[stream.error] = errors.get(stream.error, 0) + 1
    latencies, first, missing = [], 0, 0
    by_count: dict[int, list[float]] = {}  # a player's 1st, 2nd… answer
    from_sent = []  # the same deliveries counted from the moment the POST was sent
    for battle, seat, answered, sent, returned in answers:
        for stream in streams[battle * SEATS : (battle + 1) * SEATS]:
            if stream.seat == seat:
                continue
            arrived = stream.reached.get((seat, answered))
            if arrived is None:
                missing += 1
                continue
            if arrived < returned:
                first += 1
            latencies.append(max(0.0, arrived - returned) * 1000)
            from_sent.append((arrived - sent) * 1000)
            by_count.setdefault(answered, []).append(latencies[-1])
    if missing:
        errors["delivery never seen"] = missing
    # the answers' POSTs by when they were sent (5 s spans of play): where they queue
    post_by_time: dict[int, list[float]] = {}
    if answers:
        began = min(a[3] for a in answers)
        for *_, sent, returned in answers:
            post_by_time.setdefault(int((sent - began) // 5) * 5, []).append((returned - sent) * 1000)
    figures = {
        "battles": battles,
        "players": players,
        "questions per battle": count,
        "answers": len(answers),
        "late answers (409)": late[0],
        "deliveries": len(latencies),
        "stream first": first,
        "errors": sum(errors.values()),
        "p50 ms": round(percentile(latencies, 0.5), 1) if latencies else None,
        "p95 ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "max ms": round(max(latencies), 1) if latencies else None,
        "from the POST sent: p50 / p95 ms": [
            round(percentile(from_sent, 0.5), 1) if from_sent else None,
            round(percentile(from_sent, 0.95), 1) if from_sent else None,
        ],
        "p95 ms by a player's nth answer": {
            n: round(percentile(values, 0.95), 1) for n, values in sorted(by_count.items())
        },
        "answer POST p50 / p95 ms by 5 s of play": {
            start: [round(percentile(values, 0.5)), round(percentile(values, 0.95))]
            for start, values in sorted(post_by_time.items())
        },
        "answer POST p95 ms": round(percentile(post_seconds, 0.95) * 1000, 1) if post_seconds else None,
        "floor GET p95 ms meanwhile": round(percentile(floor, 0.95) * 1000, 1) if floor else None,
        "played s": round(played, 1),
        "starts spread over s": stagger,
        "workers × threads": f"{workers} × {threads}",
        "peak memory per worker MB": peaks,
        "target p95 ms": TARGET_MS,
    }
    if errors:
        figures["error kinds"] = errors
    results[label] = figures
    by_nth = figures["p95 ms by a player's nth answer"]
    verdict = "ok" if figures["p95 ms"] is not None and figures["p95 ms"] <= TARGET_MS else "MISSED"
    memory = "ok" if max(peaks) <= MEMORY_TARGET_MB else "MISSED"
    print(
        f"  {label:<44} p95 {figures['p95 ms']} ms (target ≤ {TARGET_MS}, {verdict}); "
        f"p50 {figures['p50 ms']}, max {figures['max ms']}; {figures['deliveries']} deliveries of "
        f"{figures['answers']} answers ({first} stream first), errors {figures['errors']}; counted from the "
        f"POST sent: p50 / p95 {figures['from the POST sent: p50 / p95 ms']} ms",
        flush=True,
    )
    print(
        f"  {'':<44} {battles} battles, {players} players, {count} questions each, played in "
        f"{figures['played s']} s; late answers (409) {late[0]}; answer POST p95 "
        f"{figures['answer POST p95 ms']} ms (floor GET meanwhile {figures['floor GET p95 ms meanwhile']} ms); "
        "p95 by a player's nth answer "
        f"{by_nth}",
        flush=True,
    )
    print(
        f"  {'':<44} answer POST p50 / p95 ms by 5 s of play {figures['answer POST p50 / p95 ms by 5 s of play']}",
        flush=True,
    )
    print(
        f"  {'':<44} peak memory per worker (VmHWM, {workers} × {threads} threads) {peaks} MB "
        f"(target ≤ {MEMORY_TARGET_MB}, {memory})",
        flush=True,
    )
    if errors:
        print(f"  {'':<44} errors: {errors}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--battles", type=int, default=200)
    parser.add_argument("--questions", type=int, help="questions per battle (default: the app's)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=250, help="threads per worker (a stream holds one)")
    parser.add_argument(
        "--stagger",
        type=float,
        default=10.0,
        help="the battles' starts spread over this many seconds (0: one beat)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    app = app_for(args.database_url)
    results: dict = {}
    battle_figures(
        app,
        results,
        battles=args.battles,
        questions=args.questions,
        workers=args.workers,
        threads=args.threads,
    )
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
