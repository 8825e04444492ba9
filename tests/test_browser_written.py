"""Issue 20, written answers in headless Chromium on a phone: a 情景应答 in a round (the public's words
quoted, the answer typed, autosaved, still there after a reload) and in 专项练习 (write, 自评 against
the keypoints, then the model answer).

Screenshots: test-artifacts/screenshots/written-phone-NN-….png.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import AttemptAnswer, Round, User
from quizapp.services import written

from .test_browser import (
    DEMO_PASSWORD,
    PHONE,
    PIN_TABS,
    live_server,
    open_round_now,
    page_for,
    shot,
    sign_in,
    start_round,
)

pytestmark = pytest.mark.browser
__all__ = ["live_server", "page_for"]  # fixtures, used by name

TYPED = "您好，请别着急。<b>先</b>带上身份证，到公共就业服务机构办理失业登记。\n我们这里可以帮您查询。"


def signed_in(live_server, page_for, username: str):
    app, base = live_server
    page = page_for(PHONE)
    sign_in(page, base, username, DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")
    return app, base, page


def picture(page, path: str, locator=None) -> None:
    """A phone-size picture for a person to look at (/tmp), the tab bar pinned to the page's end."""
    page.evaluate(PIN_TABS, True)
    if locator is None:
        page.screenshot(path=path, full_page=True)
    else:  # the screen as the person sees it with the part in view, under the sticky top bar
        locator.evaluate(
            "element => window.scrollTo(0, element.getBoundingClientRect().top + window.scrollY - 70)"
        )
        page.screenshot(path=path)
    page.evaluate(PIN_TABS, False)


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert page.problems == []


def go_to_written(page) -> None:
    """Go to the attempt's written question by its number (the order is shuffled per attempt, and a
    reload opens the first unanswered one)."""
    question = page.locator("#question")
    question.locator(".stem").wait_for()
    numbers = page.locator(".navigator button")
    for index in range(numbers.count()):
        numbers.nth(index).click()
        page.wait_for_function(
            "n => document.querySelector('#question .question-meta')?.textContent.includes(`第 ${n} /`)",
            arg=index + 1,
        )
        if question.locator("textarea").count():
            return
    raise AssertionError("no written question on the paper")


def close_now(app, round_id: int) -> None:
    """Close the round now (its close time moved to a minute ago), as the sweep would."""
    from quizapp.services import rounds

    with app.app_context():
        round_ = db.session.get(Round, round_id)
        now = datetime.now(UTC)
        round_.closes_at = min(round_.closes_at, now - timedelta(minutes=1))
        rounds.close_round(round_id, now=now)
        db.session.commit()


def mark_twice(app, round_id: int) -> float:
    """Two markers each give the first keypoint its points and nothing else; returns those points."""
    with app.app_context():
        markers = db.session.scalars(select(User.id).where(User.username.in_(["staff33", "staff34"]))).all()
        written.add_markers(round_id, list(markers), own_unit_ok=True, actor_id=None)
        for marker in markers:
            task = written.next_task(round_id, marker)
            rubric = task["question"]["rubric"]
            first = rubric[0]["points"]
            awarded = [first] + [0.0] * (len(rubric) - 1)
            written.mark(task["task"], marker, awarded, [], task["stamp"], now=datetime.now(UTC))
        db.session.commit()
    return first


def test_a_situation_answer_in_a_round_is_autosaved_and_back_after_a_reload(live_server, page_for):
    app, base, page = signed_in(live_server, page_for, "staff31")
    round_id = open_round_now(
        app, "weekly", "周周练·情景应答", [{"type": "single", "count": 1}, {"type": "situation", "count": 1}]
    )
    page.goto(f"{base}/rounds/{round_id}")
    start_round(page)
    page.wait_for_url(re.compile(r".*/attempts/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[1])
    go_to_written(page)
    question = page.locator("#question")
    says = question.locator("blockquote.says")
    assert says.inner_text().startswith("群众说：") and "“" in says.inner_text()
    counter = question.locator(".char-count")
    assert counter.inner_text() == "已写 0 / 2000 字"
    box = question.locator("textarea")
    assert box.get_attribute("maxlength") == "2000"
    box.fill(TYPED)
    assert counter.inner_text() == f"已写 {len(TYPED)} / 2000 字"
    page.locator("#save-state", has_text="已保存").wait_for()
    assert "answered" in (page.locator(".navigator button.current").get_attribute("class") or "")
    fits(page)
    picture(page, "/tmp/written-attempt-phone.png")
    picture(page, "/tmp/written-attempt-box-phone.png", question.locator(".written-field"))
    shot(page, "written-phone-01-attempt")
    with app.app_context():
        saved = db.session.scalars(
            select(AttemptAnswer.response).where(AttemptAnswer.attempt_id == attempt_id)
        )
        assert TYPED.strip() in list(saved)

    page.reload()
    go_to_written(page)
    assert page.locator("#question textarea").input_value() == TYPED.strip()
    assert page.locator("#question .char-count").inner_text() == f"已写 {len(TYPED.strip())} / 2000 字"
    assert page.locator("#question b").count() == 0  # typed HTML is text, never markup

    page.locator(".submit-all").click()
    dialog = page.locator("dialog#confirm")
    dialog.get_by_role("button", name="确认交卷").click()
    page.wait_for_url(f"{base}/attempts/{attempt_id}/result")
    text = page.locator("main").inner_text()
    assert "由阅卷人评阅" in text and "得分（百分制）" not in text
    fits(page)

    # The round closes: 评阅中 until two markers have marked the answer, then the review.
    close_now(app, round_id)
    page.reload()
    page.get_by_role("heading", name="评阅中，成绩待公布").wait_for()
    assert "得分（百分制）" not in page.locator("main").inner_text()
    points = mark_twice(app, round_id)
    close_now(app, round_id)
    page.reload()
    review = page.locator(".written-review")
    review.wait_for()
    assert review.locator(".written-text").first.inner_text() == TYPED.strip()
    assert review.locator("b").count() == 0
    assert f"评阅得分 {points:g} / " in review.inner_text() and "参考答案" in review.inner_text()
    assert page.get_by_text("得分（百分制）").is_visible()
    fits(page)
    picture(page, "/tmp/written-result-phone.png")
    picture(page, "/tmp/written-result-review-phone.png", review)
    shot(page, "written-phone-02-result")


def test_practising_a_situation_with_self_marking(live_server, page_for):
    app, base, page = signed_in(live_server, page_for, "staff32")
    page.goto(f"{base}/practice?type=situation")
    form = page.locator("#practice form.question")
    form.locator("textarea").wait_for()
    assert "情景应答" in form.locator(".question-meta").inner_text()
    assert form.locator("blockquote.says").inner_text().startswith("群众说：")
    send = form.get_by_role("button", name="自评")
    assert send.is_disabled()
    form.locator("textarea").fill(TYPED)
    assert form.locator(".char-count").inner_text() == f"已写 {len(TYPED)} / 2000 字"
    shot(page, "written-phone-02-practice-write")
    send.click()

    marking = page.locator("#practice form.self-mark")
    marking.wait_for()
    assert marking.locator(".written-text").inner_text() == TYPED.strip()
    boxes = marking.locator("input[type=checkbox]")
    assert boxes.count() >= 2
    assert marking.locator(".written-text.key").count() == 0  # the model answer only after self-marking
    assert re.search(r"满分 \d+(\.\d+)? 分", marking.inner_text())
    fits(page)
    picture(page, "/tmp/written-selfmark-phone.png")
    shot(page, "written-phone-03-self-mark")

    page.reload()  # the self-marking step survives a reload of the sitting
    marking.wait_for()
    boxes.first.check()
    marking.get_by_role("button", name="提交自评").click()
    verdict = page.locator("#practice .verdict")
    verdict.wait_for()
    assert "自评" in verdict.inner_text()
    feedback = page.locator("#practice")
    assert "参考答案" in feedback.inner_text() and "解析" in feedback.inner_text()
    assert re.search(r"自评得分 \d+(\.\d+)? / \d+(\.\d+)? 分", feedback.inner_text())
    assert feedback.locator(".keypoint-list li.covered").count() == 1
    assert feedback.locator(".written-text b").count() == 0
    fits(page)
    picture(page, "/tmp/written-feedback-phone.png")
    picture(page, "/tmp/written-feedback-review-phone.png", feedback.locator(".written-review"))
    shot(page, "written-phone-04-practice-feedback")
    feedback.get_by_role("button", name="下一题").click()
    page.locator("#practice form.question textarea").wait_for()
