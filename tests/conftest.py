"""Fixtures in the flaskr/Indico style: ``app``, ``client``, ``runner``, ``auth``, and factories
(``create_unit``, ``create_user``) that keep tests short; ``browser`` for the Chromium tests.

Tests run on a fresh SQLite file each. Those marked ``postgres`` run on the server named by
QUIZAPP_TEST_DATABASE_URL; without it they skip, unless QUIZAPP_TEST_REQUIRE_SERVICES is set (CI),
where a missing service is a failure.
"""

from __future__ import annotations

import functools
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, make_url, select, text

from quizapp import create_app
from quizapp.config import DefaultConfig
from quizapp.extensions import db
from quizapp.models import Role
from quizapp.services import accounts, bank_io, org

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Passw0rd!x"
ROUND_CATEGORIES = ["就业创业", "社会保险", "劳动关系", "人才人事", "综合服务与行风"]


FIGURES = pytest.StashKey[dict]()


class Figures:
    """What a suite measured, printed at the end of the run (answers lost, routes × roles checked,
    fuzz cases run...). ``count`` adds up across tests; ``put`` keeps the last value."""

    def __init__(self, store: dict):
        self.store = store

    def count(self, suite: str, name: str, amount: int = 1) -> None:
        line = self.store.setdefault(suite, {})
        line[name] = line.get(name, 0) + amount

    def put(self, suite: str, name: str, value) -> None:
        self.store.setdefault(suite, {})[name] = value


@pytest.fixture
def figures(request) -> Figures:
    return Figures(request.config.stash.setdefault(FIGURES, {}))


def pytest_terminal_summary(terminalreporter, config):
    store = config.stash.get(FIGURES, {})
    if store:
        terminalreporter.section("figures")
        for suite, line in sorted(store.items()):
            terminalreporter.write_line(f"{suite}: " + ", ".join(f"{k} {v}" for k, v in line.items()))


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (one per test module)."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("QUIZAPP_TEST_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def require_service(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if value:
        return per_worker(variable, value)
    missing_service(f"{what}: set {variable} to run this test")


def per_worker(variable: str, url: str) -> str:
    """Under pytest-xdist each worker has a service of its own: PostgreSQL database ``test_gw1``
    (made on first use) and Redis database 15 − 1; the first worker, and a plain run, use the URL
    as given. Tests drop and rebuild their database, so two workers must never share one."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
    if not worker:
        return url
    parts = make_url(url)
    if variable == "QUIZAPP_TEST_REDIS_URL":
        base = int((urlsplit(url).path or "/0").strip("/") or 0)
        return urlunsplit(urlsplit(url)._replace(path=f"/{(base - worker) % 16}"))
    name = f"{parts.database}_gw{worker}"
    _create_database(parts, name)
    return parts.set(database=name).render_as_string(hide_password=False)


@functools.cache
def _create_database(parts, name: str) -> None:
    engine = create_engine(parts, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def missing_service(message: str):
    """Skip the test, or fail it when QUIZAPP_TEST_REQUIRE_SERVICES is set (CI)."""
    if os.environ.get("QUIZAPP_TEST_REQUIRE_SERVICES"):
        pytest.fail(f"{message} (QUIZAPP_TEST_REQUIRE_SERVICES is set, so a skip is a failure)")
    pytest.skip(message)


def _database_url(request, tmp_path) -> str:
    if "private_postgres" in request.fixturenames:
        return request.getfixturevalue("private_postgres").url
    if request.node.get_closest_marker("postgres"):
        return require_service("QUIZAPP_TEST_DATABASE_URL", "PostgreSQL")
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


NEVER_HELD = 1000  # above any score (at most 100)


def make_config(database_url: str, instance: Path, **overrides) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BANK_PATH": str(ROOT / "question_bank"),
        # Tests move the frozen clock by days and months with one sign-in; the 12-hour default is
        # tested on its own (test_hardening).
        "SESSION_LIFETIME_HOURS": 24 * 365 * 10,
        # Tests answer on a frozen clock, every answer in the same instant through the API: to the
        # integrity signals each of them is a bot. The signals are still assessed and recorded;
        # holding is tested at the default threshold (tests/test_integrity.py sets it back).
        "INTEGRITY": {**DefaultConfig.INTEGRITY, "hold_score": NEVER_HELD},
        **overrides,
    }


def reset_database() -> None:
    """Drop everything (including Alembic's table) so each test starts from nothing."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def fresh_database() -> None:
    """An empty database with the schema and the taxonomy. PostgreSQL: when the schema is the one
    this run made last (its catalogue's fingerprint), emptied with one TRUNCATE, a tenth of the time
    of dropping and creating ~80 tables; otherwise (a first test, or one that ran migrations or
    dropped tables) rebuilt."""
    postgres = db.engine.dialect.name == "postgresql"
    if postgres and _SCHEMA.get(db.engine.url.database) == _schema_fingerprint():
        with db.engine.begin() as connection:
            tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        reset_database()
        db.create_all()
        if postgres:
            _SCHEMA[db.engine.url.database] = _schema_fingerprint()
    bank_io.ensure_taxonomy()
    db.session.commit()


_SCHEMA: dict[str, str] = {}  # PostgreSQL database → fingerprint of the schema this process made


def _schema_fingerprint() -> str:
    """Every relation, column, type and constraint of the public schema, hashed (a few ms)."""
    return db.session.scalar(
        text(
            """
            SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), ''))
            FROM (
                SELECT c.relname || '.' || c.relkind::text || '.' || a.attname || ':' || a.atttypid::text AS item
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE n.nspname = 'public'
                UNION ALL
                SELECT 'constraint ' || conname || ':' || pg_get_constraintdef(con.oid)
                FROM pg_constraint con
                JOIN pg_namespace n ON n.oid = con.connamespace
                WHERE n.nspname = 'public'
            ) AS catalogue
            """
        )
    )


def _copy_sqlite_template(path: Path) -> bool:
    """A new test's SQLite file as a copy of one made once per process (schema and taxonomy):
    creating ~80 tables per test cost more than most tests. False when the file is already there."""
    if path.exists():
        return False
    shutil.copyfile(_sqlite_template(), path)
    return True


@functools.cache
def _sqlite_template() -> Path:
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="quizapp-schema-"))
    path = directory / "template.sqlite3"
    previous = os.environ.get("QUIZAPP_INSTANCE_PATH")
    os.environ["QUIZAPP_INSTANCE_PATH"] = str(directory / "instance")
    try:
        template = create_app(make_config(f"sqlite:///{path}", directory / "instance"))
        with template.app_context():
            fresh_database()
            db.session.remove()
            db.engine.dispose()  # the last connection out checkpoints the WAL into the file
    finally:
        if previous is None:
            del os.environ["QUIZAPP_INSTANCE_PATH"]
        else:
            os.environ["QUIZAPP_INSTANCE_PATH"] = previous
    return path


@pytest.fixture
def private_postgres():
    """A throwaway PostgreSQL cluster of the test's own (for faults such as a server restart); the
    ``app`` fixture runs on it when a test asks for both. Needs the server programs (initdb, pg_ctl)."""
    from .live import PrivatePostgres, postgres_program

    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    if not (initdb and pg_ctl):
        missing_service("PostgreSQL server programs (initdb, pg_ctl) not found: install postgresql")
    cluster = PrivatePostgres(initdb, pg_ctl)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def app_config(request, tmp_path, monkeypatch) -> dict:
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(tmp_path / "instance"))
    overrides = request.node.get_closest_marker("app_config")
    return make_config(
        _database_url(request, tmp_path), tmp_path / "instance", **(overrides.kwargs if overrides else {})
    )


@pytest.fixture
def app(app_config):
    database = make_url(app_config["SQLALCHEMY_DATABASE_URI"])
    from_template = database.get_backend_name() == "sqlite" and _copy_sqlite_template(Path(database.database))
    app = create_app(app_config)
    with app.app_context():
        if not from_template:
            fresh_database()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An app context for service-level tests. HTTP tests must not hold one while they make
    requests: a request would reuse it (and its ``g``, where Flask-Login caches the user)."""
    with app.app_context():
        yield


def _detached(obj, *relationships):
    """Load what tests read, then detach, so the object outlives the factory's app context."""
    db.session.refresh(obj)
    for name in relationships:
        getattr(obj, name)
    db.session.expunge(obj)
    return obj


@pytest.fixture
def create_unit(app):
    """create_unit("510100", "成都市", parent="510000") → Unit (committed, detached)."""

    def factory(code: str, name: str | None = None, parent: str | None = None):
        with app.app_context():
            unit = org.create_unit(code, name or f"单位{code}", parent)
            db.session.commit()
            return _detached(unit)

    return factory


@functools.cache
def password_hash_of(password: str) -> str:
    """The test people's password hash: scrypt as the app makes it, at a 32nd of its work factor
    (n = 1024), made once per process — hashing at every fixture's person and checking at every
    sign-in had been a third of the suite's time. The app's own hashing is unchanged (what it
    makes, and that each sign-in costs one scrypt, are tested in test_auth and test_hardening)."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method="scrypt:1024:8:1")


@pytest.fixture
def create_user(app):
    """create_user("zhang", unit=unit, role=Role.UNIT_ADMIN) → User (committed, detached; password
    PASSWORD)."""

    def factory(
        username: str,
        *,
        unit=None,
        role: Role = Role.STAFF,
        name: str | None = None,
        must_change_password: bool = False,
        password: str = PASSWORD,
        **attributes,
    ):
        with app.app_context():
            user = accounts.create_user(
                username,
                name or username,
                password,
                role=Role(role),
                unit_code=unit.code if unit is not None else None,
                must_change_password=must_change_password,
                password_hash=password_hash_of(password),
                **attributes,
            )
            db.session.commit()
            return _detached(user, "unit")

    return factory


@pytest.fixture
def login_as(app):
    """login_as("astaff") → a test client of its own, signed in through the sign-in form as a browser
    is (with the form's CSRF token when the app checks CSRF)."""
    import re

    def sign_in(username: str, password: str = PASSWORD):
        client = app.test_client()
        form = {"username": username, "password": password}
        if app.config.get("WTF_CSRF_ENABLED", True):
            page = client.get("/login").get_data(as_text=True)
            form["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login", data=form)
        assert response.status_code == 302, f"{username} could not sign in"
        return client

    return sign_in


def any_answer(question: dict):
    """A well-formed answer for a question as the API shows it (right or wrong does not matter)."""
    if question["type"] == "fill":
        return ["答"] * question.get("blanks", 1)
    if question["type"] == "calc":
        return f"1{question.get('unit', '')}"
    return {"single": "A", "multiple": ["A", "B"], "judge": "true"}[question["type"]]


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = PASSWORD, **kwargs):
        return self._client.post("/login", data={"username": username, "password": password}, **kwargs)

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def org_tree(create_unit, create_user):
    """A province with two cities, a county under each and a window under each county, and people."""
    province = create_unit("P1", "示范省")
    city_a = create_unit("C1", "甲市", "P1")
    city_b = create_unit("C2", "乙市", "P1")
    county_a = create_unit("C1X", "甲市一区", "C1")
    county_b = create_unit("C2X", "乙市一区", "C2")
    window_a = create_unit("C1X01", "甲市一区窗口", "C1X")
    window_b = create_unit("C2X01", "乙市一区窗口", "C2X")
    people = {
        "admin": create_user("root", role=Role.ADMIN),
        "province_admin": create_user("padmin", unit=province, role=Role.UNIT_ADMIN),
        "city_a_admin": create_user("aadmin", unit=city_a, role=Role.UNIT_ADMIN),
        "city_b_admin": create_user("badmin", unit=city_b, role=Role.UNIT_ADMIN),
        "staff_a": create_user("astaff", unit=window_a, name="甲员工"),
        "staff_b": create_user("bstaff", unit=window_b, name="乙员工"),
    }
    units = {
        "province": province,
        "city_a": city_a,
        "city_b": city_b,
        "county_a": county_a,
        "county_b": county_b,
        "window_a": window_a,
        "window_b": window_b,
    }
    return {"units": units, "people": people}


@pytest.fixture(autouse=True)
def shifted_today(monkeypatch):
    """QUIZAPP_TEST_TODAY=2027-01-01 runs every test that does not freeze the clock as if it were that
    day (the time of day keeps moving): draws seeded by the day then pick other questions, so a test
    that holds only for today's draw shows itself. CI runs the suite on today's date."""
    day = os.environ.get("QUIZAPP_TEST_TODAY")
    if not day:
        return
    from quizapp import clock

    real = clock.utcnow
    shift = datetime.fromisoformat(day).date() - real().date()
    monkeypatch.setattr(clock, "utcnow", lambda: real() + shift)


class FrozenClock:
    """Replaces ``quizapp.clock.utcnow``: tests set and move the server's time."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def frozen_clock(monkeypatch):
    from quizapp import clock

    frozen = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # Monday 09:00 in Shanghai
    monkeypatch.setattr(clock, "utcnow", frozen)
    return frozen


@pytest.fixture
def create_question(app):
    """create_question(type="single", category="社会保险", answer="A") → question id. Sources and
    quotes are synthetic; the bank's own rules are tested in test_bank_io."""
    counter = iter(range(1, 100000))

    def factory(
        type: str = "single",
        *,
        category: str = "社会保险",
        ability: str = "法规政策理解运用能力",
        answer=None,
        options=None,
        stem: str | None = None,
        difficulty: int = 1,
        explanation: str = "解析：依据原文。",
        quote: str = "原文引用",
    ):
        from quizapp.models import Ability, Category, Question, QuestionVersion, Source
        from quizapp.services.text import content_hash

        number = next(counter)
        if options is None:
            options = (
                [{"key": k, "text": f"选项{k}{number}"} for k in "ABCD"]
                if type in ("single", "multiple")
                else []
            )
        if answer is None:
            answer = {"single": "A", "multiple": ["A", "C"], "judge": True, "fill": [["三十", "30"]]}[type]
        if stem is None:
            stem = f"第{number}题：____？" if type == "fill" else f"第{number}题的题干？"
        with app.app_context():
            source = db.session.scalar(select(Source).where(Source.code == "test_source"))
            if source is None:
                source = Source(code="test_source", title="测试文件", body="原文引用")
                db.session.add(source)
                db.session.flush()
            question = Question()
            db.session.add(question)
            db.session.flush()
            db.session.add(
                QuestionVersion(
                    question_id=question.id,
                    number=1,
                    is_current=True,
                    type=type,
                    stem=stem,
                    options=options,
                    answer=answer,
                    explanation=explanation,
                    category_id=db.session.scalar(select(Category.id).where(Category.name == category)),
                    ability_id=db.session.scalar(select(Ability.id).where(Ability.name == ability)),
                    difficulty=difficulty,
                    source_id=source.id,
                    locator="第一条",
                    quote=quote,
                    content_hash=content_hash(type, stem, options),
                )
            )
            db.session.commit()
            return question.id

    return factory


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """with count_queries() as counted: …; counted.count → SQL statements the block ran."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        with app.app_context():
            engine = db.engine
        counter = QueryCounter()
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def province(create_unit, create_user):
    units = {
        "P": create_unit("P", "示范省"),
        "A": create_unit("A", "甲市", "P"),
        "B": create_unit("B", "乙市", "P"),
        "A1": create_unit("A1", "甲市窗口", "A"),
        "B1": create_unit("B1", "乙市窗口", "B"),
    }
    people = {
        name: create_user(name, unit=units[unit], name=label)
        for name, unit, label in [("amy", "A1", "甲一"), ("ann", "A1", "甲二"), ("bob", "B1", "乙一")]
    }
    people["root"] = create_user("root", role="admin")
    return units, people


@pytest.fixture
def mixed_bank(create_question):
    """Per category: 3 single (key A), 1 multiple (key A, C), 1 judge (true), 1 fill (三十)."""
    for category in ROUND_CATEGORIES:
        for qtype in ("single", "single", "single", "multiple", "judge", "fill"):
            create_question(qtype, category=category, explanation="秘密解析", quote="秘密引用")


def closed_round(**overrides):
    """A closed round row for result fixtures (tests that insert attempts directly)."""
    from quizapp.models import Round, RoundStatus

    moment = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
    values = dict(
        kind="exam",
        title="已结束的一轮",
        status=RoundStatus.CLOSED,
        opens_at=moment - timedelta(days=3),
        closes_at=moment - timedelta(days=1),
        time_limit_seconds=2400,
        attempts_allowed=1,
        pass_mark=60,
        show_answers="after_close",
        grace_seconds=30,
        blueprint=[{"type": None, "count": 10}],
    )
    values.update(overrides)
    return Round(**values)
