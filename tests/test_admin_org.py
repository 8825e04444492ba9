"""Admin organisation: the unit tree, the staff import wizard, password reset, roles — and scope."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Attempt, AttemptStatus, AuditLog, Round, RoundStatus, Unit, User

from .conftest import PASSWORD
from .test_cli import staff_workbook


def unit(app, code) -> Unit:
    with app.app_context():
        found = db.session.scalar(select(Unit).where(Unit.code == code))
        db.session.expunge(found)
        return found


def test_create_rename_move_deactivate_units(login_as, app, org_tree):
    root = login_as("root")
    assert (
        root.post(
            "/admin/units/create", data={"parent": "C1X", "code": "C1X02", "name": "甲二窗口"}
        ).status_code
        == 302
    )
    root.post("/admin/units/C1X02/change", data={"action": "rename", "name": "甲市第二窗口"})
    page = root.get("/admin/units", query_string={"parent": "C1X"}).get_data(as_text=True)
    assert "甲市第二窗口" in page
    # Move 甲市一区 (with its windows) under 乙市: paths and levels of the whole subtree follow.
    root.post("/admin/units/C1X/change", data={"action": "move", "parent": "C2"})
    moved, window = unit(app, "C1X"), unit(app, "C1X01")
    c2 = unit(app, "C2")
    assert moved.parent_id == c2.id and moved.path == f"{c2.path}{moved.id}/" and moved.level == 3
    assert window.path.startswith(moved.path) and window.level == 4
    refused = root.post(
        "/admin/units/C2/change", data={"action": "move", "parent": "C1X01"}, follow_redirects=True
    )
    assert "不能把单位移到它自己或它的下级单位之下" in refused.get_data(as_text=True)
    busy = root.post("/admin/units/C1X01/change", data={"action": "deactivate"}, follow_redirects=True)
    assert "还有 1 名在职人员" in busy.get_data(as_text=True) and unit(app, "C1X01").active
    root.post("/admin/units/C1X02/change", data={"action": "deactivate"})
    assert not unit(app, "C1X02").active
    with app.app_context():
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"unit.create", "unit.rename", "unit.move", "unit.deactivate"} <= actions


def test_a_move_keeps_past_results_where_they_were(login_as, app, org_tree):
    staff_a = org_tree["people"]["staff_a"]
    with app.app_context():
        round_ = Round(
            kind="exam",
            title="旧考试",
            status=RoundStatus.CLOSED,
            opens_at=staff_a.created_at,
            closes_at=staff_a.created_at.replace(year=2099),
            time_limit_seconds=60,
            attempts_allowed=1,
            pass_mark=60,
            show_answers="after_close",
            grace_seconds=30,
            blueprint=[{"count": 1}],
        )
        db.session.add(round_)
        db.session.flush()
        db.session.add(
            Attempt(
                round_id=round_.id,
                user_id=staff_a.id,
                unit_id=staff_a.unit_id,
                number=1,
                max_attempts=1,
                status=AttemptStatus.SUBMITTED,
                started_at=staff_a.created_at,
                deadline_at=staff_a.created_at,
                question_order=[],
                option_orders={},
            )
        )
        db.session.commit()
    login_as("root").post("/admin/units/C1X/change", data={"action": "move", "parent": "C2"})
    with app.app_context():
        assert db.session.scalar(select(Attempt.unit_id)) == staff_a.unit_id  # still the window it was sat in


def test_unit_admins_manage_only_their_subtree(login_as, app, org_tree):
    city_a = login_as("aadmin")
    assert city_a.get("/admin/units", query_string={"parent": "C2"}).status_code == 404
    assert city_a.post("/admin/units/C2X/change", data={"action": "rename", "name": "x"}).status_code == 404
    assert (
        city_a.post("/admin/units/create", data={"parent": "C2", "code": "Z", "name": "z"}).status_code == 404
    )
    assert city_a.post("/admin/units/create", data={"code": "TOP", "name": "顶级"}).status_code == 403
    assert (
        city_a.post("/admin/units/C1/change", data={"action": "rename", "name": "改自己"}).status_code == 403
    )
    moved = city_a.post(
        "/admin/units/C1X/change", data={"action": "move", "parent": "C2"}, follow_redirects=True
    )
    assert "不在您的管理范围内" in moved.get_data(as_text=True)
    assert city_a.post(f"/admin/staff/{org_tree['people']['staff_b'].id}/password").status_code == 404
    assert (
        city_a.post(
            f"/admin/staff/{org_tree['people']['staff_a'].id}/role", data={"role": "unit_admin"}
        ).status_code
        == 403
    )


def test_password_reset_and_role_assignment(login_as, app, org_tree):
    staff_a = org_tree["people"]["staff_a"]
    page = (
        login_as("aadmin")
        .post(f"/admin/staff/{staff_a.id}/password", follow_redirects=True)
        .get_data(as_text=True)
    )
    password = page.split("的密码为：")[1].split("（")[0]
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "astaff", "password": password}).location == "/password"
    login_as("root").post(f"/admin/staff/{staff_a.id}/role", data={"role": "unit_admin"})
    with app.app_context():
        assert db.session.get(User, staff_a.id).role == "unit_admin"
        assert db.session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) == "user.role"


def upload(client, data: bytes):
    return client.post(
        "/admin/staff/import",
        data={"file": (io.BytesIO(data), "人员.xlsx")},
        content_type="multipart/form-data",
    )


def test_staff_import_wizard_bad_rows_write_nothing(login_as, app, org_tree):
    root = login_as("root")
    page = upload(
        root,
        staff_workbook(
            [
                ["new01", "新人", "C1X01", None, None, None, None, None, None, None],
                ["new02", "", "NOPE", "老板", None, None, None, None, None, None],
            ]
        ),
    ).get_data(as_text=True)
    assert "发现 3 处错误" in page and "<td>第3行</td><td>单位编码</td>" in page and "确认导入<" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.username.like("new%"))) == 0


def test_staff_import_wizard_previews_then_creates_and_gives_passwords_once(login_as, app, org_tree):
    city_a = login_as("aadmin")
    rows = [
        ["new01", "新人甲", "C1X01", "学员", "13800000000", "综合柜员", "女", 1995, "科员", None],
        ["astaff", "甲员工", "C1X01", None, None, "社会保险经办", None, None, None, None],
    ]
    preview = upload(city_a, staff_workbook(rows)).get_data(as_text=True)
    assert "新增 <b>1</b> 人，更新 <b>1</b> 人，停用 <b>0</b> 人" in preview
    token = preview.split("/admin/staff/import/")[1].split('"')[0]
    done = city_a.post(f"/admin/staff/import/{token}")
    sheet = load_workbook(io.BytesIO(done.data)).active
    username, name, password = list(sheet.iter_rows(min_row=2, values_only=True))[0]
    assert (username, name) == ("new01", "新人甲")
    assert (
        app.test_client().post("/login", data={"username": "new01", "password": password}).location
        == "/password"
    )
    again = city_a.post(f"/admin/staff/import/{token}", follow_redirects=True)  # passwords are given once
    assert "预览已过期或不存在" in again.get_data(as_text=True) and again.mimetype == "text/html"
    outside = upload(
        city_a, staff_workbook([["bstaff", "乙员工", "C2X01", None, None, None, None, None, None, None]])
    )
    text = outside.get_data(as_text=True)
    assert "单位编码" in text and "发现" in text  # a unit admin cannot import into another subtree


def test_deactivate_and_reactivate_an_account(login_as, app, org_tree):
    staff_a = org_tree["people"]["staff_a"]
    device = login_as("astaff")
    city_a = login_as("aadmin")
    city_a.post(f"/admin/staff/{staff_a.id}/active")
    assert device.get("/").status_code == 302  # signed out at once
    assert (
        app.test_client().post("/login", data={"username": "astaff", "password": PASSWORD}).status_code == 200
    )
    city_a.post(f"/admin/staff/{staff_a.id}/active", data={"active": "1"})
    assert (
        app.test_client().post("/login", data={"username": "astaff", "password": PASSWORD}).status_code == 302
    )
    assert login_as("badmin").post(f"/admin/staff/{staff_a.id}/active").status_code == 404
