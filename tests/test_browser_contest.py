"""现场比武 in Chromium (issue 19): a host on a laptop, the big screen, and six phones as buzzers
play every segment type — 必答 on the phone, 抢答 with a foul, 风险题 with a stake, 加赛 — to the podium."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import Unit, User
from quizapp.services.contest import setup

from .conftest import make_config
from .test_browser import DESKTOP, PHONE, page_for, serving, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hall_server(tmp_path_factory):
    """The app initialised as `quizapp serve` does, behind waitress with enough threads for the
    held event streams (8 here: a host, a screen, six phones) and the pages' requests."""
    import os

    from quizapp import create_app
    from quizapp.cli.server import initialise

    instance = tmp_path_factory.mktemp("instance")
    os.environ["QUIZAPP_ADMIN_PASSWORD"] = "Admin1234"
    try:
        config = make_config(f"sqlite:///{instance / 'hall.sqlite3'}", instance, WTF_CSRF_ENABLED=True)
        app = create_app(config)
        with app.app_context():
            initialise(demo_org=True, echo=lambda message: None)
    finally:
        del os.environ["QUIZAPP_ADMIN_PASSWORD"]
    with serving(app, threads=24) as base:
        yield app, base


def make_contest(app) -> tuple[str, list[dict], dict]:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        unit = db.session.scalar(select(Unit.code).where(Unit.parent_id.is_(None)))
        contest = setup.create_contest(
            admin,
            title="全市窗口业务技能比武决赛",
            unit_code=unit,
            teams=[
                setup.TeamSpec(name, f"{name[:2]}区社保窗口", members)
                for name, members in (
                    ("锦江队", ["张敏", "李华"]),
                    ("青羊队", ["王强", "赵丽"]),
                    ("武侯队", ["刘洋", "陈静"]),
                )
            ],
            segments=[
                setup.SegmentSpec("required", count=3, types=["single"]),
                setup.SegmentSpec(
                    "buzz", points_right=20, points_wrong=10, early_penalty=5, count=1, types=["single"]
                ),
                setup.SegmentSpec("risk", stakes=[10, 20, 30], count=3, types=["single"]),
                setup.SegmentSpec("tiebreak", count=1, types=["single"]),
            ],
            rng=random.Random(19),
        )
        db.session.commit()
        keys = [q["answer"] for s in setup.load_setup(contest)["segments"] for q in s["questions"]]
        return contest.code, setup.team_pins(contest), keys


def test_a_full_contest_with_a_host_a_screen_and_six_phones(hall_server, page_for):  # noqa: F811
    app, base = hall_server
    code, pins, keys = make_contest(app)

    host = page_for(DESKTOP)
    sign_in(host, base, "admin", "Admin1234")
    host.goto(f"{base}/contest/{code}/host")
    screen = page_for(DESKTOP)
    screen.goto(f"{base}/contest/{code}/screen")
    expect(screen.locator('[data-role="connection"]')).to_have_text("已连接")

    phones = {}
    for team in pins:
        members = {"锦江队": ["张敏", "李华"], "青羊队": ["王强", "赵丽"], "武侯队": ["刘洋", "陈静"]}[
            team["name"]
        ]
        for member in members:
            phone = page_for(PHONE)
            phone.goto(f"{base}/contest/join")
            phone.get_by_label("比赛码").fill(code.lower())
            phone.get_by_role("button", name="下一步").click()
            phone.get_by_label(member).check()
            phone.get_by_label("队伍口令").fill(team["pin"])
            phone.get_by_role("button", name="加入").click()
            expect(phone.locator('[data-role="team"]')).to_have_text(f"{team['name']} · {member}")
            expect(phone.locator('[data-role="connection"]')).to_have_text("已连接")
            phones[member] = phone
    shot(phones["张敏"], "contest-phone-01-joined")
    shot(host, "contest-desktop-01-host-ready")

    def press(name: str) -> None:
        host.locator(f'[data-act="{name}"]').click()

    def scores() -> dict:
        return {
            row.locator(".score-name").inner_text(): int(row.locator(".score-value").inner_text())
            for row in screen.locator(".score-row").all()
        }

    # 必答: each team answers its question on a phone
    answers = iter(keys)
    for member, right in (("张敏", True), ("王强", False), ("陈静", True)):
        press("next")
        expect(host.locator('[data-act="open"]')).to_be_enabled()
        press("open")
        phone = phones[member]
        key = next(answers)
        expect(phone.locator('[data-role="answer"] button').first).to_be_visible()
        choice = key if right else ("B" if key != "B" else "C")
        phone.locator('[data-role="answer"]').get_by_role("button", name=choice, exact=True).click()
        expect(screen.locator(".contest-answer")).to_be_visible()
        if member == "张敏":
            shot(screen, "contest-desktop-02-screen-required-judged")
    expect(screen.locator(".score-row").first).to_contain_text("10")
    assert scores() == {"锦江队": 10, "青羊队": 0, "武侯队": 10}

    # 抢答: 王强 buzzes early (a foul), then 李华 is first and 刘洋 late
    press("next")
    next(answers)
    expect(phones["王强"].locator('[data-role="buzz"]')).to_be_enabled()
    phones["王强"].locator('[data-role="buzz"]').click()
    expect(phones["王强"].locator('[data-role="message"]')).to_contain_text("犯规")
    expect(phones["赵丽"].locator('[data-role="buzz"]')).to_be_disabled()  # the team sits the question out
    shot(phones["王强"], "contest-phone-02-foul")
    press("open")
    phones["李华"].locator('[data-role="buzz"]').click()
    expect(phones["李华"].locator('[data-role="message"]')).to_have_text("已抢到！请作答")
    phones["刘洋"].locator('[data-role="buzz"]').click()
    expect(phones["刘洋"].locator('[data-role="message"]')).to_contain_text("慢了")
    expect(screen.locator('[data-role="floor"]')).to_have_text("锦江队 抢到！")
    shot(screen, "contest-desktop-03-screen-buzzed")
    shot(phones["李华"], "contest-phone-03-first")
    shot(phones["刘洋"], "contest-phone-04-late")
    press("right")  # judged aloud by the host
    expect(screen.locator('[data-role="scores"]')).to_contain_text("30")
    assert scores() == {"锦江队": 30, "青羊队": -5, "武侯队": 10}

    # 风险题: each team stakes on its phone; the host judges
    for member, stake, right in (("张敏", 10, False), ("赵丽", 30, True), ("陈静", 20, True)):
        press("next")
        phone = phones[member]
        phone.get_by_role("button", name=f"{stake} 分").click()
        expect(screen.locator('[data-role="stake"]')).to_have_text(f"风险分值 {stake} 分")
        if member == "赵丽":
            shot(phone, "contest-phone-05-stake")
        # Each press once the host's page shows the phase it acts on (a press made while the page
        # still showed the stake was refused by the server: CI, a busy machine)
        press("show")
        expect(host.locator('[data-role="phase"]')).to_have_text("读题")
        press("open")
        expect(host.locator('[data-role="phase"]')).to_have_text("作答中")
        press("right" if right else "wrong")
        expect(host.locator('[data-role="phase"]')).to_have_text("已判定")
    assert scores() == {"锦江队": 20, "青羊队": 25, "武侯队": 30}

    # A score adjusted with a reason (仲裁), which ties 青羊队 with 武侯队 at the top: 加赛
    host.locator('select[name="team"]').select_option(label="青羊队")
    host.locator('input[name="delta"]').fill("5")
    host.locator('input[name="reason"]').fill("仲裁：风险题答案表述可接受")
    host.get_by_role("button", name="调整").click()
    expect(screen.locator('[data-role="scores"]')).to_contain_text("30")
    shot(host, "contest-desktop-04-host-adjusted")
    press("next")
    expect(screen.locator('[data-role="segment"]')).to_contain_text("加赛")
    expect(phones["张敏"].locator('[data-role="message"]')).to_have_text("本环节你的队伍不作答")
    press("open")
    phones["赵丽"].locator('[data-role="buzz"]').click()
    expect(phones["赵丽"].locator('[data-role="answer"] button').first).to_be_visible()
    phones["赵丽"].locator('[data-role="answer"]').get_by_role("button", name=keys[-1], exact=True).click()
    expect(screen.locator(".contest-answer")).to_be_visible()
    host.once("dialog", lambda dialog: dialog.accept())
    press("finish")
    expect(screen.locator('[data-role="podium"]')).to_be_visible()
    expect(screen.locator(".podium-list li").first).to_contain_text("青羊队")
    shot(screen, "contest-desktop-05-screen-podium")
    shot(phones["王强"], "contest-phone-06-finished")
    assert scores() == {"青羊队": 40, "武侯队": 30, "锦江队": 20}

    # A phone that reloads gets the current state at once
    phones["陈静"].reload()
    expect(phones["陈静"].locator('[data-role="score"]')).to_have_text("30 分")
    for page in [host, screen, *phones.values()]:
        assert page.problems == [], page.problems
        assert not re.search(r"\b(null|undefined|NaN)\b", page.locator("body").inner_text())
        if page.viewport_size["width"] < 720:
            assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    assert re.search(r"\d{4}", host.locator("table").inner_text())  # the teams' PINs on the console


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_join_qr_code_and_phones_joining_live_on_the_host_console(hall_server, page_for, viewport):  # noqa: F811
    app, base = hall_server
    code, pins, _ = make_contest(app)
    size = "phone" if viewport is PHONE else "desktop"
    host = page_for(viewport)
    sign_in(host, base, "admin", "Admin1234")
    host.goto(f"{base}/contest/{code}/host")
    expect(host.locator('[data-role="connection"]')).to_have_text("已连接")
    qr = host.locator(".contest-host-head svg.join-qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 120 and box["x"] + box["width"] <= viewport["viewport"]["width"]
    expect(host.locator(".contest-host-head code")).to_have_text(f"{base}/contest/{code}/join")
    counts = host.locator(f'[data-devices="{pins[0]["id"]}"]')
    expect(counts).to_have_text("0")
    shot(host, f"contest-{size}-01-host-qr")

    phone = page_for(PHONE)
    phone.goto(f"{base}/contest/{code}/join")
    phone.get_by_label("张敏").check()
    phone.get_by_label("队伍口令").fill(pins[0]["pin"])
    phone.get_by_role("button", name="加入").click()
    expect(phone.locator('[data-role="team"]')).to_have_text("锦江队 · 张敏")
    expect(counts).to_have_text("1")  # no reload: the host's stream said so
    host.locator(".contest-host-grid").scroll_into_view_if_needed()
    shot(host, f"contest-{size}-02-host-phone-joined")

    screen = page_for(viewport)
    screen.goto(f"{base}/contest/{code}/screen")
    expect(screen.locator('[data-role="connection"]')).to_have_text("已连接")
    expect(screen.locator(".contest-screen-head svg.join-qr")).to_be_visible()
    shot(screen, f"contest-{size}-03-screen-qr")
    assert not host.problems and not screen.problems, host.problems + screen.problems  # e.g. a CSP refusal
