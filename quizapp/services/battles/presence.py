"""Who is still there: the "seen" reports of a battle's pages (event streams, answers), kept in a
book per process and written together (``report``, ``write``) — not a write per stream every few
seconds, nor one per answer. A forfeit is decided from these dates (``timeline.REPORT_SLACK`` allows
for the book's delay)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select, update

from ...extensions import db
from ...models import Battle, BattlePlayer
from . import push


class _SeenBook:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[tuple[int, int], datetime] = {}
        self.written = time.monotonic()


SEEN_FLUSH_SECONDS = 1.0


def report(battle_id: int, user_id: int, *, now: datetime) -> None:
    """The person's page of the battle is there (its stream woke), its client known already: kept in
    the process's book and written with every other report at most SEEN_FLUSH_SECONDS later, by the
    first report to come by then. Not for inside a transaction: ``write`` runs on a connection of
    its own."""
    book = current_app.extensions.setdefault("quizapp.battles.seen", _SeenBook())
    with book.lock:
        book.pending[(battle_id, user_id)] = now
        if time.monotonic() - book.written < SEEN_FLUSH_SECONDS:
            return
        batch, book.pending, book.written = book.pending, {}, time.monotonic()
    write(batch)


# One statement for the whole book, on the process's own connection (autocommit: ``push.
# ProcessConnection``) — never waiting for a pool connection behind a burst of answers, which made
# reports late and players who had never left forfeit. The seat rows are held for that statement
# only. A seat row another transaction holds (a look, which marks the player seen itself; a
# forfeit; the finish) is skipped, not waited for — a report waiting there would hold the rows it
# had already locked while answers queued behind them. FOR NO KEY UPDATE: an answer's insert (its
# foreign key takes KEY SHARE on the seat) is never blocked by it. One statement text whatever the
# book's size (arrays).
_SEEN_POSTGRESQL = """
    WITH reports (battle_id, user_id, at) AS (
        SELECT * FROM unnest(CAST(%(battles)s AS integer[]), CAST(%(users)s AS integer[]),
                             CAST(%(ats)s AS timestamptz[]))
    ), free AS (
        SELECT p.id, r.at FROM battle_player p
        JOIN reports r ON r.battle_id = p.battle_id AND r.user_id = p.user_id
        JOIN battle b ON b.id = p.battle_id AND b.status = 'running'
        WHERE p.forfeited_at IS NULL
        ORDER BY p.id
        FOR NO KEY UPDATE OF p SKIP LOCKED
    )
    UPDATE battle_player SET last_seen_at = free.at FROM free WHERE battle_player.id = free.id
"""


def write(batch: dict[tuple[int, int], datetime]) -> None:
    """Date each (battle, person) of ``batch`` seen at its time, if their seat is in a running battle
    and not forfeited. A lost report is harmless (the next comes within seconds)."""
    if not batch:
        return
    keys = sorted(batch)
    if db.engine.dialect.name == "postgresql":
        params = {
            "battles": [b for b, _ in keys],
            "users": [u for _, u in keys],
            "ats": [batch[k] for k in keys],
        }
        push.process_connection("presence").run([(_SEEN_POSTGRESQL, params)], what="battle seen reports")
        return
    with db.engine.begin() as connection:  # SQLite: one process, one writer at a time
        table, battles = BattlePlayer.__table__, Battle.__table__
        running = select(battles.c.id).where(battles.c.id == table.c.battle_id, battles.c.status == "running")
        statement = (
            update(table)
            .where(
                table.c.battle_id == bindparam("b"),
                table.c.user_id == bindparam("u"),
                table.c.forfeited_at.is_(None),
                running.exists(),
            )
            .values(last_seen_at=bindparam("at"))
        )
        connection.execute(statement, [{"b": b, "u": u, "at": batch[(b, u)]} for b, u in keys])
