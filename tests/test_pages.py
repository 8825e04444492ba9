"""The pages a person sees: home, admin home, error pages, escaping."""

from __future__ import annotations

import pytest
from flask import abort

from quizapp.extensions import db
from quizapp.models import Role
from quizapp.services import bank_io

from .conftest import ROOT


def test_staff_home_shows_name_unit_path_and_honest_empty_states(client, auth, org_tree):
    auth.login("astaff")
    page = client.get("/").get_data(as_text=True)
    assert "甲员工，您好" in page
    assert page.index("示范省") < page.index("甲市") < page.index("甲市一区窗口")
    assert "开始今日学习" in page and "暂无进行中的练习或比赛" in page
    assert "暂无错题，答错的题会收在这里" in page
    assert 'href="/admin/"' not in page  # staff get no admin link
    assert "font-family" not in page  # styles come from the stylesheet (CSP), not inline


def test_stylesheet_has_a_cjk_font_stack(client):
    with client.get("/static/css/app.css") as response:
        css = response.get_data(as_text=True)
    for font in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei"):
        assert font in css


def test_admin_home_shows_the_bank(app, client, auth, org_tree):
    with app.app_context():
        bank_io.load_shipped_banks(ROOT / "question_bank")
        db.session.commit()
    auth.login("root")
    page = client.get("/admin/").get_data(as_text=True)
    assert "题库概况" in page and "中华人民共和国社会保险法" in page and "最近操作" in page


def test_unit_admin_home_counts_only_their_subtree(client, auth, org_tree):
    auth.login("aadmin")
    page = client.get("/admin/").get_data(as_text=True)
    assert "单位管理员 · 甲市" in page and "题库概况" not in page
    assert '<span class="stat-value">2</span><span class="stat-label">在岗人员</span>' in page


def test_not_found_page_is_chinese(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_server_error_page_is_chinese(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("kaput")

    response = client.get("/boom")
    assert response.status_code == 500 and "系统错误" in response.get_data(as_text=True)
    assert "kaput" not in response.get_data(as_text=True)


def test_forbidden_page_is_chinese(app, client):
    @app.route("/forbidden")
    def forbidden():
        abort(403)

    assert "无权访问" in client.get("/forbidden").get_data(as_text=True)


def test_names_are_escaped(client, auth, create_unit, create_user):
    unit = create_unit("XSS", '<img src=x onerror="alert(1)">窗口')
    create_user("xss", unit=unit, name="<script>alert(1)</script>", role=Role.UNIT_ADMIN)
    auth.login("xss")
    for url in ("/", "/admin/", "/admin/staff"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;img src=x" in page


def test_admin_dashboard_shows_todays_participation_open_rounds_and_job_runs(app, client, auth, org_tree):
    from quizapp import jobs

    jobs.run_sweep(app, "roll_day")
    auth.login("padmin")
    page = client.get("/admin/").get_data(as_text=True)
    assert "今日日日学参与" in page and "甲市" in page and "乙市" in page and "定时任务" not in page
    client.post("/logout")
    auth.login("root")
    page = client.get("/admin/").get_data(as_text=True)
    assert "日终结转：日日学参与情况" in page and "roll_day" not in page and "进行中的练习比赛" in page
