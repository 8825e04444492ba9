"""现场比武: set-up and the host console (admins and unit admins, scoped), the big screen (no
sign-in), the phones (joined by code and team PIN), the event stream, the record afterwards."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user

from .. import clock
from ..admin.routes import managers_only
from ..database import writes_database
from ..extensions import db
from ..models import SegmentKind
from ..services import selection
from ..services.contest import play, qr, record, setup, views
from ..services.contest.hub import hub
from ..services.errors import DomainError, NotFound
from ..web import transaction
from . import bp

DEVICES = "contest_devices"  # session key: join code → this phone's device token
HEARTBEAT_SECONDS = 15
SEGMENT_FORM = [  # (kind, default count, right, wrong, seconds, early penalty)
    (SegmentKind.REQUIRED, 4, 10, 0, 30, 0),
    (SegmentKind.BUZZ, 5, 20, 10, 20, 5),
    (SegmentKind.RISK, 4, 0, 0, 60, 0),
    (SegmentKind.TIEBREAK, 2, 10, 0, 20, 5),
]


# ---------------------------------------------------------------------------------------------
# Set-up (managers)


@bp.route("/contests")
@managers_only
def index():
    return render_template("contest/index.html", contests=setup.managed_list(current_user))


@bp.route("/contests/new", methods=["GET", "POST"])
@managers_only
def new():
    form = request.form if request.method == "POST" else {}
    teams_text = form.get("teams", "")
    if request.method == "GET" and request.args.get("from") == "selection":
        teams_text = _teams_from_selection()
    if request.method == "POST":
        teams, segments = _parse_teams(teams_text), _parse_segments(form)
        with transaction() as outcome:
            contest = setup.create_contest(
                current_user,
                title=form.get("title", ""),
                unit_code=form.get("unit", "").strip(),
                teams=teams,
                segments=segments,
            )
            code = contest.code
        if outcome.ok:
            return redirect(url_for("contest.host", code=code))
    default_unit = current_user.unit.code if current_user.unit is not None else ""
    return render_template(
        "contest/new.html",
        form=form,
        teams_text=teams_text,
        segment_form=SEGMENT_FORM,
        default_unit=default_unit,
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[、,，;；\s]+", text) if part.strip()]


def _parse_teams(text: str) -> list[setup.TeamSpec]:
    """One team a line: 队名｜单位｜队员1、队员2、… (｜ or |)."""
    teams = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in re.split(r"[|｜]", line)] + ["", ""]
        teams.append(setup.TeamSpec(parts[0], parts[1], _split(parts[2])))
    return teams


def _number(value, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default if value in (None, "") else -1  # out of every range: the set-up says so


def _parse_segments(form) -> list[setup.SegmentSpec]:
    segments = []
    for kind, _count, right, wrong, seconds, penalty in SEGMENT_FORM:
        k = kind.value
        picked = [int(i) for i in re.findall(r"\d+", form.get(f"{k}_ids", ""))[:200]]
        spec = setup.SegmentSpec(
            kind=k,
            points_right=_number(form.get(f"{k}_right"), right),
            points_wrong=_number(form.get(f"{k}_wrong"), wrong),
            time_limit=_number(form.get(f"{k}_time"), seconds),
            early_penalty=_number(form.get(f"{k}_penalty"), penalty),
            stakes=[int(s) for s in re.findall(r"\d+", form.get("risk_stakes", "10 20 30"))]
            if k == "risk"
            else [],
            count=_number(form.get(f"{k}_count"), 0),
            question_ids=picked,
            phone_answers=form.get(f"{k}_oral") != "1",
        )
        if spec.count or spec.question_ids:
            segments.append(spec)
    return segments


def _teams_from_selection() -> str:
    """The 选拔 list's top people, four to a team by unit: a start the host edits."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(clock.utcnow(), tz)
    criteria = selection.Criteria(
        starts_on=today - timedelta(days=90), ends_on=today + timedelta(days=1), top=32
    )
    by_unit: dict[str, list[str]] = {}
    for row in selection.select_staff(current_user, criteria, tz=tz):
        by_unit.setdefault(row["unit"], []).append(row["name"])
    lines = []
    for unit, names in by_unit.items():
        if len(names) >= 2:
            lines.append(f"{unit}队｜{unit}｜{'、'.join(names[:4])}")
    return "\n".join(lines[:16])


# ---------------------------------------------------------------------------------------------
# Host console


@bp.route("/contest/<code>/host")
@managers_only
def host(code: str):
    contest = _managed(code)
    setup_, state = play.current(contest)
    devices = play.devices_per_team(contest)
    initial = views.host(setup_, state, devices)
    return render_template(
        "contest/host.html",
        contest=contest,
        pins=setup.team_pins(contest),
        devices=devices,
        initial=json.dumps(initial, ensure_ascii=False),
        **_join_links(contest.code),
        screen_url=url_for("contest.screen", code=contest.code, _external=True),
    )


LOOPBACK = ("localhost", "127.", "[::1]", "::1")


def _join_links(code: str) -> dict:
    """The address phones join at (QUIZAPP_PUBLIC_URL, else the address this page was opened at),
    its QR code, and whether that address is this computer's own (which no phone can reach)."""
    public = current_app.config.get("PUBLIC_URL")
    if public:
        url = public.rstrip("/") + url_for("contest.join", code=code)
    else:
        url = url_for("contest.join", code=code, _external=True)
    return {
        "join_url": url,
        "join_qr": qr.join_qr(url),
        "join_loopback": not public and request.host.startswith(LOOPBACK),
    }


@bp.route("/contest/<code>/host/act", methods=["POST"])
@managers_only
def host_act(code: str):
    body = request.get_json(silent=True) or {}
    kind = str(body.pop("action", ""))
    with transaction(flash_errors=False):
        pass  # end the transaction the sign-in check began: the contest's lock comes first
    return _act(code, kind, actor_id=current_user.id, payload=body, host_view=True)


def _managed(code: str):
    try:
        return setup.managed(current_user, code)
    except NotFound:
        abort(404)


def _act(code: str, kind: str, *, actor_id=None, payload=None, device_token=None, host_view=False):
    """One action under the contest's lock: record, commit, publish (see services.contest.play)."""
    received = time.monotonic_ns()
    try:
        with play.arbiter(code) as received_ns:
            tapped = play.known_double_tap(code, device_token) if kind == "buzz" else None
            if tapped is not None:
                return jsonify(ok=True, seq=tapped["seq"], outcome=tapped["outcome"], recorded=False)
            with transaction(flash_errors=False):
                contest = setup.find(code)
                if host_view:
                    setup.managed(current_user, code)
                device = None
                if device_token is not None or not host_view:
                    device = play.device_for(contest, device_token)
                    if device is None:
                        raise DomainError("本机还没有加入队伍，请重新扫码加入")
                team_id = payload.pop("team_id", None) if payload else None
                result = play.record(
                    contest,
                    kind,
                    received_ns=received_ns,
                    now=clock.utcnow(),
                    team_id=team_id if isinstance(team_id, int) and not isinstance(team_id, bool) else None,
                    device=device,
                    actor_id=actor_id,
                    payload={**(payload or {}), "arrived_ns": received} if kind == "buzz" else payload,
                )
            play.publish(contest, result["state"])
    except DomainError as error:
        return jsonify(error={"code": error.code, "message": error.message}), error.status
    return jsonify(
        ok=True, seq=result["state"]["seq"], outcome=result["outcome"], recorded=result["event"] is not None
    )


# ---------------------------------------------------------------------------------------------
# The hall: big screen and phones


@bp.route("/contest/<code>/screen")
def screen(code: str):
    contest = _found(code)
    setup_, state = play.current(contest)
    return render_template(
        "contest/screen.html",
        contest=contest,
        initial=json.dumps(views.public(setup_, state), ensure_ascii=False),
        **_join_links(contest.code),
    )


@bp.route("/contest/<code>/state")
def state(code: str):
    contest = _found(code)
    setup_, state_ = play.current(contest)
    return jsonify(views.public(setup_, state_))


def _found(code: str):
    try:
        return setup.find(code)
    except NotFound:
        abort(404)


@bp.route("/contest/join", methods=["GET", "POST"])
def join_code():
    error = None
    if request.method == "POST":
        code = "".join(request.form.get("code", "").split()).upper()
        try:
            setup.find(code)
            return redirect(url_for("contest.join", code=code))
        except NotFound as missing:
            error = missing.message
    return render_template("contest/join_code.html", error=error), 400 if error else 200


@bp.route("/contest/<code>/join", methods=["GET", "POST"])
@writes_database
def join(code: str):
    contest = _found(code)
    pins = setup.team_pins(contest)
    members = {t["id"]: t["members"] for t in setup.load_setup(contest)["teams"]}
    if request.method == "POST":
        team, _, member = request.form.get("pick", "").partition("|")
        with transaction() as outcome:
            device = play.join(
                contest, int(team) if team.isdigit() else 0, request.form.get("pin", ""), member
            )
            token = device.token
        if outcome.ok:
            session[DEVICES] = {**session.get(DEVICES, {}), contest.code: token}
            hub.publish_devices(contest.code, play.devices_per_team(contest))  # the host sees it join
            return redirect(url_for("contest.buzzer", code=contest.code))
    return render_template(
        "contest/join.html",
        contest=contest,
        teams=[{"id": t["id"], "name": t["name"], "members": members[t["id"]]} for t in pins],
    )


@bp.route("/contest/<code>/buzzer")
def buzzer(code: str):
    contest = _found(code)
    device = play.device_for(contest, session.get(DEVICES, {}).get(contest.code))
    if device is None:
        return redirect(url_for("contest.join", code=contest.code))
    setup_, state_ = play.current(contest)
    return render_template(
        "contest/buzzer.html",
        contest=contest,
        member=device.member,
        initial=json.dumps(views.team(setup_, state_, device.team_id, device.member), ensure_ascii=False),
    )


@bp.route("/contest/<code>/play", methods=["POST"])
def play_act(code: str):
    """A phone's action: {"action": "buzz" | "stake" | "answer", "team_id"?, "stake"?, "answer"?}."""
    body = request.get_json(silent=True) or {}
    kind = str(body.pop("action", ""))
    if kind not in ("buzz", "stake", "answer"):
        return jsonify(error={"code": "invalid", "message": "未知的操作"}), 400
    token = session.get(DEVICES, {}).get("".join(code.split()).upper())
    if current_user.is_authenticated:  # a signed-in phone: end the sign-in check's transaction first
        with transaction(flash_errors=False):
            pass
    return _act(code, kind, payload=body, device_token=token or "")


# ---------------------------------------------------------------------------------------------
# Server-sent events


@bp.route("/contest/<code>/events")
def events(code: str):
    """text/event-stream: the state for this screen now (so a reconnecting client starts from the
    current state), then every change, and a comment every 15 s (which also frees the thread of a
    client that has gone). The stream reads only the in-process hub: it holds no database
    connection while it waits. A phone's stream carries its team's view (the same for the team's
    phones: rendered once per change, see services.contest.hub); the host's also carries the phones
    joined per team as they join."""
    contest = _found(code)
    audience = request.args.get("as", "screen")
    if audience not in ("host", "team"):
        audience = "screen"
    team_id = None
    if audience == "host":
        _managed(code)
        hub.publish_devices(contest.code, play.devices_per_team(contest))
    elif audience == "team":
        device = play.device_for(contest, session.get(DEVICES, {}).get(contest.code))
        if device is None:
            abort(403)
        team_id = device.team_id
    play.current(contest)  # the hub holds the log's latest state from here on
    code = contest.code
    first = hub.snapshot(code)
    db.session.remove()  # give the connection back before the stream is held open

    def build(snap) -> str:
        if audience == "host":
            view = views.host(snap.setup, snap.state, snap.devices)
        elif audience == "team":
            view = views.team(snap.setup, snap.state, team_id, None)  # the page knows its member
        else:
            view = views.public(snap.setup, snap.state)
        view["now"] = clock.utcnow().isoformat()
        return f"id: {view['seq']}\nevent: state\ndata: {json.dumps(view, ensure_ascii=False)}\n\n"

    def render(snap) -> str:
        return hub.render(code, snap.version, (audience, team_id), lambda: build(snap))

    def stream():
        snap = first
        yield "retry: 1000\n" + render(snap)
        while True:
            changed = hub.wait(code, snap.version, HEARTBEAT_SECONDS)
            if changed is None:
                yield ": ping\n\n"
                continue
            seen, snap = snap, changed
            if audience != "host" and snap.seq == seen.seq:
                continue  # only phones joined: the host console alone shows them
            yield render(snap)

    return Response(
        stream(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------------------------------------
# Afterwards


@bp.route("/contest/<code>/sheet.xlsx")
@managers_only
def sheet(code: str):
    contest = _managed(code)
    data = record.score_sheet(contest, tz=current_app.config["TZINFO"])
    return send_file(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{contest.title}-记分表.xlsx",
    )


@bp.route("/contest/<code>/certificates")
@managers_only
def certificates(code: str):
    contest = _managed(code)
    setup_, state_ = play.current(contest)
    return render_template(
        "contest/certificates.html", contest=contest, rows=record.certificate_rows(setup_, state_)
    )
