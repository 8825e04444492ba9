"""The battle's event streams: views from rows a process's streams share, and their "seen" reports.

A stream wakes at every change of its battle, at each change of phase by the clock and every few
seconds. ``stream_view`` builds what ``play.view`` shows from rows the process keeps per battle
(``push.Board.rows``), read again only when the battle's version passes them — an answer's change
brings the answer itself — so a wake reads nothing most of the time and writes nothing: when there
is something to write (a forfeit to record, the finish) it says so and the stream takes
``play.view`` in a transaction. The streams' "seen" reports go to ``presence``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from ... import clock
from ...extensions import db
from ...models import Battle, BattleAnswer, BattlePlayer
from . import push
from .play import _answers, _compose, _load, _names, _questions, _times, last_contact
from .timeline import GONE_SECONDS, REPORT_SLACK, phases


@dataclass
class _Rows:
    """A battle's rows as read at one version (detached, read-only, shared by the process's streams)."""

    version: int
    loaded: float  # time.monotonic()
    read_at: datetime  # the server's clock when read
    battle: Battle
    players: list[BattlePlayer]
    answers: list[BattleAnswer]
    questions: list[dict]
    names: dict[int, str]

    def with_answer(self, note: dict, version: int) -> _Rows:
        """These rows with one more answer (``answer_note``), at ``version`` (``push.Board.bump``)."""
        answers = self.answers
        if all(a.id != note["id"] for a in answers):
            answers = [
                *answers,
                _Answer(**{**note, "answered_at": datetime.fromisoformat(note["answered_at"])}),
            ]
        return _Rows(
            version, self.loaded, self.read_at, self.battle, self.players, answers, self.questions, self.names
        )


@dataclass(frozen=True)
class _Answer:
    """An answer as a view reads it, from a change's note (no row read)."""

    id: int
    player_id: int
    position: int
    response: object
    correct: bool
    points: float
    answered_at: datetime


# Shared rows are read again after this long whatever happened (who is gone, for the screens: an
# answer finds a gone player at once, the finish every one), plus up to as long again by battle so
# that battles read together do not come due together. At 30 s plus up to 10, 200 battles read at
# once came due in the middle of their third question and held answers up for seconds
# (docs/scaling.md, 对战).
ROWS_SECONDS = 60


def rows_due(battle_id: int) -> bool:
    """Whether the battle's shared rows are to be read again (or were never read here)."""
    rows = push.board().rows.get(battle_id)
    return rows is None or time.monotonic() - rows.loaded > ROWS_SECONDS + battle_id % ROWS_SECONDS


def stream_view(battle_id: int, user_id: int, *, now: datetime, version: int) -> dict | None:
    """What ``view`` shows a player of a running battle, from rows this process shares among its
    streams (``push.Board.rows``): read again only when the battle's version has passed the one
    they are at (an answer's change brings the answer itself: ``push``), or after ROWS_SECONDS and a
    few (``last_seen_at`` moves without a change: who is gone); the questions and
    names once per battle. Nothing is written: None when there is something to write (a forfeit to
    record, the finish) or the battle is not running — the caller then takes ``view`` in a
    transaction."""
    cache = push.board().rows
    rows = cache.get(battle_id)
    if rows is None or rows.version < version or rows_due(battle_id):
        rows = _keep(cache, _read_rows(battle_id, version, rows))
    battle, players, answers = rows.battle, rows.players, rows.answers
    me = next((p for p in players if p.user_id == user_id), None)
    if battle.status != "running" or me is None:
        return None
    phase, ended = phases(battle, _times(answers), players, now)
    # Gone as the rows were read (``last_seen_at`` moves without a change): a forfeit is recorded at
    # the moment the player left whenever it is found, so finding it up to ROWS_SECONDS later changes
    # nothing in the result; answers and ``view`` find it at once.
    if _gone(players, answers, rows.read_at) or phase.kind == "finished":
        cache.pop(battle_id, None)
        return None
    return _compose(battle, players, answers, rows.questions, rows.names, me, phase, ended, now)


def _gone(players, answers, now: datetime) -> bool:
    return any(
        p.user_id is not None
        and p.forfeited_at is None
        and p.last_seen_at is not None
        and last_contact(p, answers) + timedelta(seconds=GONE_SECONDS + REPORT_SLACK) < now
        for p in players
    )


def _keep(cache: dict, rows: _Rows) -> _Rows:
    if len(cache) > 2000:  # battles long over
        for stale in [k for k, v in cache.items() if time.monotonic() - v.loaded > 600]:
            cache.pop(stale, None)
    cache[rows.battle.id] = rows
    return rows


def _read_rows(battle_id: int, version: int, before: _Rows | None) -> _Rows:
    read_at = clock.utcnow()
    battle, players = _load(battle_id)
    answers = _answers(battle_id)
    if before is not None:
        questions, names = before.questions, before.names
    else:
        questions, names = _questions(battle), _names(players)
    for row in (battle, *players, *answers):
        db.session.expunge(row)
    return _Rows(version, time.monotonic(), read_at, battle, players, answers, questions, names)
