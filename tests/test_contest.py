"""现场比武 (issue 19), the rules and the log: set-up validation, every segment type played through
the service, the state as a replay of the log, simultaneous buzzes, early buzzes, bad input."""

from __future__ import annotations

import random
import sys
import threading

import pytest
from sqlalchemy import func, select

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import Contest, ContestDevice, ContestEvent, User
from quizapp.services.contest import play, rules, setup, views
from quizapp.services.errors import DomainError, InvalidInput, NotFound, PermissionDenied


def team_specs(count: int) -> list[setup.TeamSpec]:
    return [setup.TeamSpec(f"第{n}队", f"单位{n}", [f"队员{n}甲", f"队员{n}乙"]) for n in range(1, count + 1)]


def full_segments() -> list[setup.SegmentSpec]:
    return [
        setup.SegmentSpec("required", points_right=10, points_wrong=0, count=3, types=["single"]),
        setup.SegmentSpec(
            "buzz", points_right=20, points_wrong=10, early_penalty=5, count=2, types=["single"]
        ),
        setup.SegmentSpec("risk", stakes=[10, 20, 30], count=3, types=["single", "fill"]),
        setup.SegmentSpec("tiebreak", points_right=10, count=1, types=["judge"]),
    ]


def make_contest(app, teams: int = 3, segments=None) -> str:
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        contest = setup.create_contest(
            admin,
            title="全市窗口业务技能比武决赛",
            unit_code="C1",
            teams=team_specs(teams),
            segments=segments or full_segments(),
            rng=random.Random(7),
        )
        db.session.commit()
        return contest.code


def act(app, code: str, kind: str, *, device_token=None, team_id=None, host=True, **payload) -> dict:
    """What a view does: the contest's lock, the record, one commit, the publish."""
    with app.app_context(), play.arbiter(code) as received_ns:
        contest = setup.find(code)
        device = play.device_for(contest, device_token)
        actor = db.session.scalar(select(User.id).where(User.username == "root")) if host else None
        try:
            result = play.record(
                contest,
                kind,
                received_ns=received_ns,
                now=clock.utcnow(),
                team_id=team_id,
                device=device,
                actor_id=actor,
                payload=payload,
            )
        except DomainError:
            db.session.rollback()
            raise
        db.session.commit()
        play.publish(contest, result["state"])
        return result


def join_all(app, code: str) -> dict[int, list[str]]:
    """Every member of every team joins on a phone: team id → device tokens."""
    tokens: dict[int, list[str]] = {}
    with app.app_context():
        contest = setup.find(code)
        for team in setup.team_pins(contest):
            members = setup.load_setup(contest)["teams"][team["position"] - 1]["members"]
            for member in members:
                device = play.join(contest, team["id"], team["pin"], member)
                tokens.setdefault(team["id"], []).append(device.token)
        db.session.commit()
    return tokens


def state_now(app, code: str) -> tuple[dict, dict]:
    with app.app_context():
        contest = setup.find(code)
        setup_ = setup.load_setup(contest)
        return setup_, rules.replay(setup_, play.events_of(contest.id))


def event_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(ContestEvent.id)))


@pytest.fixture
def hall(app, org_tree, mixed_bank, frozen_clock):
    code = make_contest(app)
    return code, join_all(app, code)


def test_set_up_refuses_bad_input_with_every_problem_in_chinese(app, org_tree, mixed_bank):
    bad_teams = [setup.TeamSpec("一队", "单位", ["独苗"]), setup.TeamSpec("一队", "", ["甲", "乙"])]
    segments = [
        setup.SegmentSpec("risk", stakes=[], count=1),
        setup.SegmentSpec("buzz", count=500),
        setup.SegmentSpec("quiz", count=1),
    ]
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "root"))
        with pytest.raises(InvalidInput) as raised:
            setup.create_contest(admin, title="", unit_code="NOPE", teams=bad_teams, segments=segments)
        messages = " / ".join(str(p) for p in raised.value.problems)
        for expected in (
            "请填写比赛名称",
            "每队队员须为 2–4 人",
            "队名“一队”重复",
            "请填写所属单位",
            "风险题须给出可选分值",
            "每个环节最多 200 题",
            "环节类型只能是",
            "单位 NOPE 不存在",
        ):
            assert expected in messages, messages
        # Too few questions in the bank for the blueprint: refused, nothing written.
        with pytest.raises(InvalidInput, match="未保存") as raised:
            setup.create_contest(
                admin,
                title="比武",
                unit_code="C1",
                teams=team_specs(2),
                segments=[setup.SegmentSpec("buzz", count=6, types=["judge"])],
            )
        assert "符合条件的题只有 5 道" in str(raised.value.problems[0])
        assert db.session.scalar(select(func.count(Contest.id))) == 0


def test_a_unit_admin_sets_up_only_in_their_subtree_and_runs_only_their_contests(app, org_tree, mixed_bank):
    code = make_contest(app, teams=2)
    with app.app_context():
        other = db.session.scalar(select(User).where(User.username == "badmin"))
        with pytest.raises(InvalidInput, match="未保存") as raised:
            setup.create_contest(
                other,
                title="越权",
                unit_code="C1",
                teams=team_specs(2),
                segments=[setup.SegmentSpec("buzz", count=1)],
            )
        assert "不在您的管理范围内" in str(raised.value.problems[0])
        with pytest.raises(PermissionDenied):
            setup.managed(other, code)
        own = db.session.scalar(select(User).where(User.username == "aadmin"))
        assert setup.managed(own, code).code == code


def test_unknown_code_wrong_pin_and_a_buzz_for_another_team_change_nothing(app, hall):
    code, tokens = hall
    with app.app_context():
        with pytest.raises(NotFound, match="比赛码 ZZZZZZ 不存在"):
            setup.find("zzz zzz")
        contest = setup.find(code)
        team = setup.team_pins(contest)[0]
        with pytest.raises(DomainError, match="队伍口令不对"):
            play.join(contest, team["id"], "0000" if team["pin"] != "0000" else "1111", "队员1甲")
    teams = sorted(tokens)
    act(app, code, "next")  # 必答 Q1, the first team's
    before = event_count(app)
    with pytest.raises(PermissionDenied, match="不能替其他队伍"):
        act(app, code, "answer", device_token=tokens[teams[0]][0], team_id=teams[1], host=False, answer="A")
    with pytest.raises(DomainError, match="本环节不是抢答题"):
        act(app, code, "buzz", device_token=tokens[teams[0]][0], host=False)
    with pytest.raises(DomainError, match="现在不能作答"):  # the clock is not running yet
        act(app, code, "answer", device_token=tokens[teams[0]][0], host=False, answer="A")
    act(app, code, "open")
    with pytest.raises(PermissionDenied, match="不是你的队伍作答"):
        act(app, code, "answer", device_token=tokens[teams[1]][0], host=False, answer="A")
    with pytest.raises(DomainError, match="单选题请选择一个选项"):
        act(app, code, "answer", device_token=tokens[teams[0]][0], host=False, answer="Z")
    assert event_count(app) == before + 1  # only the open


def test_a_stake_not_offered_is_refused_and_changes_nothing(app, org_tree, mixed_bank, frozen_clock):
    code = make_contest(
        app, teams=2, segments=[setup.SegmentSpec("risk", stakes=[10, 20, 30], count=2, types=["single"])]
    )
    tokens = join_all(app, code)
    first, second = sorted(tokens)
    act(app, code, "next")
    before = event_count(app)
    for stake in (15, "20", True, None):
        with pytest.raises(DomainError, match="分值只能选 10、20、30 分"):
            act(app, code, "stake", device_token=tokens[first][0], host=False, stake=stake)
    with pytest.raises(PermissionDenied, match="由第1队选择分值"):
        act(app, code, "stake", device_token=tokens[second][0], host=False, stake=10)
    with pytest.raises(DomainError, match="请等第1队选择风险题分值"):
        act(app, code, "show")
    assert event_count(app) == before
    act(app, code, "stake", device_token=tokens[first][0], host=False, stake=30)
    act(app, code, "show")
    act(app, code, "open")
    act(app, code, "judge", correct=False)
    _, state = state_now(app, code)
    assert state["scores"][first] == -30 and state["scores"][second] == 0


def test_every_segment_type_played_and_the_state_is_the_replay_of_the_log(app, hall):
    code, tokens = hall
    t1, t2, t3 = sorted(tokens)
    setup_, _ = state_now(app, code)
    keys = [q["answer"] for s in setup_["segments"] for q in s["questions"]]
    # 必答: one question per team, answered on the phone (right, wrong) and aloud (judged by the host)
    act(app, code, "next")
    act(app, code, "open")
    act(app, code, "answer", device_token=tokens[t1][0], host=False, answer=keys[0])
    act(app, code, "next")
    act(app, code, "open")
    wrong = "B" if keys[1] != "B" else "C"
    act(app, code, "answer", device_token=tokens[t2][1], host=False, answer=wrong)
    act(app, code, "next")
    act(app, code, "open")
    act(app, code, "judge", correct=True)
    _, state = state_now(app, code)
    assert state["scores"] == {t1: 10, t2: 0, t3: 10}
    # 抢答: an early buzz is a foul (once), then the first buzz after open answers
    act(app, code, "next")
    foul = act(app, code, "buzz", device_token=tokens[t2][0], host=False)["outcome"]
    assert foul == {"result": "foul", "penalty": 5}
    again = act(app, code, "buzz", device_token=tokens[t2][1], host=False)
    assert again["event"] is None and again["outcome"]["result"] == "foul"  # a double tap: one foul
    act(app, code, "open")
    assert act(app, code, "buzz", device_token=tokens[t2][0], host=False)["event"] is None  # sits it out
    won = act(app, code, "buzz", device_token=tokens[t3][0], host=False)["outcome"]
    late = act(app, code, "buzz", device_token=tokens[t1][1], host=False)["outcome"]
    assert won["result"] == "first" and late["result"] == "late" and late["rank"] == 2
    act(app, code, "judge", correct=False)  # 第3队 wrong: −10, the floor passes to 第1队
    _, state = state_now(app, code)
    assert state["floor"] == t1 and state["phase"] == "open"
    act(app, code, "judge", correct=True)
    _, state = state_now(app, code)
    assert state["scores"] == {t1: 30, t2: -5, t3: 0} and state["phase"] == "judged"
    act(app, code, "next")
    act(app, code, "open")
    act(app, code, "reveal")  # nobody buzzed: the answer is shown, no points
    # 风险题: each team stakes, then answers
    for team, stake, correct in ((t1, 10, False), (t2, 30, True), (t3, 20, True)):
        act(app, code, "next")
        act(app, code, "stake", device_token=tokens[team][0], host=False, stake=stake)
        act(app, code, "show")
        act(app, code, "open")
        act(app, code, "judge", correct=correct)
    _, state = state_now(app, code)
    assert state["scores"] == {t1: 20, t2: 25, t3: 20}
    # A score adjusted with a reason, then undone: the host's last action is voided
    with pytest.raises(DomainError, match="请填写调整原因"):
        act(app, code, "adjust", team_id=t1, delta=5, reason=" ")
    act(app, code, "adjust", team_id=t1, delta=5, reason="仲裁：第1队风险题答案可接受")
    _, state = state_now(app, code)
    assert state["scores"][t1] == 25
    # 加赛: entered because 第1队 and 第2队 are tied at the top; only they may buzz
    act(app, code, "next")
    _, state = state_now(app, code)
    assert state["segment"] == 3 and sorted(state["eligible"]) == [t1, t2]
    act(app, code, "open")
    with pytest.raises(PermissionDenied, match="本环节不由你的队伍作答"):
        act(app, code, "buzz", device_token=tokens[t3][0], host=False)
    act(app, code, "buzz", device_token=tokens[t2][1], host=False)
    act(app, code, "answer", device_token=tokens[t2][1], host=False, answer=keys[-1])
    with pytest.raises(DomainError, match="最后一题"):
        act(app, code, "next")
    act(app, code, "finish")
    with pytest.raises(DomainError, match="比赛已结束"):
        act(app, code, "next")

    setup_, replayed = state_now(app, code)
    assert replayed["scores"] == {t1: 25, t2: 35, t3: 20}
    assert replayed["status"] == "finished"
    screen = views.public(setup_, replayed)
    assert [row["name"] for row in screen["podium"]] == ["第2队", "第1队", "第3队"]
    # The published state (what the screens got) is the replay of the log, step for step.
    with app.app_context():
        contest = setup.find(code)
        events = play.events_of(contest.id)
        for cut in range(1, len(events) + 1):
            partial = rules.replay(setup_, events[:cut])
            assert partial["seq"] == events[cut - 1]["seq"]
        assert play.current(contest)[1]["scores"] == replayed["scores"]


def test_undo_voids_the_last_host_action_and_what_players_did_after_it(app, hall):
    code, tokens = hall
    t1, t2, _ = sorted(tokens)
    for _ in range(4):
        act(app, code, "next")
        if _ < 3:
            act(app, code, "reveal")
    act(app, code, "open")  # 抢答 question 1
    act(app, code, "buzz", device_token=tokens[t2][0], host=False)
    act(app, code, "judge", correct=True)
    _, state = state_now(app, code)
    assert state["scores"][t2] == 20
    act(app, code, "undo")  # the judgement
    _, state = state_now(app, code)
    assert state["scores"][t2] == 0 and state["floor"] == t2 and state["phase"] == "open"
    act(app, code, "undo")  # the open, and the buzz after it
    _, state = state_now(app, code)
    assert state["phase"] == "shown" and state["buzzes"] == []
    with app.app_context():
        kinds = [e.kind for e in db.session.scalars(select(ContestEvent).order_by(ContestEvent.seq))]
    assert kinds[-2:] == ["undo", "undo"] and "buzz" in kinds  # the log keeps everything


def test_simultaneous_buzzes_give_one_winner_and_one_consistent_order(
    app, org_tree, mixed_bank, frozen_clock
):
    code = make_contest(app, teams=8, segments=[setup.SegmentSpec("buzz", count=1, types=["single"])])
    tokens = join_all(app, code)
    act(app, code, "next")
    act(app, code, "open")
    phones = [(team, token) for team, pair in tokens.items() for token in pair]  # 16 phones, 8 teams
    release = threading.Barrier(len(phones))
    results: dict[str, dict] = {}
    errors: list[BaseException] = []

    def press(token):
        try:
            release.wait()
            results[token] = act(app, code, "buzz", device_token=token, host=False)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=press, args=(token,)) for _, token in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    recorded = [r for r in results.values() if r["event"] is not None]
    assert len(recorded) == 8  # one buzz per team: the teammate's press is the same buzz
    firsts = [r for r in recorded if r["outcome"]["result"] == "first"]
    assert len(firsts) == 1
    _, state = state_now(app, code)
    order = [b["team_id"] for b in state["buzzes"]]
    assert sorted(order) == sorted(tokens)
    # The order by seq is the order of the server's clock readings, and every phone was told its place.
    assert [b["mono_ns"] for b in state["buzzes"]] == sorted(b["mono_ns"] for b in state["buzzes"])
    assert [b["behind_ms"] for b in state["buzzes"]] == sorted(b["behind_ms"] for b in state["buzzes"])
    for token, result in results.items():
        team = next(t for t, pair in tokens.items() if token in pair)
        assert result["outcome"]["rank"] == order.index(team) + 1
    assert state["floor"] == order[0] == firsts[0]["event"]["team_id"]


def test_devices_are_bound_to_their_team(app, hall):
    code, tokens = hall
    with app.app_context():
        devices = db.session.scalars(select(ContestDevice)).all()
        assert len(devices) == 6 and all(d.token in tokens[d.team_id] for d in devices)
        contest = setup.find(code)
        with pytest.raises(DomainError, match="请选择第1队的队员"):
            team = setup.team_pins(contest)[0]
            play.join(contest, team["id"], team["pin"], "外人")


# ---------------------------------------------------------------------------------------------
# Through HTTP: the pages, joining by code, the phone's and the host's actions, the stream


def phone_joins(app, code: str, team_position: int, member: str):
    """A phone's client: joins the team by its PIN through the join page."""
    with app.app_context():
        contest = setup.find(code)
        team = setup.team_pins(contest)[team_position - 1]
    client = app.test_client()
    response = client.post(
        f"/contest/{code}/join", data={"pick": f"{team['id']}|{member}", "pin": team["pin"]}
    )
    assert response.status_code == 302 and response.location.endswith(f"/contest/{code}/buzzer")
    return client, team["id"]


def test_pages_joining_and_actions_over_http(app, org_tree, mixed_bank, login_as, frozen_clock):
    code = make_contest(app)
    host = login_as("aadmin")
    assert "全市窗口业务技能比武决赛" in host.get("/contests").get_data(as_text=True)
    page = host.get(f"/contest/{code}/host").get_data(as_text=True)
    assert code in page and "队伍口令" in page
    assert login_as("badmin").get(f"/contest/{code}/host").status_code == 403
    assert login_as("astaff").get(f"/contest/{code}/host").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/contest/{code}/screen").status_code == 200
    assert anonymous.get("/contest/NOPE99/screen").status_code == 404
    wrong = anonymous.post("/contest/join", data={"code": "nope99"})
    assert wrong.status_code == 400 and "比赛码 NOPE99 不存在" in wrong.get_data(as_text=True)
    assert anonymous.post("/contest/join", data={"code": code.lower()}).location.endswith(
        f"/contest/{code}/join"
    )
    assert anonymous.get(f"/contest/{code}/buzzer").status_code == 302  # not joined yet
    bad_pin = anonymous.post(f"/contest/{code}/join", data={"pick": "1|队员1甲", "pin": "x"})
    assert "队伍口令不对" in bad_pin.get_data(as_text=True)
    first, first_id = phone_joins(app, code, 1, "队员1甲")
    second, second_id = phone_joins(app, code, 2, "队员2乙")
    assert "抢答" in first.get(f"/contest/{code}/buzzer").get_data(as_text=True)

    assert host.post(f"/contest/{code}/host/act", json={"action": "next"}).status_code == 200
    refused = first.post(
        f"/contest/{code}/play", json={"action": "answer", "team_id": second_id, "answer": "A"}
    )
    assert refused.status_code == 403 and "不能替其他队伍" in refused.get_json()["error"]["message"]
    before = event_count(app)
    late = host.post(f"/contest/{code}/host/act", json={"action": "next"})
    assert (
        late.status_code == 400
        and late.get_json()["error"]["message"] == "请先判定本题或公布答案，再进入下一题"
    )
    assert anonymous.post(f"/contest/{code}/play", json={"action": "buzz"}).status_code == 400  # not joined
    assert event_count(app) == before
    state = anonymous.get(f"/contest/{code}/state").get_json()
    assert state["question"]["stem"] and state["answer"] is None
    assert "answer" not in state["question"] and "key" not in state  # no key before judging
    host.post(f"/contest/{code}/host/act", json={"action": "open"})
    host.post(f"/contest/{code}/host/act", json={"action": "judge", "correct": True})
    state = anonymous.get(f"/contest/{code}/state").get_json()
    assert state["answer"]["text"] and {t["name"]: t["score"] for t in state["teams"]}["第1队"] == 10

    sheet = host.get(f"/contest/{code}/sheet.xlsx")
    assert sheet.status_code == 200
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(sheet.data))
    assert book.sheetnames == ["总成绩", "逐题", "事件记录"]
    log = [row for row in book["事件记录"].iter_rows(values_only=True)]
    assert [row[2] for row in log[1:]] == ["出题", "开始计时/开放抢答", "主持人判定"]
    assert "队员1甲" in host.get(f"/contest/{code}/certificates").get_data(as_text=True)


def test_the_stream_sends_the_current_state_first_then_every_change(app, org_tree, mixed_bank, login_as):
    import json
    import urllib.request

    from .test_browser import serving

    code = make_contest(app)
    host = login_as("aadmin")
    host.post(f"/contest/{code}/host/act", json={"action": "next"})
    with (
        serving(app) as base,
        urllib.request.urlopen(f"{base}/contest/{code}/events?as=screen", timeout=10) as stream,
    ):
        assert stream.headers["Content-Type"].startswith("text/event-stream")

        def next_state():
            lines = []
            while True:
                line = stream.readline().decode()
                if line.startswith("data: "):
                    lines.append(line[6:])
                if line == "\n" and lines:
                    return json.loads("".join(lines))

        first = next_state()
        assert first["phase"] == "shown" and first["question"]["index"] == 0
        host.post(f"/contest/{code}/host/act", json={"action": "open"})
        assert next_state()["phase"] == "open"
        host.post(f"/contest/{code}/host/act", json={"action": "reveal"})
        revealed = next_state()
        assert revealed["phase"] == "judged" and revealed["answer"]["text"]


# ---------------------------------------------------------------------------------------------
# kill -9 of the server mid-抢答, and a restart: the same state, from the log


def test_a_killed_server_resumes_mid_buzz_with_identical_scores(tmp_path, monkeypatch):
    import os
    import re
    import signal

    from quizapp import create_app
    from quizapp.models import Unit

    from .live import Browser, Process, free_port, quizapp, wait_until_serving

    env = os.environ | {"QUIZAPP_INSTANCE_PATH": str(tmp_path), "QUIZAPP_ADMIN_PASSWORD": "Admin1234"}
    env.pop("QUIZAPP_DATABASE_URL", None)
    quizapp("init", env=env)
    monkeypatch.setenv("QUIZAPP_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("QUIZAPP_DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    with app.app_context():
        from quizapp.services import org

        if db.session.scalar(select(Unit.id)) is None:
            org.create_unit("H1", "大厅单位")
        db.session.commit()
        unit = db.session.scalar(select(Unit.code))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        code = setup.create_contest(
            admin,
            title="断电恢复演练",
            unit_code=unit,
            teams=team_specs(3),
            segments=[
                setup.SegmentSpec("required", count=1, types=["single"], phone_answers=False),
                setup.SegmentSpec(
                    "buzz", points_right=20, points_wrong=10, early_penalty=5, count=2, types=["single"]
                ),
            ],
        ).code
        pins = setup.team_pins(setup.find(code))
        db.session.commit()
        db.engine.dispose()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = Process(
        [sys.executable, "-m", "quizapp", "serve", "--port", str(port), "--no-scheduler"], env, log
    )
    server.start()
    try:
        wait_until_serving(base, server.process, log)
        host = Browser(base)
        status, page = host.post_login("admin", "Admin1234")
        assert status == 200, page[:300]
        host.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        phones = []
        for team, member in ((pins[0], "队员1甲"), (pins[1], "队员2甲"), (pins[2], "队员3乙")):
            phone = Browser(base)
            _, page = phone.request("GET", f"/contest/{code}/join")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            status, page = phone.request(
                "POST",
                f"/contest/{code}/join",
                form={"pick": f"{team['id']}|{member}", "pin": team["pin"], "csrf_token": token},
            )
            assert status == 200 and "抢答" in page, page[:300]
            phone.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
            phones.append(phone)

        def host_act(action, **extra):
            return host.json("POST", f"/contest/{code}/host/act", {"action": action, **extra})

        host_act("next")  # 必答, 第1队, answered aloud
        host_act("open")
        host_act("judge", correct=True)
        host_act("next")  # 抢答 1
        assert (
            phones[1].json("POST", f"/contest/{code}/play", {"action": "buzz"})["outcome"]["result"] == "foul"
        )
        host_act("open")
        assert (
            phones[0].json("POST", f"/contest/{code}/play", {"action": "buzz"})["outcome"]["result"]
            == "first"
        )
        assert (
            phones[2].json("POST", f"/contest/{code}/play", {"action": "buzz"})["outcome"]["result"] == "late"
        )
        host_act("judge", correct=False)  # 第1队 wrong: the floor passes to 第3队, mid-抢答
        before = Browser(base).json("GET", f"/contest/{code}/state")
        assert {t["name"]: t["score"] for t in before["teams"]} == {"第1队": 0, "第2队": -5, "第3队": 0}
        assert before["phase"] == "open" and before["floor_name"] == "第3队"

        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        server = Process(server.args, env, log).start()
        wait_until_serving(base, server.process, log)
        after = Browser(base).json("GET", f"/contest/{code}/state")
        for key in ("seq", "teams", "phase", "floor", "buzzes", "fouls", "judgements", "question", "segment"):
            assert after[key] == before[key], key
        # …and the contest goes on: the phone's session and the host's still work.
        host_act("judge", correct=True)
        host_act("next")
        assert (
            phones[1].json("POST", f"/contest/{code}/play", {"action": "buzz"})["outcome"]["result"] == "foul"
        )
        final = Browser(base).json("GET", f"/contest/{code}/state")
        assert {t["name"]: t["score"] for t in final["teams"]} == {"第1队": 0, "第2队": -10, "第3队": 20}
    finally:
        server.stop()


def test_a_teams_double_taps_over_http_are_one_buzz_answered_from_the_published_state(
    app, org_tree, mixed_bank, login_as, frozen_clock
):
    from quizapp.services.contest.hub import hub

    code = make_contest(app, segments=[setup.SegmentSpec("buzz", early_penalty=5, count=2, types=["single"])])
    host = login_as("aadmin")
    first, team_id = phone_joins(app, code, 1, "队员1甲")
    mate, _ = phone_joins(app, code, 1, "队员1乙")
    other, _ = phone_joins(app, code, 2, "队员2甲")
    with first.session_transaction() as kept:
        token = kept["contest_devices"][code]
    host.post(f"/contest/{code}/host/act", json={"action": "next"})
    early = first.post(f"/contest/{code}/play", json={"action": "buzz"}).get_json()
    assert early["recorded"] and early["outcome"]["result"] == "foul"
    again = mate.post(f"/contest/{code}/play", json={"action": "buzz"}).get_json()
    assert not again["recorded"] and again["outcome"] == {"result": "foul", "penalty": 5}
    host.post(f"/contest/{code}/host/act", json={"action": "reveal"})
    host.post(f"/contest/{code}/host/act", json={"action": "next"})
    host.post(f"/contest/{code}/host/act", json={"action": "open"})
    assert play.known_double_tap(code, token) is None  # not buzzed yet: the whole way
    before = event_count(app)
    won = first.post(f"/contest/{code}/play", json={"action": "buzz"}).get_json()
    assert won["recorded"] and won["outcome"]["result"] == "first"
    assert play.known_double_tap(code, token)["outcome"]["result"] == "first"  # memory answers now
    for phone in (first, mate, first):
        tap = phone.post(f"/contest/{code}/play", json={"action": "buzz"}).get_json()
        assert not tap["recorded"] and tap["outcome"]["result"] == "first" and tap["seq"] == won["seq"]
    late = other.post(f"/contest/{code}/play", json={"action": "buzz"}).get_json()
    assert late["recorded"] and late["outcome"]["result"] == "late"
    assert event_count(app) == before + 2
    state = app.test_client().get(f"/contest/{code}/state").get_json()
    assert [b["team_id"] for b in state["buzzes"]][0] == team_id and len(state["buzzes"]) == 2
    assert hub.latest(code)[0] == state["seq"]


def test_the_host_stream_counts_phones_as_they_join(app, org_tree, mixed_bank, login_as, frozen_clock):
    import json

    code = make_contest(app)
    host = login_as("aadmin")
    response = host.get(f"/contest/{code}/events?as=host", buffered=False)
    chunks = iter(response.response)

    def next_state() -> dict:
        text = next(chunks)
        text = text.decode() if isinstance(text, bytes) else text
        return json.loads(text.split("data: ", 1)[1])

    assert next_state()["devices"] == {}
    _, team_id = phone_joins(app, code, 1, "队员1甲")
    assert next_state()["devices"] == {str(team_id): 1}
    phone_joins(app, code, 1, "队员1乙")
    assert next_state()["devices"] == {str(team_id): 2}
    response.close()


def test_the_join_qr_code_encodes_the_address_phones_use(app, org_tree, mixed_bank, login_as):
    import re

    import segno

    code = make_contest(app)
    host = login_as("aadmin")

    def qr_of(url: str) -> str:
        return segno.make(url, error="m", micro=False).svg_inline(
            dark="#000", light="#fff", border=2, omitsize=True, svgclass="join-qr", title="扫码加入比赛"
        )

    for page in (host.get(f"/contest/{code}/host"), app.test_client().get(f"/contest/{code}/screen")):
        text = page.get_data(as_text=True)
        assert qr_of(f"http://localhost/contest/{code}/join") in text
        svg = re.search(r"<svg.*?</svg>", text, re.S).group(0)
        assert "style" not in svg and "script" not in svg  # inline under style-src 'self'
    assert "手机无法访问" in host.get(f"/contest/{code}/host").get_data(as_text=True)  # localhost

    app.config["PUBLIC_URL"] = "http://192.168.1.20:5000/"
    text = host.get(f"/contest/{code}/host").get_data(as_text=True)
    assert f"http://192.168.1.20:5000/contest/{code}/join" in text and "手机无法访问" not in text
    assert qr_of(f"http://192.168.1.20:5000/contest/{code}/join") in text
    screen = app.test_client().get(f"/contest/{code}/screen").get_data(as_text=True)
    assert qr_of(f"http://192.168.1.20:5000/contest/{code}/join") in screen


def test_the_admin_nav_leads_admins_and_unit_admins_to_the_contests(app, org_tree, login_as):
    for username in ("root", "aadmin"):
        manager = login_as(username)
        home = manager.get("/admin/").get_data(as_text=True)
        assert 'href="/contests"' in home and "现场比武" in home
        listing = manager.get("/contests").get_data(as_text=True)
        assert 'class="active">现场比武</a>' in listing
    assert 'href="/contests"' not in login_as("astaff").get("/").get_data(as_text=True)


def test_a_finished_contest_is_on_the_honour_roll_and_an_undone_finish_takes_it_back(app, hall, login_as):
    code, _ = hall
    with app.app_context():
        teams = [team["id"] for team in setup.load_setup(setup.find(code))["teams"]]
    act(app, code, "next")
    for team_id, delta in zip(teams, (30, 50, 10), strict=True):
        act(app, code, "adjust", team_id=team_id, delta=delta, reason="现场加分")
    act(app, code, "finish")
    province_admin = login_as("root")
    page = province_admin.get("/honours").get_data(as_text=True)
    assert "现场比武" in page and "全市窗口业务技能比武决赛" in page
    placed = page[page.index("全市窗口业务技能比武决赛") :]
    assert placed.index("第2队") < placed.index("第1队") < placed.index("第3队")  # 50, 30, 10
    assert "单位2 · 50 分" in placed
    act(app, code, "undo")  # the host took the finish back: the contest runs on, no record yet
    assert "全市窗口业务技能比武决赛" not in province_admin.get("/honours").get_data(as_text=True)
