"""日日学 offline in headless Chromium (issue 23): the app installs (manifest and service worker),
today's set opens again without the network, answers given offline wait on the phone, shown as
"N 条答案待发送", and are graded and paid when the network returns; nothing kept on the phone holds
the key of a question not yet answered; an answer of an earlier day's set is refused, and said so."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import DailySet, LearningItem, PointsEntry, QuestionVersion, User

from .test_browser import DEMO_PASSWORD, PHONE, Journey, answer_current_question, serving, sign_in  # noqa: F401
from .test_browser import live_server as live_server  # the module's own server (fixture)
from .test_browser import page_for as page_for  # fixture

pytestmark = pytest.mark.browser

# Everything this origin keeps on the phone: localStorage, and each Cache Storage entry with its text.
KEPT_ON_PHONE = """async () => {
  const kept = [JSON.stringify(Object.fromEntries(Object.entries(localStorage)))];
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      urls.push(request.url);
      const response = await cache.match(request);
      if (!/\\.png$/.test(request.url)) kept.push(await response.text());
    }
  }
  return { storage: kept[0], text: kept.join("\\n"), urls };
}"""


def offline_step(journey, label: str) -> None:
    """A journey step taken without the network: the browser logs each fetch it could not make
    (the set, an answer tried once) — expected here, and the only console errors allowed."""
    page = journey.page
    page.problems[:] = [problem for problem in page.problems if "ERR_INTERNET_DISCONNECTED" not in problem]
    journey.step(label)


def today(app):
    return clock.business_date(clock.utcnow(), app.config["TZINFO"])


def staff_yet_to_start_today(app) -> str:
    """A demo staff member who has not answered anything of today's set."""
    with app.app_context():
        for number in range(60, 0, -1):  # the demo has staff01–staff60
            user = db.session.scalar(select(User).where(User.username == f"staff{number:02d}"))
            if user is None or user.must_change_password:
                continue
            started = db.session.scalar(
                select(DailySet.answered_count).where(DailySet.user_id == user.id, DailySet.day == today(app))
            )
            if not started:
                return user.username
    raise AssertionError("every demo staff member has started today's set")


def day_state(app, username: str) -> dict:
    """The staff member's set today as the database has it: answered items, their times, points."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        daily_set = db.session.scalar(
            select(DailySet).where(DailySet.user_id == user.id, DailySet.day == today(app))
        )
        items = db.session.execute(
            select(LearningItem, QuestionVersion)
            .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
            .where(LearningItem.daily_set_id == daily_set.id)
            .order_by(LearningItem.position)
        ).all()
        return {
            "answered": daily_set.answered_count,
            "held": daily_set.held,
            "times": [item.answered_at for item, _ in items],
            "explanations": {item.position: version.explanation for item, version in items},
            "points": db.session.scalar(
                select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                    PointsEntry.user_id == user.id, PointsEntry.day == today(app)
                )
            ),
        }


def test_the_daily_set_goes_on_offline_and_is_graded_when_the_network_returns(live_server, page_for, figures):
    app, base = live_server
    page = page_for(PHONE)
    context = page.context
    journey = Journey(page, "daily-offline", figures)
    username = staff_yet_to_start_today(app)
    sign_in(page, base, username, DEMO_PASSWORD)
    page.wait_for_url(f"{base}/")

    # Installable: the worker controls the pages, the manifest parses, Chromium sees nothing missing.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"] == f"{base}/manifest.webmanifest"
    assert json.loads(manifest["data"])["name"] == "练兵比武"
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [error["errorId"] for error in errors] == ["in-incognito"]  # a test context is incognito
    cdp.detach()

    # Online: the set opens (and is kept), the first answer is graded at once.
    page.goto(f"{base}/daily")
    answer_current_question(page)
    assert page.get_by_role("heading", name="解析").is_visible()
    assert page.locator("#daily-progress").inner_text() == "1/10"
    page.locator(".actions .btn-primary").click()

    # Offline mid-set: two answers wait on the phone, said so.
    context.set_offline(True)
    # Chromium's offline emulation does not cover a reload answered by the service worker's own
    # fetch: the new page may send before it is told (a queued answer then reached the server in 1
    # run of 3). No network means no request reaches the server: the API is cut off as well.
    api = re.compile(r"/api/")
    context.route(api, lambda route: route.abort("internetdisconnected"))
    page.wait_for_function("() => !navigator.onLine")
    for waiting in (1, 2):
        answer_current_question(page)
        assert page.locator(".verdict").inner_text() == "已保存在本机，待发送"
        assert page.get_by_role("heading", name="解析").count() == 0  # no key before the network
        assert page.locator("#daily-pending .pending-count").inner_text() == f"{waiting} 条答案待发送"
        page.locator(".actions .btn-primary").click()
    assert page.locator("#daily-progress").inner_text() == "3/10"
    offline_step(journey, "offline-pending")

    # Reloaded without the network: the page and the set come from the phone; a third answer waits.
    page.reload()
    page.locator("form.question").wait_for()
    assert page.locator("#daily-pending .pending-count").inner_text() == "2 条答案待发送"
    assert "当前没有网络" in page.locator("#daily-pending").inner_text()
    assert page.locator("#daily-progress").inner_text() == "3/10"
    answer_current_question(page)
    assert page.locator("#daily-pending .pending-count").inner_text() == "3 条答案待发送"
    page.locator(".actions .btn-primary").click()
    page.locator("form.question").wait_for()
    offline_step(journey, "offline-reloaded")

    # Nothing on the phone holds the key or explanation of a question it has not had graded.
    before = day_state(app, username)
    assert before["answered"] == 1 and [bool(time) for time in before["times"][:4]] == [
        True,
        False,
        False,
        False,
    ]
    kept = page.evaluate(KEPT_ON_PHONE)
    assert not any("/api/" in url for url in kept["urls"])
    assert f"{base}/daily" in kept["urls"] and f"{base}/static/js/daily.js" in kept["urls"]
    assert (
        "correct_answer" not in kept["storage"] and "explanation" not in kept["storage"]
    )  # no feedback kept
    for position, explanation in before["explanations"].items():
        if position > 1:
            assert explanation not in kept["text"], position

    # Back online: the three are sent, graded and paid; their feedback shows; nothing waits.
    context.unroute(api)
    context.set_offline(False)
    synced = page.locator("#daily-synced")
    synced.get_by_role("heading", name="离线答案已发送").wait_for()
    page.locator("#daily-pending").wait_for(state="hidden")
    assert synced.locator(".review-list > li").count() == 3
    for line in synced.locator(".review-list > li > details > summary").all_inner_texts():
        assert re.fullmatch(r"第 [234] 题 · (正确|部分正确|错误) · 正确答案：.+", line), line
    synced.locator(".review-list > li > details > summary").first.click()  # the explanation, one tap away
    assert synced.get_by_role("heading", name="解析").first.is_visible()
    assert page.locator("#daily-progress").inner_text() == "4/10"
    journey.step("synced")
    after = day_state(app, username)
    assert after["answered"] == 4 and not after["held"]
    given = after["times"][1:4]
    assert all(given) and given == sorted(given) and given[0] < given[2]  # each kept its own time
    assert before["times"][0] < given[0]
    today = page.evaluate("fetch('/api/v1/daily').then((r) => r.json())")
    assert today["answered"] == 4 and today["points_today"] == after["points"]
    assert after["points"] == sum(
        1 for item in today["items"] if item["answered"] and item["feedback"]["correct"]
    )
    assert (
        page.evaluate(
            "localStorage.getItem(`quizapp.daily.queue.${document.getElementById('daily').dataset.user}`)"
        )
        is None
    )

    # An answer still waiting from an earlier day's set: the server refuses it and the page says why.
    question = next(item for item in today["items"] if not item["answered"])["question"]["id"]
    page.evaluate(
        """([question, yesterday]) => {
          const key = `quizapp.daily.queue.${document.getElementById("daily").dataset.user}`;
          localStorage.setItem(key, JSON.stringify([{ day: yesterday, question_id: question, position: 5,
            answer: "A", answered_at: new Date().toISOString() }]));
        }""",
        [
            question,
            (after["times"][0] - timedelta(days=1)).astimezone(app.config["TZINFO"]).date().isoformat(),
        ],
    )
    page.reload()
    refused = page.locator("#daily-synced li.refused")
    refused.wait_for()
    assert "第 5 题未被接受" in refused.inner_text() and "已不是当天" in refused.inner_text()
    assert day_state(app, username)["answered"] == 4
    assert page.problems == ["Failed to load resource: the server responded with a status of 409 (CONFLICT)"]
    page.problems.clear()  # the refusal itself, as the browser logs it
    journey.step("refused")
    journey.done()
