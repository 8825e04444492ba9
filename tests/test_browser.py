"""What a person sees, in headless Chromium: staff on a phone, an admin on a desktop.

Screenshots go to test-artifacts/screenshots/ (QUIZAPP_SCREENSHOTS overrides), which CI keeps.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from quizapp import create_app
from quizapp.cli import initialise
from quizapp.extensions import db
from quizapp.models import User

from .conftest import ROOT, make_config

pytestmark = pytest.mark.browser
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESKTOP = {"viewport": {"width": 1280, "height": 860}, "locale": "zh-CN"}
DEMO_PASSWORD = "Demo12345"
SHOTS = Path(os.environ.get("QUIZAPP_SCREENSHOTS", ROOT / "test-artifacts" / "screenshots"))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The real app behind waitress on a free port, initialised as `quizapp serve --demo` does."""
    instance = tmp_path_factory.mktemp("instance")
    os.environ["QUIZAPP_DEMO_PASSWORD"] = DEMO_PASSWORD
    os.environ["QUIZAPP_ADMIN_PASSWORD"] = "Admin1234"
    try:
        config = make_config(f"sqlite:///{instance / 'live.sqlite3'}", instance, WTF_CSRF_ENABLED=True)
        app = create_app(config)
        with app.app_context():
            initialise(demo_org=True, echo=lambda message: None)
    finally:
        del os.environ["QUIZAPP_DEMO_PASSWORD"], os.environ["QUIZAPP_ADMIN_PASSWORD"]
    with serving(app) as base:
        yield app, base


@contextmanager
def serving(app):
    """Serve ``app`` behind waitress on a free port in a thread; yields its base URL."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    stopping = threading.Event()

    def serve():
        try:
            server.run()
        except OSError:  # closing the socket under a running select loop: expected once we stop
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def page_for(browser):
    contexts = []

    def open_page(device: dict):
        context = browser.new_context(**device)
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("登录名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_staff_signs_in_on_a_phone(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    page.goto(f"{base}/")
    assert page.url.endswith("/login?next=/")
    assert page.get_by_role("heading", name="登录").is_visible()
    shot(page, "01-phone-login")
    sign_in(page, base, "staff01", DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")
    hello = page.locator(".hello h1").inner_text()
    assert hello.endswith("，您好") and len(hello) > 4
    assert "武侯区政务服务中心人社综合窗口" in page.locator(".trail").inner_text()
    assert page.get_by_role("link", name="开始今日学习").is_visible()
    # The page fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # A CJK font is there to draw the text (without one every character is a box).
    assert page.evaluate("document.fonts.check('16px \"WenQuanYi Micro Hei\"')")
    shot(page, "02-phone-home")
    assert page.problems == []


def answer_current_question(page) -> None:
    """Give some answer to the question on screen, as a hurried learner would, and submit it."""
    form = page.locator("form.question")
    form.wait_for()
    blanks = form.locator("input.input")
    if blanks.count():
        for index in range(blanks.count()):
            blanks.nth(index).fill("不知道")
    else:
        form.locator(".choice").first.click()
    form.get_by_role("button", name="提交答案").click()
    page.locator(".verdict").wait_for()


def test_staff_finishes_the_daily_set_on_a_phone(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "staff04", DEMO_PASSWORD)
    page.get_by_role("link", name="开始今日学习").click()
    page.wait_for_url(f"{base}/daily")
    page.locator("form.question").wait_for()
    assert page.locator("#daily-progress").inner_text() == "0/10"
    shot(page, "10-phone-daily-question")
    answer_current_question(page)
    assert page.locator("#daily-progress").inner_text() == "1/10"
    for heading in ("解析", "出处"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.locator(".source blockquote").inner_text().strip() != ""
    assert page.locator(".answer-facts .key").inner_text().strip() != ""
    shot(page, "11-phone-daily-feedback")

    page.reload()  # a reload resumes at the next question of the same set
    page.locator("form.question").wait_for()
    assert page.locator("#daily-progress").inner_text() == "1/10"
    for number in range(2, 11):
        answer_current_question(page)
        assert page.locator("#daily-progress").inner_text() == f"{number}/10"
        page.locator(".actions .btn-primary").click()
    summary = page.locator(".summary")
    summary.wait_for()
    assert "今日学习已完成" in summary.inner_text() or "日日学之星" in summary.inner_text()
    assert "1 天" in summary.inner_text()
    assert summary.locator(".review-list li").count() == 10
    shot(page, "12-phone-daily-finished")
    assert page.problems == []

    page.get_by_role("link", name="首页").click()
    assert page.locator(".daily-card .done").is_visible()

    page.get_by_role("link", name="错题本").first.click()
    page.wait_for_url(f"{base}/mistakes")
    assert page.locator(".mistake").count() >= 1  # a hurried learner gets some wrong
    assert "答错 1 次" in page.locator(".mistake").first.inner_text()
    shot(page, "13-phone-mistake-book")

    page.get_by_role("link", name="记录").click()
    page.locator("#chart-category[data-ready]").wait_for()
    assert page.locator("#chart-category canvas").count() == 1
    assert page.locator(".calendar td.today.done, .calendar td.today.star").count() == 1
    shot(page, "14-phone-history")
    assert page.problems == []


def test_staff_practises_by_category_on_a_phone(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "staff05", DEMO_PASSWORD)
    page.goto(f"{base}/practice")
    page.get_by_label("业务类别").select_option("劳动关系")
    page.get_by_label("题型").select_option("judge")
    page.get_by_role("button", name="换一组").click()
    page.locator("form.question").wait_for()
    assert page.locator(".question-meta").inner_text().startswith("判断")
    assert "劳动关系" in page.locator(".question-meta").inner_text()
    shot(page, "15-phone-practice-question")
    answer_current_question(page)
    assert "本次已答 1 题" in page.locator("#practice-count").inner_text()
    shot(page, "16-phone-practice-feedback")
    page.get_by_role("button", name="下一题").click()
    page.locator("form.question").wait_for()
    assert page.problems == []


def test_weekly_practice_resume_submit_and_review_on_a_phone(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "staff06", DEMO_PASSWORD)
    page.get_by_role("link", name="比赛").click()
    page.locator(".round-card", has_text="周周练").first.click()
    page.get_by_role("button", name="开始作答").click()
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    page.locator(".navigator button").first.wait_for()
    assert page.locator(".navigator button").count() == 20
    assert re.fullmatch(r"(19|20):\d\d", page.locator("#countdown").inner_text())
    for _ in range(3):
        answer_in_attempt(page)
        page.get_by_role("button", name="下一题").click()
    page.locator("#save-state", has_text="已保存").wait_for()
    page.wait_for_function("document.querySelectorAll('.navigator button.unsaved').length === 0")
    shot(page, "20-phone-attempt")

    page.reload()  # resume: the three saved answers come back
    page.locator("#save-state", has_text="已恢复 3 道").wait_for()
    assert page.locator(".navigator button.answered").count() == 3
    assert page.locator(".navigator button.current").inner_text() == "4"
    page.get_by_role("button", name="交卷").last.click()
    dialog = page.locator("dialog#confirm")
    assert "还有 17 题未作答" in dialog.inner_text()
    shot(page, "21-phone-attempt-confirm")
    dialog.get_by_role("button", name="确认交卷").click()
    page.wait_for_url(re.compile(r".*/attempts/\d+/result$"))
    assert page.get_by_text("得分（百分制）").is_visible()
    assert page.locator(".review-item").count() == 20
    page.locator(".review-item details").first.click()
    assert page.locator(".review-item .quote").first.is_visible()
    shot(page, "22-phone-attempt-review")
    assert page.problems == []


def test_autosave_retries_when_the_network_drops(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "staff11", DEMO_PASSWORD)
    page.goto(f"{base}/rounds")
    page.locator(".round-card", has_text="周周练").first.click()
    page.get_by_role("button", name="开始作答").click()
    page.locator(".navigator button").first.wait_for()
    calls = []

    def flaky(route):
        calls.append(route.request.url)
        if len(calls) <= 2:
            route.abort("connectionreset")  # the phone loses its signal twice
        else:
            route.continue_()

    page.route("**/api/v1/attempts/*/answers/*", flaky)
    answer_in_attempt(page)
    page.locator("#save-state", has_text="网络不稳定").wait_for()
    shot(page, "27-phone-autosave-retrying")
    page.locator("#save-state", has_text="已保存").wait_for()
    assert len(calls) == 3
    page.unroute("**/api/v1/attempts/*/answers/*")
    page.reload()
    page.locator("#save-state", has_text="已恢复 1 道").wait_for()  # the answer reached the server


def answer_in_attempt(page) -> None:
    panel = page.locator("#question")
    blanks = panel.locator("input.input")
    if blanks.count():
        for index in range(blanks.count()):
            blanks.nth(index).fill("三十")
    else:
        panel.locator(".choice").first.click()


def test_monthly_contest_is_submitted_when_time_runs_out(live_server, page_for):
    app, base = live_server
    from datetime import UTC, datetime, timedelta

    from quizapp.services import rounds as round_service

    with app.app_context():
        now = datetime.now(UTC)
        settings = round_service.default_settings("monthly", now.date(), app.config["TZINFO"], ["510000"])
        settings.title, settings.opens_at, settings.closes_at = (
            "限时月月比",
            now - timedelta(minutes=1),
            now + timedelta(seconds=12),
        )
        settings.blueprint = [{"type": "single", "count": 5}]
        round_id = round_service.create_round(settings, actor_id=None).id
        db.session.commit()
    page = page_for(PHONE)
    sign_in(page, base, "staff09", DEMO_PASSWORD)
    page.goto(f"{base}/rounds/{round_id}")
    page.get_by_role("button", name="开始作答").click()
    page.locator(".navigator button").first.wait_for()
    answer_in_attempt(page)
    page.locator("#save-state", has_text="已保存").wait_for()
    shot(page, "23-phone-contest-running")
    page.wait_for_url(re.compile(r".*/attempts/\d+/result"), timeout=30000)  # nobody pressed 交卷
    assert page.get_by_text("已交卷").first.is_visible()
    assert "成绩和答案将在" in page.locator("main").inner_text()
    shot(page, "24-phone-contest-auto-submitted")
    assert page.problems == []


def test_admin_creates_a_round_and_previews_the_paper(live_server, page_for):
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", "Admin1234")
    page.goto(f"{base}/admin/rounds")
    assert page.locator("table.table tbody tr").count() >= 3
    page.get_by_role("link", name="新建专项考试").click()
    page.get_by_label("标题").fill("窗口业务专项考试")
    page.get_by_label("第4行题型").select_option("fill")
    page.get_by_label("第4行题数").fill("5")
    shot(page, "25-desktop-round-form")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r".*/admin/rounds/\d+$"))
    assert "已创建“窗口业务专项考试”" in page.locator(".flash").first.inner_text()
    page.get_by_role("button", name="抽取试卷").click()
    page.locator("ol.paper > li").first.wait_for()
    assert page.locator("ol.paper > li").count() == 55
    shot(page, "26-desktop-round-paper")
    assert page.problems == []


def test_admin_opens_rankings_exports_a_bulletin_and_the_big_screen(live_server, page_for):
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", "Admin1234")
    page.get_by_role("link", name="排行").click()
    page.wait_for_url(f"{base}/rankings")
    assert "四川省人力资源和社会保障厅 · 下级单位排名" in page.locator("h1").inner_text()
    page.locator("#chart-units[data-ready]").wait_for()
    assert page.locator("table.rank-table tbody tr").count() == 3
    shot(page, "30-desktop-rankings")
    page.get_by_label("统计周期").select_option(
        index=len(page.get_by_label("统计周期").locator("option").all()) - 1
    )
    page.get_by_role("button", name="查看").click()
    assert "正式排名" in page.locator("main").inner_text()
    page.locator("table.rank-table tbody tr a").first.click()  # drill down into a city
    assert "县" in page.locator("main").inner_text() or "区" in page.locator("main").inner_text()
    page.get_by_role("link", name="通报").click()
    page.locator("ul.log a").first.click()
    assert "未参加人员" in page.locator("main").inner_text()
    shot(page, "31-desktop-bulletin")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.goto(f"{base}/admin/screens")
    page.get_by_label("单位编码").fill("510000")
    page.get_by_label("名称").fill("大厅电视")
    page.get_by_role("button", name="生成链接").click()
    screen_url = page.locator("td.wrap a").first.get_attribute("href")
    tv = page_for({"viewport": {"width": 1920, "height": 1080}, "locale": "zh-CN"})
    tv.goto(base + screen_url)  # no sign-in on the TV
    assert "练兵比武" in tv.locator("h1").inner_text() and tv.locator(".screen-table tbody tr").count() == 3
    shot(tv, "32-tv-big-screen")
    assert page.problems == [] and tv.problems == []


def test_staff_sees_rankings_and_the_honour_roll_on_a_phone(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "staff10", DEMO_PASSWORD)
    page.get_by_role("link", name="排行").click()
    page.locator("#chart-units[data-ready]").wait_for()
    shot(page, "33-phone-rankings")
    page.get_by_role("link", name="个人排行").click()
    assert (
        "我的位置" in page.locator("main").inner_text() or "不在本榜单" in page.locator("main").inner_text()
    )
    page.get_by_role("link", name="光荣榜").click()
    assert "光荣榜" in page.locator("h1").inner_text()
    shot(page, "34-phone-honours")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.problems == []


def test_admin_imports_a_workbook_with_a_bad_row_fixes_it_and_imports(live_server, page_for):
    from .test_bank_io import tabular_rows, xlsx_bytes

    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", "Admin1234")
    page.goto(f"{base}/admin/questions")
    page.get_by_role("link", name="导入题目").click()
    rows = tabular_rows()
    rows[2][12] = "Z"  # a wrong answer on line 3
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    page.get_by_label("题目文件").set_input_files(
        {"name": "新题.xlsx", "mimeType": xlsx, "buffer": xlsx_bytes(rows)}
    )
    page.get_by_role("button", name="上传并检查").click()
    problems = page.locator("table.problems")
    assert "第3行" in problems.inner_text() and "答案" in problems.inner_text()
    assert page.get_by_role("button", name=re.compile("确认导入")).count() == 0
    shot(page, "40-desktop-import-error")
    page.get_by_label("题目文件").set_input_files(
        {"name": "新题.xlsx", "mimeType": xlsx, "buffer": xlsx_bytes(tabular_rows())}
    )
    page.get_by_role("button", name="上传并检查").click()
    assert "将新增 4 题" in page.locator("main").inner_text()
    shot(page, "41-desktop-import-preview")
    page.get_by_role("button", name="确认导入 4 题").click()
    assert "已导入 4 题" in page.locator(".flash").first.inner_text()
    shot(page, "42-desktop-question-bank")
    assert page.problems == []


def test_wrong_password_shows_a_chinese_error(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "staff02", "not-the-password")
    assert page.get_by_role("alert").inner_text() == "登录名或密码不正确"
    shot(page, "03-phone-login-error")


def test_first_sign_in_forces_a_password_change(live_server, page_for):
    app, base = live_server
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "staff03"))
        user.must_change_password = True
        db.session.commit()
    page = page_for(PHONE)
    sign_in(page, base, "staff03", DEMO_PASSWORD)
    page.wait_for_url(f"{base}/password")
    assert page.get_by_text("首次登录须修改初始密码").is_visible()
    shot(page, "04-phone-password-change")
    page.get_by_label("当前密码").fill(DEMO_PASSWORD)
    page.get_by_label("新密码", exact=True).fill("Fresh12345")
    page.get_by_label("再次输入新密码").fill("Fresh12345")
    page.get_by_role("button", name="确认修改").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_text("密码已修改").is_visible()
    shot(page, "05-phone-password-changed")


def test_admin_sees_the_bank_and_staff_on_a_desktop(live_server, page_for):
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", "Admin1234")
    page.get_by_role("link", name="管理").click()
    page.wait_for_url(f"{base}/admin/")
    assert int(page.locator(".stat-value").nth(2).inner_text()) >= 400
    assert page.get_by_role("cell", name="中华人民共和国社会保险法").is_visible()
    shot(page, "06-desktop-admin-home")
    page.get_by_role("link", name="在岗人员").click()
    assert "共 65 人" in page.locator("main").inner_text()  # 64 in units + admin
    shot(page, "07-desktop-staff-list")
    assert page.problems == []


def test_unit_admin_sees_their_city_on_a_phone(live_server, page_for):
    _, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, "city2_admin", DEMO_PASSWORD)
    page.goto(f"{base}/admin/staff")
    text = page.locator("main").inner_text()
    assert "共 21 人" in text and "绵阳" not in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "08-phone-unit-admin-staff")
