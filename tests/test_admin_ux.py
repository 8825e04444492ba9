"""Admin pages in plain words (issue 18): the job log's counts, the business time zone's name, the
unit picker's search within a scope and at 10,000 units, where people land after signing in, and the
demo: every login named with its password's source, weeks of history in the past only."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text

from quizapp import cli, clock, create_app, jobs
from quizapp.extensions import db
from quizapp.models import DailySet, MistakeEntry, PointsEntry, Role, Round, Unit, User
from quizapp.services import unit_search
from quizapp.web import local_time_name

from .conftest import PASSWORD, make_config


def test_a_runs_counts_read_as_words():
    assert jobs.describe_counts({"closed": 0, "waiting": 0}) == "关闭 0 轮，等待 0 轮"
    assert (
        jobs.describe_counts({"opened": 1, "problems": ["#7: 题库不足"]}) == "开放 1 轮。问题：#7: 题库不足"
    )
    assert (
        jobs.describe_counts({"previews_removed": 2, "sessions_removed": 5})
        == "清理导入预览 2 份，清理登录会话 5 个"
    )
    assert jobs.describe_counts(None) == ""
    for sweep in jobs.SWEEPS:  # every sweep's counts have words
        assert jobs.job_label(sweep) != sweep


def test_every_sweeps_counts_have_words(app):
    with app.app_context():
        for name in jobs.SWEEPS:
            run = jobs.run_sweep(app, name)
            assert run.outcome == "ok", run.error
            words = jobs.describe_counts(run.counts)
            assert words and not any(key in words for key in run.counts), (name, words)


def test_the_business_time_zone_is_named_as_people_say_it():
    assert local_time_name("Asia/Shanghai") == "北京时间"
    assert local_time_name("Asia/Urumqi") == "Asia/Urumqi 时间"


def test_admins_and_unit_admins_land_on_the_admin_home(app, org_tree):
    for username, landing in (("root", "/admin/"), ("padmin", "/admin/"), ("astaff", "/")):
        client = app.test_client()
        signed = client.post("/login", data={"username": username, "password": PASSWORD})
        assert signed.location == landing, username
        assert client.get("/login").location == landing  # signed in already
        assert client.get("/").status_code == 200  # the learner home stays theirs to visit


def test_the_unit_search_stays_in_scope(app, org_tree):
    with app.app_context():
        root = db.session.scalar(select(User).where(User.username == "root"))
        padmin = db.session.scalar(select(User).where(User.username == "aadmin"))  # 甲市 only
        everything = unit_search.search_units(root, "")
        assert everything[0]["level"] == "省" and everything[0]["path"] == ""  # the shallowest first
        mine = unit_search.search_units(padmin, "")
        in_scope = set(db.session.scalars(select(Unit.code).where(Unit.path.startswith(padmin.unit.path))))
        assert mine and {entry["code"] for entry in mine} <= in_scope
        other = next(entry for entry in everything if entry["code"] not in in_scope)
        assert unit_search.search_units(padmin, other["name"]) == []
        assert unit_search.chosen_units(padmin, [other["code"]])[0]["path"] == ""  # not named to them
        assert unit_search.search_units(root, "%") == [] and unit_search.search_units(root, "_") == []


def test_the_unit_search_endpoint_needs_a_manager(app, org_tree, login_as):
    assert login_as("astaff").get("/admin/units/search?q=甲").status_code == 403
    found = login_as("root").get("/admin/units/search?q=甲").get_json()["units"]
    assert found and all("甲" in entry["name"] for entry in found)
    assert all(entry["path"] for entry in found if entry["level"] != "省")


def _ten_thousand_units() -> int:
    """1 province, 20 cities, 500 counties, 9,500 windows: inserted level by level, set-based."""
    levels = [[("P", "示范省", None)]]
    levels.append([(f"C{c:02d}", f"第{c}市", "P") for c in range(20)])
    levels.append(
        [(f"C{c:02d}X{k:02d}", f"第{c}市第{k}区", f"C{c:02d}") for c in range(20) for k in range(25)]
    )
    levels.append(
        [
            (f"{county}W{w:02d}", f"{name}第{w}窗口", county)
            for county, name, _ in levels[2]
            for w in range(19)
        ]
    )
    for depth, rows in enumerate(levels, 1):
        ids = dict(db.session.execute(select(Unit.code, Unit.id)).all())
        db.session.execute(
            insert(Unit.__table__),
            [
                {
                    "code": code,
                    "name": name,
                    "parent_id": ids.get(parent),
                    "level": depth,
                    "path": "",
                    "active": True,
                    "created_at": datetime.now(UTC),
                }
                for code, name, parent in rows
            ],
        )
        db.session.execute(
            text(
                "UPDATE unit SET path = COALESCE((SELECT p.path FROM unit p WHERE p.id = unit.parent_id), '/')"
                " || id || '/' WHERE level = :depth"
            ),
            {"depth": depth},
        )
    return sum(len(rows) for rows in levels)


def test_the_unit_picker_is_quick_with_ten_thousand_units(app, login_as, figures):
    """The picker asks for a few matches at a time: neither the form nor a search grows with the
    tree. Measured: a search over 10,020 units and the round form that holds the picker."""
    from quizapp.services.accounts import create_user

    with app.app_context():
        total = _ten_thousand_units()
        create_user("root", "管理员", PASSWORD, role=Role.ADMIN, must_change_password=False)
        db.session.commit()
    assert total == 10_021
    client = login_as("root")
    timings = {}
    for label, query in (
        ("broad", "区"),
        ("narrow", "第7市第3区第1"),
        ("code", "C07X03W11"),
        ("none", "无此单位"),
    ):
        started = time.perf_counter()
        found = client.get("/admin/units/search", query_string={"q": query}).get_json()["units"]
        timings[label] = time.perf_counter() - started
        assert len(found) <= unit_search.SEARCH_LIMIT
    assert found == []
    code = client.get("/admin/units/search?q=C07X03W11").get_json()["units"]
    assert code[0]["name"] == "第7市第3区第11窗口" and code[0]["path"] == "示范省 › 第7市 › 第7市第3区"
    started = time.perf_counter()
    form = client.get("/admin/rounds/new?kind=exam")
    timings["round form"] = time.perf_counter() - started
    assert form.status_code == 200 and len(form.data) < 60_000  # no option per unit in the page
    for label, seconds in timings.items():
        figures.put("unit picker (10,021 units)", f"{label} ms", round(seconds * 1000, 1))
    assert max(timings.values()) < 0.5, timings


@pytest.fixture
def demo_instance(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("QUIZAPP_ADMIN_PASSWORD", "Admin1234")
    monkeypatch.setenv("QUIZAPP_DEMO_PASSWORD", "Demo12345")
    monkeypatch.setattr(cli.server, "run_server", lambda *args: None)
    config = make_config(None, instance)
    del config["SQLALCHEMY_DATABASE_URI"], config["SECRET_KEY"]
    return create_app(config)


def test_serve_demo_names_every_login_with_its_password(demo_instance, figures):
    started = time.perf_counter()
    output = demo_instance.test_cli_runner().invoke(args=["serve", "--demo", "--no-scheduler"]).output
    figures.put("demo", "first serve --demo seconds", round(time.perf_counter() - started, 1))
    logins = output[output.index("演示登录：") :]
    for username in ("admin", "province_admin", "city1_admin", "staff01"):
        assert f"  {username} " in logins, logins
    assert "QUIZAPP_ADMIN_PASSWORD" in logins and "Demo12345（环境变量 QUIZAPP_DEMO_PASSWORD 的值）" in logins
    again = demo_instance.test_cli_runner().invoke(args=["serve", "--demo", "--no-scheduler"]).output
    assert "  admin " in again and "  city1_admin " in again and "Demo12345" not in again
    assert "首次创建演示单位时显示的密码" in again


def test_the_demo_has_weeks_of_history_in_the_past_only(demo_instance):
    demo_instance.test_cli_runner().invoke(args=["serve", "--demo", "--no-scheduler"])
    with demo_instance.app_context():
        today = clock.business_date(clock.utcnow(), demo_instance.config["TZINFO"])
        days = db.session.execute(select(func.min(DailySet.day), func.max(DailySet.day))).one()
        assert (today - days[0]).days >= 28 and days[1] < today  # weeks of it, and nothing today
        learners = db.session.scalar(select(func.count(func.distinct(DailySet.user_id))))
        staff = db.session.scalar(select(func.count(User.id)).where(User.role == Role.STAFF))
        newcomers = db.session.scalars(
            select(User.username).where(User.role == Role.STAFF, User.username.like("staff%3"))
        ).all()
        assert learners == staff - len(newcomers) and "staff03" in newcomers
        assert db.session.scalar(select(func.count()).where(DailySet.finished_at.is_(None))) == 0
        points = db.session.scalar(
            select(func.sum(PointsEntry.amount)).where(PointsEntry.day >= today.replace(day=1))
        )
        assert today.day == 1 or points > 0
        assert db.session.scalar(select(func.count(MistakeEntry.id))) > 0
        closed = db.session.scalar(select(func.count(Round.id)).where(Round.status == "closed"))
        assert closed == 3
