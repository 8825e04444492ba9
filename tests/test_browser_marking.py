"""Issue 20, marking in headless Chromium: two staff take a round with a 简答 question, it closes into
marking (评阅中), the admin names two markers, who mark on their phones — far apart on one answer —
so a third marker the admin adds settles it; the close sweep then publishes, and the taker's result
page shows the score the third mark gave.

Screenshots: test-artifacts/screenshots/marking-phone-NN-….png (and /tmp/marking.png: the marking
page on a phone, to look at).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from quizapp.extensions import db
from quizapp.models import PaperQuestion, QuestionVersion, Round, RoundStatus
from quizapp.services import rounds as round_service
from quizapp.services import sweeps

from . import test_browser
from .test_browser import DEMO_PASSWORD, DESKTOP, PHONE, open_round_now, shot, sign_in

live_server = test_browser.live_server  # the demo app behind a real server, once for this module
page_for = test_browser.page_for

pytestmark = pytest.mark.browser
TAKERS = ("staff41", "staff51")  # 宜宾市: 翠屏区 and 南溪区
MARKERS = ("staff11", "staff16", "staff31")  # 成都市 twice, then 绵阳市: never their own unit's takers
ADMIN_PASSWORD = "Admin1234"
START_AND_SUBMIT = """async ([roundId, text]) => {
  const headers = {"X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
                   "Content-Type": "application/json"};
  const call = async (method, url, body) => {
    const response = await fetch(url, {method, headers, body: body && JSON.stringify(body)});
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const view = await call("POST", `/api/v1/rounds/${roundId}/attempts`);
  const question = view.questions.find((q) => q.type === "short");
  await call("PUT", `/api/v1/attempts/${view.id}/answers/${question.id}`, {answer: text});
  await call("POST", `/api/v1/attempts/${view.id}/submit`);
  return view.id;
}"""


def a_round_with_a_written_question(app) -> tuple[int, dict]:
    """A monthly round of one 简答 question from the shipped bank, its paper drawn: (id, the key)."""
    round_id = open_round_now(app, "monthly", "月月比·简答阅卷", [{"type": "short", "count": 1}])
    with app.app_context():
        round_service.draw_paper(round_id, now=datetime.now(UTC))
        key = db.session.scalar(
            select(QuestionVersion.answer)
            .join(PaperQuestion, PaperQuestion.question_version_id == QuestionVersion.id)
            .where(PaperQuestion.round_id == round_id)
        )
        db.session.commit()
    return round_id, key


def sweep(app, round_id: int) -> RoundStatus:
    """The scheduler's close sweep, now."""
    with app.app_context():
        sweeps.close_due_rounds(datetime.now(UTC))
        db.session.commit()
        return db.session.get(Round, round_id).status


def take(page_for, base: str, username: str, round_id: int, text: str) -> int:
    """Sign in on a phone and hand in the answer (through the API the attempt page uses)."""
    page = page_for(PHONE)
    sign_in(page, base, username, DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/rounds/{round_id}")
    page.locator("h1", has_text="月月比·简答阅卷").wait_for()
    return page.evaluate(START_AND_SUBMIT, [round_id, text])


def add_markers(admin, base: str, round_id: int, usernames: str) -> str:
    admin.goto(f"{base}/admin/rounds/{round_id}")  # (a URL with #marking would not reload)
    admin.get_by_label("阅卷人登录名").fill(usernames)
    admin.get_by_role("button", name="添加阅卷人").click()
    flash = admin.locator(".flash-success", has_text="已添加")
    flash.wait_for()
    return flash.inner_text()


def mark_all(page, base: str, round_id: int, give, name: str | None = None) -> int:
    """Mark every answer waiting for this marker: ``give(answer text, keypoint maxima)`` → the
    points per keypoint. Returns how many were marked."""
    page.goto(f"{base}/marking/{round_id}")
    marked = 0
    while True:
        page.locator("form.marking-form, .empty-title").first.wait_for()
        if page.locator(".empty-title", has_text="本轮您的评阅任务已完成").count():
            return marked
        selects = page.locator("form.marking-form select")
        # nothing is chosen for the marker: every select starts at 请选择得分
        assert [selects.nth(i).input_value() for i in range(selects.count())] == [""] * selects.count()
        maxima = [
            selects.nth(i).locator("option").last.get_attribute("value") for i in range(selects.count())
        ]
        answer = page.locator(".mark-answer").inner_text()
        if name and not marked:
            assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
            shot(page, name)
            page.evaluate(test_browser.PIN_TABS, True)
            page.screenshot(path="/tmp/marking.png", full_page=True)
            page.evaluate(test_browser.PIN_TABS, False)
        for index, value in enumerate(give(answer, maxima)):
            selects.nth(index).select_option(value)
        with page.expect_navigation():
            page.get_by_role("button", name="提交评分").click()
        page.locator(".flash-success", has_text="已评分").wait_for()
        marked += 1
        assert marked < 10


def test_two_markers_a_gap_and_a_third_marker_then_the_result(live_server, page_for):
    app, base = live_server
    round_id, key = a_round_with_a_written_question(app)
    good, poor = key["model"], "这个问题我不太清楚，建议您咨询其他部门。"
    admin = page_for(DESKTOP)
    sign_in(admin, base, "admin", ADMIN_PASSWORD)
    admin.wait_for_url(re.compile(r".*/$"))
    assert "已添加 2 位阅卷人" in add_markers(admin, base, round_id, f"{MARKERS[0]}\n{MARKERS[1]}")

    attempts = {
        username: take(page_for, base, username, round_id, text)
        for username, text in zip(TAKERS, (good, poor), strict=True)
    }
    with app.app_context():  # the round's time is up
        now = datetime.now(UTC)
        db.session.execute(
            update(Round)
            .where(Round.id == round_id)
            .values(opens_at=now - timedelta(hours=2), closes_at=now - timedelta(minutes=1))
        )
        db.session.commit()
    assert sweep(app, round_id) == RoundStatus.MARKING

    # The first marker gives every keypoint its full points; the second agrees on the good answer
    # and gives the poor one nothing: a gap beyond 20%, so the poor one waits for a third marker.
    first = page_for(PHONE)
    sign_in(first, base, MARKERS[0], DEMO_PASSWORD)
    first.wait_for_url(f"{base}/")
    first.get_by_role("link", name="阅卷", exact=True).click()
    first.wait_for_url(f"{base}/marking")
    first.locator(".round-card", has_text="月月比·简答阅卷").click()
    first.wait_for_url(f"{base}/marking/{round_id}")
    assert mark_all(first, base, round_id, lambda answer, maxima: maxima, name="marking-phone-01-answer") == 2
    shot(first, "marking-phone-02-done")

    second = page_for(PHONE)
    sign_in(second, base, MARKERS[1], DEMO_PASSWORD)
    second.wait_for_url(f"{base}/")
    zero = lambda answer, maxima: maxima if answer.strip() == good.strip() else ["0"] * len(maxima)  # noqa: E731
    assert mark_all(second, base, round_id, zero) == 2

    admin.goto(f"{base}/admin/rounds/{round_id}")  # (a URL with #marking would not reload)
    stats = admin.locator(".marking-progress")
    stats.wait_for()
    assert re.search(r"1/2\s*份", stats.inner_text()) and "待第三评" in stats.inner_text()
    assert "待分配" in stats.inner_text() and admin.locator("#marking .notice").count() == 1
    assert "已添加 1 位阅卷人" in add_markers(admin, base, round_id, MARKERS[2])

    third = page_for(PHONE)
    sign_in(third, base, MARKERS[2], DEMO_PASSWORD)
    third.wait_for_url(f"{base}/")
    assert mark_all(third, base, round_id, lambda answer, maxima: maxima) == 1  # only the poor one
    admin.goto(f"{base}/admin/rounds/{round_id}")  # (a URL with #marking would not reload)
    admin.locator(".marking-progress").wait_for()
    assert re.search(r"2/2\s*份", admin.locator(".marking-progress").inner_text())
    rows = admin.locator("#marking tbody tr")
    assert rows.count() == 3
    shot(admin, "marking-desktop-03-admin")

    assert sweep(app, round_id) == RoundStatus.CLOSED
    # the poor answer: 0 and full from the first two, full from the third — the two closest agree
    # on full marks, so it scores 100 where the first two's average would have given 50
    taker = page_for(PHONE)
    sign_in(taker, base, TAKERS[1], DEMO_PASSWORD)
    taker.wait_for_url(f"{base}/")
    taker.goto(f"{base}/attempts/{attempts[TAKERS[1]]}/result")
    score = taker.locator(".stat", has_text="得分（百分制）").locator(".stat-value")
    score.wait_for()
    assert score.inner_text().strip() == "100.0"
    shot(taker, "marking-phone-04-result")
