"""Backup and restore of the whole database, online (while the app serves and the scheduler runs).

SQLite: ``sqlite3.Connection.backup`` copies every page in one read transaction, so the copy is one
consistent moment even while other processes write (WAL lets them go on meanwhile). Restore copies a
backup back the same way, page by page inside one write transaction: running app processes keep
their connections and simply see the restored database on their next query.

PostgreSQL: ``pg_dump -Fc`` (a consistent snapshot, no lock on writers) and ``pg_restore --clean
--if-exists --single-transaction``: all or nothing, so a restore that fails midway changes nothing.

A restore first checks that the file is a quizapp backup for this kind of database (the format, the
app's core tables, a schema revision this code knows) and refuses anything else before touching the
database. The output file appears only once complete (written beside it, then renamed).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import make_url
from sqlalchemy.engine import URL

from .. import database
from ..extensions import db
from .errors import DomainError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_ARCHIVE_MAGIC = b"PGDMP"
# Tables every quizapp database has had since the first revision: a file without them is not ours.
CORE_TABLES = ("unit", "user", "question", "question_version")
# Where Debian/Ubuntu and the PostgreSQL packages put the client programs when they are not on PATH.
PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/libpq/bin")
PG_TIMEOUT_SECONDS = 3600


class BackupError(DomainError):
    """A backup or restore that cannot be done; nothing was changed."""

    code = "backup"


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    backend: str  # "sqlite" | "postgresql"
    size: int
    revision: str | None  # the Alembic revision inside the backup
    head: str | None  # the revision this code expects

    @property
    def needs_upgrade(self) -> bool:
        return self.revision is not None and self.revision != self.head


def backup(output: Path) -> BackupInfo:
    """Write a backup of the app's database to ``output`` (overwritten if it exists)."""
    output = Path(output)
    partial = output.with_name(f".{output.name}.partial")
    try:
        if _backend() == "sqlite":
            _sqlite_backup(partial)
        else:
            conninfo, env = _pg_connection()
            command = [_pg_program("pg_dump"), "--format=custom", "--no-owner", "--file", partial, conninfo]
            _run(command, env, failed="备份失败")
        info = inspect(partial)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(output, info.backend, output.stat().st_size, info.revision, info.head)


def inspect(path: Path) -> BackupInfo:
    """What a backup file holds; raises BackupError when it is not a quizapp backup for this database."""
    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(len(SQLITE_MAGIC))
    if magic.startswith(PG_ARCHIVE_MAGIC):
        kind = "postgresql"
    elif magic == SQLITE_MAGIC:
        kind = "sqlite"
    else:
        raise BackupError(f"{path.name} 不是 quizapp 的备份文件（既不是 SQLite 数据库，也不是 pg_dump 归档）")
    if kind != _backend():
        raise BackupError(
            f"{path.name} 是 {_label(kind)} 的备份，当前数据库是 {_label(_backend())}，不能恢复到这里"
        )
    tables, revision = _sqlite_contents(path) if kind == "sqlite" else _pg_contents(path)
    missing = [name for name in CORE_TABLES if name not in tables]
    if missing:
        raise BackupError(f"{path.name} 不是 quizapp 的备份：缺少数据表 {'、'.join(missing)}")
    script = ScriptDirectory(current_app.config["MIGRATIONS_PATH"])
    if revision is not None and revision not in {s.revision for s in script.walk_revisions()}:
        raise BackupError(
            f"{path.name} 来自更新或未知的程序版本（数据库版本 {revision}），请先升级程序再恢复"
        )
    return BackupInfo(path, kind, path.stat().st_size, revision, script.get_current_head())


def restore(path: Path) -> BackupInfo:
    """Replace the app's database with the backup at ``path``. Checked first; all or nothing."""
    info = inspect(path)
    db.session.remove()
    if info.backend == "sqlite":
        source = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        target = _sqlite_connect(_sqlite_path())
        try:
            source.backup(target)
        except sqlite3.Error as error:
            raise BackupError(f"恢复失败，数据库未改变：{error}") from error
        finally:
            source.close()
            target.close()
    else:
        conninfo, env = _pg_connection()
        pg_restore = _pg_program("pg_restore")
        command = [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "-d", conninfo]
        _run([*command, path], env, failed="恢复失败，数据库未改变")
    db.engine.dispose()  # this process's pooled connections knew the old database
    return info


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份")
    return Path(database)


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30)  # waits for a writer's turn like the app does
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


def _sqlite_backup(target_path: Path) -> None:
    target_path.unlink(missing_ok=True)
    source = _sqlite_connect(_sqlite_path())
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)  # all pages in one step: one consistent moment
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        source.close()
        target.close()


def _sqlite_contents(path: Path) -> tuple[set[str], str | None]:
    try:
        connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            check = connection.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"{path.name} 已损坏（{check}），不能恢复")
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            revision = None
            if "alembic_version" in tables:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path.name} 无法读取（{error}），不是完整的 quizapp 备份") from error
    return tables, revision


# --- PostgreSQL --------------------------------------------------------------------------------


def _pg_contents(path: Path) -> tuple[set[str], str | None]:
    pg_restore = _pg_program("pg_restore")
    listing = _capture(pg_restore, "--list", path, what=f"{path.name} 不是完整的 pg_dump 归档")
    tables = set(re.findall(r"^\d+; \d+ \d+ TABLE (?:\S+) (\S+) ", listing, flags=re.MULTILINE))
    revision = None
    if "alembic_version" in tables:
        data = _capture(
            pg_restore,
            "--data-only",
            "--table=alembic_version",
            "--file=-",
            path,
            what=f"{path.name} 无法读取",
        )
        match = re.search(r"^COPY \S*alembic_version .*? FROM stdin;\n(.+?)\n\\\.$", data, flags=re.M | re.S)
        revision = match.group(1).splitlines()[0].strip() if match else None
    return tables, revision


def _pg_program(name: str) -> str:
    """The PostgreSQL client program: on PATH, else where the packages install it (newest first)."""
    found = shutil.which(name)
    candidates = [found] if found else []
    for pattern in PG_BIN_GLOBS:
        candidates += sorted(glob.glob(f"{pattern}/{name}"), key=_version, reverse=True)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(
        f"找不到 PostgreSQL 客户端程序 {name}，请安装（Debian/Ubuntu: apt install postgresql-client）"
        f" / {name} not found: install the PostgreSQL client programs"
    )


def _version(path: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", path)]


def _pg_connection() -> tuple[str, dict]:
    """A libpq URL without the password, and an environment carrying it (so no process list shows it)."""
    url: URL = make_url(database.direct_url())  # pg_dump's session settings: never through PgBouncer
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list, env: dict, *, failed: str) -> None:
    result = subprocess.run(
        [str(part) for part in command], env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS
    )
    if result.returncode != 0:
        detail = " ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise BackupError(f"{failed}（{Path(command[0]).name}）：{detail}")


def _capture(program: str, *arguments, what: str) -> str:
    result = subprocess.run([program, *map(str, arguments)], capture_output=True, text=True)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        raise BackupError(f"{what}（{detail}）")
    return result.stdout


def _backend() -> str:
    name = db.engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"不支持备份 {name} 数据库")
    return name


def _label(backend: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
