"""Period reports (双月评估, 季度汇报, 半年总结): the page, its print view and its .xlsx, for admins (any
unit) and unit admins (their subtree: the scope comes from the server, never from the request)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock
from ..database import writes_database
from ..extensions import db
from ..models import Role, Unit
from ..services import exports, leaderboards, participation, period_reports
from ..services.errors import NotFound
from ..services.org import unit_scope
from ..web import transaction
from . import bp


def _period_argument() -> str | None:
    if request.args.get("from") and request.args.get("to"):  # the custom range fields win
        return f"custom:{request.args['from']}:{request.args['to']}"
    return request.args.get("period")


def _unit(code: str | None) -> Unit:
    """The unit asked for, if the viewer manages it (a unit outside their subtree looks like a
    missing one); by default a unit admin's own unit, an admin's first root."""
    unit = leaderboards.unit_or_default(code, current_user)
    if not participation.may_see_people(current_user, unit):
        raise NotFound(f"单位“{code}”不存在或不在您的管理范围内")
    return unit


def _report(limit: int | None = period_reports.PAGE_SIZE) -> dict:
    if current_user.role not in (Role.ADMIN, Role.UNIT_ADMIN):
        abort(403)  # it names people: for those who manage units
    tz, now = current_app.config["TZINFO"], clock.utcnow()
    with transaction(flash_errors=False):  # before rendering: on SQLite this view holds the write lock
        unit = _unit(request.args.get("unit"))
        period = period_reports.parse(_period_argument(), today=clock.business_date(now, tz))
        report = period_reports.report(
            unit, period, now=now, tz=tz, page=request.args.get("page", 1, type=int), limit=limit
        )
        # The way up to the viewer's own unit (never above it: those pages are not theirs).
        report["trail"] = db.session.scalars(
            select(Unit).where(Unit.id.in_(unit.path_ids()), unit_scope(current_user)).order_by(Unit.level)
        ).all()
    return report


def _chart(report: dict) -> dict:
    rows = report["rows"]

    def values(key: str, previous: bool = False) -> list:
        return [
            None
            if (row["previous"] if previous else row) is None
            or (row["previous"] if previous else row)[key] is None
            else round((row["previous"] if previous else row)[key] * 100, 1)
            for row in rows
        ]

    return {
        "names": [row["name"] for row in rows],
        "current": report["period"].label,
        "previous": report["previous_period"].label,
        "composite": values("composite"),
        "composite_before": values("composite", previous=True),
        "participation": values("participation"),
        "pass_rate": values("pass_rate"),
    }


def _context(report: dict) -> dict:
    return {
        "report": report,
        "query": {"unit": report["unit"].code, "period": report["period"].key},
        "chart": _chart(report),
    }


@bp.route("/period-reports")
@login_required
@writes_database  # a period nobody looked at yet gets its snapshot computed once
def period_report():
    report = _report()
    today = clock.business_date(clock.utcnow(), current_app.config["TZINFO"])
    return render_template(
        "rankings/period_report.html", **_context(report), choices=period_reports.choices(today)
    )


@bp.route("/period-reports/print")
@login_required
@writes_database
def period_report_print():
    report = _report(limit=period_reports.PRINT_LIMIT)
    return render_template("rankings/period_report_print.html", **_context(report))


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _number(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


# Each compared indicator in the workbook: header, and how a value (or a change) is written.
XLSX_INDICATORS = (
    ("participation", "参与率%", _percent),
    ("person_times", "参与人次", lambda v: v),
    ("avg_score", "平均分", lambda v: _number(v, 1)),
    ("pass_rate", "及格率%", _percent),
    ("points_per_head", "人均积分", _number),
    ("composite", "综合指数", _percent),
)
SUMMARY_ROWS = (
    ("headcount", "应参加人数", lambda v: v),
    ("participants", "参与人数", lambda v: v),
    ("participation", "参与率%", _percent),
    ("person_times", "参与人次", lambda v: v),
    ("avg_score", "平均分", lambda v: _number(v, 1)),
    ("pass_rate", "及格率%", _percent),
    ("points_per_head", "人均积分", _number),
    ("stars_per_head", "人均日日学之星", _number),
)


def _units_sheet(report: dict) -> tuple[list[str], list[list]]:
    headers = ["名次", "上期名次", "名次变化", "单位", "编码", "人数", "参与人数"]
    for _, label, _ in XLSX_INDICATORS:
        headers += [label, f"{label}变化"]
    rows = []
    for row in report["rows"]:
        line = [
            row["ranks"]["composite"],
            row["previous_rank"],
            row["change"],
            row["name"],
            row["code"],
            row["headcount"],
            row["participants"],
        ]
        for key, _, write in XLSX_INDICATORS:
            line += [write(row[key]), write(row["deltas"][key])]
        rows.append(line)
    return headers, rows


def _summary_sheet(report: dict) -> list[list]:
    summary = report["summary"]
    current, previous = summary["current"] or {}, summary["previous"] or {}
    lines = []
    for key, label, write in SUMMARY_ROWS:
        now_value, before = current.get(key), previous.get(key)
        change = None if now_value is None or before is None else now_value - before
        lines.append([label, write(now_value), write(before), write(change)])
    for title, units in (("最好", report["best"]), ("最差", report["worst"])):
        for row in units:
            lines.append(
                [f"{title}：第{row['ranks']['composite']}名", row["name"], _percent(row["composite"]), None]
            )
    return lines


@bp.route("/period-reports.xlsx")
@login_required
@writes_database
def period_report_xlsx():
    report = _report(limit=None)
    headers, rows = _units_sheet(report)
    absent = [[p["unit_name"], p["unit_code"], p["name"], p["username"]] for p in report["absent"]["rows"]]
    data = exports.table_xlsx(
        "下级单位",
        headers,
        rows,
        sheets=[
            (
                "概况",
                ["指标", report["period"].label, report["previous_period"].label, "变化"],
                _summary_sheet(report),
            ),
            ("未参加人员", ["单位", "单位编码", "姓名", "登录名"], absent),
        ],
    )
    name = f"{report['unit'].name}-{report['title']}"
    return Response(
        data,
        mimetype=exports.XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.xlsx"},
    )
