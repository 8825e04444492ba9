"""Admin: create, edit and watch rounds; preview the paper; extend a taker's time."""

from datetime import datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..extensions import db
from ..models import (
    Attempt,
    AttemptStatus,
    Category,
    ItemStat,
    PaperMode,
    QuestionVersion,
    Round,
    RoundStatus,
    Unit,
    User,
)
from ..services import analysis
from ..services import rounds as round_service
from ..web import transaction
from . import bp
from .forms import ExtendForm, RoundForm
from .marking_routes import marking_panel
from .routes import admins_only


def category_choices(form: RoundForm) -> None:
    names = db.session.scalars(select(Category.name).order_by(Category.sort)).all()
    for row in form.blueprint:
        row.category.choices = [SelectChoice("", "任意类别")] + [SelectChoice(n, n) for n in names]


def _local(moment: datetime) -> datetime:
    return moment.astimezone(current_app.config["TZINFO"]).replace(tzinfo=None)


def fill_blueprint(form, rows: list[dict]) -> None:
    while len(form.blueprint) < max(6, len(rows)):
        form.blueprint.append_entry()
    for row_form, row in zip(form.blueprint, rows + [{}] * len(form.blueprint), strict=False):
        row_form.qtype.data = row.get("type") or ""
        row_form.category.data = row.get("category") or ""
        row_form.difficulty.data = str(row.get("difficulty") or "")
        row_form.count.data = row.get("count")


def blueprint_rows(form) -> list[dict]:
    return [
        {
            "type": row.qtype.data or None,
            "category": row.category.data or None,
            "difficulty": row.difficulty.data or None,
            "count": row.count.data,
        }
        for row in form.blueprint
        if row.count.data
    ]


def target_codes(text: str) -> list[str]:
    return [code for code in text.replace(",", " ").replace("，", " ").split() if code]


def _fill(form: RoundForm, settings: round_service.RoundSettings) -> None:
    form.kind.data, form.title.data = settings.kind, settings.title
    form.opens_at.data, form.closes_at.data = _local(settings.opens_at), _local(settings.closes_at)
    form.targets.data = " ".join(settings.target_codes)
    form.time_limit_minutes.data, form.attempts_allowed.data = (
        settings.time_limit_minutes,
        settings.attempts_allowed,
    )
    form.pass_mark.data, form.show_answers.data = settings.pass_mark, settings.show_answers
    form.grace_seconds.data, form.paper_mode.data = settings.grace_seconds, settings.paper_mode
    fill_blueprint(form, settings.blueprint)


def _settings(form: RoundForm) -> round_service.RoundSettings:
    tz = current_app.config["TZINFO"]
    return round_service.RoundSettings(
        kind=form.kind.data,
        title=form.title.data,
        opens_at=form.opens_at.data.replace(tzinfo=tz),
        closes_at=form.closes_at.data.replace(tzinfo=tz),
        target_codes=target_codes(form.targets.data),
        time_limit_minutes=form.time_limit_minutes.data,
        attempts_allowed=form.attempts_allowed.data,
        pass_mark=form.pass_mark.data,
        show_answers=form.show_answers.data,
        grace_seconds=form.grace_seconds.data,
        blueprint=blueprint_rows(form),
        paper_mode=form.paper_mode.data,
    )


@bp.route("/rounds")
@admins_only
def rounds():
    counts = (
        select(
            Attempt.round_id,
            func.count(Attempt.id).label("started"),
            func.count(Attempt.submitted_at).label("finished"),
        )
        .group_by(Attempt.round_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Round, func.coalesce(counts.c.started, 0), func.coalesce(counts.c.finished, 0))
        .outerjoin(counts, counts.c.round_id == Round.id)
        .order_by(Round.opens_at.desc())
        .limit(200)
    ).all()
    now = clock.utcnow()
    groups = {state: [] for state in ROUND_STATES}
    for row in rows:
        groups[round_state(row[0], now)].append(row)
    return render_template("admin/rounds.html", groups=groups, states=ROUND_STATES, now=now)


# The admin's list in sections, running first. "Running" goes by the clock, as takers see it: a
# round whose opening time has come is open to them even before the sweep marks it open.
ROUND_STATES = {
    "open": "进行中",
    "ending": "待结束",
    "marking": "评阅中",
    "upcoming": "未开始",
    "closed": "已结束",
}


def round_state(round_: Round, now: datetime) -> str:
    if round_.status == RoundStatus.CLOSED:
        return "closed"
    if round_.status == RoundStatus.MARKING:
        return "marking"
    if now >= round_.closes_at:
        return "ending"
    return "open" if round_.opens_at <= now else "upcoming"


@bp.route("/rounds/new", methods=["GET", "POST"])
@admins_only
def round_new():
    form = RoundForm()
    category_choices(form)
    if request.method == "GET":
        kind = request.args.get("kind", "weekly")
        if kind not in current_app.config["ROUND_DEFAULTS"]:
            abort(404)
        root_codes = db.session.scalars(
            select(Unit.code).where(Unit.parent_id.is_(None)).order_by(Unit.code)
        ).all()
        today = clock.business_date(clock.utcnow(), current_app.config["TZINFO"])
        _fill(
            form,
            round_service.RoundSettings.from_defaults(
                kind, today, current_app.config["TZINFO"], list(root_codes)
            ),
        )
    elif form.validate_on_submit():
        with transaction() as done:
            round_ = round_service.create_round(_settings(form), actor_id=current_user.id)
            title, notes = round_.title, round_service.check_blueprint(round_.blueprint)
        if done.ok:
            flash(f"已创建“{title}”", "success")
            for note in notes:
                flash(f"注意：{note}，请补充题库或调整试卷结构", "warning")
            return redirect(url_for("admin.round_detail", round_id=round_.id))
    return render_template("admin/round_form.html", form=form, round=None)


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@admins_only
def round_edit(round_id: int):
    round_ = round_service.get_round(round_id)
    form = RoundForm()
    category_choices(form)
    if request.method == "GET":
        _fill(form, round_service.RoundSettings.from_round(round_))
    elif form.validate_on_submit():
        with transaction("已保存") as done:
            round_service.update_round(round_id, _settings(form), actor_id=current_user.id)
        if done.ok:
            return redirect(url_for("admin.round_detail", round_id=round_id))
    return render_template("admin/round_form.html", form=form, round=round_)


@bp.route("/rounds/<int:round_id>")
@admins_only
def round_detail(round_id: int):
    round_ = round_service.get_round(round_id)
    stats = db.session.execute(
        select(
            func.count(Attempt.id),
            func.count(Attempt.submitted_at),
            func.count(func.distinct(Attempt.user_id)),
        ).where(Attempt.round_id == round_id)
    ).one()
    recent = db.session.execute(
        select(Attempt, User.name, User.username, Unit.name)
        .join(User, User.id == Attempt.user_id)
        .join(Unit, Unit.id == Attempt.unit_id)
        .where(Attempt.round_id == round_id)
        .order_by((Attempt.status == AttemptStatus.IN_PROGRESS).desc(), Attempt.started_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/round_detail.html",
        round=round_,
        state_label=ROUND_STATES[round_state(round_, clock.utcnow())],
        paper=round_service.paper_rows(round_id),
        stats=stats,
        recent=recent,
        extend_form=ExtendForm(),
        now=clock.utcnow(),
        notes=round_service.check_blueprint(round_.blueprint, round_.kind, round_.paper_mode)
        if round_.paper_drawn_at is None
        else [],
        pools=round_service.pool_sizes(round_.blueprint, round_.kind)
        if round_.paper_mode == PaperMode.DRAWN
        else None,
        marking=marking_panel(round_),
    )


@bp.route("/rounds/<int:round_id>/paper", methods=["POST"])
@admins_only
def round_paper(round_id: int):
    with transaction("试卷已抽取"):
        round_service.draw_paper(
            round_id, now=clock.utcnow(), redraw=request.form.get("redraw") == "1", actor_id=current_user.id
        )
    return redirect(url_for("admin.round_detail", round_id=round_id) + "#paper")


@bp.route("/rounds/<int:round_id>/extend", methods=["POST"])
@admins_only
def round_extend(round_id: int):
    form = ExtendForm()
    if not form.validate_on_submit():
        flash("请填写登录名和 1–240 分钟", "danger")
        return redirect(url_for("admin.round_detail", round_id=round_id))
    with transaction(f"已为 {form.username.data} 延长 {form.minutes.data} 分钟"):
        round_service.extend_attempt(
            round_id, form.username.data, form.minutes.data, actor_id=current_user.id, now=clock.utcnow()
        )
    return redirect(url_for("admin.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@admins_only
def round_close(round_id: int):
    with transaction() as done:
        outcome = round_service.close_round(round_id, now=clock.utcnow(), actor_id=current_user.id)
    if done.ok:
        flash(
            "本轮已结束：已评分排名，并生成正式排名、通报和试题分析"
            if outcome["closed"]
            else f"暂不能结束：{outcome['reason']}",
            "success" if outcome["closed"] else "warning",
        )
    return redirect(url_for("admin.round_detail", round_id=round_id))


@bp.route("/rounds/<int:round_id>/analysis")
@admins_only
def round_analysis(round_id: int):
    round_ = round_service.get_round(round_id)
    rows = db.session.execute(
        select(ItemStat, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == ItemStat.question_version_id)
        .where(ItemStat.round_id == round_id)
        .order_by(ItemStat.position)
    ).all()
    return render_template("admin/round_analysis.html", round=round_, rows=rows, labels=analysis.FLAG_LABELS)
