"""收藏 and the whole mistake book in headless Chromium, on a phone and on a desktop (issue 18): a star
in the 日日学 feedback, 我的收藏 with every question in full and 练习收藏 from it; the home tile right
after eight misses (错题本 8 题 · 明天起复习, not "暂无待复习的错题"); the mistake book with options,
your answer, the key, 解析 and 出处, filtered by category, and 练习全部错题."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import LearningItem, QuestionVersion, Unit, User
from quizapp.services import accounts, daily, rules

from . import test_browser
from .test_browser import DEMO_PASSWORD, DESKTOP, PHONE, answer_current_question, shot, sign_in

live_server = test_browser.live_server  # the demo app behind a real server, once for this module
page_for = test_browser.page_for

pytestmark = pytest.mark.browser
DEVICES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def device_name(device: dict) -> str:
    return "phone" if device is PHONE else "desktop"


def fits(page) -> None:
    """Nothing sticks out sideways, and the page raised no script error."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.problems == []


def newcomer(app, username: str) -> str:
    """A staff member with no history yet (the demo's people have weeks of it), in a demo window."""
    with app.app_context():
        window = db.session.scalar(
            select(Unit.code).join(User, User.unit_id == Unit.id).where(User.username == "staff01")
        )
        accounts.create_user(username, "新同事", DEMO_PASSWORD, unit_code=window, must_change_password=False)
        db.session.commit()
    return username


def wrong_answer(version: QuestionVersion):
    """An answer to the question that is surely wrong."""
    keys = [option["key"] for option in version.options]
    if version.type == "single":
        return next(key for key in keys if key != version.answer)
    if version.type == "multiple":
        return [key for key in keys if key not in version.answer][:1] or version.answer[:1]  # ½ is a miss too
    if version.type == "judge":
        return "false" if version.answer else "true"
    if version.type == "calc":
        return "987654321"
    return ["不知道"] * len(version.answer)


def miss_today(app, username: str, misses: int) -> None:
    """Answer ``misses`` questions of the person's 日日学 today wrong, as they would on the page."""
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        now, learning = clock.utcnow(), rules.current()
        todays = daily.todays_set(user_id, now=now, rules=learning)
        rows = db.session.execute(
            select(LearningItem.question_id, QuestionVersion)
            .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
            .where(LearningItem.daily_set_id == todays.id)
            .order_by(LearningItem.position)
        ).all()
        for question_id, version in rows[:misses]:
            outcome = daily.answer_daily(user_id, question_id, wrong_answer(version), now=now, rules=learning)
            assert outcome.item.correct is False
        db.session.commit()


@pytest.mark.parametrize("device", DEVICES)
def test_star_a_daily_question_read_it_in_the_favourites_and_practise_from_them(
    live_server, page_for, device
):
    app, base = live_server
    name = device_name(device)
    username = newcomer(app, f"fav_{name}")
    page = page_for(device)
    sign_in(page, base, username, DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/daily")
    answer_current_question(page)
    star = page.get_by_role("button", name="☆ 收藏")
    star.click()
    page.get_by_role("button", name="★ 已收藏").wait_for()
    assert page.locator(".feedback-tools .star-toggle").get_attribute("aria-pressed") == "true"
    stem = page.locator(".stem-answered").inner_text()
    key = page.locator(".answer-facts .key").inner_text()
    fits(page)
    shot(page, f"favourites-{name}-01-daily-starred")

    page.goto(f"{base}/")
    page.get_by_role("link", name="我的收藏").click()
    page.wait_for_url(f"{base}/favourites")
    card = page.locator(".favourite")
    assert card.count() == 1
    assert card.locator(".stem").inner_text() == stem
    assert card.locator(".answer-facts .key").inner_text() == key
    for heading in ("解析", "出处"):
        assert card.get_by_role("heading", name=heading).is_visible()
    assert card.locator(".source blockquote").inner_text().strip() != ""
    fits(page)
    shot(page, f"favourites-{name}-02-list")

    page.get_by_role("link", name="练习收藏").click()
    page.wait_for_url(f"{base}/practice?from=favourites")
    assert page.get_by_role("heading", name="练习收藏").is_visible()
    page.locator("form.question").wait_for()
    assert page.locator("form.question .stem").inner_text() == stem  # the one starred question
    fits(page)
    shot(page, f"favourites-{name}-03-practice")

    # Unstarred from the list, it is gone from the list on the next visit.
    page.goto(f"{base}/favourites")
    page.locator(".favourite .star-toggle").click()
    page.get_by_role("button", name="☆ 收藏").wait_for()
    page.reload()
    assert page.get_by_text("还没有收藏的题目").is_visible()


@pytest.mark.parametrize("device", DEVICES)
def test_after_eight_misses_the_home_tile_and_the_whole_mistake_book(live_server, page_for, device):
    app, base = live_server
    name = device_name(device)
    username = newcomer(app, f"miss_{name}")
    miss_today(app, username, 8)
    page = page_for(device)
    sign_in(page, base, username, DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")
    tile = page.locator(".tile", has_text="错题本")
    assert "错题本 8 题 · 明天起复习" in tile.inner_text(), tile.inner_text()
    assert "暂无待复习" not in tile.inner_text()
    fits(page)
    shot(page, f"mistakes-{name}-01-home-tile")

    tile.click()
    page.wait_for_url(f"{base}/mistakes")
    cards = page.locator(".mistake")
    assert cards.count() == 8
    first = cards.first
    facts = first.locator(".answer-facts").inner_text()
    assert "你的答案" in facts and "正确答案" in facts
    assert first.locator(".answer-facts .key").inner_text().strip() != ""
    for heading in ("解析", "出处"):
        assert first.get_by_role("heading", name=heading).is_visible()
    assert first.locator(".source blockquote").inner_text().strip() != ""
    fits(page)
    shot(page, f"mistakes-{name}-02-book")

    # One category: only its questions, and practice of them.
    category = first.locator(".tag-soft").inner_text()
    option = page.locator("select[name=category] option", has_text=category).inner_text()
    page.get_by_label("业务类别").select_option(label=option)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r".*/mistakes\?category=\d+"))
    assert page.locator(".mistake").count() >= 1
    assert {text for text in page.locator(".mistake .tag-soft").all_inner_texts()} == {category}
    shot(page, f"mistakes-{name}-03-filtered")

    page.goto(f"{base}/mistakes")
    book = set(page.locator(".mistake .stem").all_inner_texts())
    page.get_by_role("link", name="练习全部错题").click()
    page.wait_for_url(f"{base}/practice?from=mistakes")
    assert page.get_by_role("heading", name="练习错题").is_visible()
    page.locator("form.question").wait_for()
    assert page.locator("form.question .stem").inner_text() in book  # due tomorrow, practised today
    fits(page)
    shot(page, f"mistakes-{name}-04-practise-all")
