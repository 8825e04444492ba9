"""The ``quizapp`` command: Flask's own commands (db, routes, shell) plus thin wrappers over services."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from . import clock, create_app, jobs
from .extensions import db
from .models import Attempt, Role, Round, Unit
from .services import accounts, bank_io, demo, org, points, rules
from .services import backup as backup_service
from .services import rounds as round_service
from .services.errors import DomainError, InvalidInput


def _fail(error: DomainError) -> None:
    db.session.rollback()
    if isinstance(error, InvalidInput):
        for problem in error.problems:
            click.echo(f"  ✗ {problem}", err=True)
    raise click.ClickException(error.message)


@click.group(
    cls=FlaskGroup, create_app=lambda: create_app(), add_version_option=False, help="人社练兵比武平台 quizapp"
)
def main() -> None:
    """The console script: Flask's commands plus the app's own (registered by ``init_app``)."""


def init_app(app) -> None:
    for command in (
        init_command,
        serve,
        scheduler_command,
        jobs_group,
        bank,
        org_group,
        user_group,
        points_group,
        round_group,
        backup_command,
        restore_command,
    ):
        app.cli.add_command(command)


# ---------------------------------------------------------------------------------------------
# serve


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
    admin_password = accounts.ensure_admin(os.environ.get("QUIZAPP_ADMIN_PASSWORD"))
    if admin_password:
        echo(f"已创建管理员  登录名: admin  密码: {admin_password}  （只显示这一次，请妥善保存）")
    if demo_org:
        if demo.demo_exists():
            echo("演示单位已存在（忘记密码可用 quizapp user set-password 重置）")
        else:
            password = os.environ.get("QUIZAPP_DEMO_PASSWORD") or accounts.random_password(10)
            logins = demo.create_demo_org(password)
            titles = demo.create_demo_rounds(now=clock.utcnow(), tz=current_app.config["TZINFO"])
            echo(f"已创建演示单位和 {len(logins)} 个演示账号，密码均为: {password}")
            echo(f"已创建演示练习比赛：{'、'.join(titles)}")
            for login in logins[:2] + [entry for entry in logins if entry.username == "staff01"]:
                echo(f"  {login.username:<16} {login.role:<6} {login.name}  {login.unit}")
            echo("  …其余账号见 quizapp user list")
    db.session.commit()


@click.command("init")
@click.option("--demo", "demo_org", is_flag=True, help="同时创建演示单位和演示账号")
@with_appcontext
def init_command(demo_org: bool) -> None:
    """Migrate, load the shipped banks and create the admin, without serving (run it once before
    starting gunicorn workers; it is idempotent)."""
    initialise(demo_org=demo_org)


def run_server(app, host: str, port: int) -> None:
    from waitress import serve

    click.echo(f"人社练兵比武平台已启动： http://{host}:{port}/  （Ctrl+C 停止）")
    serve(app, host=host, port=port, threads=8, ident="quizapp")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--demo", "demo_org", is_flag=True, help="同时创建演示单位和演示账号")
@click.option(
    "--scheduler/--no-scheduler",
    "with_scheduler",
    default=True,
    show_default=True,
    help="在本进程内运行定时任务（多进程部署时改用单独的 quizapp scheduler）",
)
@with_appcontext
def serve(host: str, port: int, demo_org: bool, with_scheduler: bool) -> None:
    """Initialise (first run) and serve with waitress, the scheduler running in the same process."""
    initialise(demo_org=demo_org)
    app = current_app._get_current_object()
    scheduler = jobs.build_scheduler(app, blocking=False) if with_scheduler else None
    if scheduler is not None:
        scheduler.start()
    try:
        run_server(app, host, port)
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


# ---------------------------------------------------------------------------------------------
# bank


@click.group()
def bank() -> None:
    """题库：校验、导入、导出、模板。"""


@bank.command("verify")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def bank_verify(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check bank files (default: the shipped bank) against their source texts."""
    bank_path = Path(current_app.config["BANK_PATH"])
    report = bank_io.verify_paths(list(paths) or [bank_path], bank_path)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{report['questions']} 题，{report['sources']} 个来源文件")
        click.echo("题型：" + "，".join(f"{k} {v}" for k, v in report["by_type"].items()))
        click.echo("类别：" + "，".join(f"{k} {v}" for k, v in report["by_category"].items()))
        for error in report["errors"]:
            click.echo(f"  ✗ {error['file']} {error['row']} [{error['field'] or ''}] {error['message']}")
        click.echo(f"{len(report['errors'])} 处错误" if report["errors"] else "校验通过")
    if report["errors"]:
        sys.exit(1)


@bank.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@with_appcontext
def bank_import(paths: tuple[Path, ...]) -> None:
    """Import YAML/JSON/.xlsx/CSV files (all or nothing; duplicates skipped)."""
    bank_path = Path(current_app.config["BANK_PATH"])
    try:
        summary = bank_io.import_batch(bank_io.read_for_import(list(paths), bank_path))
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(
        f"新增 {summary.added} 题，跳过重复 {summary.duplicates} 题"
        + (f"，新增来源文件 {summary.sources_added} 个" if summary.sources_added else "")
    )


@bank.command("export")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "yaml"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@with_appcontext
def bank_export(fmt: str, output: Path) -> None:
    """Export every current question."""
    rows = bank_io.current_versions()
    output.write_bytes(bank_io.export_xlsx(rows) if fmt == "xlsx" else bank_io.export_yaml(rows))
    click.echo(f"已导出 {len(rows)} 题到 {output}")


@bank.command("template")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@with_appcontext
def bank_template(output: Path) -> None:
    """Write the .xlsx import template."""
    output.write_bytes(bank_io.template_xlsx())
    click.echo(f"已生成导入模板 {output}")


# ---------------------------------------------------------------------------------------------
# org


@click.group("org")
def org_group() -> None:
    """单位与人员。"""


@org_group.command("create-unit")
@click.argument("code")
@click.argument("name")
@click.option("--parent", help="上级单位编码")
@with_appcontext
def org_create_unit(code: str, name: str, parent: str | None) -> None:
    try:
        unit = org.create_unit(code, name, parent)
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"已创建单位 {unit.code} {unit.name}（{unit.level_name}级）")


@org_group.command("import-staff")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--passwords-out", type=click.Path(path_type=Path), help="新账号初始密码写入此 .xlsx（不指定则打印）"
)
@with_appcontext
def org_import_staff(file: Path, passwords_out: Path | None) -> None:
    """Create or update staff from an .xlsx or .csv (columns: 登录名 姓名 单位编码 角色 手机 岗位 性别 出生年份 职级 状态)."""
    try:
        result = accounts.import_staff(file.read_bytes(), file_name=file.name)
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"新增 {result.created} 人，更新 {result.updated} 人，停用 {result.deactivated} 人")
    if result.initial_passwords:
        if passwords_out:
            passwords_out.write_bytes(accounts.passwords_xlsx(result.initial_passwords))
            click.echo(f"初始密码已写入 {passwords_out}（首次登录须修改）")
        else:
            click.echo("初始密码（只显示这一次，首次登录须修改）：")
            for username, name, password in result.initial_passwords:
                click.echo(f"  {username}\t{name}\t{password}")


# ---------------------------------------------------------------------------------------------
# user


@click.group("user")
def user_group() -> None:
    """账号管理。"""


@user_group.command("create")
@click.argument("username")
@click.option("--name", required=True, help="姓名")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.STAFF.value, show_default=True
)
@click.option("--unit", "unit_code", help="单位编码（学员和单位管理员必填）")
@click.option("--password", help="不指定则随机生成并打印")
@with_appcontext
def user_create(username: str, name: str, role: str, unit_code: str | None, password: str | None) -> None:
    generated = None if password else accounts.random_password()
    try:
        if password:
            accounts.check_password_rules(password, username, current_app.config["PASSWORD_MIN_LENGTH"])
        accounts.create_user(
            username,
            name,
            password or generated,
            role=Role(role),
            unit_code=unit_code,
            must_change_password=generated is not None,
        )
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"已创建 {username}" + (f"，初始密码 {generated}（首次登录须修改）" if generated else ""))


@user_group.command("list")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option("--unit", "unit_code", help="单位编码（含下属单位）")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def user_list(role: str | None, unit_code: str | None, as_json: bool) -> None:
    try:
        users = accounts.list_users(role=role, unit_code=unit_code)
    except DomainError as error:
        _fail(error)
    rows = [
        {
            "username": u.username,
            "name": u.name,
            "role": u.role.value,
            "unit": u.unit.code if u.unit else None,
            "active": u.active,
        }
        for u in users
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = "" if row["active"] else "  (停用)"
        click.echo(f"{row['username']:<20}{row['name']:<8}\t{row['role']:<11}{row['unit'] or '-'}{state}")
    click.echo(f"共 {len(rows)} 人")


@user_group.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--must-change/--no-must-change", default=False, show_default=True, help="下次登录时是否须修改")
@with_appcontext
def user_set_password(username: str, password: str, must_change: bool) -> None:
    try:
        accounts.reset_password(
            accounts.get_user(username),
            password,
            must_change=must_change,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
        )
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"已重置 {username} 的密码，其所有登录会话已失效")


@user_group.command("deactivate")
@click.argument("username")
@with_appcontext
def user_deactivate(username: str) -> None:
    try:
        accounts.deactivate(accounts.get_user(username))
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"已停用 {username}")


# ---------------------------------------------------------------------------------------------
# points


@click.group("points")
def points_group() -> None:
    """积分账本。"""


@points_group.command("recount")
@click.option("--user", "username", help="只核对这一个人（默认全部）")
@with_appcontext
def points_recount(username: str | None) -> None:
    """Recompute every learner's points from their answers and compare with the ledger."""
    try:
        users = [accounts.get_user(username)] if username else accounts.list_users()
    except DomainError as error:
        _fail(error)
    learning = rules.current()
    differences = 0
    for user in users:
        expected, recorded = points.recount(user.id, learning), points.ledger(user.id)
        for key in sorted(set(expected) | set(recorded)):
            if expected.get(key, 0) != recorded.get(key, 0):
                differences += 1
                day, rule = key
                click.echo(
                    f"  ✗ {user.username} {day} {rule}: 账本 {recorded.get(key, 0)}，应为 {expected.get(key, 0)}"
                )
    click.echo(
        f"核对 {len(users)} 人：" + (f"{differences} 处不一致" if differences else "积分账本与答题记录一致")
    )
    if differences:
        sys.exit(1)


# ---------------------------------------------------------------------------------------------
# rounds


@click.group("round")
def round_group() -> None:
    """周周练、月月比、专项考试。"""


def _round_json(round_) -> dict:
    return {
        "id": round_.id,
        "kind": str(round_.kind),
        "title": round_.title,
        "status": str(round_.status),
        "opens_at": round_.opens_at.isoformat(),
        "closes_at": round_.closes_at.isoformat(),
        "time_limit_minutes": round_.time_limit_seconds // 60,
        "attempts_allowed": round_.attempts_allowed,
        "pass_mark": round_.pass_mark,
        "show_answers": str(round_.show_answers),
        "grace_seconds": round_.grace_seconds,
        "questions": round_.question_count,
        "blueprint": round_.blueprint,
        "targets": [target.unit.code for target in round_.targets],
        "paper_drawn": round_.paper_drawn_at is not None,
    }


def _parse_local(value: str | None, tz):
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=tz)
    except ValueError:
        raise click.BadParameter(f"时间格式应为 2026-03-02T09:00，实际为 {value!r}") from None


@round_group.command("create")
@click.option("--kind", type=click.Choice(["weekly", "monthly", "exam"]), required=True)
@click.option("--title")
@click.option("--opens", help="开始时间（业务时区），如 2026-03-02T09:00；默认按类型")
@click.option("--closes", help="结束时间（业务时区）")
@click.option("--target", "targets", multiple=True, help="参加单位编码，可重复；默认全部顶级单位")
@click.option("--time-limit", type=int, help="答题时限（分钟）")
@click.option("--attempts", type=int, help="可作答次数")
@click.option("--pass-mark", type=float, help="及格线（百分制）")
@click.option("--show-answers", type=click.Choice(["after_attempt", "after_close"]))
@click.option("--blueprint", help='试卷结构 JSON，如 [{"type": "single", "count": 20}]')
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def round_create(
    kind, title, opens, closes, targets, time_limit, attempts, pass_mark, show_answers, blueprint, as_json
):
    """Create a round from the kind's defaults, overriding what is given."""
    tz = current_app.config["TZINFO"]
    codes = list(targets) or list(db.session.scalars(select(Unit.code).where(Unit.parent_id.is_(None))))
    try:
        rows = json.loads(blueprint) if blueprint else None
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"--blueprint 不是有效的 JSON：{error}") from None
    today = clock.business_date(clock.utcnow(), tz)
    settings = round_service.RoundSettings.from_defaults(kind, today, tz, codes).but(
        title=title,
        opens_at=_parse_local(opens, tz),
        closes_at=_parse_local(closes, tz),
        time_limit_minutes=time_limit,
        attempts_allowed=attempts,
        pass_mark=pass_mark,
        show_answers=show_answers,
        blueprint=rows,
    )
    try:
        round_ = round_service.create_round(settings, actor_id=None)
    except DomainError as error:
        _fail(error)
    notes = round_service.check_blueprint(round_.blueprint)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(_round_json(round_) | {"warnings": notes}, ensure_ascii=False, indent=2))
        return
    click.echo(f"已创建 #{round_.id} {round_.title}（{round_.kind.label}）")
    for note in notes:
        click.echo(f"  ! {note}", err=True)


@round_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def round_list(as_json: bool) -> None:
    rounds = db.session.scalars(select(Round).order_by(Round.opens_at.desc())).all()
    if as_json:
        click.echo(json.dumps([_round_json(r) for r in rounds], ensure_ascii=False, indent=2))
        return
    tz = current_app.config["TZINFO"]
    for r in rounds:
        click.echo(
            f"#{r.id:<5}{r.kind.label:<6}{r.status.label:<5} {r.opens_at.astimezone(tz):%m-%d %H:%M} — "
            f"{r.closes_at.astimezone(tz):%m-%d %H:%M}  {r.title}"
        )
    click.echo(f"共 {len(rounds)} 轮")


@round_group.command("show")
@click.argument("round_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def round_show(round_id: int, as_json: bool) -> None:
    try:
        round_ = round_service.get_round(round_id)
    except DomainError as error:
        _fail(error)
    data = _round_json(round_)
    data["attempts"] = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.round_id == round_id))
    data["participants"] = db.session.scalar(
        select(func.count(func.distinct(Attempt.user_id))).where(Attempt.round_id == round_id)
    )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:<20}{value}")


@round_group.command("close")
@click.argument("round_id", type=int)
@with_appcontext
def round_close(round_id: int) -> None:
    """Close a round whose time is up: auto-submit, grade, rank, official snapshot, bulletin, item
    analysis (the scheduler does the same on its own)."""
    try:
        outcome = round_service.close_round(round_id, now=clock.utcnow())
    except DomainError as error:
        _fail(error)
    db.session.commit()
    click.echo(
        "已结束：已评分排名，并生成正式排名、通报和试题分析"
        if outcome["closed"]
        else f"未结束：{outcome['reason']}"
    )


@round_group.command("repair")
@with_appcontext
def round_repair() -> None:
    """Give rounds closed before closing was one operation their missing official snapshot,
    bulletin and item analysis (run once after upgrading; running it again finds nothing)."""
    repaired = round_service.repair_closed_rounds(now=clock.utcnow())
    db.session.commit()
    click.echo(
        f"已补全 {len(repaired)} 轮：{'、'.join(f'#{i}' for i in repaired)}" if repaired else "无需补全"
    )


# ---------------------------------------------------------------------------------------------
# backup and restore


def _describe_backup(info) -> str:
    size = f"{info.size / 1024 / 1024:.1f} MB" if info.size >= 1024 * 1024 else f"{info.size / 1024:.0f} KB"
    return f"{info.path}（{'SQLite' if info.backend == 'sqlite' else 'PostgreSQL'}，{size}，数据库版本 {info.revision or '未标记'}）"


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def backup_command(output: Path) -> None:
    """Back up the whole database while the site keeps serving (SQLite online backup; pg_dump)."""
    try:
        info = backup_service.backup(output)
    except DomainError as error:
        _fail(error)
    click.echo(f"已备份到 {_describe_backup(info)}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不再询问，直接恢复")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the whole database with a backup made by `quizapp backup` (checked first; all or nothing)."""
    try:
        info = backup_service.inspect(file)
        if not yes:
            click.confirm(
                f"用 {_describe_backup(info)} 覆盖当前数据库？备份之后的所有改动都将丢失", abort=True
            )
        info = backup_service.restore(file)
    except DomainError as error:
        _fail(error)
    click.echo(f"已从 {_describe_backup(info)} 恢复")
    if info.needs_upgrade:
        click.echo(f"备份的数据库版本早于当前程序（{info.head}），请运行 quizapp db upgrade", err=True)
