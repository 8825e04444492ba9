"""Telling a battle's event streams that it changed, in every server process.

Each process keeps a version per battle and a condition its streams wait on (``wait``). A change
(``changed``, called by the writer inside its transaction) reaches the process's own streams after
the commit, and the other processes' through PostgreSQL: ``pg_notify`` in the same transaction is
delivered at the commit (never for a rolled-back change) to each process's listener thread, which
bumps the battle's version there. On SQLite (one process) the commit hook alone does it. A stream
holds no database connection while it waits.
"""

from __future__ import annotations

import logging
import threading

from flask import current_app
from sqlalchemy import event, text

from ...extensions import db

CHANNEL = "quizapp_battles"
log = logging.getLogger(__name__)


class Board:
    def __init__(self) -> None:
        self.changed_cond = threading.Condition()
        self.versions: dict[int, int] = {}

    def bump(self, battle_id: int) -> None:
        with self.changed_cond:
            self.versions[battle_id] = self.versions.get(battle_id, 0) + 1
            self.changed_cond.notify_all()

    def version(self, battle_id: int) -> int:
        return self.versions.get(battle_id, 0)

    def wait(self, battle_id: int, after: int, timeout: float) -> int:
        """The battle's version once it passes ``after``, or the same after ``timeout`` seconds."""
        with self.changed_cond:
            self.changed_cond.wait_for(lambda: self.versions.get(battle_id, 0) > after, timeout=timeout)
            return self.versions.get(battle_id, 0)


def board() -> Board:
    return current_app.extensions.setdefault("quizapp.battles.board", Board())


def changed(battle_id: int) -> None:
    """Within the writer's transaction: after its commit, every stream of the battle wakes."""
    session = db.session()
    pending = session.info.setdefault("battles_changed", set())
    if not pending:
        here = board()

        @event.listens_for(session, "after_commit", once=True)
        def wake(_session) -> None:
            for one in _session.info.pop("battles_changed", set()):
                here.bump(one)

        @event.listens_for(session, "after_rollback", once=True)
        def forget(_session) -> None:
            _session.info.pop("battles_changed", None)

    pending.add(battle_id)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": str(battle_id)}
        )


_listening: set[int] = set()
_listening_lock = threading.Lock()


def listen(app) -> None:
    """Start this process's listener for other processes' changes (PostgreSQL; once per app)."""
    if db.engine.dialect.name != "postgresql":
        return
    with _listening_lock:
        if id(app) in _listening:
            return
        _listening.add(id(app))
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    here = board()
    threading.Thread(target=_listen, args=(url, here), name="battle-listener", daemon=True).start()


def _listen(url: str, here: Board) -> None:
    import time

    import psycopg

    while True:
        try:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                for note in connection.notifies():
                    here.bump(int(note.payload))
        except Exception:  # noqa: BLE001 — a listener must outlive a database restart
            log.exception("battle listener: reconnecting")
            time.sleep(1)
