"""Written questions (简答, 情景应答) as takers and learners meet them: the attempt page without the key,
an answer typed as HTML shown back as text, results held while the round is in marking, and
专项练习's self-marking through the API."""
# ruff: noqa: F811 — fixtures shared with test_rounds are imported, then requested

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from quizapp.extensions import db
from quizapp.models import LearningItem, MistakeEntry, PaperQuestion, QuestionVersion, Round, RoundStatus
from quizapp.services import sweeps, written

from .test_rounds import START, at_start, make_round, save, start  # noqa: F401, F811

KEY = {
    "model": "模范答案：请在失业后六十日内到公共就业服务机构办理失业登记。",
    "rubric": [
        {"point": "要点甲：六十日内办理失业登记", "points": 2, "phrases": ["暗语短语一", "六十日内"]},
        {"point": "要点乙：到公共就业服务机构", "points": 2, "phrases": ["暗语短语二"]},
        {"point": "要点丙：携带身份证", "points": 1, "phrases": ["暗语短语三"]},
    ],
    "deductions": [{"point": "扣分项：推诿", "points": 1, "phrases": ["暗语短语四"]}],
}
SAYS = "我上个月被辞退了，现在该怎么办？"
SCENE = "窗口前，一位中年男子焦急地说明来意。"
# What must never reach a taker of an open round (nor a learner before self-marking, but the points).
SECRETS = ["模范答案", "要点甲", "要点乙", "要点丙", "暗语短语", "扣分项", "秘密解析", "秘密引用"]
HTML = '<script>alert("x")</script><b>加粗</b> & 您好'


@pytest.fixture
def written_bank(create_question, app):
    """Two singles, one 简答 and one 情景应答 (with the public's words) in 就业创业."""

    scenes = iter([SCENE] + [f"{SCENE}（其{n}）" for n in range(2, 50)])

    def situation():
        question_id = create_question(
            "situation",
            category="就业创业",
            answer=KEY,
            stem=next(scenes),
            explanation="秘密解析",
            quote="秘密引用",
        )
        with app.app_context():
            db.session.execute(
                update(QuestionVersion).where(QuestionVersion.question_id == question_id).values(says=SAYS)
            )
            db.session.commit()
        return question_id

    ids = {
        "singles": [create_question("single", category="就业创业") for _ in range(2)],
        "short": create_question(
            "short",
            category="就业创业",
            answer=KEY,
            stem="简述失业登记。",
            explanation="秘密解析",
            quote="秘密引用",
        ),
        "situation": situation(),
    }
    ids["add_situation"] = situation
    return ids


def tells(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def written_id(view) -> int:
    return next(q["id"] for q in view["questions"] if q["type"] == "situation")


@pytest.fixture
def situation_round(app, province, written_bank, make_round, at_start):
    """A monthly round (answers after close) of one single and one 情景应答."""
    return make_round(
        "monthly", blueprint=[{"type": "single", "count": 1}, {"type": "situation", "count": 1}]
    )


def close_round(app, frozen_clock):
    with app.app_context():
        round_ = db.session.scalar(select(Round))
        frozen_clock.set(round_.closes_at + timedelta(minutes=1))
        sweeps.close_due_rounds(frozen_clock())
        db.session.commit()
        return db.session.get(Round, round_.id).status


# --- the attempt ------------------------------------------------------------------------------------


def test_the_attempt_shows_the_scene_and_the_words_but_no_model_answer_rubric_or_phrases(
    app, login_as, situation_round
):
    client = login_as("amy")
    view = start(client, situation_round)
    question = next(q for q in view["questions"] if q["type"] == "situation")
    assert question["stem"] == SCENE and question["says"] == SAYS and question["max_length"] == 2000
    assert question["type_label"] == "情景应答"
    for response in (
        client.get(f"/api/v1/attempts/{view['id']}"),
        client.get(f"/attempts/{view['id']}"),
        client.get(f"/api/v1/rounds/{situation_round}/attempts"),
        client.get("/api/v1/rounds"),
    ):
        text = response.get_data(as_text=True)
        assert not tells(text), (response.request.path, tells(text))
    body = json.dumps(client.get(f"/api/v1/attempts/{view['id']}").get_json(), ensure_ascii=False)
    assert "rubric" not in body and "keypoints" not in body and "model" not in body


def test_a_weekly_round_drawing_a_paper_per_attempt_shows_the_words_too(
    app, login_as, province, written_bank, make_round, at_start
):
    """A drawn paper's questions are read from plain rows (papers._warm_public_items): the public's
    words come with them."""
    for _ in range(3):  # a drawn paper needs a pool of at least 4
        written_bank["add_situation"]()
    round_id = make_round("weekly", paper_mode="drawn", blueprint=[{"type": "situation", "count": 1}])
    view = start(login_as("amy"), round_id)
    assert [(q["type"], q["says"], q["max_length"]) for q in view["questions"]] == [("situation", SAYS, 2000)]
    assert not tells(json.dumps(view, ensure_ascii=False))


def test_a_written_answer_typed_as_html_is_kept_as_text_and_shown_escaped_once_marked(
    app, login_as, situation_round, create_unit, create_user, frozen_clock
):
    client = login_as("amy")
    view = start(client, situation_round)
    qid = written_id(view)
    # empty and blank text is no answer; too long is refused in Chinese; HTML is kept as typed
    assert save(client, view["id"], qid, "   ").get_json()["saved"] is False
    long = save(client, view["id"], qid, "字" * 2001)
    assert long.status_code == 400 and "上限 2000 字" in long.get_json()["error"]["message"]
    assert save(client, view["id"], qid, HTML).get_json()["saved"] is True
    again = client.get(f"/api/v1/attempts/{view['id']}").get_json()
    assert again["answers"][str(qid)]["answer"] == HTML
    assert client.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200

    # submitted, round still open: no score, and the written part is said to wait for markers
    page = client.get(f"/attempts/{view['id']}/result").get_data(as_text=True)
    assert "得分（百分制）" not in page and "由阅卷人评阅" in page and not tells(page)

    markers = [create_user(name, unit=create_unit(f"M{name}", f"阅卷{name}", "P")) for name in ("m1", "m2")]
    with app.app_context():
        written.add_markers(situation_round, [m.id for m in markers], own_unit_ok=False, actor_id=None)
        db.session.commit()
    assert close_round(app, frozen_clock) == RoundStatus.MARKING
    page = client.get(f"/attempts/{view['id']}/result").get_data(as_text=True)
    assert "评阅中，成绩待公布" in page and "得分（百分制）" not in page and not tells(page)
    assert "评阅中，成绩待公布" in client.get(f"/rounds/{situation_round}").get_data(as_text=True)
    api_view = client.get(f"/api/v1/attempts/{view['id']}").get_json()
    assert api_view["marking"] is True and api_view["result"] is None and api_view["review"] is None
    listed = next(r for r in client.get("/api/v1/rounds").get_json()["rounds"] if r["id"] == situation_round)
    assert listed["best_percent"] is None and listed["attempts"][0]["percent"] is None

    with app.app_context():
        for marker, awarded in zip(markers, ([2, 2, 1], [2, 1, 1]), strict=True):
            task = written.next_task(situation_round, marker.id)
            written.mark(task["task"], marker.id, awarded, [], task["stamp"], now=frozen_clock())
        db.session.commit()
    assert close_round(app, frozen_clock) == RoundStatus.CLOSED
    page = client.get(f"/attempts/{view['id']}/result").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>加粗</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;加粗&lt;/b&gt; &amp; 您好" in page
    assert KEY["model"] in page and "要点甲：六十日内办理失业登记" in page and SAYS in page
    assert "评阅得分 <strong>4.5</strong> / 5 分" in page  # the average of 5 and 4
    assert "暗语短语" not in page  # the phrases are the markers' own


# --- 专项练习 -----------------------------------------------------------------------------------------


def practise(client, **filters):
    return client.post("/api/v1/practice/items", json=filters)


def test_practice_self_marking_shows_the_keypoints_then_the_model_answer(
    app, login_as, province, written_bank
):
    client = login_as("amy")
    served = practise(client, type="situation")
    assert served.status_code == 200
    item = served.get_json()["item"]
    assert item["question"]["says"] == SAYS and not tells(served.get_data(as_text=True))
    url = f"/api/v1/items/{item['item_id']}/answer"

    early = client.post(url, json={"covered": [0]})
    assert early.status_code == 409 and "请先写下您的回答" in early.get_json()["error"]["message"]
    blank = client.post(url, json={"answer": "  "})
    assert blank.status_code == 400 and "请先写下您的回答" in blank.get_json()["error"]["message"]
    assert client.post(url, json={"answer": 12}).status_code == 400

    written_step = client.post(url, json={"answer": HTML})
    assert written_step.status_code == 200
    step = written_step.get_json()
    assert step["feedback"] is None and step["points_awarded"] == 0
    assert step["self_mark"] == {
        "answer": HTML,
        "keypoints": [{"point": k["point"], "points": k["points"]} for k in KEY["rubric"]],
        "max_points": 5,
    }
    text = written_step.get_data(as_text=True)
    assert (
        "模范答案" not in text and "暗语短语" not in text and "扣分项" not in text and "秘密解析" not in text
    )

    for bad in ([3], [-1], ["0"], [True], "0, 1", None, {"0": 1}):
        refused = client.post(url, json={"covered": bad})
        assert refused.status_code == 400, bad
        assert refused.get_json()["error"]["message"] == "请勾选答到的要点（第 1–3 个）", bad

    marked = client.post(url, json={"covered": [0, 2, 0]})
    assert marked.status_code == 200
    outcome = marked.get_json()
    feedback = outcome["feedback"]
    assert outcome["first"] is True and outcome["covered"] == [0, 2]
    assert feedback["score"] == pytest.approx(0.6) and feedback["correct"] is False and feedback["partial"]
    assert feedback["model_answer"] == KEY["model"] and feedback["max_points"] == 5
    assert feedback["your_answer_text"] == HTML and feedback["explanation"] == "秘密解析"
    assert feedback["source"]["quote"] == "秘密引用" and "暗语短语" not in marked.get_data(as_text=True)
    assert outcome["points_awarded"] == 0  # not every keypoint: nothing to pay

    again = client.post(url, json={"covered": [0, 1, 2]}).get_json()
    assert again["first"] is False and again["feedback"]["score"] == pytest.approx(0.6)
    assert client.post(url, json={"answer": "改写"}).get_json()["first"] is False
    with app.app_context():
        assert db.session.scalar(select(MistakeEntry.id)) is None  # self-marking is no verdict


def test_a_fully_self_marked_answer_earns_points_within_the_practice_cap_and_never_a_mistake(
    app, login_as, province, written_bank
):
    cap = app.config["POINT_CAPS"]["practice"]
    for _ in range(cap + 2):
        written_bank["add_situation"]()
    client = login_as("amy")
    paid = []
    for _ in range(cap + 2):
        item = practise(client, type="situation").get_json()["item"]
        url = f"/api/v1/items/{item['item_id']}/answer"
        assert client.post(url, json={"answer": "全部答到"}).status_code == 200
        outcome = client.post(url, json={"covered": [0, 1, 2]}).get_json()
        assert outcome["feedback"]["correct"] is True
        paid.append(outcome["points_awarded"])
    assert sum(paid) == cap and paid[0] == app.config["POINTS"]["practice_correct"]
    other = practise(client, type="short").get_json()["item"]
    url = f"/api/v1/items/{other['item_id']}/answer"
    client.post(url, json={"answer": "没答到"})
    assert client.post(url, json={"covered": []}).get_json()["feedback"]["score"] == 0
    with app.app_context():
        assert db.session.scalar(select(MistakeEntry.id)) is None
        assert db.session.scalar(select(LearningItem.id).where(LearningItem.answered_at.is_(None))) is None


def test_self_marking_is_for_written_practice_items_only(app, login_as, province, written_bank):
    client = login_as("amy")
    item = practise(client, type="single").get_json()["item"]
    refused = client.post(f"/api/v1/items/{item['item_id']}/answer", json={"covered": [0]})
    assert (
        refused.status_code == 400
        and "只有简答题和情景应答题需要自评" in refused.get_json()["error"]["message"]
    )
    theirs = practise(login_as("bob"), type="short").get_json()["item"]
    for body in ({"answer": "我的"}, {"covered": [0]}):
        assert client.post(f"/api/v1/items/{theirs['item_id']}/answer", json=body).status_code == 404


def test_practice_offers_written_questions_only_under_their_type_filter(
    app, login_as, province, written_bank
):
    client = login_as("amy")
    page = client.get("/practice").get_data(as_text=True)
    assert 'value="short" >简答</option>' in page and 'value="situation" >情景应答</option>' in page
    assert "自评" not in page and "点“自评”" in client.get("/practice?type=situation").get_data(as_text=True)
    seen = set()
    for _ in range(8):
        response = practise(client)
        assert response.status_code == 200
        seen.add(response.get_json()["item"]["question"]["type"])
    assert seen == {"single"}
    by_category = practise(client, category="就业创业").get_json()["item"]
    assert by_category["question"]["type"] == "single"
    assert practise(client, type="short").get_json()["item"]["question"]["type"] == "short"


def test_the_daily_set_never_holds_a_written_question(app, login_as, province, create_question, written_bank):
    for n in range(12):
        create_question("situation", answer=KEY, category="社会保险", stem=f"情景{n}")
    client = login_as("amy")
    items = client.get("/api/v1/daily").get_json()["items"]
    assert items and {item["question"]["type"] for item in items} == {"single"}


def test_a_written_question_on_an_open_contest_is_not_practised(app, login_as, situation_round, written_bank):
    """The bank's one 情景应答 is on the open contest's paper (sealed until it closes): practice
    cannot serve it, nor give its keypoints."""
    start(login_as("amy"), situation_round)  # the paper is drawn
    with app.app_context():
        on_paper = set(
            db.session.scalars(
                select(PaperQuestion.question_id).where(PaperQuestion.round_id == situation_round)
            )
        )
    assert written_bank["situation"] in on_paper
    client = login_as("bob")
    for _ in range(3):
        response = practise(client, type="situation")
        assert response.status_code == 404 and "没有符合条件的题目" in response.get_json()["error"]["message"]
    assert practise(client, type="short").status_code == 200  # the 简答 is on no paper


def test_a_written_question_on_an_open_weekly_paper_is_not_practised_by_its_takers(
    app, login_as, province, written_bank, make_round, at_start
):
    """A weekly round shows answers after each attempt, so its questions are not sealed; but a written
    answer's key waits for the marking: the round's takers cannot practise its written questions,
    nor self-mark one served before the round drew it."""
    amy = login_as("amy")
    early = practise(amy, type="short").get_json()["item"]  # served before the round drew it
    round_id = make_round("weekly", blueprint=[{"type": "single", "count": 1}, {"type": "short", "count": 1}])
    start(login_as("bob"), round_id)  # the shared paper is drawn
    url = f"/api/v1/items/{early['item_id']}/answer"
    for body in ({"answer": "我的回答"}, {"covered": [0]}):
        refused = amy.post(url, json=body)
        assert refused.status_code == 409 and "比赛结束后才能练习" in refused.get_json()["error"]["message"]
        assert not tells(refused.get_data(as_text=True))
    assert practise(amy, type="short").status_code == 404
