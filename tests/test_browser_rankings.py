"""Rankings as people meet them on a phone and a laptop (issue 18): the chosen indicator in view,
an empty month that says so, a window's people at the end of the drill-down, a bulletin that fits
the phone and opens on the reader's own unit, a closed period labelled final, and a 选拔 list of
people who took part.

The world is built here (not the demo), with every fact in last month, so this month is empty."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from quizapp import clock, create_app
from quizapp.cli.server import initialise
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptStatus,
    DailySet,
    PointsEntry,
    Role,
    Round,
    RoundStatus,
    RoundTarget,
    Unit,
)
from quizapp.services import accounts, org, rankings, reports

from .conftest import make_config
from .test_browser import (
    DESKTOP,
    PHONE,
    page_for,  # noqa: F401  (the fixture open_page stands on)
    serving,
    shot,
    sign_in,
)

pytestmark = pytest.mark.browser
PASSWORD = "Rank12345"
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
UNITS = [
    ("510000", "四川省人力资源和社会保障厅", None),
    ("510100", "成都市人力资源和社会保障局", "510000"),
    ("510700", "绵阳市人力资源和社会保障局", "510000"),
    ("511500", "宜宾市人力资源和社会保障局", "510000"),
    ("510107", "武侯区政务服务中心人社综合窗口", "510100"),
    ("510117", "郫都区社会保险经办大厅窗口", "510100"),
    ("510703", "涪城区政务服务中心人社综合窗口", "510700"),
    ("511502", "翠屏区政务服务中心人社综合窗口", "511500"),
]
# username, name, unit, role, took part last month (daily points), round score
PEOPLE = [
    ("wh1", "王建华", "510107", Role.STAFF, 30, 90.0),
    ("wh2", "李秀英", "510107", Role.STAFF, 20, 70.0),
    ("wh3", "张志强", "510107", Role.STAFF, 10, None),
    ("wh4", "刘晓东", "510107", Role.STAFF, 0, None),
    ("wh5", "陈海燕", "510107", Role.STAFF, 0, None),
    ("pd1", "杨雪梅", "510117", Role.STAFF, 12, None),
    ("pd2", "黄浩然", "510117", Role.STAFF, 0, None),
    ("pd3", "赵思雨", "510117", Role.STAFF, 0, None),
    ("fc1", "吴梓涵", "510703", Role.STAFF, 15, 80.0),
    ("fc2", "周欣怡", "510703", Role.STAFF, 5, None),
    ("fc3", "徐宇航", "510703", Role.STAFF, 0, None),
    ("cp1", "孙佳怡", "511502", Role.STAFF, 15, 80.0),
    ("cp2", "马子豪", "511502", Role.STAFF, 5, None),
    ("cp3", "朱晨", "511502", Role.STAFF, 0, None),
    ("cdadmin", "胡管理", "510100", Role.UNIT_ADMIN, 40, 95.0),
]


@pytest.fixture
def open_page(request):
    """open_page(PHONE) → a fresh page in a context of its own (test_browser's page_for)."""
    return request.getfixturevalue("page_for")


def last_month_start(today):
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["QUIZAPP_ADMIN_PASSWORD"] = PASSWORD
    try:
        app = create_app(
            make_config(f"sqlite:///{instance / 'rank.sqlite3'}", instance, WTF_CSRF_ENABLED=True)
        )
        with app.app_context():
            initialise(demo_org=False, echo=lambda message: None)
            facts = build(app)
            db.session.commit()
    finally:
        del os.environ["QUIZAPP_ADMIN_PASSWORD"]
    with serving(app) as base:
        yield app, base, facts


def build(app) -> dict:
    tz = app.config["TZINFO"]
    now = clock.utcnow()
    today = clock.business_date(now, tz)
    first = last_month_start(today)
    for code, name, parent in UNITS:
        org.create_unit(code, name, parent)
    users = {}
    for username, name, unit, role, _, _ in PEOPLE:
        users[username] = accounts.create_user(
            username, name, PASSWORD, role=role, unit_code=unit, must_change_password=False
        )
    db.session.flush()
    closes = clock.day_bounds(first + timedelta(days=20), tz)[0]
    round_ = Round(
        kind="monthly",
        title="上月月月比",
        status=RoundStatus.CLOSED,
        opens_at=closes - timedelta(days=3),
        closes_at=closes,
        time_limit_seconds=2400,
        attempts_allowed=1,
        pass_mark=60,
        show_answers="after_close",
        grace_seconds=30,
        blueprint=[{"type": None, "count": 10}],
    )
    db.session.add(round_)
    db.session.flush()
    province = db.session.scalar(select(Unit).where(Unit.code == "510000"))
    db.session.add(RoundTarget(round_id=round_.id, unit_id=province.id))
    source = 1
    for username, _, _, _, points, score in PEOPLE:
        user = users[username]
        for n in range(points // 10 + (1 if points % 10 else 0)):
            day = first + timedelta(days=5 + n)
            amount = min(10, points - 10 * n)
            db.session.add(
                DailySet(
                    user_id=user.id,
                    day=day,
                    size=10,
                    answered_count=10,
                    correct_count=amount,
                    finished_at=clock.day_bounds(day, tz)[0] + timedelta(hours=3),
                )
            )
            db.session.add(
                PointsEntry(user_id=user.id, rule="daily_correct", amount=amount, source_id=source, day=day)
            )
            source += 1
        if score is not None:
            db.session.add(
                Attempt(
                    round_id=round_.id,
                    user_id=user.id,
                    unit_id=user.unit_id,
                    number=1,
                    max_attempts=1,
                    status=AttemptStatus.SUBMITTED,
                    started_at=closes - timedelta(days=1),
                    deadline_at=closes - timedelta(days=1),
                    submitted_at=closes - timedelta(days=1),
                    question_order=[],
                    option_orders={},
                    percent=score,
                    score=score / 10,
                    time_used_seconds=600,
                    graded_at=closes,
                    counted=True,
                )
            )
    db.session.flush()
    rankings.write_snapshot(rankings.round_period(round_, tz), official=True, now=now, tz=tz)
    bulletin = reports.build_month_bulletin(first, now=now)
    return {
        "today": today,
        "last_month": first,
        "month_key": rankings.month_period(first).key,
        "closed_week": rankings.week_period(first + timedelta(days=8)).key,
        "bulletin_id": bulletin.id,
    }


def fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.problems == []


# ---------------------------------------------------------------------------------------------
# 1. The chosen indicator in view


@pytest.mark.parametrize("device", VIEWPORTS)
def test_the_chosen_indicator_is_in_view_and_the_rest_behind_a_toggle(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    phone = device is PHONE
    sign_in(page, base, "wh1", PASSWORD)
    page.goto(f"{base}/rankings?parent=510000&period={facts['month_key']}&indicator=participation")
    page.locator("#chart-units[data-ready]").wait_for()
    chosen = page.locator(".rank-table thead th.chosen")
    assert chosen.inner_text().strip() == "参与率"
    box = chosen.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    first_value = page.locator(".rank-table tbody tr").first.locator("td.chosen")
    assert first_value.is_visible() and "%" in first_value.inner_text()
    extra = page.locator(".rank-table thead th", has_text="人均积分")
    name = "phone" if phone else "desktop"
    shot(page, f"rankings-{name}-01-chosen-indicator")
    if phone:
        assert not extra.is_visible()  # behind the toggle
        fits(page)
        page.get_by_text("显示全部指标").click()
        assert extra.is_visible()
        cue = page.locator(".rank-view .scroll-cue")
        cue.wait_for(state="visible", timeout=5000)  # the resize observer shows it on the next frame
        assert "滑动" in cue.inner_text()
        wrap = page.locator(".rank-table").locator("xpath=..")
        assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")  # it does scroll: the cue is true
        fits(page)  # the table scrolls inside its own box, the page does not
        page.evaluate("scrollTo(0, 0)")
        shot(page, "rankings-phone-02-all-indicators")
    else:
        assert extra.is_visible()
        assert not page.locator(".rank-view .scroll-cue").is_visible()  # nothing to scroll on a laptop


# ---------------------------------------------------------------------------------------------
# 2. An empty month, the honour roll, ties


@pytest.mark.parametrize("device", VIEWPORTS)
def test_an_empty_month_says_so_and_awards_no_honours(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "wh1", PASSWORD)
    page.goto(f"{base}/rankings?parent=510000")
    main = page.locator("main")
    assert "本月尚无数据" in main.inner_text()
    assert page.locator("#chart-units").count() == 0  # no chart of zeros
    assert page.locator(".rank-table").count() == 1  # the units stay listed for the drill-down
    assert "0.0%" not in page.locator(".rank-table td.rank").all_inner_texts()
    if device is PHONE:
        fits(page)
    shot(page, f"rankings-{name}-03-empty-month")
    page.goto(f"{base}/honours")
    assert page.locator(".honour-list li").count() == 0  # no places for 0%
    assert "本月尚无数据" in page.locator("main").inner_text()
    shot(page, f"rankings-{name}-04-empty-honours")
    page.goto(f"{base}/honours?month={facts['last_month']:%Y-%m}")
    units = page.locator("section", has_text="先进单位").locator(".honour-list li")
    texts = units.all_inner_texts()
    assert len(texts) == 3, texts
    tied = [t for t in texts if "并列" in t]
    assert len(tied) == 2 and all("绵阳" in t or "宜宾" in t for t in tied), texts
    assert not any("并列" in t for t in texts if "成都" in t)
    shot(page, f"rankings-{name}-05-honours-with-a-tie")
    page.goto(f"{base}/rankings?parent=510000&period={facts['month_key']}&indicator=composite")
    ranks = page.locator(".rank-table tbody td.rank").all_inner_texts()
    assert sum("并列" in r for r in ranks) == 2, ranks


# ---------------------------------------------------------------------------------------------
# 3. A window's people at the end of the drill-down


@pytest.mark.parametrize("device", VIEWPORTS)
def test_a_window_shows_its_people_to_its_unit_admin(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "cdadmin", PASSWORD)
    page.goto(f"{base}/rankings?parent=510100&period={facts['month_key']}")
    page.get_by_role("link", name="武侯区政务服务中心人社综合窗口").first.click()
    main = page.locator("main")
    main.locator(".people-table").wait_for()
    text = main.inner_text()
    assert "没有下级单位的数据" not in text
    assert "共 5 人" in text and "未参与 2 人" in text
    rows = main.locator(".people-table tbody tr")
    assert rows.count() == 5
    absent = main.locator(".people-table tbody tr.absent")
    assert all("未参与" in t for t in absent.all_inner_texts())
    assert {t.split()[0] for t in absent.all_inner_texts()} == {"刘晓东", "陈海燕"}
    first = rows.first.inner_text()  # who has not taken part comes first: the list to chase
    assert "未参与" in first
    wang = main.locator(".people-table tbody tr", has_text="王建华").inner_text()
    assert "30" in wang and f"{facts['last_month']:%m-}" in wang  # points and 最近参与
    last = main.locator(".people-table th", has_text="最近参与").bounding_box()
    assert last["x"] + last["width"] <= page.viewport_size["width"]  # the whole row on one screen
    if device is PHONE:
        fits(page)
    shot(page, f"rankings-{name}-06-window-people")


@pytest.mark.parametrize("device", VIEWPORTS)
def test_a_window_keeps_its_people_from_staff_and_other_cities(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "wh1", PASSWORD)
    page.goto(f"{base}/rankings?parent=510107&period={facts['month_key']}")
    text = page.locator("main").inner_text()
    assert "刘晓东" not in text and "李秀英" not in text and page.locator(".people-table").count() == 0
    assert "没有下级单位的数据" not in text and "单位管理员" in text
    shot(page, f"rankings-{name}-07-window-for-staff")
    page2 = open_page(device)
    sign_in(page2, base, "cdadmin", PASSWORD)
    page2.goto(f"{base}/rankings?parent=510703&period={facts['month_key']}")  # 绵阳's window
    text = page2.locator("main").inner_text()
    assert "徐宇航" not in text and page2.locator(".people-table").count() == 0


# ---------------------------------------------------------------------------------------------
# 4. The bulletin: fits the phone, opens on the reader's unit


@pytest.mark.parametrize("device", VIEWPORTS)
def test_a_city_admins_bulletin_fits_and_opens_on_their_city(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "cdadmin", PASSWORD)
    page.goto(f"{base}/bulletins/{facts['bulletin_id']}")
    text = page.locator("main").inner_text()
    # 成都: 8 staff and the admin, 5 took part; the province has 15 people, 9 took part
    assert "成都市人力资源和社会保障局" in text.split("一、")[0]
    assert "应参加 9 人，实际参加 5 人" in text and "应参加 15 人" not in text
    for table in page.locator(".bulletin table").all():
        assert table.locator("xpath=..").evaluate("e => getComputedStyle(e).overflowX") == "auto"
    if device is PHONE:
        fits(page)
    shot(page, f"rankings-{name}-08-bulletin-city-admin")
    admin = open_page(device)
    sign_in(admin, base, "admin", PASSWORD)
    admin.goto(f"{base}/bulletins/{facts['bulletin_id']}")
    assert "应参加 15 人，实际参加 9 人" in admin.locator("main").inner_text()
    if device is PHONE:
        fits(admin)


# ---------------------------------------------------------------------------------------------
# 5. Labelled by state


@pytest.mark.parametrize("device", VIEWPORTS)
def test_a_closed_week_is_final_and_this_month_live(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "wh1", PASSWORD)
    page.goto(f"{base}/rankings?parent=510000&period={facts['closed_week']}")
    state = page.locator(".rank-state").inner_text()
    assert "最终排名" in state and "实时" not in state
    shot(page, f"rankings-{name}-09-closed-week")
    page.goto(f"{base}/rankings?parent=510000")
    state = page.locator(".rank-state").inner_text()
    assert "实时排名" in state and "最终" not in state


# ---------------------------------------------------------------------------------------------
# 6. 选拔: people who took part, staff only


@pytest.mark.parametrize("device", VIEWPORTS)
def test_selection_lists_only_staff_who_took_part(world, open_page, device):
    _, base, facts = world
    page = open_page(device)
    name = "phone" if device is PHONE else "desktop"
    sign_in(page, base, "admin", PASSWORD)
    start = facts["last_month"]
    end = rankings.month_period(start).ends_on - timedelta(days=1)
    page.goto(f"{base}/admin/selection?starts_on={start}&ends_on={end}")
    listed = [row.locator("td").nth(1).inner_text().strip() for row in page.locator("table tbody tr").all()]
    # by average score, then points, then login; no one without a round or a point, no unit admin
    assert listed == ["王建华", "孙佳怡", "吴梓涵", "李秀英", "杨雪梅", "张志强", "马子豪", "周欣怡"]
    shot(page, f"rankings-{name}-10-selection")
