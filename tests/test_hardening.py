"""Issue 14's hardening: hostile uploads, answer keys of open contests, formula injection, sessions,
sign-in behind a proxy, timing, role changes, bad input and leftover uploads. Each test fails
without its fix."""

from __future__ import annotations

import io
import os
import signal
import time

import pytest
import yaml
from sqlalchemy import func, select

from benchmarks.staff_import import staff_file
from quizapp.extensions import db
from quizapp.models import Question, User
from quizapp.services import uploads

from . import hostile_files
from .live import Browser, free_port
from .test_cli import staff_workbook
from .test_faults import PASSWORD as DEMO_PASSWORD
from .test_faults import Server

LIFTED = {"sheet_rows": 2_000_000, "sheet_columns": 20_000, "sheet_cells": 10**12}


def upload(client, url: str, name: str, data: bytes):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def staff_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


@pytest.fixture
def city_admin(app, org_tree, auth):
    auth.login("aadmin")
    return org_tree


# ---------------------------------------------------------------------------------------------
# 1. Uploaded files are measured before they are read, and read where a parser cannot hurt the server


def test_a_cell_at_xfd1048576_is_refused_before_it_is_read(app, client, city_admin):
    before = staff_count(app)
    declared = upload(client, "/admin/staff/import", "人员.xlsx", hostile_files.far_cell())
    assert declared.status_code == 200
    page = declared.get_data(as_text=True)
    assert "A1:XFD1048576" in page and "1,048,576 行 × 16,384 列" in page
    # The same cell without a <dimension>: the filled extent is measured instead.
    actual = upload(client, "/admin/staff/import", "人员.xlsx", hostile_files.far_cell(declare=False))
    assert "第 1,048,576 行、XFD 列" in actual.get_data(as_text=True)
    assert staff_count(app) == before
    assert client.get("/admin/staff").status_code == 200


@pytest.mark.app_config(UPLOAD_LIMITS=LIFTED)
def test_a_parser_that_aborts_takes_only_its_child_down(app, client, city_admin, caplog):
    """With the size checks lifted, calamine really does try to allocate 512 GiB and aborts: the
    child dies, this process gets a refusal, and the next upload is read by a fresh child."""
    response = upload(client, "/admin/staff/import", "人员.xlsx", hostile_files.far_cell())
    assert "文件无法安全读取" in response.get_data(as_text=True)
    assert any("exit -6" in record.getMessage() for record in caplog.records)  # SIGABRT, in the child
    good = staff_workbook([["ok01", "好人", "C1X01", "学员", None, None, None, None, None, None]])
    after = upload(client, "/admin/staff/import", "人员.xlsx", good)
    assert "ok01" in after.get_data(as_text=True)


def test_a_zip_bomb_is_refused_from_its_directory(app, client, city_admin):
    bomb = hostile_files.zip_bomb(300)  # under 500 KB: the test client keeps it in memory
    assert len(bomb) < 500 * 1024
    started = time.monotonic()
    response = upload(client, "/admin/staff/import", "人员.xlsx", bomb)
    assert "文件解压后有 300 MB，超过 256 MB 的上限" in response.get_data(as_text=True)
    assert time.monotonic() - started < 30  # not the 191 s of unpacking it (a bound, not a benchmark)


def test_a_million_empty_formatted_rows(app, client, city_admin):
    """Declared, they are refused with the sheet's own range; undeclared, the styled empty cells
    are not content and the sheet reads as its header alone."""
    claims = hostile_files.empty_formatted_rows(100, declared_rows=1_000_001)
    declared = upload(client, "/admin/staff/import", "人员.xlsx", claims)
    assert "声明的数据范围为 A1:C1000001" in declared.get_data(as_text=True)
    rows = uploads.parse_one("xlsx", hostile_files.empty_formatted_rows())
    assert rows == [(1, ["登录名", "姓名", "单位编码"])]


def test_the_child_has_a_memory_and_a_time_limit(app):
    with app.app_context():
        big_sheet = staff_file([f"U{n}" for n in range(10)], 50_000, "m")
        (short_of_memory,) = uploads.parse(
            [("xlsx", big_sheet, None)], limit=uploads.limits() | {"memory_bytes": 60 * 2**20}
        )
        assert "内存上限" in short_of_memory.message
        slow = (
            "rows:\n" + "".join(f"- {{n: {n}, text: 长长长长长长长长}}\n" for n in range(2_000_000))
        ).encode()
        started = time.monotonic()
        (timed_out,) = uploads.parse([("yaml", slow, None)], limit=uploads.limits() | {"seconds": 1})
        assert timed_out.message == "读取文件超时（上限 1 秒）；请拆分后分批导入"
        assert time.monotonic() - started < 10
        assert uploads.parse_one("yaml", b"a: 1") == [{"a": 1, "__line__": 1}]  # the next one is read


def test_a_crash_in_a_batch_names_its_file(app):
    good = yaml.safe_dump({"source": {"id": "x"}, "questions": []}).encode()
    with app.app_context():
        results = uploads.parse(
            [("yaml", good, None), ("xlsx", hostile_files.far_cell(), None)],
            limit=uploads.limits() | LIFTED,
        )
    assert results[0][0]["questions"] == []
    assert isinstance(results[1], uploads.Refused) and "无法安全读取" in results[1].message


def test_the_parser_server_is_started_again_when_it_dies(app):
    with app.app_context():
        assert uploads.parse_one("json", b"[1]") == [1]
        os.kill(uploads._PARSER.process.pid, signal.SIGKILL)
        uploads._PARSER.process.wait()
        assert uploads.parse_one("json", b"[2]") == [2]


def test_the_command_line_import_is_guarded_too(runner, app, tmp_path, create_unit):
    create_unit("W1", "一号窗口")
    far = tmp_path / "人员.xlsx"
    far.write_bytes(hostile_files.far_cell())
    result = runner.invoke(args=["org", "import-staff", str(far)])
    assert result.exit_code != 0 and "A1:XFD1048576" in result.output
    bomb = tmp_path / "bomb.yaml"
    bomb.write_bytes(hostile_files.yaml_alias_bomb())
    result = runner.invoke(args=["bank", "import", str(bomb)])
    assert result.exit_code != 0 and "不支持 YAML 别名" in result.output
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(21 * 2**20)
    result = runner.invoke(args=["bank", "import", str(huge)])
    assert result.exit_code != 0 and "文件超过 20 MB 的上限" in result.output


def test_a_served_process_outlives_a_parser_crash(tmp_path):
    """`quizapp serve` as deployed: a unit admin uploads the 2 KB sheet (size checks lifted, so the
    parser really aborts); the server answers the upload and everything after it."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(f"UPLOAD_LIMITS = {LIFTED!r}\n")
    server = Server(instance, free_port())
    server.start()
    try:
        browser = Browser(f"http://127.0.0.1:{server.port}")
        browser.sign_in("city1_admin", DEMO_PASSWORD)
        status, page = multipart(browser, "/admin/staff/import", "人员.xlsx", hostile_files.far_cell())
        assert status == 200 and "文件无法安全读取" in page
        assert server.process.poll() is None
        assert browser.request("GET", "/api/v1/session")[0] == 200
        status, page = multipart(browser, "/admin/staff/import", "人员.xlsx", hostile_files.zip_bomb(500))
        assert status == 200 and "文件解压后有 500 MB，超过 256 MB 的上限" in page
    finally:
        server.kill()


def multipart(browser: Browser, path: str, name: str, data: bytes) -> tuple[int, str]:
    """POST one file as a browser's form does."""
    import urllib.error
    import urllib.request

    boundary = "----quizapp-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{browser.token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        browser.base + path,
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRFToken": browser.token},
    )
    try:
        with browser.opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# ---------------------------------------------------------------------------------------------
# 3. YAML aliases


def test_a_yaml_alias_bomb_is_refused_before_anything_is_built(app, client, auth, org_tree):
    auth.login("root")
    bomb = hostile_files.yaml_alias_bomb()
    assert len(bomb) < 1000
    started = time.monotonic()
    response = upload(client, "/admin/questions/import", "bomb.yaml", bomb)
    page = response.get_data(as_text=True)
    assert "不支持 YAML 别名（*引用），请直接写出内容" in page and "第2行" in page
    assert time.monotonic() - started < 10
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 0


# ---------------------------------------------------------------------------------------------
# 4. Formula injection: every export stores such text as text

HOSTILE_TEXTS = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def formula_cells(data: bytes) -> list[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    return [
        f"{sheet.title}!{cell.coordinate}={cell.value!r}"
        for sheet in workbook
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def cell_texts(data: bytes) -> set[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    return {cell.value for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value}


def test_every_export_stores_formula_like_text_as_text(app, client, auth, org_tree, mixed_bank, frozen_clock):
    """Unit names, people's names, job titles and 解析 that start with = + - @ tab or CR, through every
    .xlsx the platform writes: none is a formula cell, and each reads back as the text typed."""
    from datetime import timedelta

    from quizapp import jobs
    from quizapp.models import QuestionVersion, Unit
    from quizapp.services import org, rounds

    from .test_rounds import START, settings

    units = org_tree["units"]
    with app.app_context():
        org.rename_unit(db.session.get(Unit, units["window_a"].id), HOSTILE_TEXTS[0], actor_id=None)
        for version in db.session.scalars(select(QuestionVersion)):
            version.explanation = HOSTILE_TEXTS[1] + "解析"
        db.session.commit()
    people = []
    for number, text in enumerate(HOSTILE_TEXTS[1:4]):
        people.append(
            create_person(
                app, f"evil{number}", text, units["window_a"], job_section=HOSTILE_TEXTS[4 + number % 2]
            )
        )
    frozen_clock.set(START)
    with app.app_context():
        round_id = rounds.create_round(
            settings(
                "exam", targets=["P1"], opens=START - timedelta(hours=1), closes=START + timedelta(hours=2)
            ),
            actor_id=None,
        ).id
        db.session.commit()
    for username in people:
        auth.login(username)
        attempt = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
        assert client.post(f"/api/v1/attempts/{attempt['id']}/submit").status_code == 200
        auth.logout()
    frozen_clock.set(START + timedelta(hours=3))
    assert jobs.run_sweep(app, "close_rounds").outcome == "ok"
    assert jobs.run_sweep(app, "refresh_rankings").outcome == "ok"

    auth.login("root")
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["登录名", "姓名", "单位编码", "岗位"], ["evil9", HOSTILE_TEXTS[0], "C1X01", HOSTILE_TEXTS[3]]]
    )
    preview = upload(client, "/admin/staff/import", "人员.csv", buffer.getvalue().encode()).get_data(
        as_text=True
    )
    token = preview.split("/admin/staff/import/")[1].split('"')[0]
    with app.app_context():
        from quizapp.models import Bulletin

        bulletin_id = db.session.scalar(select(Bulletin.id))
    downloads = {
        "initial passwords": client.post(f"/admin/staff/import/{token}"),
        "bulletin": client.get(f"/bulletins/{bulletin_id}.xlsx"),
        "unit rankings": client.get(f"/rankings?period=round:{round_id}&parent=C1X&format=xlsx"),
        "people rankings": client.get(f"/rankings/people?board=round&round={round_id}&format=xlsx"),
        "selection": client.get("/admin/selection?format=xlsx&starts_on=2026-01-01"),
        "bank export": client.get("/admin/questions/export?format=xlsx"),
        "bank template": client.get("/admin/questions/template.xlsx"),
        "staff template": client.get("/admin/staff/template.xlsx"),
    }
    shown = set()
    for name, response in downloads.items():
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet"), name
        assert formula_cells(response.data) == [], f"{name} holds formulas"
        shown |= cell_texts(response.data)
    for text in HOSTILE_TEXTS[:4]:
        assert any(str(value).startswith(text) for value in shown), f"{text!r} is missing from the exports"


def create_person(app, username, name, unit, **attributes) -> str:
    from quizapp.services import accounts

    with app.app_context():
        accounts.create_user(
            username, name, "Passw0rd!x", unit_code=unit.code, must_change_password=False, **attributes
        )
        db.session.commit()
    return username


# ---------------------------------------------------------------------------------------------
# 5. Signing out ends the session on the server; a session lasts 12 hours at most


def copy_of(app, client):
    """A second client holding the same session cookie (a cookie copied off a shared PC)."""
    thief = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def test_a_copied_cookie_dies_with_the_logout(app, org_tree):
    owner = app.test_client()
    assert owner.post("/login", data={"username": "astaff", "password": "Passw0rd!x"}).status_code == 302
    elsewhere = app.test_client()  # the same person on a phone: a session of its own
    assert elsewhere.post("/login", data={"username": "astaff", "password": "Passw0rd!x"}).status_code == 302
    thief = copy_of(app, owner)
    assert thief.get("/api/v1/session").status_code == 200
    assert owner.post("/logout").status_code == 302
    assert thief.get("/api/v1/session").status_code == 401
    assert thief.post("/api/v1/practice/items", json={}).status_code == 401  # writes too
    assert thief.get("/daily").status_code == 302
    assert elsewhere.get("/api/v1/session").status_code == 200  # only that session ended


@pytest.mark.app_config(SESSION_LIFETIME_HOURS=12)
def test_a_session_lasts_twelve_hours(app, org_tree, frozen_clock):
    from datetime import timedelta

    client = app.test_client()
    assert client.post("/login", data={"username": "astaff", "password": "Passw0rd!x"}).status_code == 302
    frozen_clock.advance(hours=11, minutes=59)
    assert client.get("/api/v1/session").status_code == 200
    frozen_clock.advance(minutes=2)
    assert client.get("/api/v1/session").status_code == 401
    with app.app_context():
        from quizapp.models import UserSession
        from quizapp.services import accounts

        assert accounts.remove_old_sessions(now=frozen_clock() + timedelta(days=8)) == 1
        db.session.commit()
        assert db.session.scalar(select(func.count(UserSession.id))) == 0


# ---------------------------------------------------------------------------------------------
# 6. Sign-in limits per client address behind the reverse proxy

PROXY_LIMITS = dict(RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ADDRESS="3 per 15 minutes")


def failed_sign_in(client, username: str, forwarded_for: str):
    return client.post(
        "/login",
        data={"username": username, "password": "wrong-password"},
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.mark.app_config(TRUSTED_PROXIES=1, **PROXY_LIMITS)
def test_behind_one_proxy_each_client_has_its_own_bucket(app, client, org_tree):
    for number in range(3):
        assert failed_sign_in(client, f"nobody{number}", "203.0.113.7").status_code == 200
    assert failed_sign_in(client, "nobody9", "203.0.113.7").status_code == 429
    # Another person in the same hall, through the same proxy, is not locked out.
    assert failed_sign_in(client, "nobody9", "198.51.100.4").status_code == 200
    good = client.post(
        "/login",
        data={"username": "astaff", "password": "Passw0rd!x"},
        headers={"X-Forwarded-For": "198.51.100.5"},
    )
    assert good.status_code == 302


@pytest.mark.app_config(**PROXY_LIMITS)
def test_without_a_trusted_proxy_the_header_is_ignored(app, client, org_tree):
    """Otherwise anyone could write a new X-Forwarded-For for every guess."""
    for number in range(3):
        assert failed_sign_in(client, f"nobody{number}", f"203.0.113.{number}").status_code == 200
    assert failed_sign_in(client, "nobody9", "203.0.113.99").status_code == 429


def test_the_environment_variable_sets_the_hops(monkeypatch):
    from quizapp import config

    monkeypatch.setenv("QUIZAPP_TRUSTED_PROXIES", "2")
    assert config.from_environment()["TRUSTED_PROXIES"] == 2


# ---------------------------------------------------------------------------------------------
# 7. Every sign-in path costs one slow hash


def test_every_sign_in_path_costs_one_scrypt(app, client, org_tree, monkeypatch):
    import hashlib

    from quizapp.services import accounts

    with app.app_context():  # an imported account, still on its cheap generated initial hash
        user = db.session.scalar(select(User).where(User.username == "bstaff"))
        user.password_hash = accounts.initial_password_hash("Init1alPass9")
        db.session.commit()
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or real(*a, **k))
    paths = {
        "unknown user": ("nobody", "whatever1"),
        "wrong password, chosen": ("astaff", "whatever1"),
        "wrong password, initial": ("bstaff", "whatever1"),
        "right password, initial": ("bstaff", "Init1alPass9"),
    }
    for path, (username, password) in paths.items():
        calls.clear()
        with app.app_context():
            accounts.authenticate(username, password)
            db.session.rollback()
        assert len(calls) == 1, f"{path}: {len(calls)} scrypt calls"


# ---------------------------------------------------------------------------------------------
# 8. Only admins change roles; unit admins manage people below their level


def staff_csv(*rows) -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows([["登录名", "姓名", "单位编码", "角色"], *rows])
    return buffer.getvalue().encode()


def test_a_city_admin_cannot_make_or_touch_a_peer_admin(app, client, auth, org_tree, create_user):
    peer = create_user("apeer", unit=org_tree["units"]["city_a"], role="unit_admin", name="甲市另一管理员")
    county = create_user("acounty", unit=org_tree["units"]["county_a"], role="unit_admin", name="区管理员")
    auth.login("aadmin")
    made = upload(
        client, "/admin/staff/import", "人员.csv", staff_csv(["anew", "新人", "C1X01", "单位管理员"])
    )
    assert "只有系统管理员可以设置或更改角色" in made.get_data(as_text=True)
    promoted = upload(
        client, "/admin/staff/import", "人员.csv", staff_csv(["astaff", "甲员工", "C1X01", "单位管理员"])
    )
    assert "只有系统管理员可以设置或更改角色" in promoted.get_data(as_text=True)
    touched = upload(client, "/admin/staff/import", "人员.csv", staff_csv(["apeer", "改名", "C1", ""]))
    assert "本级或上级单位的管理员" in touched.get_data(as_text=True)
    assert client.post(f"/admin/staff/{peer.id}/password").status_code == 404
    assert client.post(f"/admin/staff/{peer.id}/active").status_code == 404
    assert "只能由上级管理员或系统管理员修改" in client.get(f"/admin/staff/{peer.id}").get_data(as_text=True)
    # Below their level they manage: the county's admin, whose role a blank 角色 keeps.
    renamed = upload(
        client, "/admin/staff/import", "人员.csv", staff_csv(["acounty", "区管理员（新）", "C1X", ""])
    )
    token = renamed.get_data(as_text=True).split("/admin/staff/import/")[1].split('"')[0]
    assert client.post(f"/admin/staff/import/{token}").status_code == 302
    assert client.post(f"/admin/staff/{county.id}/password").status_code == 302
    with app.app_context():
        county_now = db.session.get(User, county.id)
        assert county_now.name == "区管理员（新）" and county_now.role == "unit_admin"
        assert db.session.get(User, peer.id).name == "甲市另一管理员"
        assert db.session.scalar(select(User).where(User.username == "anew")) is None


# ---------------------------------------------------------------------------------------------
# 9. Bad input is a 400 with a clear message, never a 500


def test_bad_input_gets_a_clear_400(app, client, auth, org_tree):
    auth.login("astaff")
    deep = "[" * 5000 + "]" * 5000
    for path in ("/api/v1/daily/answers", "/api/v1/practice/items", "/api/v1/mistakes/review"):
        response = client.post(path, data=deep, content_type="application/json")
        assert response.status_code == 400 and "嵌套超过 32 层" in response.get_json()["error"]["message"], (
            path
        )
    middling = "[" * 40 + "]" * 40  # deep enough for the limit, shallow enough for the decoder
    assert (
        client.post("/api/v1/practice/items", data=middling, content_type="application/json").status_code
        == 400
    )
    for query in ("year=1&month=1", "year=9999&month=12", "year=2026&month=13", "year=x"):
        assert client.get(f"/history?{query}").status_code == 200, query
    auth.logout()
    auth.login("root")
    assert client.post("/admin/questions/status", data={"status": "bogus", "ids": "1"}).status_code == 400
    staff_id = org_tree["people"]["staff_a"].id
    assert client.post(f"/admin/staff/{staff_id}/role", data={"role": "bogus"}).status_code == 400
    assert client.post(f"/admin/staff/{staff_id}/role", data={"role": "admin"}).status_code == 400
    for code, name, message in (
        ("X" * 40, "新单位", "长度不超过 32"),
        ("X1", "长" * 101, "（101 字，上限 100 字）"),
    ):
        response = client.post("/admin/units/create", data={"code": code, "name": name, "parent": "P1"})
        assert response.status_code == 302
        assert message in client.get(response.location).get_data(as_text=True)


@pytest.mark.postgres
def test_over_long_unit_fields_are_refused_on_postgresql_too(app, org_tree):
    from quizapp.models import Unit
    from quizapp.services import org
    from quizapp.services.errors import DomainError

    with app.app_context():
        for code, name in (("Y" * 33, "新单位"), ("Y1", "长" * 101)):
            with pytest.raises(DomainError):
                org.create_unit(code, name, "P1")
            db.session.rollback()
        with pytest.raises(DomainError):
            org.rename_unit(
                db.session.scalar(select(Unit).where(Unit.code == "C1")), "长" * 101, actor_id=None
            )


# ---------------------------------------------------------------------------------------------
# 10. Import previews expire


def test_previews_are_kept_in_the_database_for_their_uploader_and_expire(
    app, client, auth, org_tree, frozen_clock
):

    from quizapp import jobs
    from quizapp.models import UploadPreview

    auth.login("aadmin")
    page = upload(client, "/admin/staff/import", "人员.csv", staff_csv(["anew1", "新人", "C1X01", ""]))
    token = page.get_data(as_text=True).split("/admin/staff/import/")[1].split('"')[0]
    failed = upload(client, "/admin/staff/import", "人员.csv", staff_csv(["anew2", "新人", "NOPE", ""]))
    assert "不存在" in failed.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(UploadPreview.id))) == 1  # a refused file is not kept
    auth.logout()
    auth.login("root")  # another person cannot confirm it
    assert client.post(f"/admin/staff/import/{token}").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "anew1")) is None
    frozen_clock.advance(hours=23)
    assert jobs.run_sweep(app, "housekeeping").counts["previews_removed"] == 0
    frozen_clock.advance(hours=2)
    assert jobs.run_sweep(app, "housekeeping").counts["previews_removed"] == 1
    assert jobs.run_sweep(app, "housekeeping").counts["previews_removed"] == 0
    auth.logout()
    auth.login("aadmin")
    expired = client.post(f"/admin/staff/import/{token}", follow_redirects=True)
    assert "预览已过期或不存在" in expired.get_data(as_text=True)
