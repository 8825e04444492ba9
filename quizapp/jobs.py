"""The scheduler: the sweeps of DESIGN §3 as thin wrappers over ``services.sweeps`` (and round planning), one leader at a
time, every run logged.

``quizapp serve`` runs it in a background thread; ``quizapp scheduler`` runs it alone (the
multi-process deployment). ``create_app`` never starts it, so tests and gunicorn workers don't.

One leader: on PostgreSQL a session-level advisory lock held on a dedicated connection (released
by the server the moment the process dies); on SQLite a lease row renewed on every run and taken
over once it has expired. A process that is not the leader skips its runs. Every sweep is also safe
to run twice or concurrently, so a hand-over at an unlucky moment cannot do work twice.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask, current_app, has_app_context
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from . import clock, database
from .extensions import db
from .models import JobRun, SchedulerLease
from .services import rounds, sweeps

log = logging.getLogger("quizapp.jobs")
ADVISORY_LOCK_KEY = 0x5149_5A41  # "QIZA"
LEASE_SECONDS = 60


@dataclass(frozen=True)
class Sweep:
    function: object
    every_seconds: int
    misfire_grace_seconds: int
    label: str


SWEEPS: dict[str, Sweep] = {
    "open_rounds": Sweep(sweeps.open_due_rounds, 60, 55, "开放到期的轮次（抽取试卷）"),
    "finish_overdue": Sweep(sweeps.finish_overdue_attempts, 60, 55, "自动提交超时答卷"),
    "close_rounds": Sweep(sweeps.close_due_rounds, 60, 55, "结束到期轮次：评分、排名、快照、通报"),
    "finish_battles": Sweep(sweeps.finish_battles, 60, 55, "结束无人在看的对战"),
    "refresh_rankings": Sweep(sweeps.refresh_rankings, 300, 290, "刷新实时排名"),
    "roll_day": Sweep(sweeps.roll_days, 600, 590, "日终结转：日日学参与情况"),
    "plan_rounds": Sweep(rounds.plan_rounds, 3600, 3500, "按模板创建下期周周练、月月比"),
    "monthly_bulletin": Sweep(sweeps.build_due_bulletins, 3600, 3500, "生成月通报"),
    "period_reports": Sweep(sweeps.build_due_reports, 3600, 3500, "生成季度汇报、半年总结"),
    "housekeeping": Sweep(sweeps.housekeeping, 3600, 3500, "清理过期的导入预览和登录会话"),
    "reminders": Sweep(sweeps.send_reminders, 300, 290, "催办：提醒未完成日日学或即将截止轮次的人员"),
}

# A run's counts in words, for the admin's run log: {"closed": 0, "waiting": 0} → 关闭 0 轮，等待 0 轮.
COUNT_WORDS = {
    "opened": "开放 {} 轮",
    "auto_submitted": "自动提交 {} 份答卷",
    "closed": "关闭 {} 轮",
    "waiting": "等待 {} 轮",
    "snapshots": "刷新 {} 份排名",
    "rolled": "结转 {} 天",
    "created": "创建 {} 轮",
    "built": "生成 {} 份月通报",
    "reports_built": "生成 {} 份季度汇报/半年总结",
    "reports_waiting": "{} 份待轮次结束后生成",
    "previews_removed": "清理导入预览 {} 份",
    "sessions_removed": "清理登录会话 {} 个",
    "battles_finished": "结束对战 {} 场",
    "reminders_sent": "发送催办 {} 条",
    "reminders_failed": "催办失败 {} 条",
    "reminders_skipped": "无需催办 {} 个单位",
    "reminders_retried": "重试催办 {} 条",
    "reminders_given_up": "放弃催办 {} 条",
}
OUTCOME_WORDS = {"ok": "正常", "error": "出错", "running": "运行中"}


def job_label(name: str) -> str:
    """The job's name in Chinese (a job since removed keeps its code name)."""
    return SWEEPS[name].label if name in SWEEPS else name


def describe_counts(counts: dict | None) -> str:
    """What a run did, in words: "关闭 1 轮，等待 0 轮"; problems follow after a full stop."""
    if not counts:
        return ""
    said = [
        COUNT_WORDS[key].format(value) if key in COUNT_WORDS else f"{key} {value}"
        for key, value in counts.items()
        if key != "problems"
    ]
    text = "，".join(said)
    if counts.get("problems"):
        text += "。问题：" + "；".join(str(problem) for problem in counts["problems"])
    return text


class Leadership:
    """Whether this process is the scheduler that acts. Asked before every run."""

    def __init__(self, app: Flask, holder: str | None = None, lease_seconds: int = LEASE_SECONDS):
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_seconds = lease_seconds
        self._connection = None  # PostgreSQL: the connection holding the advisory lock

    def is_leader(self, now: datetime) -> bool:
        with _context(self.app):
            if db.engine.dialect.name == "postgresql":
                # on the primary itself: through PgBouncer's transaction pooling the lock's session
                # would go back to the pool, and whoever got it next would hold the lock too
                return self._advisory(database.direct_engine())
            return self._lease(now)

    def _advisory(self, engine) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except DBAPIError:  # the connection (and with it the lock) is gone: try again from scratch
                self._connection.invalidate()
                self._connection = None
        connection = engine.connect()
        got = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        ).scalar()
        connection.commit()  # the lock is session-level: it outlives this transaction
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def _lease(self, now: datetime) -> bool:
        try:
            lease = db.session.get(SchedulerLease, "scheduler")
            if lease is None:
                db.session.add(
                    SchedulerLease(
                        name="scheduler",
                        holder=self.holder,
                        acquired_at=now,
                        expires_at=now + timedelta(seconds=self.lease_seconds),
                    )
                )
            elif lease.holder == self.holder or lease.expires_at <= now:
                if lease.holder != self.holder:
                    log.warning("taking over the scheduler lease from %s", lease.holder)
                    lease.acquired_at = now
                lease.holder = self.holder
                lease.expires_at = now + timedelta(seconds=self.lease_seconds)
            else:
                db.session.rollback()
                return False
            db.session.commit()
            return True
        except IntegrityError:
            db.session.rollback()
            return False

    def release(self) -> None:
        if self._connection is not None:
            self._connection.close()  # closing the session releases the advisory lock
            self._connection = None
            return
        with _context(self.app):
            lease = db.session.get(SchedulerLease, "scheduler")
            if lease is not None and lease.holder == self.holder:
                db.session.delete(lease)
                db.session.commit()


def _context(app: Flask):
    """The app's context: the current one when called inside it (a CLI command, an admin's request,
    whose session must not be locked out by a second one), else a fresh one (a scheduler thread)."""
    if has_app_context() and current_app._get_current_object() is app:
        return nullcontext()
    return app.app_context()


def run_sweep(app: Flask, name: str, leadership: Leadership | None = None) -> JobRun | None:
    """Run one sweep in its own transaction and log it. Never raises: a failing sweep is logged
    with its error and the others go on. Returns None when this process is not the leader."""
    sweep = SWEEPS[name]
    now = clock.utcnow()
    if leadership is not None and not leadership.is_leader(now):
        return None
    with _context(app):
        run = JobRun(
            job=name, started_at=now, outcome="running", host=leadership.holder if leadership else "manual"
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        try:
            counts = sweep.function(now)
            db.session.commit()
            if isinstance(counts, sweeps.Then):  # its second step, after the first one's commit
                counts = counts.step()
                db.session.commit()
            outcome, error = "ok", None
        except Exception:  # noqa: BLE001 - logged, then the scheduler goes on with the next sweep
            db.session.rollback()
            counts, outcome, error = None, "error", traceback.format_exc(limit=8)
            log.exception("sweep %s failed", name)
        run = db.session.get(JobRun, run_id)
        run.finished_at, run.outcome, run.counts, run.error = clock.utcnow(), outcome, counts, error
        db.session.commit()
        db.session.refresh(run)
        db.session.expunge(run)
        return run


def build_scheduler(app: Flask, *, blocking: bool, leadership: Leadership | None = None):
    """The APScheduler with every sweep: fixed ids, coalesced, a misfire grace that fits each, and a
    first run right at start so a scheduler that was down catches up at once."""
    leadership = leadership or Leadership(app)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        timezone=app.config["TZINFO"], job_defaults={"coalesce": True, "max_instances": 1}
    )
    start = datetime.now(app.config["TZINFO"])
    for offset, (name, sweep) in enumerate(SWEEPS.items()):
        scheduler.add_job(
            run_sweep,
            IntervalTrigger(seconds=sweep.every_seconds, timezone=app.config["TZINFO"]),
            args=[app, name, leadership],
            id=name,
            name=sweep.label,
            misfire_grace_time=sweep.misfire_grace_seconds,
            next_run_time=start + timedelta(seconds=offset),
        )
    scheduler.leadership = leadership
    return scheduler


def next_runs(app: Flask) -> list[dict]:
    """Each job with its schedule, its next run time and its last run (for `quizapp jobs list`)."""
    now = datetime.now(app.config["TZINFO"])
    with app.app_context():
        last = {
            run.job: run
            for run in db.session.scalars(
                select(JobRun).where(JobRun.id.in_(select(db.func.max(JobRun.id)).group_by(JobRun.job)))
            )
        }
        listing = []
        for name, sweep in SWEEPS.items():
            trigger = IntervalTrigger(
                seconds=sweep.every_seconds,
                timezone=app.config["TZINFO"],
                start_date=last[name].started_at if name in last else now,
            )
            listing.append(
                {
                    "job": name,
                    "label": sweep.label,
                    "every_seconds": sweep.every_seconds,
                    "next_run": trigger.get_next_fire_time(None, now).isoformat(),
                    "last_run": last[name].started_at.isoformat() if name in last else None,
                    "last_outcome": last[name].outcome if name in last else None,
                }
            )
        return listing
