"""`quizapp bank`: verify, import, export the question bank; the template."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..services import bank_io
from ..services.errors import DomainError
from .common import fail


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


@bank.command("stats")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@click.option(
    "--check/--no-check", default=None, help="超出题库质量上限时以非零状态退出（默认：检查随附题库时）"
)
@with_appcontext
def bank_stats(paths: tuple[Path, ...], as_json: bool, check: bool | None) -> None:
    """The bank's size and spread, and its quality checks (default: the shipped bank, held to its
    limits: exit 1 when one breaks)."""
    bank_path = Path(current_app.config["BANK_PATH"])
    stats = bank_io.bank_stats(list(paths) or [bank_path], bank_path)
    if as_json:
        click.echo(json.dumps(stats.as_dict(), ensure_ascii=False, indent=2))
    else:
        for name, value in stats.figures.items():
            shown = "，".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
            click.echo(f"{name}: {shown}")
        for name, where in stats.findings.items():
            click.echo(f"[{len(where):>3}] {name}" + (f"：{'；'.join(where[:3])}" if where else ""))
        click.echo("超出上限：" + "；".join(stats.breaches) if stats.breaches else "各项均在上限之内")
    if stats.breaches and (check if check is not None else not paths):
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
        fail(error)
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
