"""Serving: initialise, serve with waitress, the scheduler and its jobs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import clock, jobs
from ..extensions import db
from ..services import accounts, bank_io, demo


def initialise(*, demo_org: bool, echo=click.echo) -> None:
    """First-run (and every-run) set-up: migrate, load the shipped banks, admin, optional demo.

    Everything here is idempotent, so running ``serve`` again reuses what exists.
    """
    from flask_migrate import upgrade

    upgrade()
    bank_path = Path(current_app.config["BANK_PATH"])
    summary = bank_io.load_shipped_banks(bank_path)
    if summary.added:
        echo(f"已载入题库：新增 {summary.added} 题（来源文件 {summary.sources_added} 个）")
    admin_from_environment = os.environ.get("QUIZAPP_ADMIN_PASSWORD")
    admin_password = accounts.ensure_admin(admin_from_environment)
    if admin_password:
        echo(f"已创建管理员  登录名: admin  密码: {admin_password}  （只显示这一次，请妥善保存）")
    if demo_org:
        if demo.demo_exists():
            echo("演示单位已存在（忘记密码可用 quizapp user set-password 重置）")
            logins, demo_password = demo.demo_logins(), None
        else:
            demo_password = os.environ.get("QUIZAPP_DEMO_PASSWORD") or accounts.random_password(10)
            logins = demo.create_demo_org(demo_password)
            tz = current_app.config["TZINFO"]
            titles = demo.create_demo_rounds(now=clock.utcnow(), tz=tz)
            history = demo.create_demo_history(now=clock.utcnow(), tz=tz)
            echo(f"已创建演示单位和 {len(logins)} 个演示账号")
            echo(f"已创建演示练习比赛：{'、'.join(titles)}")
            echo(f"已生成过去 {demo.HISTORY_DAYS} 天的日日学记录（{history['sets']} 人次）和积分")
        echo("演示登录：")
        for line in demo.login_lines(
            logins,
            admin_password=_admin_password_source(admin_password, admin_from_environment),
            demo_password=_demo_password_source(demo_password),
        ):
            echo(f"  {line}")
    db.session.commit()


def _admin_password_source(generated: str | None, from_environment: str | None) -> str:
    if generated:
        return f"密码 {generated}（上面刚生成的，只显示这一次）"
    if from_environment:
        return "密码为创建时环境变量 QUIZAPP_ADMIN_PASSWORD 的值"
    return "密码为首次启动时显示的密码（忘记可用 quizapp user set-password admin 重置）"


def _demo_password_source(password: str | None) -> str:
    if password is None:
        return "密码为首次创建演示单位时显示的密码（忘记可用 quizapp user set-password 重置）"
    if os.environ.get("QUIZAPP_DEMO_PASSWORD"):
        return f"密码均为 {password}（环境变量 QUIZAPP_DEMO_PASSWORD 的值）"
    return f"密码均为 {password}（随机生成，只显示这一次）"


@click.command("init")
@click.option("--demo", "demo_org", is_flag=True, help="同时创建演示单位和演示账号")
@with_appcontext
def init_command(demo_org: bool) -> None:
    """Migrate, load the shipped banks and create the admin, without serving (run it once before
    starting gunicorn workers; it is idempotent)."""
    initialise(demo_org=demo_org)


# Each held event stream (a 现场比武 screen or phone) keeps one waitress thread: 8 teams × 4 phones,
# the big screen and the host console are 34, and the hall's page loads and buzzes need the rest.
# An idle thread costs little; a stream waiting for a change holds no database connection.
SERVER_THREADS = 48


def run_server(app, host: str, port: int, threads: int = SERVER_THREADS) -> None:
    from waitress import serve

    from ..serving import prepare_server_process

    prepare_server_process(app)
    click.echo(f"人社练兵比武平台已启动： http://{host}:{port}/  （Ctrl+C 停止）")
    serve(app, host=host, port=port, threads=threads, ident="quizapp")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--threads",
    default=SERVER_THREADS,
    show_default=True,
    type=click.IntRange(4, 500),
    help="服务线程数（现场比武的每块屏幕、每部手机各占一个）",
)
@click.option("--demo", "demo_org", is_flag=True, help="同时创建演示单位和演示账号")
@click.option(
    "--scheduler/--no-scheduler",
    "with_scheduler",
    default=True,
    show_default=True,
    help="在本进程内运行定时任务（多进程部署时改用单独的 quizapp scheduler）",
)
@with_appcontext
def serve(host: str, port: int, threads: int, demo_org: bool, with_scheduler: bool) -> None:
    """Initialise (first run) and serve with waitress, the scheduler running in the same process."""
    initialise(demo_org=demo_org)
    app = current_app._get_current_object()
    scheduler = jobs.build_scheduler(app, blocking=False) if with_scheduler else None
    if scheduler is not None:
        scheduler.start()
    try:
        run_server(app, host, port, threads)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)  # let a running sweep finish its transaction
            scheduler.leadership.release()


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler alone (one such process per deployment; a second one waits as a standby)."""
    app = current_app._get_current_object()
    scheduler = jobs.build_scheduler(app, blocking=True)
    click.echo(f"定时任务已启动（{scheduler.leadership.holder}），Ctrl+C 停止")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        scheduler.leadership.release()


@click.group("jobs")
def jobs_group() -> None:
    """定时任务：查看与立即运行。"""


@jobs_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def jobs_list(as_json: bool) -> None:
    listing = jobs.next_runs(current_app._get_current_object())
    if as_json:
        click.echo(json.dumps(listing, ensure_ascii=False, indent=2))
        return
    for job in listing:
        click.echo(
            f"{job['job']:<18} 每 {job['every_seconds']:>4} 秒  下次 {job['next_run'][:19]}  "
            f"上次 {(job['last_run'] or '—')[:19]} {job['last_outcome'] or ''}  {job['label']}"
        )


@jobs_group.command("run")
@click.argument("name", type=click.Choice(list(jobs.SWEEPS)))
@with_appcontext
def jobs_run(name: str) -> None:
    """Run one sweep now (the admin's "do it now"); it is safe beside a running scheduler."""
    run = jobs.run_sweep(current_app._get_current_object(), name)
    click.echo(f"{name}: {run.outcome} {json.dumps(run.counts, ensure_ascii=False) if run.counts else ''}")
    if run.outcome != "ok":
        click.echo(run.error, err=True)
        sys.exit(1)
