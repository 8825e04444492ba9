"""Engine settings per backend.

SQLite serves a county on one machine, so it must queue concurrent writers instead of failing with
"database is locked": WAL (readers never block the writer), a busy timeout (writers wait their turn),
and ``BEGIN IMMEDIATE`` for every transaction that may write, taken before its first read, so a
transaction never has to upgrade a stale read snapshot to a write (which SQLite refuses at once).
Reads (GET requests, unless the view is marked ``writes_database``) begin deferred and run in parallel.

PostgreSQL gets a statement timeout; rows are locked explicitly where a rule needs it
(``lock_user``), a no-op on SQLite, where the immediate transaction already serialises writers.
Behind PgBouncer (transaction pooling, ``DIRECT_DATABASE_URL`` set) nothing may rely on a session:
only ``SET LOCAL`` and transaction-level locks; what needs a session connects directly.
"""

from __future__ import annotations

import functools

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import Integer, create_engine, event, func, make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from .extensions import db

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def writes_database(view):
    """Mark a GET view that may write (e.g. creates today's daily set on first sight)."""
    view.writes_database = True
    return view


def _transaction_may_write() -> bool:
    if not has_request_context():
        return True  # CLI commands, scheduler jobs, service tests
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "writes_database", False))


def _sqlite_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _transaction_may_write() else "BEGIN")


def init_app(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    if uri.startswith("sqlite"):
        options.setdefault("connect_args", {})["timeout"] = SQLITE_BUSY_TIMEOUT_SECONDS
    elif uri.startswith("postgresql"):
        # Connections kept open per process: a burst (a question opening in many battles at once)
        # beyond the kept ones opened and closed a server connection per request (a backend forked
        # each time, under the burst); the most at once stays the same.
        options.setdefault("pool_size", app.config["DATABASE_POOL_SIZE"])
        options.setdefault("max_overflow", app.config["DATABASE_POOL_MAX_OVERFLOW"])
        connect_args = options.setdefault("connect_args", {})
        if app.config.get("DIRECT_DATABASE_URL"):
            # Through PgBouncer's transaction pooling a server connection is ours for one transaction
            # only: psycopg's prepared statements (made after 5 runs of a statement on a connection)
            # would be missing on the next one, and PgBouncer refuses startup options; the pool sets
            # the statement timeout instead (README "Deploying for a nation").
            connect_args["prepare_threshold"] = None
        else:
            connect_args["options"] = statement_timeout_option(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def statement_timeout_option(app: Flask) -> str:
    return f"-c statement_timeout={int(app.config['STATEMENT_TIMEOUT_SECONDS'] * 1000)}"


def direct_url() -> str:
    """A libpq URL of the primary itself, never a transaction pooler: for what needs a session of its
    own (LISTEN, pg_dump). ``DIRECT_DATABASE_URL`` when set, else the app's database URL."""
    url = current_app.config.get("DIRECT_DATABASE_URL") or db.engine.url
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def direct_engine() -> Engine:
    """An engine on the primary itself (the scheduler's session-level advisory lock): the app's own
    engine unless ``DIRECT_DATABASE_URL`` is set, then one without a pool (one lasting connection)."""
    url = current_app.config.get("DIRECT_DATABASE_URL")
    if not url:
        return db.engine
    engine = current_app.extensions.get("quizapp.direct_engine")
    if engine is None:
        engine = current_app.extensions.setdefault(
            "quizapp.direct_engine",
            create_engine(
                url, poolclass=NullPool, connect_args={"options": statement_timeout_option(current_app)}
            ),
        )
    return engine


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_connect):
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


def lock_user(user_id: int) -> None:
    """Serialise a user's point-earning writes (row lock on PostgreSQL; SQLite is already serial)."""
    from .models import User

    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def bulk_work(megabytes: int = 64) -> None:
    """Settings for this transaction's set-based work over a whole province (closing a round,
    refreshing rankings): room for big GROUP BYs (PostgreSQL's default 4 MB of work_mem makes a
    100,000-group hash aggregate spill to disk) and the longer statement timeout of background
    work (a request keeps the short one). SQLite has neither setting."""
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = int(current_app.config["BULK_STATEMENT_TIMEOUT_SECONDS"])
        db.session.execute(text(f"SET LOCAL work_mem = '{int(megabytes)}MB'"))
        db.session.execute(text(f"SET LOCAL statement_timeout = '{seconds}s'"))
        # JIT-compiling these plans cost ~140 ms each and won back less than it cost.
        db.session.execute(text("SET LOCAL jit = off"))


def bulk_insert(table, rows: list[dict], *, chunk: int = 2000) -> None:
    """Insert many rows into a Core ``table`` in the session's transaction: COPY on PostgreSQL
    (10,000 ranking rows in a few tens of ms, against ~250 ms as INSERTs), batched INSERTs elsewhere.
    Every row has the same keys."""
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        for start in range(0, len(rows), chunk):
            db.session.execute(table.insert(), rows[start : start + chunk])
        return
    names = list(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def seconds_between(start, end):
    """SQL: the seconds from ``start`` to ``end`` (timestamps), with their fraction."""
    if db.engine.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def whole_seconds_between(start, end):
    if db.engine.dialect.name == "sqlite":
        return func.cast(seconds_between(start, end) + 0.5, Integer)
    return func.cast(seconds_between(start, end), Integer)


def per_dialect(build):
    """Build a hot path's statement once per database dialect (tests run SQLite and PostgreSQL in
    one process), not once per request: building it cost more than running it."""
    built: dict[str, object] = {}

    @functools.wraps(build)
    def statement():
        dialect = db.session.get_bind().dialect.name
        if dialect not in built:
            built[dialect] = build()
        return built[dialect]

    return statement


def dialect_insert():
    """The INSERT construct of the bound database, for ``on_conflict_do_update`` upserts (PostgreSQL
    and SQLite share the syntax)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert


def refresh_statistics(model) -> None:
    """ANALYZE one table now (PostgreSQL). Autovacuum re-analyses a table only after 10% of it
    changed: a 50,000-taker round in a table of millions of attempts may not be, and the planner,
    believing the round empty, then picks nested loops that take minutes at close."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f'ANALYZE "{model.__table__.name}"'))
