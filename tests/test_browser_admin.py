"""Admin pages as an admin meets them (issue 18): they land on the admin home, the job log and the
forms speak plain Chinese, the rounds list shows what is running, units are picked by name (on a
desktop, and a unit admin's staff filter on a phone), and the demo's default views are not empty.

Runs on the demo, as `quizapp serve --demo` builds it (``live_server``, one per module)."""

from __future__ import annotations

import re

import pytest

from .test_browser import (
    DEMO_PASSWORD,
    DESKTOP,
    PHONE,
    live_server,  # noqa: F401  (the fixture: the demo behind waitress)
    page_for,  # noqa: F401  (the fixture open_page stands on)
    shot,
    sign_in,
)

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "Admin1234"


def fits(page) -> None:
    if page.viewport_size["width"] < 720:
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert page.problems == []


@pytest.mark.parametrize(
    ("device", "username", "password", "landing"),
    [
        (DESKTOP, "admin", ADMIN_PASSWORD, "/admin/"),
        (PHONE, "city1_admin", DEMO_PASSWORD, "/admin/"),
        (DESKTOP, "province_admin", DEMO_PASSWORD, "/admin/"),
        (PHONE, "staff02", DEMO_PASSWORD, "/"),
    ],
    ids=["admin-desktop", "city-admin-phone", "province-admin-desktop", "staff-phone"],
)
def test_admins_land_on_the_admin_home_and_staff_on_their_own(
    live_server,  # noqa: F811
    page_for,  # noqa: F811
    device,
    username,
    password,
    landing,
):
    _, base = live_server
    page = page_for(device)
    sign_in(page, base, username, password)
    page.wait_for_url(f"{base}{landing}")
    device_name = "phone" if device is PHONE else "desktop"
    if landing == "/admin/":
        assert page.locator("h1").inner_text() == "管理首页"
        assert page.get_by_role("link", name="开始今日学习").count() == 0
        fits(page)
        shot(page, f"admin-{device_name}-01-landing-{username}")
        # Their own 日日学 is one tab away.
        page.locator("nav.tabs").get_by_role("link", name="首页").click()
        page.wait_for_url(f"{base}/")
        assert page.get_by_role("link", name=re.compile("开始今日学习|继续学习")).count() == 1
    else:
        assert page.get_by_role("link", name="开始今日学习").is_visible()
        assert page.get_by_role("link", name="管理").count() == 0
    fits(page)


def test_the_job_log_speaks_chinese(live_server, page_for):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/jobs")
    row = page.locator("table.table tbody tr", has_text="结束到期轮次")
    row.get_by_role("button", name="立即运行").click()
    page.wait_for_url(f"{base}/admin/jobs")
    assert (
        page.locator(".flash").first.inner_text()
        == "结束到期轮次：评分、排名、快照、通报：完成 关闭 0 轮，等待 0 轮"
    )
    page.get_by_role("row", name=re.compile("开放到期的轮次")).get_by_role("button", name="立即运行").click()
    page.wait_for_url(f"{base}/admin/jobs")
    log = page.locator("table.compact tbody tr")
    assert log.nth(0).locator("td").nth(0).inner_text() == "开放到期的轮次（抽取试卷）"
    assert log.nth(0).locator("td").nth(4).inner_text() == "开放 2 轮"  # the demo's weekly and monthly
    assert log.nth(1).locator("td").nth(0).inner_text() == "结束到期轮次：评分、排名、快照、通报"
    assert log.nth(1).locator("td").nth(4).inner_text() == "关闭 0 轮，等待 0 轮"
    assert log.nth(0).locator("td").nth(5).inner_text() == "手动运行"
    main = page.locator("main").inner_text()
    assert not re.search(r"[{}\"]|close_rounds|open_rounds|refresh_rankings|_", main), main
    shot(page, "admin-desktop-02-job-log")

    page.goto(f"{base}/admin/")  # the home's recent runs say the same
    runs = page.locator("section.card", has=page.locator("h2", has_text="定时任务")).inner_text()
    assert "开放到期的轮次（抽取试卷） · 正常 开放 2 轮" in runs and "open_rounds" not in runs
    assert page.problems == []


def test_the_rounds_list_shows_what_is_running(live_server, page_for):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/rounds")
    main = page.locator("main").inner_text()
    assert "（进行中）" not in main and "未开始（" not in main
    running = page.locator("h2", has_text="进行中")
    assert re.fullmatch(r"进行中（\d+）", running.inner_text()) and int(running.inner_text()[4:-1]) >= 2
    table = page.locator("h2#rounds-open + .table-wrap table")
    assert table.locator("tbody tr", has_text="周周练").count() >= 1
    assert table.locator("tbody tr", has_text="月月比").count() >= 1
    closed = page.locator("h2#rounds-closed + .table-wrap table tbody tr")
    assert closed.count() >= 3  # the demo's last three weeks
    assert page.locator(".round-counts").get_by_text(re.compile(r"进行中 \d+ 轮")).is_visible()
    shot(page, "admin-desktop-03-rounds")
    table.locator("tbody tr a", has_text="月月比").first.click()
    assert page.locator(".stat-value").first.inner_text() == "进行中"

    # The learner's 比赛 tab tells the system admin (in no unit) where the rounds are.
    page.goto(f"{base}/rounds")
    page.get_by_role("link", name="管理 › 练习比赛").click()
    page.wait_for_url(f"{base}/admin/rounds")
    assert page.problems == []


def test_admin_pages_say_it_plainly(live_server, page_for):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/rounds/new?kind=exam")
    form = page.locator("main").inner_text()
    assert "北京时间" in form and "Asia/Shanghai" not in form and "编码" not in form
    page.goto(f"{base}/admin/schedule/weekly")
    assert "北京时间" in page.locator("main").inner_text()
    page.goto(f"{base}/admin/rounds")
    page.locator("h2#rounds-closed + .table-wrap table tbody tr a").first.click()
    page.get_by_role("link", name="试题分析").click()
    analysis = page.locator("main").inner_text()
    assert "区分度" in analysis and "Moodle" not in analysis
    assert page.problems == []


def test_the_round_form_picks_units_by_name(live_server, page_for):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/rounds/new?kind=exam")
    picker = page.locator(".unit-picker")
    assert picker.locator(".unit-chip").inner_text().startswith("四川省人力资源和社会保障厅")  # the default
    assert page.locator("input[name=targets]").get_attribute("type") == "hidden"
    search = page.get_by_role("combobox", name="参加单位")
    search.fill("武侯")
    option = page.get_by_role("option", name=re.compile("^武侯区人力资源和社会保障局"))
    assert "四川省人力资源和社会保障厅 › 成都市人力资源和社会保障局" in option.inner_text()
    shot(page, "admin-desktop-04-unit-picker")
    option.click()
    assert page.locator("input[name=targets]").input_value() == "510000 510107"
    picker.get_by_role("button", name="移除四川省人力资源和社会保障厅").click()
    search.fill("江油市政务")
    page.locator(".unit-option").and_(
        page.get_by_role("option", name=re.compile("^江油市政务服务中心"))
    ).wait_for()
    assert page.locator(".unit-option").count() == 1
    search.press("ArrowDown")
    search.press("Enter")  # the keyboard chooses; it does not submit
    assert page.locator("input[name=targets]").input_value() == "510107 51078101"
    page.get_by_label("标题").fill("武侯、江油专项考试")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/admin/rounds/\d+$"))
    targets = page.locator("dt:has-text('参加单位') + dd").inner_text()
    assert "武侯区人力资源和社会保障局" in targets and "江油市政务服务中心人社综合窗口" in targets
    assert "四川省" not in targets
    page.get_by_role("link", name="修改").click()  # the form shows the names it holds, not codes
    page.wait_for_url(re.compile(r".*/admin/rounds/\d+/edit"))
    page.locator(".unit-chip").nth(1).wait_for()  # the picker draws its chips once the page has loaded
    chips = page.locator(".unit-chip").all_inner_texts()
    assert [chip.split("\n")[0] for chip in chips] == [
        "武侯区人力资源和社会保障局",
        "江油市政务服务中心人社综合窗口",
    ]
    assert page.problems == []


def test_a_unit_admin_filters_staff_by_unit_name_on_a_phone(live_server, page_for):  # noqa: F811
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "city2_admin", DEMO_PASSWORD)
    page.goto(f"{base}/admin/staff")
    search = page.get_by_role("combobox", name="单位")
    search.fill("武侯")  # another city: out of scope, so not found
    page.locator(".unit-option-none").wait_for()
    assert page.locator(".unit-option").count() == 0
    search.fill("江油市政务")
    page.get_by_role("option", name=re.compile("^江油市政务服务中心人社综合窗口")).click()
    fits(page)
    shot(page, "admin-phone-02-staff-unit-picker")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r".*/admin/staff\?unit=51078101"))
    assert "共 5 人" in page.locator("main").inner_text()
    assert page.locator(".unit-chip").inner_text().startswith("江油市政务服务中心人社综合窗口")
    fits(page)
    shot(page, "admin-phone-03-staff-filtered")


def test_the_big_screen_link_names_its_unit_by_name(live_server, page_for):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/screens")
    page.get_by_role("combobox", name="单位").fill("宜宾")
    page.get_by_role("option", name=re.compile("^宜宾市人力资源和社会保障局")).click()
    page.get_by_label("名称").fill("宜宾大厅电视")
    page.get_by_role("button", name="生成链接").click()
    assert page.locator("tbody tr", has_text="宜宾大厅电视").locator("td").nth(1).inner_text() == (
        "宜宾市人力资源和社会保障局"
    )
    assert page.problems == []


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_demo_shows_this_month_and_the_honour_roll(live_server, page_for, device):  # noqa: F811
    """A fresh demo: this month's unit rankings, the month's individual board and the 光荣榜 have
    people and points in them, while the staff member's own set today is still to take."""
    _, base = live_server
    page = page_for(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "staff12", DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("link", name="开始今日学习").is_visible()  # today's set: untaken
    page.goto(f"{base}/rankings?indicator=participation")
    page.locator("#chart-units[data-ready]").wait_for()
    month = page.locator("main").inner_text()
    assert re.search(r"\d{4}年\d{1,2}月 · 实时排名", month)
    assert re.search(r"[1-9]\d*\.\d%", month)  # people took part this month
    shot(page, f"admin-{name}-demo-rankings")
    page.goto(f"{base}/rankings/people")
    board = page.locator("main").inner_text()
    listed = int(re.search(r"共 (\d+) 人上榜", board).group(1))
    assert listed >= 30 and "我的位置：第" in board
    shot(page, f"admin-{name}-demo-people")
    page.goto(f"{base}/honours")
    assert page.locator("section", has_text="先进单位").locator(".honour-list li").count() == 3
    assert page.locator("section", has_text="学习之星").locator(".honour-list li").count() >= 3
    fits(page)
    shot(page, f"admin-{name}-demo-honours")
