"""`quizapp org` and `quizapp user`: units, staff import, accounts."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..models import Role
from ..services import accounts, org
from ..services.errors import DomainError
from .common import fail


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
        fail(error)
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
        fail(error)
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
        fail(error)
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
        fail(error)
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
        fail(error)
    db.session.commit()
    click.echo(f"已重置 {username} 的密码，其所有登录会话已失效")


@user_group.command("deactivate")
@click.argument("username")
@with_appcontext
def user_deactivate(username: str) -> None:
    try:
        accounts.deactivate(accounts.get_user(username))
    except DomainError as error:
        fail(error)
    db.session.commit()
    click.echo(f"已停用 {username}")
