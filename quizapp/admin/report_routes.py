"""Admin: 选拔 (the contestant list) and the big-screen links."""

from datetime import timedelta
from urllib.parse import quote

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..extensions import db
from ..models import ScreenLink
from ..services import dashboard, exports, selection
from ..web import transaction
from . import bp
from .forms import ScreenForm, SelectionForm
from .routes import admins_only, managers_only

SELECTION_HEADERS = [
    "名次",
    "姓名",
    "登录名",
    "单位",
    "岗位",
    "职级",
    "性别",
    "年龄",
    "手机",
    "平均分",
    "参加轮次",
    "积分",
]


@bp.route("/selection")
@managers_only
def selection_page():
    form = SelectionForm(request.args)
    form.age_band.choices = [SelectChoice("", "不限年龄")] + [SelectChoice(b, b) for b in selection.AGE_BANDS]
    tz = current_app.config["TZINFO"]
    today = clock.business_date(clock.utcnow(), tz)
    ends_on = form.ends_on.data or today
    starts_on = form.starts_on.data or (ends_on - timedelta(days=90))
    if starts_on > ends_on:
        flash("起始日期不能晚于截止日期", "danger")
        starts_on = ends_on
    criteria = selection.Criteria(
        starts_on=starts_on,
        ends_on=ends_on + timedelta(days=1),
        job_section=form.job_section.data or None,
        age_band=form.age_band.data or None,
        level=form.level.data or None,
        gender=form.gender.data or None,
        unit_code=form.unit.data or None,
        top=form.top.data or 20,
    )
    rows = selection.select_staff(current_user, criteria, tz=tz) if form.validate() else []
    if request.args.get("format") == "xlsx":
        data = exports.table_xlsx(
            "选拔名单",
            SELECTION_HEADERS,
            [
                [
                    r["rank"],
                    r["name"],
                    r["username"],
                    r["unit"],
                    r["job_section"],
                    r["level"],
                    r["gender"],
                    r["age"],
                    r["phone"],
                    r["avg_score"],
                    r["rounds"],
                    r["points"],
                ]
                for r in rows
            ],
        )
        name = quote(f"选拔名单-{starts_on}-{ends_on}")
        return Response(
            data,
            mimetype=exports.XLSX_MIMETYPE,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}.xlsx"},
        )
    return render_template("admin/selection.html", form=form, rows=rows, starts_on=starts_on, ends_on=ends_on)


@bp.route("/screens", methods=["GET", "POST"])
@admins_only
def screens():
    form = ScreenForm()
    if form.validate_on_submit():
        with transaction("已生成大屏链接") as done:
            dashboard.create_screen_link(form.unit.data, form.label.data, viewer=current_user)
        if done.ok:
            return redirect(url_for("admin.screens"))
    links = db.session.scalars(select(ScreenLink).order_by(ScreenLink.id.desc())).all()
    return render_template("admin/screens.html", form=form, links=links)


@bp.route("/screens/<int:link_id>/revoke", methods=["POST"])
@admins_only
def screen_revoke(link_id: int):
    with transaction("链接已停用"):
        dashboard.revoke_screen_link(link_id, actor_id=current_user.id, now=clock.utcnow())
    return redirect(url_for("admin.screens"))
