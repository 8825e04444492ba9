"""Reading snapshots from a streaming replica (``READ_DATABASE_URL``), as a nation runs (docs/scaling.md).

The snapshot reads — unit rankings (page and API), honours, the big screen, bulletins — only read
what the scheduler writes every few minutes, so a replica a few seconds behind serves them as well as
the primary. ``reads()`` is the one way to ask for that: inside it the session's plain reads go to the
replica (``extensions.Session``); a write goes to the primary and the rest of the block reads the
primary too (``ensure_snapshot`` computing a period on first sight). ``from_replica`` wraps a view in
it, below ``login_required``: the signed-in user and their session are always read from the primary,
and what a view keeps per snapshot version (``read_cache``) is keyed by a stamp read on the same server
as the body built under it.

Used only while fresh: every ``READ_CHECK_SECONDS`` a process compares the replica's replayed WAL
position with the positions it saw on the primary; the replica is fresh while it has replayed
everything the primary had written ``READ_MAX_LAG_SECONDS`` ago (before the first sample is that old:
while its last replayed commit is that recent, or it has caught up). A replica that is behind, down,
or that fails to connect sends the reads to the primary, with a warning in the log: never an error
page. SQLite, or no ``READ_DATABASE_URL``: ``reads()`` does nothing.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from .database import statement_timeout_option
from .extensions import READ_BIND, db

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 2  # a replica that does not answer costs one request this much per check

_PRIMARY_SQL = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
_REPLICA_SQL = text(
    "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint,"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
)


class Replica:
    """One process's view of the replica: its engine and whether it is fresh (checked at most every
    ``check_seconds``; one thread checks while the others go on with the last answer)."""

    def __init__(self, app: Flask, url: str):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        connect_args: dict = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        if app.config.get("DIRECT_DATABASE_URL"):
            # the pooled layout (docs/scaling.md: a PgBouncer beside each replica too): the same rules
            # as the primary's pooled URL, the statement timeout from the pool or the role
            connect_args["prepare_threshold"] = None
        else:
            connect_args["options"] = statement_timeout_option(app)
        options["connect_args"] = connect_args
        self.engine = create_engine(url, **options)
        self.max_lag = float(app.config["READ_MAX_LAG_SECONDS"])
        self.check_seconds = float(app.config["READ_CHECK_SECONDS"])
        self.lock = threading.Lock()
        self.fresh = False
        self.checked_at: float | None = None
        self.reason = "not checked yet"
        self.samples: deque[tuple[float, int]] = deque(
            maxlen=10_000
        )  # (monotonic time, primary's WAL position)

    def usable(self) -> bool:
        moment = time.monotonic()
        if self.checked_at is not None and moment - self.checked_at < self.check_seconds:
            return self.fresh
        if not self.lock.acquire(blocking=self.checked_at is None):
            return self.fresh  # another thread is checking
        try:
            if self.checked_at is None or moment - self.checked_at >= self.check_seconds:
                self._check()
        finally:
            self.lock.release()
        return self.fresh

    def _check(self) -> None:
        try:
            with db.engine.connect() as primary:  # first: the replica must have replayed up to here
                head = primary.scalar(_PRIMARY_SQL)
            with self.engine.connect() as replica:
                recovering, replayed, replay_age = replica.execute(_REPLICA_SQL).one()
        except DBAPIError as error:
            self._set(False, f"unreachable ({_first_line(error)})")
            return
        moment = time.monotonic()
        self.samples.append((moment, head))
        horizon = moment - self.max_lag
        while len(self.samples) > 1 and self.samples[1][0] <= horizon:
            self.samples.popleft()  # keep the newest sample at least max_lag old, and those after it
        if not recovering or replayed >= head:
            self._set(True, "caught up")
        elif self.samples[0][0] <= horizon:
            behind = replayed < self.samples[0][1]
            self._set(not behind, f"more than {self.max_lag:g} s behind the primary" if behind else "fresh")
        elif replay_age is not None and float(replay_age) <= self.max_lag:
            self._set(True, "last replayed commit is recent")
        else:
            age = (
                "no commit replayed yet"
                if replay_age is None
                else f"last replayed commit {float(replay_age):.1f} s ago"
            )
            self._set(False, f"behind the primary ({age})")

    def failed(self, error: Exception) -> None:
        """A connection refused between two checks: the primary until the next check."""
        with self.lock:
            self._set(False, f"unreachable ({_first_line(error)})")

    def _set(self, fresh: bool, reason: str) -> None:
        if not fresh:
            log.warning("read replica %s: %s; reading from the primary", _where(self.engine), reason)
        elif not self.fresh and self.checked_at is not None:
            log.info("read replica %s: %s; reading from it again", _where(self.engine), reason)
        self.fresh, self.reason, self.checked_at = fresh, reason, time.monotonic()


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]


def _where(engine) -> str:
    return f"{engine.url.host}:{engine.url.port or 5432}"


def replica() -> Replica | None:
    """The app's replica (made on first use), or None without ``READ_DATABASE_URL`` or on SQLite."""
    url = current_app.config.get("READ_DATABASE_URL")
    if not url or db.engine.dialect.name != "postgresql":
        return None
    found = current_app.extensions.get("quizapp.replica")
    if found is None:
        found = current_app.extensions.setdefault("quizapp.replica", Replica(current_app, url))
    return found


@contextmanager
def reads():
    """Within: the session's plain reads go to the replica when one is configured and fresh, else to
    the primary (with a warning in the log). For snapshot reads only: what is read here may be up to
    ``READ_MAX_LAG_SECONDS`` (plus ``READ_CHECK_SECONDS``) old. Nested blocks follow the outer one."""
    session = db.session()
    found = None if READ_BIND in session.info else replica()
    if found is not None and found.usable():
        try:
            # Connect now: a replica gone since its last check is found here, before any read.
            session.connection(bind_arguments={"bind": found.engine})
        except DBAPIError as error:
            found.failed(error)
            found = None
    else:
        found = None
    if found is None:
        yield
        return
    session.info[READ_BIND] = found.engine
    try:
        yield
    finally:
        session.info.pop(READ_BIND, None)


def from_replica(view):
    """A view whose reads are ``reads()`` (put it below ``login_required``)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with reads():
            return view(*args, **kwargs)

    return wrapped


def read_server_port() -> int | None:
    """The port of the server a plain read goes to now (PostgreSQL): for tests and diagnostics."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return db.session.scalar(text("SELECT inet_server_port()"))
