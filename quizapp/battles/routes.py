"""对战: the hub page, the battle page, its JSON actions and its event stream.

The pages are thin: every rule is in ``services.battles``. The battle page follows the battle by
server-sent events (``/battles/<id>/events``): the player's view now, then again whenever the battle
changes (an answer, a forfeit, anywhere: ``push``) or its phase does by the clock; each event also
keeps the player "seen" (a page gone for more than 10 s forfeits the rest).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import Response, abort, current_app, jsonify, render_template, request
from flask_login import current_user, login_required

from .. import clock
from ..database import writes_database
from ..extensions import db
from ..models import Unit
from ..services.battles import counting, match, play, presence, push, streams
from ..services.errors import DomainError
from ..web import client_key, commits, transaction
from . import bp

STREAM_SECONDS = 3  # the stream's longest wait: it reports the player seen at least this often
STREAM_MINUTES = 30  # a stream ends after this long (the page reconnects): no thread held forever


@bp.get("/battles")
@login_required
def hub():
    now = clock.utcnow()
    tz = current_app.config["TZINFO"]
    local = now.astimezone(tz)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    unit = db.session.get(Unit, current_user.unit_id) if current_user.unit_id else None
    top = _top(unit)
    board = counting.leaderboard(top, month_start, now + timedelta(seconds=1), limit=20) if top else []
    ladder = None
    if current_app.config["BATTLE_LADDER"] and top is not None:
        week_start = (local - timedelta(days=local.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        ladder = counting.unit_ladder(top, week_start, now + timedelta(seconds=1))
    return render_template(
        "battles/hub.html",
        running=play.current_battle(current_user.id),
        invitations=match.invitations(current_user.id),
        board=board,
        ladder=ladder,
        wait_seconds=current_app.config["BATTLE_WAIT_SECONDS"],
    )


def _top(unit: Unit | None) -> Unit | None:
    if unit is None:
        return None
    top_id = unit.path_ids()[0] if unit.path else unit.id
    return db.session.get(Unit, top_id)


@bp.get("/battles/<int:battle_id>")
@login_required
@commits  # a look may finish a battle whose time is over
@writes_database
def battle_page(battle_id: int):
    view = play.view(battle_id, current_user.id, now=clock.utcnow())  # 404 for anyone not seated
    return render_template("battles/battle.html", battle_id=battle_id, view=view)


@bp.get("/battles/<int:battle_id>/card.svg")
@login_required
@commits
@writes_database
def card(battle_id: int):
    """The result card to share, as an image (SVG: crisp on any phone, saved as PNG by the page)."""
    view = play.view(battle_id, current_user.id, now=clock.utcnow())
    if view["status"] != "finished":
        abort(404)
    svg = render_template("battles/card.svg", view=view)
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


# ---------------------------------------------------------------------------------------------
# JSON actions (the page's script; a phone app could use them as well)


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/api/v1/battles/queue")
@login_required
@commits
def join_queue():
    return jsonify(match.join(current_user, str(_body().get("mode", "")), now=clock.utcnow()))


@bp.get("/api/v1/battles/queue")
@login_required
@commits
@writes_database  # a poll matches the waiting and takes its own entry out
def poll_queue():
    return jsonify(match.poll(current_user, now=clock.utcnow()))


@bp.delete("/api/v1/battles/queue")
@login_required
@commits
def leave_queue():
    match.leave(current_user)
    return "", 204


@bp.post("/api/v1/battles/challenges")
@login_required
@commits
def send_challenge():
    return jsonify(
        battle=match.challenge(current_user, str(_body().get("username", "")), now=clock.utcnow())
    ), 201


@bp.post("/api/v1/battles/<int:battle_id>/response")
@login_required
@commits
def respond(battle_id: int):
    match.respond(current_user, battle_id, bool(_body().get("accept")), now=clock.utcnow())
    return jsonify(battle=battle_id)


@bp.get("/api/v1/battles/<int:battle_id>")
@login_required
@commits
@writes_database
def battle_state(battle_id: int):
    return jsonify(play.view(battle_id, current_user.id, now=clock.utcnow()))


@bp.post("/api/v1/battles/<int:battle_id>/answers")
@login_required
@commits
def answer(battle_id: int):
    body = _body()
    position = body.get("position")
    if isinstance(position, bool) or not isinstance(position, int):
        raise DomainError("position 应为题目序号")
    return jsonify(
        play.answer(
            battle_id, current_user.id, position, body.get("answer"), now=clock.utcnow(), client=client_key()
        )
    )


# ---------------------------------------------------------------------------------------------
# Server-sent events


@bp.get("/battles/<int:battle_id>/events")
@login_required
@writes_database  # the first view reports the player seen
def events(battle_id: int):
    """text/event-stream: the player's view now, then on every change of the battle and at each
    change of phase by the clock; ``: ping`` comments between. Each wake reports the player seen
    (the process writes its streams' reports together: ``presence.report``). Views come from
    rows the process's streams share (``streams.stream_view``: read again when the battle's version
    passes them; an answer's change brings the answer); a wake with something to write takes
    ``play.view`` in a transaction. The stream holds no database connection while it waits."""
    user_id, client = current_user.id, client_key()
    app = current_app._get_current_object()
    push.listen(app)
    here = push.board()
    start = here.version(battle_id)
    first = _seen_view(battle_id, user_id, client)  # 404 for anyone not seated
    db.session.remove()

    def stream():
        view, version = first, start
        yield "retry: 1000\n" + _event(view)
        ends = clock.utcnow() + timedelta(minutes=STREAM_MINUTES)
        while view["status"] in ("running", "invited") and clock.utcnow() < ends:
            wait = STREAM_SECONDS
            if next_at := view["phase"].get("next_at"):
                wait = max(
                    0.05, min(wait, (datetime.fromisoformat(next_at) - clock.utcnow()).total_seconds() + 0.05)
                )
            seen_version, version = version, here.wait(battle_id, version, wait)
            with app.app_context():
                now = clock.utcnow()
                if (
                    version == seen_version
                    and not next_at_passed(view, now)
                    and not streams.rows_due(battle_id)
                ):
                    fresh = view  # nothing new can show (no change, no phase due): a ping, and the report
                else:
                    fresh = streams.stream_view(battle_id, user_id, now=now, version=version)
                looked = fresh is None  # something to write (a forfeit, the finish), or not running
                if looked:
                    fresh = _seen_view(battle_id, user_id, client)  # reports the player seen itself
                db.session.remove()  # before the report's own connection (SQLite: one writer)
                if not looked:
                    presence.report(battle_id, user_id, now=now)
            if fresh is not view and _changed(view, fresh):
                view = fresh
                yield _event(view)
            else:
                yield ": ping\n\n"

    return Response(
        stream(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def next_at_passed(view: dict, now: datetime) -> bool:
    next_at = view["phase"].get("next_at")
    return next_at is not None and now >= datetime.fromisoformat(next_at)


def _seen_view(battle_id: int, user_id: int, client: str) -> dict:
    now = clock.utcnow()
    with transaction(flash_errors=False):
        play.seen(battle_id, user_id, now=now, client=client)
        view = play.view(battle_id, user_id, now=now)
    return view


def _changed(before: dict, after: dict) -> bool:
    return {k: v for k, v in before.items() if k != "now"} != {k: v for k, v in after.items() if k != "now"}


def _event(view: dict) -> str:
    return f"event: state\ndata: {json.dumps(view, ensure_ascii=False)}\n\n"
