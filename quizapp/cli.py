"""The ``quizapp`` command: Flask's own commands (db, routes, shell) plus thin wrappers over services."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from . import create_app
from .extensions import db
from .models import Role
from .services import accounts, bank_io, demo, org, points, rules
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
    for command in (serve, bank, org_group, user_group, points_group):
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
            echo(f"已创建演示单位和 {len(logins)} 个演示账号，密码均为: {password}")
            for login in logins[:2] + [entry for entry in logins if entry.username == "staff01"]:
                echo(f"  {login.username:<16} {login.role:<6} {login.name}  {login.unit}")
            echo("  …其余账号见 quizapp user list")
    db.session.commit()


def run_server(app, host: str, port: int) -> None:
    from waitress import serve

    click.echo(f"人社练兵比武平台已启动： http://{host}:{port}/  （Ctrl+C 停止）")
    serve(app, host=host, port=port, threads=8, ident="quizapp")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--demo", "demo_org", is_flag=True, help="同时创建演示单位和演示账号")
@with_appcontext
def serve(host: str, port: int, demo_org: bool) -> None:
    """Initialise (first run) and serve with waitress."""
    initialise(demo_org=demo_org)
    run_server(current_app._get_current_object(), host, port)


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
    """Create or update staff from an .xlsx (columns: 登录名 姓名 单位编码 角色 手机 岗位 性别 出生年份 职级 状态)."""
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
                click.echo(f"  ✗ {user.username} {day} {rule}: 账本 {recorded.get(key, 0)}，应为 {expected.get(key, 0)}")
    click.echo(f"核对 {len(users)} 人：" + (f"{differences} 处不一致" if differences else "积分账本与答题记录一致"))
    if differences:
        sys.exit(1)
