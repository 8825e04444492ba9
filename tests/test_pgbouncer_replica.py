"""PgBouncer and a read replica, run for real: the nation's layout of docs/scaling.md (issue 24).

CI (`.ci/services.sh`) runs PgBouncer in transaction pooling mode on 127.0.0.1:6432 in front of this
machine's PostgreSQL, and a streaming replica made with `pg_basebackup -R` on 127.0.0.1:5433. The app
takes QUIZAPP_DATABASE_URL through PgBouncer (QUIZAPP_DIRECT_DATABASE_URL: the primary itself, for
the scheduler's advisory lock, the battles' LISTEN and pg_dump) and QUIZAPP_READ_DATABASE_URL for
the snapshot reads (``quizapp.replica``). The tests use the database of QUIZAPP_TEST_DATABASE_URL
(each xdist worker its own) through both; without QUIZAPP_TEST_PGBOUNCER_URL and
QUIZAPP_TEST_REPLICA_URL they skip, and fail when QUIZAPP_TEST_REQUIRE_SERVICES is set.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from quizapp import clock, create_app, database, replica
from quizapp.extensions import db
from quizapp.jobs import ADVISORY_LOCK_KEY, Leadership
from quizapp.services import accounts, backup, bank_io, org, rankings, rounds

from .conftest import PASSWORD, make_config, missing_service, require_service
from .live import Browser, Gunicorn, free_port, quizapp
from .test_rounds import settings

REPLICA_PORT = 5433


@dataclass
class Nation:
    primary: str  # the primary itself
    bouncer: str  # the same database through PgBouncer
    replica: str  # the same database on the streaming replica

    @staticmethod
    def libpq(url: str) -> str:
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def nation_urls(primary: str, *, required: bool = True) -> Nation | None:
    """The PgBouncer and replica URLs for ``primary``'s database (each xdist worker has its own), from
    QUIZAPP_TEST_PGBOUNCER_URL and QUIZAPP_TEST_REPLICA_URL. Without them: a skip (a failure when
    QUIZAPP_TEST_REQUIRE_SERVICES is set); ``required=False``: None, unless services are required."""
    database = make_url(primary).database
    urls = []
    for variable, what in (
        ("QUIZAPP_TEST_PGBOUNCER_URL", "PgBouncer in transaction pooling mode (.ci/services.sh starts it)"),
        ("QUIZAPP_TEST_REPLICA_URL", "a streaming replica of that PostgreSQL (.ci/services.sh makes it)"),
    ):
        value = os.environ.get(variable)
        if not value:
            if not required and not os.environ.get("QUIZAPP_TEST_REQUIRE_SERVICES"):
                return None
            missing_service(f"{what}: set {variable} to run this test")
        urls.append(make_url(value).set(database=database).render_as_string(hide_password=False))
    return Nation(primary, *urls)


@pytest.fixture
def nation() -> Nation:
    primary = require_service("QUIZAPP_TEST_DATABASE_URL", "PostgreSQL")
    found = nation_urls(primary)
    engine = create_engine(primary)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return found


@pytest.fixture
def app_config(nation, tmp_path, monkeypatch) -> dict:
    """conftest's ``app`` (and its factories), deployed as a nation: through PgBouncer, reads from the
    replica (checked on every read)."""
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    return make_config(
        nation.bouncer,
        tmp_path / "instance",
        DIRECT_DATABASE_URL=nation.primary,
        READ_DATABASE_URL=nation.replica,
        READ_CHECK_SECONDS=0,
    )


@pytest.fixture(autouse=True)
def dispose_engines(request):
    """After the test: the engines an app made beside its own (conftest's ``app`` disposes that one)."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        dispose_extras(app)


def dispose_extras(app) -> None:
    for name in ("quizapp.replica", "quizapp.direct_engine"):
        found = app.extensions.get(name)
        if found is not None:
            (getattr(found, "engine", None) or found).dispose()


def wait_replayed(nation: Nation, seconds: float = 60) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with psycopg.connect(Nation.libpq(nation.primary), autocommit=True) as primary:
        head = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + seconds
    with psycopg.connect(Nation.libpq(nation.replica), autocommit=True) as standby:
        while time.monotonic() < deadline:
            if standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (head,)).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"the replica has not replayed up to {head} within {seconds} s")


@pytest.fixture
def nation_app(nation, tmp_path, monkeypatch):
    """nation_app(**config) → an app as a nation deploys it: its database through PgBouncer, the
    primary directly for what needs a session, the snapshot reads from the replica (checked on every
    read here, so a test sees a change of state at once)."""
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []

    def build(**overrides):
        settings = {
            "DIRECT_DATABASE_URL": nation.primary,
            "READ_DATABASE_URL": nation.replica,
            "READ_CHECK_SECONDS": 0,
            **overrides,
        }
        app = create_app(make_config(nation.bouncer, tmp_path / "instance", **settings))
        apps.append(app)
        with app.app_context():
            db.create_all()
            bank_io.ensure_taxonomy()
            db.session.commit()
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        dispose_extras(app)


def seed(app) -> None:
    """A province with two cities, a staff member in one, and this month's live snapshot."""
    with app.app_context():
        org.create_unit("P", "示范省")
        org.create_unit("A", "甲市", "P")
        org.create_unit("B", "乙市", "P")
        accounts.create_user("amy", "甲一", PASSWORD, unit_code="A", must_change_password=False)
        rankings.refresh_live(clock.utcnow())
        db.session.commit()


def sign_in(app, username: str = "amy"):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def city_names(client) -> list[str]:
    response = client.get("/api/v1/rankings/units?parent=P")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return sorted(unit["name"] for unit in response.get_json()["units"])


def page(client) -> str:
    response = client.get("/rankings?parent=P")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def read_port(app) -> int:
    """The server port a snapshot read goes to now."""
    with app.app_context():
        try:
            with replica.reads():
                return replica.read_server_port()
        finally:
            db.session.remove()


def rename_city(nation: Nation, name: str) -> None:
    """On the primary, what a snapshot rewrite does: a row changes and the snapshot's stamp too."""
    engine = create_engine(nation.primary)
    with engine.begin() as connection:
        connection.execute(text("UPDATE snapshot_row SET name = :name WHERE code = 'A'"), {"name": name})
        connection.execute(
            text("UPDATE ranking_snapshot SET computed_at = computed_at + interval '1 second'")
        )
    engine.dispose()


def replay(nation: Nation, action: str) -> None:
    with psycopg.connect(Nation.libpq(nation.replica), autocommit=True) as standby:
        standby.execute(f"SELECT pg_wal_replay_{action}()")


@pytest.mark.postgres
def test_rankings_are_read_from_the_replica_and_from_the_primary_once_it_lags(
    nation, nation_app, caplog, figures
):
    app = nation_app(READ_MAX_LAG_SECONDS=3600)
    seed(app)
    wait_replayed(nation)
    assert read_port(app) == REPLICA_PORT
    with app.app_context():
        assert replica.read_server_port() == 5432  # outside ``reads()``: the primary (through the pool)
        db.session.remove()
    client = sign_in(app)
    assert city_names(client) == ["乙市", "甲市"]

    # The replica stops replaying; the primary's snapshot changes. Within the bound, the replica's
    # state is what the rankings show: they are read there.
    replay(nation, "pause")
    try:
        rename_city(nation, "甲市（新）")
        assert city_names(client) == ["乙市", "甲市"]
        assert "甲市（新）" not in page(client)

        # With a bound of 2 s, 3 s later the replica is behind: the reads go to the primary, with a
        # warning (the bound is lowered here rather than waited for: the paused state above must hold
        # within it however slow this machine is).
        with app.app_context():
            replica.replica().max_lag = 2.0
        time.sleep(3)
        with caplog.at_level(logging.WARNING, logger="quizapp.replica"):
            assert city_names(client) == ["乙市", "甲市（新）"]
            assert "甲市（新）" in page(client)
        assert "behind the primary" in caplog.text and "reading from the primary" in caplog.text
        assert read_port(app) == 5432
    finally:
        replay(nation, "resume")
    wait_replayed(nation)
    assert read_port(app) == REPLICA_PORT  # caught up: read from it again
    assert city_names(client) == ["乙市", "甲市（新）"]
    figures.put("nation", "replica lag bound tested (s)", 2)


@pytest.mark.postgres
def test_a_replica_that_is_down_sends_the_reads_to_the_primary(nation, nation_app, caplog):
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/{make_url(nation.primary).database}"
    app = nation_app(READ_DATABASE_URL=closed)
    seed(app)
    client = sign_in(app)
    with caplog.at_level(logging.WARNING, logger="quizapp.replica"):
        assert city_names(client) == ["乙市", "甲市"]
        assert "甲市" in page(client)
        assert client.get("/honours").status_code == 200
    assert "unreachable" in caplog.text and "reading from the primary" in caplog.text
    assert read_port(app) == 5432

    # A replica that goes away between two checks: found when the request connects to it.
    app = nation_app(READ_CHECK_SECONDS=3600)
    client = sign_in(app)
    wait_replayed(nation)
    assert read_port(app) == REPLICA_PORT
    with app.app_context():
        kept = replica.replica()
        assert kept.fresh
        kept.engine.dispose()
        kept.engine = create_engine(closed)  # as if the replica had stopped since
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="quizapp.replica"):
        assert city_names(client) == ["乙市", "甲市"]
        assert "甲市" in page(client)
    assert "unreachable" in caplog.text


@pytest.mark.postgres
def test_no_prepared_statement_or_session_state_crosses_pgbouncer(nation, nation_app, figures):
    # What the settings guard against: psycopg prepares a statement on the server connection it
    # happens to have; through transaction pooling the next transaction may run on another one.
    # Named afresh each try, so that no server connection's leftovers (PgBouncer keeps them: no reset
    # query) collide with it; tried a few times, as another test's client of the same PgBouncer may
    # take the freed server connection first.
    bouncer = Nation.libpq(nation.bouncer)
    broke = False
    for _ in range(5):
        name = f"probe_{secrets.token_hex(6)}"
        with psycopg.connect(bouncer) as one, psycopg.connect(bouncer) as other:
            one.execute(f"PREPARE {name} AS SELECT 1")
            one.commit()
            other.execute("SELECT 1")  # holds that server connection (PgBouncer reuses the last freed)
            try:
                one.execute(f"EXECUTE {name}")
            except psycopg.errors.InvalidSqlStatementName:
                broke = True
            one.rollback()
            other.rollback()
        if broke:
            break
    assert broke, "a statement prepared through transaction pooling should be missing on the next one"

    app = nation_app()
    seed(app)
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.url.port == make_url(nation.bouncer).port
        # the pool, not a startup option, sets the statement timeout (.ci/services.sh: connect_query)
        assert db.session.scalar(text("SHOW statement_timeout")) == "30s"
        db.session.remove()
        # what needs a session of its own goes to the primary itself: LISTEN, pg_dump, the lock
        primary_port = make_url(nation.primary).port
        assert make_url(database.direct_url()).port == primary_port
        assert make_url(backup._pg_connection()[0]).port == primary_port
        assert database.direct_engine().url.port == primary_port

    # Hundreds of requests from 8 threads: each statement far more than 5 times on each pooled
    # connection, whose transactions PgBouncer spreads over its server connections.
    client_count, rounds = 8, 40
    clients = [sign_in(app) for _ in range(client_count)]
    statuses: list[int] = []

    def hammer(client) -> None:
        for n in range(rounds):
            path = ("/api/v1/session", "/api/v1/rankings/units?parent=P", "/rankings?parent=P")[n % 3]
            statuses.append(client.get(path).status_code)

    threads = [threading.Thread(target=hammer, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * client_count * rounds
    figures.put("nation", "in-process requests through PgBouncer", len(statuses))


@pytest.mark.postgres
def test_the_scheduler_holds_its_advisory_lock_on_a_direct_connection(nation, nation_app):
    app = nation_app()
    now = clock.utcnow()
    with app.app_context():
        pooled = db.engine
    # Through the pool a session lock stays on a server connection that the next client gets: both
    # would lead. (The hazard, shown; the lock is then ended with its server connection.)
    first, second = Leadership(app), Leadership(app)
    try:
        assert first._advisory(pooled) and second._advisory(pooled)
    finally:
        first.release(), second.release()
        _end_advisory_holders(nation)

    leaders = [Leadership(app) for _ in range(3)]
    try:
        assert [leader.is_leader(now) for leader in leaders] == [True, False, False]
        assert leaders[0].is_leader(now) and not leaders[1].is_leader(now)  # renewed, still alone
        leaders[0].release()  # the leader stops: the next one takes over
        assert [leader.is_leader(now) for leader in leaders[1:]] == [True, False]
    finally:
        for leader in leaders:
            leader.release()
        _end_advisory_holders(nation)


@pytest.mark.postgres
def test_battle_changes_reach_other_processes_through_pgbouncer(nation, app):
    """The battles' push: NOTIFY through the pool (one autocommit statement), LISTEN on a direct
    connection of its own (through transaction pooling it would sit on a server connection that is
    not the listener's)."""
    from quizapp.services.battles import push

    battle = 424242
    with app.app_context():
        push.listen(app)
        here = push.board()
        notifier = push.process_connection("notifier")
        assert make_url(notifier.url).port == make_url(nation.bouncer).port
        deadline = time.monotonic() + 30
        while here.version(battle) == 0:  # until the listener is listening
            assert time.monotonic() < deadline, "no notification reached the listener"
            push.notify(notifier, {battle: []})
            here.wait(battle, 0, timeout=0.2)
        start = here.version(battle)
        for _ in range(20):  # more than psycopg's 5 runs before it would prepare a statement
            push.notify(notifier, {battle: []})
        assert here.wait(battle, start + 19, timeout=10) == start + 20
    with psycopg.connect(Nation.libpq(nation.primary), autocommit=True) as primary:
        listeners = {
            row[0]
            for row in primary.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%%' AND datname = current_database()"
            )
        }
    bouncer = make_url(nation.bouncer)
    with psycopg.connect(
        f"host={bouncer.host} port={bouncer.port} user={bouncer.username} dbname=pgbouncer", autocommit=True
    ) as console:
        cursor = console.execute("SHOW SERVERS")
        column = [d.name for d in cursor.description].index("remote_pid")
        pooled = {row[column] for row in cursor}
    assert listeners and not listeners & pooled  # the listener's session is its own, not the pool's


def _end_advisory_holders(nation: Nation) -> None:
    with psycopg.connect(Nation.libpq(nation.primary), autocommit=True) as primary:
        primary.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (ADVISORY_LOCK_KEY & 0xFFFFFFFF,),
        )


@pytest.mark.postgres
def test_hundreds_of_requests_and_sweeps_through_pgbouncer(
    nation, app, province, mixed_bank, tmp_path, monkeypatch, figures
):
    """gunicorn (2 workers × 4 threads) on PgBouncer with the replica for reads: autosaves, the floor
    and the rankings from 8 clients while sweeps run beside them. (The scheduler's lock through this
    layout: tests/test_deployment.py, which CI runs through PgBouncer too.)"""
    now = datetime.now(UTC)
    with app.app_context():
        round_id = rounds.create_round(
            settings("weekly", opens=now - timedelta(hours=1), closes=now + timedelta(days=1)), actor_id=None
        ).id
        rankings.refresh_live(clock.utcnow())
        db.session.commit()
    monkeypatch.setenv("QUIZAPP_DIRECT_DATABASE_URL", nation.primary)  # gunicorn and the CLI inherit these
    monkeypatch.setenv("QUIZAPP_READ_DATABASE_URL", nation.replica)
    env = os.environ | {
        "QUIZAPP_DATABASE_URL": nation.bouncer,
        "QUIZAPP_SECRET_KEY": "live-test-secret",
        "QUIZAPP_INSTANCE_PATH": str(tmp_path / "instance-cli"),
    }
    env.pop("QUIZAPP_REDIS_URL", None)
    quizapp("jobs", "run", "open_rounds", env=env)  # a sweep through PgBouncer (exit status checked)
    workdir = tmp_path / "app"
    workdir.mkdir()
    with Gunicorn(nation.bouncer, workdir, workers=2, threads=4) as server:
        browser = Browser(server.base)
        browser.sign_in("amy", PASSWORD)
        attempt = browser.json("POST", f"/api/v1/rounds/{round_id}/attempts", expect=201)
        questions = attempt["questions"]
        statuses: list[int] = []
        last: dict[str, object] = {}
        lock = threading.Lock()

        def client(number: int) -> None:
            mine = Browser(server.base, jar=browser.jar)
            mine.token = browser.token
            for n in range(50):
                step = (number + n) % 4
                if step == 0:
                    question = questions[(number * 7 + n) % len(questions)]
                    answer = variant_answer(question, n)
                    with lock:  # the last save of a question is the one that counts
                        status, _ = mine.request(
                            "PUT",
                            f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}",
                            {"answer": answer},
                        )
                        last[str(question["id"])] = answer
                else:
                    path = ("", "/api/v1/session", "/api/v1/rankings/units", "/rankings")[step]
                    status, _ = mine.request("GET", path)
                statuses.append(status)

        threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for name in ("refresh_rankings", "finish_overdue"):  # beside the requests
            quizapp("jobs", "run", name, env=env)
        for thread in threads:
            thread.join()
        assert statuses == [200] * 400, sorted(set(statuses))
        seen = browser.json("GET", f"/api/v1/attempts/{attempt['id']}")["answers"]
        assert {qid: value["answer"] for qid, value in seen.items()} == last
        # the app servers hold connections to the replica (their snapshot reads)
        with psycopg.connect(Nation.libpq(nation.replica), autocommit=True) as standby:
            readers = standby.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        assert readers > 0
        log = server.output()
    assert not re.search(r"prepared statement|Traceback|unsupported startup parameter", log), log[-3000:]
    with app.app_context():
        outcomes = dict(
            db.session.execute(text("SELECT outcome, count(*) FROM job_run GROUP BY outcome")).all()
        )
        db.session.remove()
    assert outcomes == {"ok": 3}, outcomes
    figures.put("nation", "requests through PgBouncer (gunicorn)", len(statuses))


def variant_answer(question: dict, variant: int):
    return {
        "single": "ABCD"[variant % 4],
        "judge": ["true", "false"][variant % 2],
        "multiple": [["A", "B"], ["C", "D"]][variant % 2],
        "fill": [f"答案{variant}"] * question.get("blanks", 1),
    }[question["type"]]
