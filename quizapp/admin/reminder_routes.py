"""Admin: 催办 — a unit's reminder channel, today's message, 一键催办 and the delivery log.

A unit admin works on their own unit or any unit below it (``org.visible_units``, from the server);
admins on any unit. Secrets typed into the form are stored encrypted and never sent back.
"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import ReminderChannel, Unit
from ..services import reminders
from ..services.reminders.channels import KIND_LABELS
from ..services.reminders.sending import STATUS_LABELS
from ..web import transaction
from . import bp
from .org_routes import _unit_in_scope
from .routes import managers_only


def _settings() -> reminders.ReminderSettings:
    return reminders.ReminderSettings.from_config(current_app.config)


@bp.route("/reminders")
@managers_only
def reminders_page():
    code = request.args.get("unit") or (current_user.unit.code if current_user.unit is not None else None)
    settings = _settings()
    if not code:  # an admin without a unit: choose one; the units that have a channel are listed
        configured = db.session.execute(
            select(Unit.code, Unit.name, ReminderChannel.kind)
            .join(ReminderChannel, ReminderChannel.unit_id == Unit.id)
            .order_by(Unit.path)
            .limit(200)
        ).all()
        return render_template(
            "admin/reminders.html", unit=None, configured=configured, kinds=KIND_LABELS, settings=settings
        )
    unit = _unit_in_scope(code)
    channel = reminders.channel_view(unit.id)
    preview = reminders.build_message(
        unit,
        now=clock.utcnow(),
        tz=settings.tz,
        name_people=channel["name_people"] if channel else True,
        round_hours=settings.round_hours,
        max_names=settings.max_names,
    )
    return render_template(
        "admin/reminders.html",
        unit=unit,
        channel=channel,
        preview=preview,
        deliveries=reminders.recent_deliveries(unit.id),
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        settings=settings,
    )


@bp.route("/reminders/<code>/channel", methods=["POST"])
@managers_only
def reminder_channel(code: str):
    unit = _unit_in_scope(code)
    data = reminders.ChannelInput(
        kind=request.form.get("kind", ""),
        webhook=request.form.get("webhook", ""),
        secret=request.form.get("secret", ""),
        clear_secret=request.form.get("clear_secret") == "1",
        recipients=request.form.get("recipients", ""),
        name_people=request.form.get("name_people", "1") == "1",
    )
    with transaction("已保存催办设置"):
        reminders.save_channel(unit.id, data, _settings(), actor_id=current_user.id)
    return redirect(url_for("admin.reminders_page", unit=unit.code))


@bp.route("/reminders/<code>/send", methods=["POST"])
@managers_only
def reminder_send(code: str):
    unit = _unit_in_scope(code)
    with transaction() as done:
        delivery = reminders.send_now(
            unit, actor_id=current_user.id, now=clock.utcnow(), settings=_settings()
        )
        status, people, excerpt = delivery.status, delivery.people, delivery.response_excerpt
    if done.ok:
        if status == "sent":
            flash(f"已发送催办（提醒 {people} 人次）", "success")
        else:
            flash(f"催办发送失败：{excerpt or '未知原因'}。系统会稍后自动重试。", "danger")
    return redirect(url_for("admin.reminders_page", unit=unit.code))
