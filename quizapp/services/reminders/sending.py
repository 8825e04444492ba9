"""Sending reminders: the daily sweep, 一键催办, retries with back-off, the delivery log.

The sweep (every few minutes; it acts from ``REMINDER_HOUR`` to ``REMINDER_UNTIL_HOUR`` of the
business day, so a scheduler that was down catches up when it returns) does, in order:

1. gives up on yesterday's failures (a reminder for a day that is over is no use);
2. tries again each failure whose ``next_try_at`` has come, after claiming it with a conditional
   UPDATE (two sweeps at once cannot both take it); the message is built afresh, so people who
   finished in between are no longer named, and nobody left behind ends it as ``skipped``;
3. sends each configured unit without a sweep delivery today: the delivery row is inserted first,
   in a savepoint, and the unique key (unit, sweep_day) makes a second insert fail — a second sweep,
   even at the same moment, skips the unit instead of sending again.

The claims are committed before anything is sent (``sweep`` returns them; the scheduler commits,
then calls ``Claimed.send``): no transaction is open while a robot takes its time, so on SQLite no
write lock is held across the network. A claim is ``pending`` with ``next_try_at`` = now +
CLAIM_MINUTES: if the process dies before the outcome is written, a later sweep takes it as a failure
due for another try (a robot may then get it twice; a reminder is never lost). Messages go out in
parallel threads that only talk to the network (each call with its short timeout), so one slow or
failing robot holds up neither the other units nor the sweep for long; each outcome is written to
its row: sent, or failed with ``next_try_at`` = now + base × 2^(attempts−1), or ``gave_up`` after
``max_attempts``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from ... import clock
from ...extensions import db
from ...models import ReminderChannel, ReminderDelivery, Unit
from .. import audit
from ..errors import DomainError
from .channels import KIND_LABELS, Notifier, Result, notifier_for
from .outstanding import Message, build_message
from .settings import ReminderSettings

SEND_THREADS = 8
CLAIM_MINUTES = 15  # a claim whose outcome was never written (a dead process) is retried after this
STATUS_LABELS = {
    "pending": "发送中",
    "sent": "已发送",
    "failed": "失败，待重试",
    "gave_up": "失败，已放弃",
    "skipped": "无需催办",
}


@dataclass
class _Job:
    delivery: ReminderDelivery
    notifier: Notifier | None
    message: Message
    problem: str | None = None  # the channel could not be used (a secret that no longer decrypts)
    result: Result | None = None


def _message(
    unit: Unit, channel: ReminderChannel | None, now: datetime, settings: ReminderSettings
) -> Message:
    return build_message(
        unit,
        now=now,
        tz=settings.tz,
        name_people=channel.name_people if channel is not None else True,
        round_hours=settings.round_hours,
        max_names=settings.max_names,
    )


def _prepare(delivery: ReminderDelivery, unit: Unit, channel, message: Message, settings) -> _Job:
    delivery.message, delivery.people = message.text, message.people
    delivery.channel = channel.kind if channel is not None else "log"
    try:
        return _Job(delivery, notifier_for(channel, unit.code, settings), message)
    except DomainError as error:
        return _Job(delivery, None, message, problem=error.message)


def _send(job: _Job) -> Result:
    if job.notifier is None:
        return Result(False, None, job.problem or "渠道不可用")
    try:
        return job.notifier.send(job.message.subject, job.message.text)
    except Exception as error:  # noqa: BLE001 - an adapter's bug fails this delivery, not the sweep
        return Result(False, None, f"发送出错：{type(error).__name__}")


def _record(delivery: ReminderDelivery, result: Result, now: datetime, settings: ReminderSettings) -> None:
    delivery.attempts += 1
    delivery.response_code, delivery.response_excerpt = result.code, (result.excerpt or "")[:500]
    if result.ok:
        delivery.status, delivery.sent_at, delivery.next_try_at = "sent", now, None
    elif delivery.attempts >= settings.max_attempts:
        delivery.status, delivery.next_try_at = "gave_up", None
    else:
        delivery.status = "failed"
        delivery.next_try_at = now + timedelta(
            minutes=settings.retry_base_minutes * 2 ** (delivery.attempts - 1)
        )


def _send_all(jobs: list[_Job], now: datetime, settings: ReminderSettings) -> None:
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=min(SEND_THREADS, len(jobs))) as pool:
        results = list(pool.map(_send, jobs))
    for job, result in zip(jobs, results, strict=True):
        job.result = result
        _record(job.delivery, result, now, settings)
    db.session.flush()


def _channels_by_unit(unit_ids) -> dict[int, ReminderChannel]:
    return {
        channel.unit_id: channel
        for channel in db.session.scalars(
            select(ReminderChannel).where(ReminderChannel.unit_id.in_(unit_ids))
        )
    }


_RETRYABLE = ("failed", "pending")  # pending past its claim: the process that claimed it died


def _retries(now: datetime, today, settings: ReminderSettings) -> tuple[list[_Job], int]:
    due = db.session.execute(
        select(ReminderDelivery.id, ReminderDelivery.attempts)
        .where(
            ReminderDelivery.status.in_(_RETRYABLE),
            ReminderDelivery.day == today,
            ReminderDelivery.next_try_at <= now,
        )
        .order_by(ReminderDelivery.next_try_at)
    ).all()
    jobs, skipped = [], 0
    for delivery_id, attempts in due:
        claimed = db.session.execute(
            update(ReminderDelivery)
            .where(
                ReminderDelivery.id == delivery_id,
                ReminderDelivery.status.in_(_RETRYABLE),
                ReminderDelivery.attempts == attempts,
                ReminderDelivery.next_try_at <= now,
            )
            .values(status="pending", next_try_at=now + timedelta(minutes=CLAIM_MINUTES))
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            continue
        delivery = db.session.get(ReminderDelivery, delivery_id)
        db.session.refresh(delivery)
        channel = _channels_by_unit([delivery.unit_id]).get(delivery.unit_id)
        message = _message(delivery.unit, channel, now, settings)
        if message.empty:
            delivery.status, delivery.next_try_at, delivery.people = "skipped", None, 0
            skipped += 1
            continue
        jobs.append(_prepare(delivery, delivery.unit, channel, message, settings))
    return jobs, skipped


@dataclass
class Claimed:
    """The sweep's claims, to be sent once they are committed (``send``: no transaction is open
    while it talks to the network; its outcomes are written in the next)."""

    jobs: list[_Job]
    now: datetime
    settings: ReminderSettings
    counts: dict

    def send(self) -> dict:
        """Sends the claimed messages and writes their outcomes; the run's counts."""
        _send_all(self.jobs, self.now, self.settings)
        sent = sum(1 for job in self.jobs if job.delivery.status == "sent")
        return {"reminders_sent": sent, "reminders_failed": len(self.jobs) - sent, **self.counts}


def sweep(now: datetime, settings: ReminderSettings) -> Claimed:
    """The reminders sweep's claims (see the module's docstring): commit them, then ``send``."""
    today = clock.business_date(now, settings.tz)
    gave_up = db.session.execute(
        update(ReminderDelivery)
        .where(
            ReminderDelivery.status.in_(_RETRYABLE),
            ReminderDelivery.day < today,
            or_(ReminderDelivery.next_try_at.is_(None), ReminderDelivery.next_try_at <= now),
        )
        .values(status="gave_up", next_try_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    jobs, skipped = _retries(now, today, settings)
    retried = len(jobs)
    hour = now.astimezone(settings.tz).hour
    if settings.hour <= hour < settings.until_hour:
        done_today = exists().where(
            ReminderDelivery.unit_id == ReminderChannel.unit_id, ReminderDelivery.sweep_day == today
        )
        due = db.session.execute(
            select(ReminderChannel, Unit)
            .join(Unit, Unit.id == ReminderChannel.unit_id)
            .where(Unit.active.is_(True), ~done_today)
            .order_by(Unit.path)
        ).all()
        for channel, unit in due:
            message = _message(unit, channel, now, settings)
            delivery = ReminderDelivery(
                unit_id=unit.id,
                day=today,
                sweep_day=today,
                kind="sweep",
                channel=channel.kind,
                created_at=now,
                next_try_at=now + timedelta(minutes=CLAIM_MINUTES),
            )
            try:
                with db.session.begin_nested():
                    db.session.add(delivery)
                    db.session.flush()  # the claim: a second sweep's insert fails on (unit, sweep_day)
            except IntegrityError:
                continue
            if message.empty:
                delivery.status, delivery.next_try_at, delivery.people = "skipped", None, 0
                skipped += 1
                continue
            jobs.append(_prepare(delivery, unit, channel, message, settings))
    db.session.flush()  # each claim with its message (``_prepare``), committed before the send
    counts = {"reminders_skipped": skipped}
    if retried:
        counts["reminders_retried"] = retried
    if gave_up:
        counts["reminders_given_up"] = gave_up
    return Claimed(jobs, now, settings, counts)


def _channel_of(unit_id: int) -> ReminderChannel:
    """The unit's channel, created as the log-only default if it has none (a concurrent creation
    wins and is used)."""
    channel = db.session.scalar(select(ReminderChannel).where(ReminderChannel.unit_id == unit_id))
    if channel is not None:
        return channel
    try:
        with db.session.begin_nested():
            channel = ReminderChannel(
                unit_id=unit_id, kind="log", name_people=True, updated_at=clock.utcnow()
            )
            db.session.add(channel)
            db.session.flush()
        return channel
    except IntegrityError:
        return db.session.scalar(select(ReminderChannel).where(ReminderChannel.unit_id == unit_id))


def send_now(
    unit: Unit, *, actor_id: int | None, now: datetime, settings: ReminderSettings
) -> ReminderDelivery:
    """一键催办: today's message for ``unit`` through its channel, now. At most once in
    ``cooldown_minutes`` per unit: the time is taken with a conditional UPDATE, so two clicks at
    once cannot both pass. Nobody behind: refused (nothing is sent). A failure is retried by the
    sweep, like the sweep's own."""
    channel = _channel_of(unit.id)
    message = _message(unit, channel, now, settings)
    if message.empty:
        raise DomainError("今日无需催办：日日学已全部完成，也没有即将截止而未参加的轮次")
    allowed_since = now - timedelta(minutes=settings.cooldown_minutes)
    taken = db.session.execute(
        update(ReminderChannel)
        .where(
            ReminderChannel.id == channel.id,
            or_(ReminderChannel.last_manual_at.is_(None), ReminderChannel.last_manual_at <= allowed_since),
        )
        .values(last_manual_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        db.session.refresh(channel)
        again = (channel.last_manual_at + timedelta(minutes=settings.cooldown_minutes)).astimezone(
            settings.tz
        )
        raise DomainError(f"一键催办每 {settings.cooldown_minutes} 分钟最多一次，请于 {again:%H:%M} 后再试")
    delivery = ReminderDelivery(
        unit_id=unit.id,
        day=clock.business_date(now, settings.tz),
        kind="manual",
        channel=channel.kind,
        created_at=now,
        requested_by_id=actor_id,
    )
    db.session.add(delivery)
    db.session.flush()
    job = _prepare(delivery, unit, channel, message, settings)
    _send_all([job], now, settings)
    audit.record(
        "reminder.send",
        "unit",
        unit.id,
        actor_id=actor_id,
        after={"status": delivery.status, "people": message.people},
    )
    return delivery


def channel_view(unit_id: int) -> dict | None:
    """What the page shows of a unit's channel: never a secret, only whether one is set."""
    channel = db.session.scalar(select(ReminderChannel).where(ReminderChannel.unit_id == unit_id))
    if channel is None:
        return None
    return {
        "kind": channel.kind,
        "kind_label": KIND_LABELS[channel.kind],
        "webhook_host": channel.webhook_host,
        "has_webhook": channel.webhook_encrypted is not None,
        "has_secret": channel.secret_encrypted is not None,
        "recipients": channel.recipients or "",
        "name_people": channel.name_people,
        "updated_at": channel.updated_at,
        "last_manual_at": channel.last_manual_at,
    }


def recent_deliveries(unit_id: int, limit: int = 30) -> list[ReminderDelivery]:
    return list(
        db.session.scalars(
            select(ReminderDelivery)
            .where(ReminderDelivery.unit_id == unit_id)
            .order_by(ReminderDelivery.created_at.desc(), ReminderDelivery.id.desc())
            .limit(limit)
        )
    )
