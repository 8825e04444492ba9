"""The multi-process deployment of README "Deploying for a province": gunicorn app servers on two
ports plus `quizapp scheduler` processes, against PostgreSQL and Redis. Two app processes share
sessions, sign-in rate limits and data; the scheduler acts once even when two are started."""

from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
from sqlalchemy import create_engine, text

from .conftest import require_service
from .live import Browser, Gunicorn, Process, quizapp
from .test_pgbouncer_replica import nation_urls

PASSWORD = "Deploy12345"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def services(tmp_path, monkeypatch):
    """With QUIZAPP_TEST_PGBOUNCER_URL and QUIZAPP_TEST_REPLICA_URL (CI: .ci/services.sh), deployed as
    a nation: every process's database URL is PgBouncer's (transaction pooling), with the primary's
    own URL for what needs a session (the schedulers' advisory lock) and the replica's for the
    snapshot reads (tests/test_pgbouncer_replica.py). ``engine``: the primary itself."""
    database_url = require_service("QUIZAPP_TEST_DATABASE_URL", "PostgreSQL")
    redis_url = require_service("QUIZAPP_TEST_REDIS_URL", "Redis")
    nation = nation_urls(database_url, required=False)
    if nation is not None:  # gunicorn and the schedulers inherit these
        monkeypatch.setenv("QUIZAPP_DIRECT_DATABASE_URL", nation.primary)
        monkeypatch.setenv("QUIZAPP_READ_DATABASE_URL", nation.replica)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    redis.Redis.from_url(redis_url).flushdb()
    env = os.environ | {
        "QUIZAPP_DATABASE_URL": nation.bouncer if nation is not None else database_url,
        "QUIZAPP_REDIS_URL": redis_url,
        "QUIZAPP_SECRET_KEY": "deployment-test-secret",
        "QUIZAPP_ADMIN_PASSWORD": "Admin12345",
        "QUIZAPP_INSTANCE_PATH": str(tmp_path / "instance-cli"),
    }
    with ExitStack() as processes:  # every server and scheduler is stopped, whatever happens
        yield env, engine, processes
    engine.dispose()


def _local(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.mark.postgres
def test_two_app_processes_and_two_schedulers_share_one_state(services, tmp_path, figures):
    env, engine, processes = services
    quizapp("init", env=env)
    quizapp("org", "create-unit", "510000", "四川省人社厅", env=env)
    for username in ("staff_a", "staff_b"):
        quizapp(
            "user", "create", username, "--name", "张三", "--unit", "510000", "--password", PASSWORD, env=env
        )
    # Two app servers, each with its own instance folder: they share only PostgreSQL, Redis and the key.
    shared = {key: env[key] for key in ("QUIZAPP_REDIS_URL", "QUIZAPP_SECRET_KEY")}
    servers = [Gunicorn(env["QUIZAPP_DATABASE_URL"], tmp_path / f"app-{n}", env=shared) for n in range(2)]
    for server in servers:
        server.workdir.mkdir()
        processes.enter_context(server)
    a, b = (server.base for server in servers)

    # A monthly round, opened by a manual sweep (no scheduler is running yet).
    closes = datetime.now(TZ) + timedelta(hours=1)
    quizapp(
        "round", "create", "--kind", "monthly", "--title", "部署测试月月比", "--target", "510000",
        "--opens", _local(datetime.now(TZ) - timedelta(hours=1)), "--closes", _local(closes),
        "--blueprint", '[{"type": "single", "count": 5}]', env=env,
    )  # fmt: skip
    quizapp("jobs", "run", "open_rounds", env=env)

    # Sessions: signed in on A, the same cookies work on B (and its CSRF token too).
    on_a = Browser(a)
    on_a.sign_in("staff_a", PASSWORD)
    on_b = Browser(b, jar=on_a.jar)
    on_b.token = on_a.token
    assert on_b.json("GET", "/api/v1/session")["username"] == "staff_a"

    # Data: an attempt started on A, answers saved alternately on A and B, read back on the other.
    round_id = on_a.json("GET", "/api/v1/rounds")["rounds"][0]["id"]
    attempt = on_a.json("POST", f"/api/v1/rounds/{round_id}/attempts", expect=201)
    saved = {}
    for n, question in enumerate(attempt["questions"]):
        server = (on_a, on_b)[n % 2]
        letter = question["options"][0]["key"]
        server.json("PUT", f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}", {"answer": letter})
        saved[str(question["id"])] = letter
    seen_on_b = on_b.json("GET", f"/api/v1/attempts/{attempt['id']}")
    assert {qid: value["answer"] for qid, value in seen_on_b["answers"].items()} == saved

    # Rate limits: 10 sign-in failures per account per 15 minutes, counted across both processes.
    refused_at = None
    for n in range(14):
        status, _ = Browser((a, b)[n % 2]).post_login("staff_b", "wrong-password")
        if status == 429:
            refused_at = n
            break
    assert refused_at == 10, f"the 11th failure should be refused, got {refused_at}"
    status, _ = Browser(a).post_login("staff_b", PASSWORD)
    assert status == 429  # held on both processes, even with the right password, until the window passes

    # The close time and the grace pass with no scheduler running; then two start and exactly one acts.
    with engine.begin() as connection:
        moved = {"id": round_id, "at": datetime.now(TZ) - timedelta(minutes=1)}
        connection.execute(text("UPDATE round SET closes_at = :at WHERE id = :id"), moved)
        connection.execute(text("UPDATE attempt SET deadline_at = :at WHERE round_id = :id"), moved)
    schedulers: list[Process] = []
    for n in range(2):
        command = [sys.executable, "-m", "quizapp", "scheduler"]
        schedulers.append(Process(command, env, tmp_path / f"scheduler-{n}.log").start())
        processes.callback(schedulers[-1].stop)
    deadline = time.monotonic() + 60
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            status = connection.execute(
                text("SELECT status FROM round WHERE id = :id"), {"id": round_id}
            ).scalar()
            connection.commit()
            if status == "closed":
                break
            time.sleep(0.5)
        assert status == "closed", "\n".join(s.output() for s in schedulers)
        time.sleep(3)  # let the standby try its luck with the next sweeps
        attempt_row = connection.execute(
            text("SELECT status, score IS NOT NULL FROM attempt WHERE id = :id"), {"id": attempt["id"]}
        ).one()
        assert tuple(attempt_row) == ("auto_submitted", True)
        answers = connection.execute(
            text("SELECT count(*) FROM attempt_answer WHERE attempt_id = :id"), {"id": attempt["id"]}
        ).scalar()
        assert answers == len(saved)
        official = connection.execute(
            text("SELECT count(*) FROM ranking_snapshot WHERE round_id = :id AND official"), {"id": round_id}
        ).scalar()
        assert official == 1
        hosts = (
            connection.execute(text("SELECT DISTINCT host FROM job_run WHERE host <> 'manual'"))
            .scalars()
            .all()
        )
        assert len(hosts) == 1, hosts  # one leader ran every sweep; the app workers run none
        closes_logged = (
            connection.execute(
                text("SELECT counts FROM job_run WHERE job = 'close_rounds' AND outcome = 'ok'")
            )
            .scalars()
            .all()
        )
        assert sum((counts or {}).get("closed", 0) for counts in closes_logged) == 1
    figures.put("deployment", "app processes", 2)
    figures.put("deployment", "schedulers started / acting", "2 / 1")
    figures.put("deployment", "answers saved across processes", len(saved))
    figures.put(
        "deployment",
        "through PgBouncer, reads from a replica",
        "QUIZAPP_DIRECT_DATABASE_URL" in env,
    )
