from collections import Counter
from datetime import date, timedelta
from urllib.parse import quote

from flask import Response, abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from .. import clock, read_cache
from ..database import writes_database
from ..extensions import db
from ..models import Bulletin, Role, Round, RoundStatus, ScreenLink, Unit
from ..replica import from_replica
from ..services import contest, dashboard, exports, leaderboards, participation, rankings, reports
from ..web import transaction
from . import bp


def _today() -> date:
    return clock.business_date(clock.utcnow(), current_app.config["TZINFO"])


def _xlsx(data: bytes, name: str) -> Response:
    return Response(
        data,
        mimetype=exports.XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.xlsx"},
    )


def _parent(code: str | None) -> Unit:
    return leaderboards.unit_or_default(code, current_user)


def period_choices(today: date) -> list[tuple[str, str]]:
    """The last six months and weeks, and the recently closed rounds."""
    choices = []
    for back in range(6):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        choices.append(rankings.month_period(date(year, month + 1, 1)))
    choices += [rankings.week_period(today - timedelta(days=7 * back)) for back in range(6)]
    listing = [(period.key, period.label) for period in choices]
    listing += [
        (f"round:{round_id}", title)
        for round_id, title in db.session.execute(
            select(Round.id, Round.title)
            .where(Round.status == RoundStatus.CLOSED)
            .order_by(Round.closes_at.desc())
            .limit(12)
        )
    ]
    return listing


def unit_table(period_value: str | None, parent_code: str | None, indicator: str) -> dict:
    return rankings.children_table(
        period_value, _parent(parent_code), indicator, now=clock.utcnow(), tz=current_app.config["TZINFO"]
    )


TABLE_HEADERS = [
    "名次",
    "单位",
    "编码",
    "人数",
    "参与人数",
    "参与率",
    "参与人次",
    "平均分",
    "及格率",
    "人均积分",
    "人均日日学之星",
    "综合指数",
    "名次变化",
]


def _table_headers(table: dict) -> list[str]:
    """TABLE_HEADERS with each ability's accuracy (in percent, as the other rates) before the change."""
    return [*TABLE_HEADERS[:-1], *(a["label"] for a in table["abilities"]), TABLE_HEADERS[-1]]


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _table_rows(table: dict) -> list[list]:
    indicator = table["indicator"]
    return [
        [
            r["ranks"][indicator],
            r["name"],
            r["code"],
            r["headcount"],
            r["participants"],
            round(r["participation"] * 100, 1),
            r["person_times"],
            None if r["avg_score"] is None else round(r["avg_score"], 1),
            round(r["pass_rate"] * 100, 1),
            round(r["points_per_head"], 2),
            round(r["stars_per_head"], 2),
            round(r["composite"] * 100, 1),
            *(_percent(r[a["key"]]) for a in table["abilities"]),
            r["change"],
        ]
        for r in table["rows"]
    ]


# The page's indicator columns after 人数: header, and how each value is printed.
PAGE_CELLS = (
    ("participation", "参与率", lambda r: f"{r['participation'] * 100:.1f}%"),
    ("person_times", "参与人次", lambda r: r["person_times"]),
    ("avg_score", "平均分", lambda r: "—" if r["avg_score"] is None else f"{r['avg_score']:.1f}"),
    ("pass_rate", "及格率", lambda r: f"{r['pass_rate'] * 100:.1f}%"),
    ("points_per_head", "人均积分", lambda r: f"{r['points_per_head']:.2f}"),
    ("stars_per_head", "人均之星", lambda r: f"{r['stars_per_head']:.2f}"),
    ("composite", "综合指数", lambda r: f"{r['composite'] * 100:.1f}"),
)


def _page_cells(table: dict) -> list[tuple]:
    """PAGE_CELLS, then the chosen ability's accuracy when the units are ranked by one (— where the
    snapshot has no answers of it): four more columns would not fit a laptop's width (the .xlsx
    export carries all four)."""

    def rate(key: str):
        return lambda r: "—" if r[key] is None else f"{r[key] * 100:.1f}%"

    chosen = [a for a in table["abilities"] if a["key"] == table["indicator"]]
    return [*PAGE_CELLS, *((a["key"], a["header"], rate(a["key"])) for a in chosen)]


def _page_rows(table: dict) -> list[tuple]:
    """The rows as the page prints them. A province's page has 200 rows: one template expression
    per value (each escaped) took a third of the page's time, so the indicator cells, numbers that we
    format ourselves, are joined here into one piece of markup per row. The chosen indicator's cell
    is marked: on a phone it is the one shown beside the unit, the others wait behind a toggle."""
    indicator, cells = table["indicator"], _page_cells(table)
    shared = Counter(r["ranks"][indicator] for r in table["rows"])
    return [
        (
            r["unit_id"],
            r["ranks"][indicator],
            shared[r["ranks"][indicator]] > 1,
            r["name"],
            quote(r["code"]),
            r["headcount"],
            Markup(
                "".join(
                    f'<td class="num ind{" chosen" if name == indicator else ""}">{show(r)}'
                    f'<span class="sub">#{r["ranks"][name]}</span></td>'
                    for name, _, show in cells
                )
            ),
            r["change"],
        )
        for r in table["rows"]
    ]


NO_DATA_YET = {"month": "本月", "week": "本周", "round": "本轮", "custom": "该时段"}


def _window(table: dict) -> dict:
    """Where the drill-down ends (a unit without child units): its totals for everyone, and its
    people for whoever manages it."""
    unit, period = table["parent"], table["period"]
    totals = rankings.unit_totals(table["snapshot"], unit.id)
    people = None
    if participation.may_see_people(current_user, unit):
        people = participation.unit_people(unit, period, tz=current_app.config["TZINFO"])
    return {"totals": totals, "people": people}


@bp.route("/rankings")
@login_required
@writes_database  # a period nobody looked at yet gets its snapshot computed once
@from_replica
def units():
    """The page below its nav is built once per snapshot version (``read_cache``): unit rankings
    are for every signed-in person, so the key is the parameters, with the viewer's scope when no
    parent is named. A unit without child units shows its people to whoever manages it: that page
    is the viewer's own and is built every time. The .xlsx exports are built every time."""
    indicator, period = request.args.get("indicator", "composite"), _period_argument()
    parent = request.args.get("parent")
    if request.args.get("format") == "xlsx":
        return _units_xlsx(_units_table(period, parent, indicator))
    parts = (
        period,
        ("parent", parent) if parent else ("default", *read_cache.viewer_scope()),
        indicator,
        request.args.get("unit"),
    )
    cache_key, body = read_cache.once(
        "page.rankings.units", parts, lambda: _units_body(period, parent, indicator)
    )
    if not body:  # no child units: the viewer's own page
        table = _units_table(period, parent, indicator)
        return render_template(
            "rankings/units.html", **_units_context(table, indicator), window=_window(table)
        )
    return read_cache.respond(
        render_template("rankings/units.html", body=Markup(body)),
        etag=read_cache.etag_for(cache_key, personal=True),
        mimetype="text/html",
    )


def _period_argument() -> str | None:
    if request.args.get("from") and request.args.get("to"):  # the custom range fields win
        return f"custom:{request.args['from']}:{request.args['to']}"
    return request.args.get("period")


def _units_table(period: str | None, parent: str | None, indicator: str) -> dict:
    with transaction(flash_errors=False):  # before rendering: on SQLite this view holds the write lock
        return unit_table(period, parent, indicator)


def _units_body(period: str | None, parent: str | None, indicator: str) -> str:
    """The page's kept part, or "" for a unit without child units."""
    table = _units_table(period, parent, indicator)
    if not table["rows"]:
        return ""
    return render_template("rankings/_units_body.html", **_units_context(table, indicator), window=None)


def _units_xlsx(table: dict) -> Response:
    window = None if table["rows"] else _window(table)
    if window is not None and window["people"] is not None:
        return _xlsx(
            exports.table_xlsx(
                f"{table['parent'].name}人员",
                ["姓名", "登录名", "是否参与", "日日学天数", "参加轮次", "积分", "最近参与"],
                [
                    [
                        p["name"],
                        p["username"],
                        "是" if p["took_part"] else "否",
                        p["days"],
                        p["rounds"],
                        p["points"],
                        p["last"].isoformat() if p["last"] else None,
                    ]
                    for p in window["people"]
                ],
            ),
            f"{table['parent'].name}-{table['period'].label}-人员参与情况",
        )
    return _xlsx(
        exports.table_xlsx(f"{table['parent'].name}排名", _table_headers(table), _table_rows(table)),
        f"{table['parent'].name}-{table['period'].label}-单位排名",
    )


def _units_context(table: dict, indicator: str) -> dict:
    tz = current_app.config["TZINFO"]
    state = rankings.state_of(table["period"], table["snapshot"], now=clock.utcnow(), tz=tz)
    # Nothing to rank yet (the first days of a month): all zeros would draw an empty chart on a
    # made-up axis and rank every unit first; the page says so instead.
    no_data = bool(table["rows"]) and not any(r[table["indicator"]] for r in table["rows"])
    focus = next((r for r in table["rows"] if r["code"] == request.args.get("unit")), None) or (
        table["rows"][0] if table["rows"] else None
    )
    trend = (
        rankings.trend(focus["unit_id"], table["parent"].id, table["period"], indicator)
        if focus and not no_data
        else []
    )
    trail = [u for u in db.session.scalars(select(Unit).where(Unit.id.in_(table["parent"].path_ids())))]
    trail.sort(key=lambda u: u.level)
    return dict(
        table=table,
        rows=_page_rows(table),
        columns=[(name, header) for name, header, _ in _page_cells(table)],
        state=state,
        no_data=no_data,
        no_data_title=(NO_DATA_YET[table["period"].kind] if state["key"] == "live" else table["period"].label)
        + "尚无数据",
        one_day=timedelta(days=1),
        indicators=table["indicators"],
        trail=trail,
        focus=focus,
        trend=trend,
        periods=period_choices(_today()),
        chart={
            "names": [r["name"] for r in table["rows"]],
            "values": [r[indicator] if r[indicator] is not None else 0 for r in table["rows"]],
            "percent": indicator in ("participation", "pass_rate", "composite")
            or rankings.ABILITY_KEY.fullmatch(indicator) is not None,
            "label": table["indicators"][indicator],
            "trend": trend,
            "focus": focus["name"] if focus else None,
        },
    )


@bp.route("/rankings/people")
@login_required
@from_replica
def people():
    kind = request.args.get("board", "month")
    unit = _parent(request.args.get("unit"))
    month = rankings.parse_month(
        request.args.get("month") if kind in ("month", "battle") else None, today=_today()
    )
    round_id = request.args.get("round", type=int)
    data = leaderboards.board(
        kind if kind in ("round", "month", "total", "battle") else "month",
        unit=unit,
        viewer=current_user,
        month=month,
        round_id=round_id,
    )
    if request.args.get("format") == "xlsx":
        return _xlsx(
            exports.table_xlsx(
                data["title"],
                ["名次", "姓名", "登录名", "单位", data["measure"]],
                [[r["rank"], r["name"], r["username"], r["unit"], r["value"]] for r in data["rows"]],
            ),
            f"{unit.name}-{data['title']}",
        )
    rounds = db.session.execute(
        select(Round.id, Round.title)
        .where(Round.status == RoundStatus.CLOSED)
        .order_by(Round.closes_at.desc())
        .limit(20)
    ).all()
    return render_template(
        "rankings/people.html", data=data, kind=kind, unit=unit, rounds=rounds, month=month, round_id=round_id
    )


# ---------------------------------------------------------------------------------------------
# Bulletins


def _bulletin_scope() -> str | None:
    """Admins see whole bulletins; unit admins their subtree; staff none (they name people)."""
    if current_user.role == Role.ADMIN:
        return None
    if current_user.role == Role.UNIT_ADMIN and current_user.unit is not None:
        return current_user.unit.path
    abort(403)


def _bulletin(bulletin_id: int) -> tuple[Bulletin, dict]:
    scope = _bulletin_scope()
    bulletin = db.session.get(Bulletin, bulletin_id)
    if bulletin is None:
        abort(404)
    return bulletin, reports.view_for(bulletin, None if scope is None else current_user.unit)


@bp.route("/bulletins")
@login_required
@from_replica
def bulletins():
    _bulletin_scope()
    archive = db.session.scalars(select(Bulletin).order_by(Bulletin.created_at.desc()).limit(200)).all()
    return render_template("rankings/bulletins.html", archive=archive)


@bp.route("/bulletins/<int:bulletin_id>")
@login_required
@from_replica
def bulletin(bulletin_id: int):
    return _kept_bulletin(bulletin_id, "rankings/bulletin.html")


@bp.route("/bulletins/<int:bulletin_id>/print")
@login_required
@from_replica
def bulletin_print(bulletin_id: int):
    return _kept_bulletin(bulletin_id, "rankings/bulletin_print.html")


def _kept_bulletin(bulletin_id: int, template: str) -> Response:
    """A bulletin's body is built once per snapshot version and reader's scope (``read_cache``):
    it is written at a close and rewritten only with its snapshot (a restatement). The scope (who
    may read, and which subtree) is checked on every request; only the title row is read then."""
    scope = _bulletin_scope()
    head = db.session.execute(
        select(Bulletin.id, Bulletin.title, Bulletin.created_at).where(Bulletin.id == bulletin_id)
    ).first()
    if head is None:
        abort(404)
    cache_key, body = read_cache.once(
        "page.bulletin",
        (bulletin_id, head.created_at.isoformat(), scope),
        lambda: render_template("rankings/_bulletin_body.html", content=_bulletin(bulletin_id)[1]),
    )
    return read_cache.respond(
        render_template(template, bulletin=head, body=Markup(body)),
        etag=read_cache.etag_for(cache_key, personal=True),
        mimetype="text/html",
    )


@bp.route("/bulletins/<int:bulletin_id>.xlsx")
@login_required
@from_replica
def bulletin_xlsx(bulletin_id: int):
    item, content = _bulletin(bulletin_id)
    absent = [
        [g["unit_name"], g["unit_code"], p["name"], p["username"]]
        for g in content["non_participants"]
        for p in g["people"]
    ]
    failures = [[f["unit_name"], f["name"], f["username"], f["percent"]] for f in content["failures"]]
    top_units = [
        [
            u["parent_name"],
            u["ranks"]["composite"],
            u["name"],
            u["code"],
            round(u["participation"] * 100, 1),
            None if u["avg_score"] is None else round(u["avg_score"], 1),
        ]
        for u in content["top_units"]
    ]
    top_staff = [
        [s["rank"], s["name"], s["username"], s["unit_name"], s.get("percent", s.get("points"))]
        for s in content["top_staff"]
    ]
    data = exports.table_xlsx(
        "未参加人员",
        ["单位", "单位编码", "姓名", "登录名"],
        absent,
        sheets=[
            ("不合格人员", ["单位", "姓名", "登录名", "得分"], failures),
            ("先进单位", ["上级单位", "名次", "单位", "编码", "参与率%", "平均分"], top_units),
            ("优秀个人", ["名次", "姓名", "登录名", "单位", "成绩"], top_staff),
        ],
    )
    return _xlsx(data, item.title)


@bp.route("/honours")
@login_required
@writes_database
@from_replica
def honours():
    """Built once per snapshot version (``read_cache``) and root: the viewer's province, or their
    own unit for a unit admin, by its path (a unit moved is another key), and the contests'
    record (a finish, or a finish taken back, shows at once). The stars (the month's points) are as
    of that version: read again with the next snapshot."""
    root = leaderboards.default_unit(current_user)
    if root is None:
        abort(404)
    contests = contest.record.stamp()
    cache_key, body = read_cache.once(
        "page.honours", (request.args.get("month"), root.id, root.path, contests), lambda: _honours_body(root)
    )
    return read_cache.respond(
        render_template("rankings/honours.html", body=Markup(body)),
        etag=read_cache.etag_for(cache_key, personal=True),
        mimetype="text/html",
    )


def _honours_body(root: Unit) -> str:
    tz = current_app.config["TZINFO"]
    today = _today()
    month = rankings.parse_month(request.args.get("month"), today=today)
    period = rankings.month_period(month)
    with transaction(flash_errors=False):
        snapshot = rankings.ensure_snapshot(period, now=clock.utcnow(), tz=tz)
        top_units = rankings.rank_children(snapshot, root.id, "composite")[:10]
        stars = leaderboards.board("month", unit=root, viewer=current_user, month=month, limit=10)
        contests = contest.record.podiums(root, period, tz=tz)
    # An honour is for something done: a unit or a person at 0 gets no place (at the start of a
    # month every unit is at 0 and would share first place).
    top_units = [u for u in top_units if u["composite"] > 0]
    star_rows = [s for s in stars["rows"] if s["value"] > 0]
    return render_template(
        "rankings/_honours_body.html",
        period=period,
        root=root,
        top_units=top_units,
        stars=star_rows,
        unit_ties=Counter(u["ranks"]["composite"] for u in top_units),
        star_ties=Counter(s["rank"] for s in star_rows),
        contests=contests,
        empty_title="本月尚无数据" if month == today.replace(day=1) else f"{period.label}没有数据",
    )


# ---------------------------------------------------------------------------------------------
# Big screen (no sign-in: a revocable per-unit link)


@bp.route("/screen/<token>")
@writes_database
@from_replica
def screen(token: str):
    link = db.session.scalar(
        select(ScreenLink).where(ScreenLink.token == token, ScreenLink.revoked_at.is_(None))
    )
    if link is None:
        abort(404)
    tz = current_app.config["TZINFO"]
    now = clock.utcnow()
    today = _today()
    period = rankings.month_period(today)
    with transaction(flash_errors=False):
        snapshot = rankings.ensure_snapshot(period, now=now, tz=tz)
        rows = rankings.rank_children(snapshot, link.unit_id, "composite")
        figures = dashboard.screen_figures(link.unit, today=today)
    return render_template(
        "rankings/screen.html",
        unit=link.unit,
        period=period,
        rows=rows[:12],
        now=now,
        **figures,
        refresh_url=url_for("rankings.screen", token=token),
    )
