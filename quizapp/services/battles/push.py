"""Telling a battle's event streams that it changed, in every server process.

Each process keeps a version per battle and a condition its streams wait on (``wait``). A change
(``changed``, called by the writer inside its transaction) reaches the process's own streams after
the commit (the session's commit hook; never for a rolled-back change), and the other processes'
through PostgreSQL: the same hook sends ``pg_notify`` on the process's own autocommit connection
(``process_connection("notifier")``), delivered to each process's listener thread, which bumps the battle's version there.
Not in the writer's transaction: PostgreSQL serializes the commits of transactions that notify, each
with its WAL flush — at a few hundred answers a second that queue, not the work, was the latency.
On SQLite (one process) the commit hook alone does it. A stream holds no database connection while
it waits.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref

from flask import current_app
from sqlalchemy import event

from ... import database
from ...extensions import db

CHANNEL = "quizapp_battles"
log = logging.getLogger(__name__)


class Board:
    """Per battle: its version and a condition only its own streams wait on (a change of one battle
    wakes its streams, not every stream of the process); and the rows the process's streams share
    (``rows``, kept by ``streams.stream_view``). A change that is one answer carries the answer: rows
    read at the version just before it take it in place, so no stream reads the battle again.

    Each battle's condition has a lock of its own; the board's lock only guards the dictionaries.
    One lock under every condition (as at first) made 250 threads a worker queue for it at each wake,
    and a thread that lost the GIL while holding it held up every stream of the process: answers
    reached opponents seconds late at 200 battles (docs/scaling.md)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.versions: dict[int, int] = {}
        self.conditions: dict[int, threading.Condition] = {}
        self.rows: dict = {}  # battle → streams._Rows

    def _condition(self, battle_id: int) -> threading.Condition:
        condition = self.conditions.get(battle_id)
        if condition is None:
            with self.lock:
                condition = self.conditions.setdefault(battle_id, threading.Condition(threading.Lock()))
        return condition

    def bump(self, battle_id: int, answer: dict | None = None) -> None:
        with self.lock:
            condition = self.conditions.get(battle_id)
            if condition is None:  # no stream of it here yet: the version moves under the board's lock
                self._advance(battle_id, answer)
                return
        with condition:  # once a battle has its condition, its version moves only under it
            self._advance(battle_id, answer)
            condition.notify_all()

    def _advance(self, battle_id: int, answer: dict | None) -> None:
        before = self.versions.get(battle_id, 0)
        self.versions[battle_id] = before + 1
        rows = self.rows.get(battle_id)
        if answer is not None and rows is not None and rows.version == before:
            self.rows[battle_id] = rows.with_answer(answer, before + 1)

    def version(self, battle_id: int) -> int:
        return self.versions.get(battle_id, 0)

    def wait(self, battle_id: int, after: int, timeout: float) -> int:
        """The battle's version once it passes ``after``, or the same after ``timeout`` seconds."""
        condition = self._condition(battle_id)
        with condition:
            condition.wait_for(lambda: self.versions.get(battle_id, 0) > after, timeout=timeout)
            return self.versions.get(battle_id, 0)


def board() -> Board:
    return current_app.extensions.setdefault("quizapp.battles.board", Board())


def changed(battle_id: int, answer: dict | None = None) -> None:
    """Within the writer's transaction: after its commit, every stream of the battle wakes.
    ``answer``: the change is this one answer (``play.answer_note``), carried to every process."""
    session = db.session()
    pending = session.info.setdefault("battles_changed", {})
    if not pending:
        here = board()
        notifier = process_connection("notifier") if db.engine.dialect.name == "postgresql" else None

        @event.listens_for(session, "after_commit", once=True)
        def wake(_session) -> None:
            done = _session.info.pop("battles_changed", {})
            for one, answers in done.items():
                for note in answers or [None]:
                    here.bump(one, note)
            if notifier is not None:
                notify(notifier, done)

        @event.listens_for(session, "after_rollback", once=True)
        def forget(_session) -> None:
            _session.info.pop("battles_changed", None)

    if battle_id in pending and (pending[battle_id] == [] or answer is None):
        pending[battle_id] = []  # more than one answer's change: every process reads it again
    else:
        pending.setdefault(battle_id, []).append(answer)


class ProcessConnection:
    """A connection of the process's own (autocommit), not the pool's, for short statements after
    the fact: the battles' notifications, the seen reports (``presence``). It never waits behind a
    burst of requests for a pool connection and holds no transaction. A failure is logged, not
    raised — what it writes is the kind the next few seconds write again."""

    def __init__(self, url: str) -> None:
        self.url, self.lock, self.connection = url, threading.Lock(), None

    def run(self, statements: list[tuple[str, object]], *, what: str) -> bool:
        import psycopg

        with self.lock:
            for attempt in (1, 2):
                try:
                    if self.connection is None or self.connection.closed:
                        # prepare_threshold=None: the URL may be PgBouncer's (transaction pooling)
                        self.connection = psycopg.connect(self.url, autocommit=True, prepare_threshold=None)
                        # closed with this object (an app gone: tests build many), not left to the
                        # garbage collector, which warns of an open connection
                        weakref.finalize(self, self.connection.close)
                    for sql, params in statements:
                        self.connection.execute(sql, params)
                    return True
                except Exception:  # noqa: BLE001 — see the class's docstring
                    if self.connection is not None:
                        self.connection.close()
                    self.connection = None
                    if attempt == 2:
                        log.exception("%s failed", what)
        return False


def process_connection(name: str) -> ProcessConnection:
    """The app's process connection called ``name`` (PostgreSQL)."""
    key = f"quizapp.battles.{name}"
    connection = current_app.extensions.get(key)
    if connection is None:
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        connection = current_app.extensions.setdefault(key, ProcessConnection(url))
    return connection


def notify(connection: ProcessConnection, changes: dict) -> None:
    """``changes``: battle → its answers (empty: read it again). After the commit; the streams of
    other processes see a change whose notification failed at their next wake (within seconds)."""
    statements = [
        ("SELECT pg_notify(%s, %s)", (CHANNEL, f"{battle_id} {json.dumps(note)}" if note else str(battle_id)))
        for battle_id, answers in changes.items()
        for note in answers or [None]
    ]
    if statements:
        connection.run(statements, what="battle notify")


_listening: weakref.WeakSet = weakref.WeakSet()  # apps with a listener
LISTEN_CHECK_SECONDS = 5  # how often a listener looks whether its app is gone
_listening_lock = threading.Lock()


def listen(app) -> None:
    """Start this process's listener for other processes' changes (PostgreSQL; once per app)."""
    if db.engine.dialect.name != "postgresql":
        return
    with _listening_lock:
        if app in _listening:
            return
        _listening.add(app)
    url = database.direct_url()  # LISTEN needs a session of its own: never through PgBouncer
    here = weakref.ref(board())
    threading.Thread(target=_listen, args=(url, here), name="battle-listener", daemon=True).start()


def _listen(url: str, here: weakref.ref) -> None:
    """Bump the board for every notification, for as long as the board (its app) lives."""
    import time

    import psycopg

    while here() is not None:
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                while (target := here()) is not None:
                    for note in connection.notifies(timeout=LISTEN_CHECK_SECONDS):
                        battle_id, _, answer = note.payload.partition(" ")
                        target.bump(int(battle_id), json.loads(answer) if answer else None)
                    del target
        except Exception:  # noqa: BLE001 — a listener must outlive a database restart
            log.exception("battle listener: reconnecting")
            time.sleep(1)
