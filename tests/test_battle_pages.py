"""对战 over HTTP: the hub, who may see a battle, a late answer refused, the event stream's first
event, and the result card (an SVG whose every text is escaped)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import Battle, QuestionVersion, User
from quizapp.services.battles import play


@pytest.fixture
def bank(create_question):
    for _ in range(6):
        create_question("single", difficulty=2)
        create_question("judge", difficulty=1)


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def start(app, mode: str, usernames: list[str], now) -> int:
    with app.app_context():
        battle = play.start_battle(mode, [user_id(app, name) for name in usernames], now=now)
        db.session.commit()
        return battle.id


def key_of(app, battle_id: int, position: int):
    with app.app_context():
        battle = db.session.get(Battle, battle_id)
        return db.session.get(QuestionVersion, battle.question_version_ids[position]).answer


def first_event(client, url: str) -> dict:
    """The first chunk of the stream (the player's view now), then the stream is closed."""
    response = client.get(url, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    try:
        chunk = next(iter(response.response))
    finally:
        response.close()
    text = chunk.decode() if isinstance(chunk, bytes) else chunk
    match = re.search(r"^event: state\ndata: (.*)$", text, re.MULTILINE)
    assert match, text
    return json.loads(match.group(1))


def test_the_hub_offers_the_modes_a_challenge_and_the_month_board(app, province, login_as):
    amy = login_as("amy")
    page = amy.get("/battles").get_data(as_text=True)
    for text in (
        "双人对战",
        "四人赛",
        "人机对战",
        "点名挑战",
        "本月对战排行",
        "取消匹配",
        "20 秒内没有匹配到对手",
    ):
        assert text in page, text
    assert 'href="/battles"' in amy.get("/").get_data(as_text=True)  # the 对战 tab
    assert "单位周赛" not in page  # the ladder is off by default


@pytest.mark.app_config(BATTLE_LADDER=True)
def test_the_hub_shows_the_unit_ladder_when_it_is_on_and_a_running_battle_to_go_back_to(
    app, province, bank, login_as, frozen_clock
):
    battle_id = start(app, "machine", ["amy"], frozen_clock())
    page = login_as("amy").get("/battles").get_data(as_text=True)
    assert "单位周赛" in page and "甲市" in page and "乙市" in page
    assert f'href="/battles/{battle_id}"' in page and "返回对战" in page


def test_an_invitation_shows_on_the_hub_with_accept_and_decline(app, province, bank, login_as, frozen_clock):
    amy, bob = login_as("amy"), login_as("bob")
    response = amy.post("/api/v1/battles/challenges", json={"username": "bob"})
    assert response.status_code == 201
    battle_id = response.get_json()["battle"]
    page = bob.get("/battles").get_data(as_text=True)
    assert f'data-battle="{battle_id}"' in page and "甲一" in page and "接受" in page and "拒绝" in page
    assert amy.get(f"/battles/{battle_id}").status_code == 200  # the challenger waits on the page
    assert bob.post(f"/api/v1/battles/{battle_id}/response", json={"accept": False}).status_code == 200
    assert amy.get(f"/api/v1/battles/{battle_id}").get_json()["phase"]["kind"] == "declined"
    assert amy.get(f"/battles/{battle_id}").status_code == 200


def test_only_the_seated_see_a_battle_its_state_and_its_events(app, province, bank, login_as, frozen_clock):
    battle_id = start(app, "duel", ["amy", "bob"], frozen_clock())
    ann = login_as("ann")
    for url in (f"/battles/{battle_id}", f"/api/v1/battles/{battle_id}", f"/battles/{battle_id}/events"):
        assert ann.get(url).status_code == 404, url
    amy = login_as("amy")
    page = amy.get(f"/battles/{battle_id}")
    assert page.status_code == 200
    assert 'id="battle-initial"' in page.get_data(as_text=True)
    assert amy.get(f"/api/v1/battles/{battle_id}").get_json()["id"] == battle_id


def test_a_late_answer_is_refused_with_409_and_says_so(app, province, bank, login_as, frozen_clock):
    battle_id = start(app, "duel", ["amy", "bob"], frozen_clock())
    amy = login_as("amy")
    for _ in range(2):  # her page is there: its stream reports her seen
        frozen_clock.advance(seconds=9)
        first_event(amy, f"/battles/{battle_id}/events")
    frozen_clock.advance(seconds=0.5)  # the lead (3 s), then past question 1's limit (15 s)
    response = amy.post(f"/api/v1/battles/{battle_id}/answers", json={"position": 0, "answer": "A"})
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == "本题已结束，作答无效"


def test_the_stream_starts_with_the_players_view_without_the_key_while_the_question_is_open(
    app, province, bank, login_as, frozen_clock
):
    battle_id = start(app, "duel", ["amy", "bob"], frozen_clock())
    amy, bob = login_as("amy"), login_as("bob")
    frozen_clock.advance(seconds=4)  # question 1 open
    view = first_event(bob, f"/battles/{battle_id}/events")
    assert view["id"] == battle_id and view["me"] == 2
    assert view["phase"]["kind"] == "question" and view["phase"]["index"] == 0
    assert set(view["current"]) == {"index", "question", "mine"}
    key = key_of(app, battle_id, 0)
    answered = amy.post(
        f"/api/v1/battles/{battle_id}/answers",
        json={"position": 0, "answer": "true" if key is True else "false" if key is False else key},
    )
    assert answered.get_json()["correct"] is True
    view = first_event(bob, f"/battles/{battle_id}/events")
    assert [p["answered_current"] for p in view["players"]] == [True, False]
    assert (
        "key" not in view["current"]
        and "chosen" not in view["current"]
        and "explanation" not in view["current"]
    )
    # once the question has ended, the key and each player's choice (by seat) show
    frozen_clock.advance(seconds=15)
    view = first_event(bob, f"/battles/{battle_id}/events")
    assert view["phase"]["kind"] == "reveal" and view["current"]["key"]
    assert list(view["current"]["chosen"]) == ["1"]


def test_the_json_api_wants_the_csrf_header_like_the_rest(app, province, bank, login_as, monkeypatch):
    app.config["WTF_CSRF_ENABLED"] = True
    amy = login_as("amy")
    assert amy.post("/api/v1/battles/queue", json={"mode": "duel"}).status_code == 400
    token = re.search(r'name="csrf-token" content="([^"]+)"', amy.get("/battles").get_data(as_text=True))
    joined = amy.post("/api/v1/battles/queue", json={"mode": "duel"}, headers={"X-CSRFToken": token.group(1)})
    assert joined.status_code == 200 and "waiting" in joined.get_json()
    assert amy.delete("/api/v1/battles/queue", headers={"X-CSRFToken": token.group(1)}).status_code == 204


def test_the_result_card_is_an_svg_with_every_text_escaped(
    app, province, bank, create_user, login_as, frozen_clock
):
    units, _ = province
    create_user("eve", unit=units["A1"], name="<b>夏&冬</b>")
    battle_id = start(app, "machine", ["eve"], frozen_clock())
    eve = login_as("eve")
    assert eve.get(f"/battles/{battle_id}/card.svg").status_code == 404  # not over yet
    frozen_clock.advance(minutes=10)  # gone and over: the machine's plan plays out
    response = eve.get(f"/battles/{battle_id}/card.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = ET.fromstring(response.get_data())
    assert svg.get("width") == "600" and svg.get("height") == "800"
    assert "WenQuanYi Micro Hei" in svg.get("font-family")
    texts = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "人社练兵比武·对战" in texts
    assert any(t.startswith("人机对战 · ") for t in texts)
    assert any("<b>夏&冬</b>" in t for t in texts) and any("智能对手" in t for t in texts)
    assert any(t in ("胜", "平", "负") for t in texts)
    page = eve.get(f"/battles/{battle_id}").get_data(as_text=True)
    assert "<b>夏&冬</b>" not in page  # the view in the page is JSON, escaped for HTML


def test_a_finished_battle_puts_its_players_on_the_month_board(app, province, bank, login_as, frozen_clock):
    from .test_battles import play_out, right_answer, wrong_answer

    amy, bob = user_id(app, "amy"), user_id(app, "bob")
    now = frozen_clock()
    battle_id = start(app, "duel", ["amy", "bob"], now)
    play_out(
        app,
        battle_id,
        {  # at a reading pace: nobody is held out of the board
            amy: lambda position: (8, right_answer(app, battle_id, position)),
            bob: lambda position: (9, wrong_answer(app, battle_id, position)),
        },
        now,
    )
    frozen_clock.advance(minutes=10)
    page = login_as("amy").get("/battles").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"(mine)?\">(.*?)</tr>", page, re.DOTALL)
    cells = [(mine, re.findall(r"<td[^>]*>(.*?)</td>", row)) for mine, row in rows]
    assert cells == [
        ("mine", ["1", "甲一", "甲市窗口", "1", "1", "100%", "4"]),
        ("", ["2", "乙一", "乙市窗口", "1", "0", "0%", "1"]),
    ]


def test_a_stream_wake_with_nothing_changed_pings_and_reports_without_building_the_view(
    app, province, bank, login_as, frozen_clock, monkeypatch
):
    """800 held streams wake every few seconds to report their player seen: a wake with no change of
    the battle and no change of phase due writes a ping and a report, and builds no view (reads
    nothing); a change builds it again."""
    from quizapp.battles import routes
    from quizapp.services.battles import presence, push, streams

    battle_id = start(app, "duel", ["amy", "bob"], frozen_clock())
    bob = login_as("bob")
    frozen_clock.advance(seconds=4)  # question 1 open for 15 s by the frozen clock
    monkeypatch.setattr(routes, "STREAM_SECONDS", 0.01)
    built, reported = [], []
    real_view, real_report = streams.stream_view, presence.report
    monkeypatch.setattr(streams, "stream_view", lambda *a, **k: built.append(1) or real_view(*a, **k))
    monkeypatch.setattr(presence, "report", lambda *a, **k: reported.append(1) or real_report(*a, **k))
    response = bob.get(f"/battles/{battle_id}/events", buffered=False)
    chunks = iter(response.response)
    try:
        assert "event: state" in next(chunks).decode()
        next(chunks)  # the first wake reads the battle's rows for the process's streams
        assert built == [1]
        assert [next(chunks).decode() for _ in range(5)] == [": ping\n\n"] * 5
        assert built == [1] and len(reported) == 6
        with app.app_context():
            push.board().bump(battle_id)  # a change: the next wake builds the view
        next(chunks)
        assert built == [1, 1]
    finally:
        response.close()
