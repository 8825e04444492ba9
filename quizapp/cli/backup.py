"""`quizapp backup` and `quizapp restore`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..services import backup as backup_service
from ..services.errors import DomainError
from .common import fail


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
        fail(error)
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
        fail(error)
    click.echo(f"已从 {_describe_backup(info)} 恢复")
    if info.needs_upgrade:
        click.echo(f"备份的数据库版本早于当前程序（{info.head}），请运行 quizapp db upgrade", err=True)
