"""Snapshot-backed reads served at the stack's floor: each response built once per snapshot version.

The rankings API and page, the honours page (光荣榜), the big screen and the bulletins only read what
the scheduler writes: ranking snapshots (rewritten by the live refresh every few minutes, settled at
a period's end) and bulletins (written once at a close). Their responses — or, for a page that
carries the viewer's own bits (name, CSRF token, flashed messages), its expensive part — are built
once and kept under a key made of:

- the **snapshot stamp** (``stamp()``, one statement a request): the count, the highest id and
  the latest ``computed_at`` of the ranking snapshots, and on PostgreSQL the sum of their row
  versions (``xmin``), which every rewrite changes even within one instant; elsewhere (SQLite: one
  process) a count of this process's own snapshot writes does that;
- the **business day** (whether a period is live, ended or final depends on it);
- **everything else that changes the response**: the query parameters, and the viewer's scope
  wherever the response depends on who asks (``viewer_scope``).

A new stamp is a new key: nothing is invalidated by time. The values live per process (``kept``,
bounded: the oldest go first) and, when ``QUIZAPP_REDIS_URL`` is configured, in Redis shared by every
process (an expiry there bounds memory only; a Redis error falls back to building the response).

``respond`` sends a kept body with an ETag derived from its key (plus the viewer's session for a
page carrying their bits) and answers ``If-None-Match`` with a 304; ``Cache-Control: private,
no-cache`` lets the browser keep it but makes it ask every time.

Security: a key always holds what decides who may see the body (``viewer_scope``), so a body built
for one scope is never found by a request from another; what may be refused (a subtree out of
scope) is checked on every request before the kept body is looked up. Open rounds: the snapshots hold
counts and scores of submitted attempts only, never an answer key, and a round's close rewrites its
snapshot (a new stamp).
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable, Hashable
from typing import Any

from flask import Response, current_app, g, request, session
from flask_login import current_user
from sqlalchemy import text

from . import clock, kept
from .extensions import db

LOCAL_SIZE = 512  # (read, stamp, parameters) in view at once; a few MB at most
REDIS_SECONDS = 24 * 3600  # memory bound only: a key's stamp, not its age, says when it is stale
REDIS_PREFIX = "quizapp:read:"
CACHE_CONTROL = "private, no-cache"

_STAMP_SQL = {
    "postgresql": text(
        "SELECT count(*), max(id), max(computed_at), sum(xmin::text::bigint) FROM ranking_snapshot"
    ),
    None: text("SELECT count(*), max(id), max(computed_at) FROM ranking_snapshot"),
}


def snapshots_written() -> None:
    """A snapshot was written by this process (called by ``rankings.write_snapshot``): on a database
    without row versions in the stamp, a rewrite within the same instant still makes a new stamp."""
    counter = current_app.extensions.setdefault("quizapp.read_cache.writes", [0])
    counter[0] += 1


def stamp() -> tuple:
    """The ranking snapshots' version, read once a request."""
    if "read_cache_stamp" not in g:
        dialect = db.session.get_bind().dialect.name
        row = tuple(db.session.execute(_STAMP_SQL.get(dialect, _STAMP_SQL[None])).one())
        if dialect != "postgresql":
            row += (_writes(),)
        g.read_cache_stamp = tuple(str(value) for value in row)
    return g.read_cache_stamp


def today() -> str:
    return clock.business_date(clock.utcnow(), current_app.config["TZINFO"]).isoformat()


def viewer_scope() -> tuple:
    """What decides which subtrees and people the signed-in viewer may see: their role and unit."""
    if not current_user.is_authenticated:
        return ("anonymous",)
    return (str(current_user.role), current_user.unit_id)


def key(read: str, *parts: Hashable) -> str:
    """The key of ``read`` at the current stamp and day, with ``parts`` (the parameters, the scope)."""
    material = repr((read, stamp(), today(), parts)).encode()
    return f"{read}:{hashlib.sha256(material).hexdigest()[:40]}"


def once(read: str, parts: tuple, build: Callable[[], Any]) -> tuple[str, Any]:
    """(key, value) of ``read`` with ``parts``: the value kept under its key, or ``build()``'s.
    A build that writes a snapshot (a period seen for the first time) changes the stamp: its value
    is kept under the new one, which the next request reads."""
    writes = _writes()
    cache_key = key(read, *parts)
    found = _find(cache_key)
    if found is not None:
        return cache_key, found
    value = build()
    if _writes() != writes:
        g.pop("read_cache_stamp", None)
        cache_key = key(read, *parts)
    _keep(cache_key, value)
    return cache_key, value


def _writes() -> int:
    return current_app.extensions.get("quizapp.read_cache.writes", [0])[0]


def _local() -> kept.Kept:
    return kept.store("read_cache", LOCAL_SIZE)


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("quizapp.read_cache.redis")
    if client is None:
        import redis  # only with Redis configured

        client = current_app.extensions.setdefault(
            "quizapp.read_cache.redis",
            redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5),
        )
    return client


def _find(cache_key: str) -> Any:
    """The value kept under ``cache_key``: this process's, else Redis's (then kept here too)."""
    local = _local()
    value = local.get(cache_key)
    if value is not None:
        return value
    shared = _redis()
    if shared is None:
        return None
    try:
        found = shared.get(REDIS_PREFIX + cache_key)
    except Exception as error:  # noqa: BLE001 - Redis down: build, as without it
        current_app.logger.warning("read cache: Redis unavailable (%s)", error)
        return None
    return None if found is None else local.put(cache_key, pickle.loads(found))  # noqa: S301 - ours


def _keep(cache_key: str, value: Any) -> None:
    _local().put(cache_key, value)
    shared = _redis()
    if shared is not None:
        try:
            shared.set(REDIS_PREFIX + cache_key, pickle.dumps(value), ex=REDIS_SECONDS)
        except Exception as error:  # noqa: BLE001
            current_app.logger.warning("read cache: Redis unavailable (%s)", error)


def etag_for(cache_key: str, *, personal: bool) -> str:
    """The ETag of a kept response; ``personal``: the page also carries the viewer's bits (their
    name, their session's CSRF token, the nav their role and marking give), so its tag is theirs."""
    if not personal:
        return cache_key.rsplit(":", 1)[1]
    viewer = (
        current_user.get_id() if current_user.is_authenticated else None,
        session.get("sid"),
        session.get("csrf_token"),
        session.get("marker", [None])[0] if isinstance(session.get("marker"), list) else None,
    )
    return hashlib.sha256(repr((cache_key, viewer)).encode()).hexdigest()[:40]


def respond(body: bytes | str, *, etag: str, mimetype: str, status: int = 200) -> Response:
    """The response with its ETag, ``private, no-cache``; a 304 when the client holds it already
    (never while messages wait to be flashed: the page would not show them)."""
    response = Response(body, status=status, mimetype=mimetype)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.set_etag(etag)
    if status == 200 and not session.get("_flashes"):
        response.make_conditional(request)
    return response
