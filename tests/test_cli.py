"""The `quizapp` command: first-run initialisation, bank, org and user commands."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from quizapp import cli, create_app, jobs
from quizapp.extensions import db
from quizapp.models import Attempt, JobRun, Question, Role, Round, Unit, User

from .conftest import ROOT, make_config, reset_database


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A brand-new instance folder and SQLite file, as on a newcomer's machine (no schema yet)."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("QUIZAPP_ADMIN_PASSWORD", "Admin1234")
    monkeypatch.setenv("QUIZAPP_DEMO_PASSWORD", "Demo12345")
    config = make_config(None, instance)
    del config["SQLALCHEMY_DATABASE_URI"], config["SECRET_KEY"]
    return instance, config


def test_serve_initialises_a_fresh_machine_then_reuses_it(fresh, monkeypatch):
    instance, config = fresh
    served = []
    monkeypatch.setattr(
        cli.server, "run_server", lambda app, host, port, *threads: served.append((host, port))
    )
    app = create_app(config)
    result = app.test_cli_runner().invoke(args=["serve", "--demo", "--port", "5099", "--no-scheduler"])
    assert result.exit_code == 0, result.output
    assert served == [("127.0.0.1", 5099)]
    assert (instance / "quizapp.sqlite3").is_file()
    key = (instance / "secret_key").read_text()
    assert len(key) == 64 and oct((instance / "secret_key").stat().st_mode)[-3:] == "600"
    assert "已载入题库" in result.output and "Demo12345" in result.output
    with app.app_context():
        questions = db.session.scalar(select(func.count(Question.id)))
        users = db.session.scalar(select(func.count(User.id)))
        units_by_level = dict(db.session.execute(select(Unit.level, func.count()).group_by(Unit.level)).all())
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        staff = db.session.scalars(select(User).where(User.role == Role.STAFF)).all()
        assert admin.role == Role.ADMIN and admin.check_password("Admin1234")
        assert all(not user.must_change_password for user in staff)
        assert all(user.job_section and user.gender and user.birth_year and user.level for user in staff)
        rounds = db.session.scalars(select(Round).order_by(Round.id)).all()
        now = datetime.now(UTC)
        assert [(r.kind, r.opens_at <= now < r.closes_at) for r in rounds] == [
            ("weekly", True),
            ("monthly", True),
        ] + [("weekly", False)] * 3  # the last three weeks, closed with results
        for past in rounds[2:]:
            assert past.status == "closed" and past.closes_at < now
            ranked = db.session.scalars(
                select(Attempt).where(Attempt.round_id == past.id, Attempt.counted)
            ).all()
            assert 30 <= len(ranked) <= 60 and sorted(a.rank_in_round for a in ranked)[0] == 1
            assert all(a.percent is not None and a.rank_in_unit for a in ranked)
    assert questions >= 400
    assert units_by_level == {1: 1, 2: 3, 3: 6, 4: 12}
    assert len(staff) == 60 and users == 1 + 60 + 4  # admin, staff, 1 province + 3 city admins

    # Second run: same key, nothing added.
    again = create_app(config).test_cli_runner().invoke(args=["serve", "--demo", "--no-scheduler"])
    assert again.exit_code == 0, again.output
    assert "已载入题库" not in again.output and "演示单位已存在" in again.output
    assert (instance / "secret_key").read_text() == key
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == questions
        assert db.session.scalar(select(func.count(User.id))) == users


@pytest.mark.postgres
def test_serve_initialises_postgresql(fresh, monkeypatch, app_config):
    _, config = fresh
    config["SQLALCHEMY_DATABASE_URI"] = app_config["SQLALCHEMY_DATABASE_URI"]
    monkeypatch.setattr(cli.server, "run_server", lambda *args: None)
    app = create_app(config)
    with app.app_context():
        reset_database()
    for _ in range(2):
        result = app.test_cli_runner().invoke(args=["serve", "--demo", "--no-scheduler"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) >= 400
        assert db.session.scalar(select(func.count(User.id))) == 65
        db.session.remove()
        reset_database()
        db.engine.dispose()


def test_serve_runs_the_scheduler_in_process(fresh, monkeypatch):
    _, config = fresh
    seen = {}

    def serve_briefly(app, host, port, *threads):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the sweeps run at start: wait for their log
            with app.app_context():
                seen["jobs"] = set(db.session.scalars(select(JobRun.job)))
            if len(seen["jobs"]) == len(jobs.SWEEPS):
                break
            time.sleep(0.2)
        seen["threads"] = [t.name for t in threading.enumerate()]

    monkeypatch.setattr(cli.server, "run_server", serve_briefly)
    app = create_app(config)
    assert app.test_cli_runner().invoke(args=["serve"]).exit_code == 0
    assert seen["jobs"] == set(jobs.SWEEPS)
    assert any("APScheduler" in name for name in seen["threads"])
    assert not any("APScheduler" in t.name for t in threading.enumerate())  # stopped with the server


def test_serve_prints_a_random_admin_password_once(fresh, monkeypatch):
    _, config = fresh
    monkeypatch.delenv("QUIZAPP_ADMIN_PASSWORD")
    monkeypatch.setattr(cli.server, "run_server", lambda *args: None)
    app = create_app(config)
    output = app.test_cli_runner().invoke(args=["serve", "--no-scheduler"]).output
    password = output.split("密码: ")[1].split()[0]
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "admin")).check_password(password)
    assert "密码" not in create_app(config).test_cli_runner().invoke(args=["serve", "--no-scheduler"]).output


def test_demo_login_works_without_a_password_change(fresh, monkeypatch):
    _, config = fresh
    monkeypatch.setattr(cli.server, "run_server", lambda *args: None)
    app = create_app(config)
    app.test_cli_runner().invoke(args=["serve", "--demo", "--no-scheduler"])
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.post("/login", data={"username": "staff01", "password": "Demo12345"}).location == "/"
    assert "人力资源和社会保障" in client.get("/").get_data(as_text=True)


def test_bank_verify_json(runner):
    result = runner.invoke(args=["bank", "verify", "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 0
    assert {"questions", "sources", "by_type", "by_category", "errors"} <= set(report)
    assert report["errors"] == [] and report["questions"] >= 400


def test_bank_verify_fails_on_a_bad_file(runner, tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "source: {id: law_social_insurance}\nquestions:\n  - type: single\n", encoding="utf-8"
    )
    result = runner.invoke(args=["bank", "verify", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 1 and "题干不能为空" in result.output


def test_bank_template_import_export(runner, app, tmp_path):
    template = tmp_path / "template.xlsx"
    assert runner.invoke(args=["bank", "template", "-o", str(template)]).exit_code == 0
    workbook = load_workbook(template)
    workbook["题目"].append(
        [
            "law_social_insurance",
            "判断",
            "社会保险",
            "法规政策理解运用能力",
            1,
            "用人单位应当自成立之日起三十日内申请办理社会保险登记。",
            None,
            None,
            None,
            None,
            None,
            None,
            "对",
            "第五十七条。",
            "第五十七条",
            "用人单位应当自成立之日起三十日内",
        ]
    )
    workbook.save(template)
    result = runner.invoke(args=["bank", "import", str(template)])
    assert result.exit_code == 0 and "新增 1 题" in result.output
    assert "跳过重复 1 题" in runner.invoke(args=["bank", "import", str(template)]).output
    for fmt in ("xlsx", "yaml"):
        out = tmp_path / f"export.{fmt}"
        assert runner.invoke(args=["bank", "export", "--format", fmt, "-o", str(out)]).exit_code == 0
        assert out.stat().st_size > 0


def test_bank_import_reports_every_error_and_writes_nothing(runner, app, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        (
            "来源文件编码,题型,业务类别,能力,难度,题干,答案,解析,条款位置,原文引用\n"
            "law_social_insurance,判断,社会保险,法规政策理解运用能力,1,甲,正确,解,第五十七条,用人单位\n"
            "law_social_insurance,问答,社会保险,法规政策理解运用能力,9,乙,正确,解,第五十七条,用人单位\n"
        ).encode("gbk")
    )
    result = runner.invoke(args=["bank", "import", str(bad)])
    assert result.exit_code == 1
    assert "第3行 [题型]" in result.output and "第3行 [难度]" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 0


def staff_workbook(rows) -> bytes:
    workbook = Workbook()
    workbook.active.append(
        ["登录名", "姓名", "单位编码", "角色", "手机", "岗位", "性别", "出生年份", "职级", "状态"]
    )
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_org_import_staff(runner, app, tmp_path, create_unit):
    create_unit("W1", "一号窗口")
    file = tmp_path / "staff.xlsx"
    file.write_bytes(
        staff_workbook(
            [
                ["wang01", "王芳", "W1", "学员", "13800000001", "社会保险经办", "女", 1990, "科员", None],
                ["li02", "李强", "W1", "单位管理员", None, None, "男", None, None, None],
            ]
        )
    )
    passwords = tmp_path / "passwords.xlsx"
    result = runner.invoke(args=["org", "import-staff", str(file), "--passwords-out", str(passwords)])
    assert result.exit_code == 0, result.output
    assert "新增 2 人" in result.output
    rows = list(load_workbook(passwords).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["wang01", "li02"]
    with app.app_context():
        wang = db.session.scalar(select(User).where(User.username == "wang01"))
        assert wang.must_change_password and wang.check_password(rows[1][2]) and wang.birth_year == 1990

    # Update one, deactivate the other; a second run changes what changed only.
    file.write_bytes(
        staff_workbook(
            [
                ["wang01", "王芳", "W1", "学员", "13800000001", "就业创业服务", "女", 1990, "科员", None],
                ["li02", "李强", "W1", "单位管理员", None, None, "男", None, None, "停用"],
            ]
        )
    )
    result = runner.invoke(args=["org", "import-staff", str(file)])
    assert "新增 0 人，更新 1 人，停用 1 人" in result.output
    with app.app_context():
        assert db.session.scalar(select(User.active).where(User.username == "li02")) is False


def test_org_import_staff_bad_rows_write_nothing(runner, app, tmp_path, create_unit):
    create_unit("W1")
    file = tmp_path / "staff.xlsx"
    file.write_bytes(
        staff_workbook(
            [
                ["ok01", "好人", "W1", None, None, None, None, None, None, None],
                ["ok01", "重复", "W1", None, None, None, None, None, None, None],
                ["x y", "", "NOPE", "老板", "abc", None, "未知", 1800, None, None],
            ]
        )
    )
    result = runner.invoke(args=["org", "import-staff", str(file)])
    assert result.exit_code == 1
    for expected in (
        "第3行 [登录名] 与第2行重复",
        "第4行 [登录名]",
        "第4行 [姓名]",
        "第4行 [单位编码]",
        "第4行 [角色]",
        "第4行 [手机]",
        "第4行 [性别]",
        "第4行 [出生年份]",
    ):
        assert expected in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_user_commands(runner, app, create_unit):
    create_unit("P1", "省厅")
    create_unit("W1", "窗口", "P1")
    assert (
        runner.invoke(
            args=["user", "create", "zhao", "--name", "赵六", "--unit", "W1", "--password", "Zhao12345"]
        ).exit_code
        == 0
    )
    created = runner.invoke(
        args=["user", "create", "qian", "--name", "钱七", "--role", "unit_admin", "--unit", "P1"]
    )
    assert "初始密码" in created.output
    listed = json.loads(runner.invoke(args=["user", "list", "--json", "--unit", "W1"]).output)
    assert listed == [{"username": "zhao", "name": "赵六", "role": "staff", "unit": "W1", "active": True}]
    admins = json.loads(runner.invoke(args=["user", "list", "--json", "--role", "unit_admin"]).output)
    assert [row["username"] for row in admins] == ["qian"]
    assert runner.invoke(args=["user", "set-password", "zhao", "--password", "Other1234"]).exit_code == 0
    assert runner.invoke(args=["user", "deactivate", "zhao"]).exit_code == 0
    with app.app_context():
        zhao = db.session.scalar(select(User).where(User.username == "zhao"))
        assert zhao.check_password("Other1234") and not zhao.active
    failed = runner.invoke(args=["user", "create", "zhao", "--name", "重名", "--unit", "W1"])
    assert failed.exit_code == 1 and "已存在" in failed.output
    assert runner.invoke(args=["user", "list", "--unit", "NOPE"]).exit_code == 1


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("QUIZAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("QUIZAPP_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("QUIZAPP_TIMEZONE", "Asia/Urumqi")
    monkeypatch.setenv("QUIZAPP_REDIS_URL", "redis://127.0.0.1:6379/9")
    app = create_app()
    assert app.instance_path == str(tmp_path / "elsewhere")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("x.db")
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["TZINFO"].key == "Asia/Urumqi"
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/9"
    assert not (tmp_path / "elsewhere" / "secret_key").exists()


def test_console_script_has_flask_and_quizapp_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(tmp_path))
    script = CliRunner()
    assert "learn.home" in script.invoke(cli.main, ["routes"]).output
    commands = script.invoke(cli.main, ["--help"]).output
    assert all(name in commands for name in ("db", "shell", "serve", "bank", "org", "user"))


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text("utf-8").split("\n## ")[0]
    assert "pip install -e . && quizapp serve --demo" in head
    assert "pip install -e '.[test]' && pytest" in head
    assert Path(ROOT / ".ci" / "run").is_file()
