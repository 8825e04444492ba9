"""`quizapp backup` and `quizapp restore`: a round trip during an open round under a live server, an
online SQLite backup during an autosave burst, and refusals that change nothing."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import AttemptAnswer
from quizapp.services import backup, rounds

from .conftest import PASSWORD, ROOT
from .live import Browser, Gunicorn
from .test_rounds import settings

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SUITE = "backup and restore"


@pytest.fixture
def open_round(app, province, mixed_bank):
    """A weekly round open now, in real time (the live server keeps its own clock)."""
    now = datetime.now(UTC)
    with app.app_context():
        round_id = rounds.create_round(
            settings("weekly", opens=now - timedelta(hours=1), closes=now + timedelta(days=1)), actor_id=None
        ).id
        db.session.commit()
    return round_id


def database_state(app) -> dict[str, list[tuple]]:
    """Every row of every table, in primary key order."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            state[table.name] = [tuple(row) for row in rows]
        db.session.rollback()
        return state


def answer_for(question: dict, variant: int = 0):
    return {
        "single": "ABCD"[variant % 4],
        "judge": ["true", "false"][variant % 2],
        "multiple": [["A", "B"], ["C", "D"]][variant % 2],
        "fill": [f"答案{variant}"] * question["blanks"],
    }[question["type"]]


def backup_file(runner, path) -> str:
    result = runner.invoke(args=["backup", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip_during_an_open_round_under_a_live_server(
    app, app_config, runner, open_round, tmp_path, figures, backend
):
    assert runner.invoke(args=["db", "stamp", "head"]).exit_code == 0  # as `quizapp db upgrade` leaves it
    with Gunicorn(app_config["SQLALCHEMY_DATABASE_URI"], tmp_path) as server:
        amy, bob = Browser(server.base), Browser(server.base)
        amy.sign_in("amy", PASSWORD)
        bob.sign_in("bob", PASSWORD)
        attempt = amy.json("POST", f"/api/v1/rounds/{open_round}/attempts", expect=201)
        questions = attempt["questions"]
        saved = {}
        for question in questions[:5]:
            saved[str(question["id"])] = answer_for(question)
            amy.json(
                "PUT",
                f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}",
                {"answer": saved[str(question["id"])]},
            )

        output = backup_file(runner, tmp_path / "site.backup")
        head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
        assert "已备份到" in output and f"数据库版本 {head}" in output
        at_backup = database_state(app)

        # Life goes on after the backup: amy changes and adds answers and hands in; bob takes part.
        for n, question in enumerate(questions[3:8]):
            path = f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}"
            amy.json("PUT", path, {"answer": answer_for(question, n + 1)})
        amy.json("POST", f"/api/v1/attempts/{attempt['id']}/submit")
        later = bob.json("POST", f"/api/v1/rounds/{open_round}/attempts", expect=201)
        first = later["questions"][0]
        bob.json(
            "PUT", f"/api/v1/attempts/{later['id']}/answers/{first['id']}", {"answer": answer_for(first)}
        )
        assert database_state(app) != at_backup

        result = runner.invoke(args=["restore", str(tmp_path / "site.backup"), "--yes"])
        assert result.exit_code == 0 and "已从" in result.output, result.output
        restored = database_state(app)
        assert restored == at_backup
        figures.count(SUITE, "round trips (state equal)", 1)
        figures.count(SUITE, "rows compared", sum(len(rows) for rows in restored.values()))

        # The running server serves the restored state at once: amy's attempt is open again with
        # the answers of the backup moment, bob's later attempt never happened, and both go on.
        resumed = amy.json("GET", f"/api/v1/attempts/{attempt['id']}")
        assert resumed["status"] == "in_progress"
        assert {qid: a["answer"] for qid, a in resumed["answers"].items()} == saved
        assert bob.request("GET", f"/api/v1/attempts/{later['id']}")[0] == 404
        again = bob.json("POST", f"/api/v1/rounds/{open_round}/attempts", expect=201)
        first = again["questions"][0]
        bob.json(
            "PUT", f"/api/v1/attempts/{again['id']}/answers/{first['id']}", {"answer": answer_for(first)}
        )
        path = f"/api/v1/attempts/{attempt['id']}/answers/{questions[9]['id']}"
        amy.json("PUT", path, {"answer": answer_for(questions[9])})
        assert amy.json("POST", f"/api/v1/attempts/{attempt['id']}/submit")["status"] == "submitted"


def test_sqlite_backups_during_an_autosave_burst_are_each_one_consistent_moment(
    login_as, app, runner, open_round, tmp_path, figures
):
    """The online backup does not stop the writers, and what it copies is one moment: an answer's
    revision in a backup lies between the saves acknowledged before it began and those sent by its end."""
    client = login_as("amy")
    attempt = client.post(f"/api/v1/rounds/{open_round}/attempts").get_json()
    questions = [q for q in attempt["questions"] if q["type"] in ("single", "judge")]
    acknowledged = {q["id"]: 0 for q in questions}
    sent = dict(acknowledged)
    stop, lock = threading.Event(), threading.Lock()

    def autosave():
        n = 0
        while not stop.is_set():
            question = questions[n % len(questions)]
            with lock:
                sent[question["id"]] += 1
            path = f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}"
            response = client.put(path, json={"answer": answer_for(question, n)})
            assert response.status_code == 200
            with lock:
                acknowledged[question["id"]] += 1
            n += 1

    writer = threading.Thread(target=autosave)
    writer.start()
    backups = []
    try:
        for n in range(5):
            with lock:
                before = dict(acknowledged)
            path = tmp_path / f"burst-{n}.backup"
            with app.app_context():
                backup.backup(path)
            with lock:
                after = dict(sent)
            backups.append((path, before, after))
            time.sleep(0.1)
    finally:
        stop.set()
        writer.join()
    for path, before, after in backups:
        connection = sqlite3.connect(path)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        revisions = dict(
            connection.execute(
                "SELECT question_id, revision FROM attempt_answer WHERE attempt_id = ?", (attempt["id"],)
            ).fetchall()
        )
        connection.close()
        for question_id in acknowledged:
            assert before[question_id] <= revisions.get(question_id, 0) <= after[question_id]
    assert sum(acknowledged.values()) > sum(backups[0][2].values())  # saves went on during the backups
    with app.app_context():
        final = dict(db.session.execute(select(AttemptAnswer.question_id, AttemptAnswer.revision)).all())
    assert final == {qid: count for qid, count in acknowledged.items() if count}
    figures.count(SUITE, "online backups checked", len(backups))
    figures.count(SUITE, "saves during backups", sum(acknowledged.values()))


def _not_a_backup(tmp_path, good, backend) -> dict[str, tuple]:
    """Files `restore` must refuse, with the words it must say."""
    text = tmp_path / "notes.txt"
    text.write_text("这不是备份\n")
    empty = tmp_path / "empty.backup"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases = {
        "text": (text, "不是 quizapp 的备份文件"),
        "empty": (empty, "不是 quizapp 的备份文件"),
        "truncated": (truncated, "不是完整的 pg_dump 归档" if backend == "postgresql" else "无法读取"),
    }
    other = tmp_path / "other.sqlite3"
    connection = sqlite3.connect(other)
    connection.execute("CREATE TABLE notes (body TEXT)")
    connection.commit()
    connection.close()
    if backend == "sqlite":
        cases["another app's SQLite"] = (other, "缺少数据表 unit、user、question、question_version")
        future = tmp_path / "future.backup"
        shutil.copy(good, future)
        connection = sqlite3.connect(future)
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        connection.commit()
        connection.close()
        cases["newer program"] = (future, "来自更新或未知的程序版本")
        pg_archive = tmp_path / "pg.backup"
        pg_archive.write_bytes(b"PGDMP" + bytes(200))
        cases["PostgreSQL archive"] = (pg_archive, "是 PostgreSQL 的备份，当前数据库是 SQLite")
    else:
        cases["SQLite file"] = (other, "是 SQLite 的备份，当前数据库是 PostgreSQL")
    return cases


@pytest.mark.parametrize("backend", BACKENDS)
def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(
    login_as, app, runner, open_round, tmp_path, figures, backend
):
    assert runner.invoke(args=["db", "stamp", "head"]).exit_code == 0
    good = tmp_path / "good.backup"
    backup_file(runner, good)
    client = login_as("amy")
    client.post(f"/api/v1/rounds/{open_round}/attempts")  # a change after the backup, to be kept
    before = database_state(app)
    for name, (path, message) in _not_a_backup(tmp_path, good, backend).items():
        result = runner.invoke(args=["restore", str(path), "--yes"])
        assert result.exit_code == 1 and message in result.output, (name, result.output)
        assert database_state(app) == before, name
        figures.count(SUITE, "bad files refused", 1)
    declined = runner.invoke(args=["restore", str(good)], input="n\n")  # asked first, and declined
    assert declined.exit_code == 1 and "覆盖当前数据库" in declined.output
    assert database_state(app) == before


def test_restoring_an_older_backup_says_to_upgrade(app, runner, tmp_path):
    assert runner.invoke(args=["db", "stamp", "0006_error_reports"]).exit_code == 0
    backup_file(runner, tmp_path / "old.backup")
    result = runner.invoke(args=["restore", str(tmp_path / "old.backup"), "--yes"])
    assert result.exit_code == 0 and "请运行 quizapp db upgrade" in result.output


@pytest.mark.postgres
def test_a_postgresql_restore_that_fails_midway_changes_nothing(login_as, app, runner, open_round, tmp_path):
    assert runner.invoke(args=["db", "stamp", "head"]).exit_code == 0
    good = tmp_path / "good.backup"
    backup_file(runner, good)
    client = login_as("amy")
    client.post(f"/api/v1/rounds/{open_round}/attempts")
    before = database_state(app)
    damaged = tmp_path / "damaged.backup"
    data = bytearray(good.read_bytes())
    data[-40:-24] = b"\xff" * 16  # the last table's compressed data: found bad only while restoring
    damaged.write_bytes(bytes(data))
    result = runner.invoke(args=["restore", str(damaged), "--yes"])
    assert result.exit_code == 1 and "恢复失败，数据库未改变" in result.output, result.output
    assert database_state(app) == before


@pytest.mark.postgres
def test_backup_without_the_postgresql_client_programs_says_what_to_install(
    app, runner, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backup, "PG_BIN_GLOBS", ())
    result = runner.invoke(args=["backup", "-o", str(tmp_path / "x.backup")])
    assert result.exit_code == 1
    assert "找不到 PostgreSQL 客户端程序 pg_dump" in result.output and "postgresql-client" in result.output
    assert not (tmp_path / "x.backup").exists()
