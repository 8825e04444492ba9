"""日日学, practice, the mistake book, points and streaks — with a fixed clock."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from quizapp import create_app
from quizapp.extensions import db
from quizapp.models import DailySet, LearningItem, MistakeEntry, PointsEntry, QuestionVersion, User
from quizapp.services import mistakes, points, rules

from .conftest import PASSWORD

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CATEGORIES = ["就业创业", "社会保险", "劳动关系", "人才人事", "综合服务与行风"]


@pytest.fixture
def learner(create_unit, create_user):
    return create_user("learner", unit=create_unit("W1", "一号窗口"), name="学员甲")


@pytest.fixture
def bank(create_question):
    """Four single-choice questions per category (key A), with secrets in what must not leak."""
    ids = []
    for category in CATEGORIES:
        for _ in range(4):
            number = len(ids) + 1
            ids.append(
                create_question(
                    "single",
                    category=category,
                    answer="A",
                    explanation=f"秘密解析{number:03d}",
                    quote=f"秘密引用{number:03d}",
                )
            )
    return ids


def key_for(app, question_id: int):
    with app.app_context():
        version = db.session.scalar(
            select(QuestionVersion).where(
                QuestionVersion.question_id == question_id, QuestionVersion.is_current
            )
        )
        return {
            "single": version.answer,
            "judge": "true" if version.answer else "false",
            "multiple": version.answer,
            "fill": [alts[0] for alts in version.answer or []],
        }[version.type]


def wrong_for(app, question_id: int):
    key = key_for(app, question_id)
    return "B" if key == "A" else "A"


def get_daily(client) -> dict:
    response = client.get("/api/v1/daily")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def answer(client, question_id: int, value):
    return client.post("/api/v1/daily/answers", json={"question_id": question_id, "answer": value})


def finish_today(app, client, *, right: bool = True) -> dict:
    state = get_daily(client)
    for item in state["items"]:
        if not item["answered"]:
            qid = item["question"]["id"]
            answer(client, qid, key_for(app, qid) if right else wrong_for(app, qid))
    return get_daily(client)


def shanghai(year, month, day, hour=9, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC) - timedelta(hours=8)


# --- the daily set: order and stability -----------------------------------------------------


def test_first_set_is_unseen_questions_rotating_through_categories(
    app, client, auth, learner, bank, frozen_clock
):
    auth.login("learner")
    state = get_daily(client)
    assert state["size"] == 10 and state["date"] == "2026-03-02"
    assert {item["reason"] for item in state["items"]} == {"new"}
    categories = [item["question"]["category"] for item in state["items"]]
    assert sorted(categories[:5]) == sorted(CATEGORIES)  # one of each category…
    assert categories[5:] == categories[:5]  # …then round again in the same order
    # Tomorrow the rotation starts one category later.
    frozen_clock.advance(days=1)
    tomorrow = [item["question"]["category"] for item in get_daily(client)["items"]]
    assert tomorrow[:5] == categories[1:5] + categories[:1]


def test_the_set_is_fixed_for_the_day_across_reloads_and_devices(app, learner, bank, frozen_clock):
    phone, desktop = app.test_client(), app.test_client()
    for device in (phone, desktop):
        device.post("/login", data={"username": "learner", "password": PASSWORD})
    first = [item["question"]["id"] for item in get_daily(phone)["items"]]
    frozen_clock.advance(hours=10)
    assert [item["question"]["id"] for item in get_daily(phone)["items"]] == first
    assert [item["question"]["id"] for item in get_daily(desktop)["items"]] == first
    with app.app_context():
        assert db.session.scalar(select(func.count(DailySet.id))) == 1


def test_day_rolls_over_at_midnight_in_the_business_time_zone(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    frozen_clock.set(shanghai(2026, 3, 2, 23, 59, 59))
    late = get_daily(client)
    assert late["date"] == "2026-03-02"
    frozen_clock.set(shanghai(2026, 3, 3, 0, 0, 0))
    assert frozen_clock().hour == 16 and frozen_clock().day == 2  # still the 2nd in UTC…
    early = get_daily(client)
    assert early["date"] == "2026-03-03"  # …but the 3rd at the counter
    # Answering last night's question now is refused clearly, and nothing changes.
    stale = answer(client, late["items"][0]["question"]["id"], "A")
    if late["items"][0]["question"]["id"] not in [i["question"]["id"] for i in early["items"]]:
        assert stale.status_code == 409 and "刷新" in stale.get_json()["error"]["message"]


def test_least_recently_seen_come_back_once_everything_has_been_seen(
    app, client, auth, learner, bank, frozen_clock
):
    auth.login("learner")
    day1 = {item["question"]["id"] for item in finish_today(app, client)["items"]}
    frozen_clock.advance(days=1)
    day2 = {item["question"]["id"] for item in finish_today(app, client)["items"]}
    assert not day1 & day2 and len(day1 | day2) == 20
    frozen_clock.advance(days=1)
    day3 = get_daily(client)
    assert {item["reason"] for item in day3["items"]} == {"repeat"}
    assert {item["question"]["id"] for item in day3["items"]} == day1


def test_due_mistakes_come_first_at_most_three(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    finish_today(app, client, right=False)  # ten mistakes
    frozen_clock.advance(days=1)
    state = get_daily(client)
    reasons = [item["reason"] for item in state["items"]]
    assert reasons == ["mistake"] * 3 + ["new"] * 7


def test_retired_questions_are_not_drawn(app, client, auth, learner, create_question, frozen_clock):
    from quizapp.models import Question, QuestionStatus

    keep = create_question("judge")
    retired = create_question("judge")
    with app.app_context():
        db.session.get(Question, retired).status = QuestionStatus.RETIRED
        db.session.commit()
    auth.login("learner")
    state = get_daily(client)
    assert [item["question"]["id"] for item in state["items"]] == [keep] and state["size"] == 1


def test_empty_bank_is_a_clear_error(client, auth, learner, frozen_clock):
    auth.login("learner")
    response = client.get("/api/v1/daily")
    assert response.status_code == 404 and "题库" in response.get_json()["error"]["message"]


# --- answers: feedback, idempotency, leaks ---------------------------------------------------


def test_answer_returns_feedback_and_a_second_answer_changes_nothing(
    app, client, auth, learner, bank, frozen_clock
):
    auth.login("learner")
    qid = get_daily(client)["items"][0]["question"]["id"]
    first = answer(client, qid, "B")
    assert first.status_code == 200
    body = first.get_json()
    assert body["first"] is True and body["feedback"]["correct"] is False
    assert body["feedback"]["correct_answer"] == "A" and body["feedback"]["your_answer"] == "B"
    assert body["feedback"]["explanation"].startswith("秘密解析")
    assert body["feedback"]["source"] == {
        "title": "测试文件",
        "locator": "第一条",
        "quote": body["feedback"]["source"]["quote"],
        "source_id": body["feedback"]["source"]["source_id"],  # its link to 政策原文
    }
    assert client.get(f"/reading/at/{body['feedback']['source']['source_id']}").status_code == 302
    assert body["set"]["answered"] == 1
    again = answer(client, qid, "A").get_json()
    assert again["first"] is False and again["feedback"] == body["feedback"] and again["points_awarded"] == 0
    assert again["set"]["answered"] == 1


def test_nothing_about_an_unanswered_question_leaves_the_server(
    app, client, auth, learner, bank, frozen_clock
):
    auth.login("learner")
    state = get_daily(client)
    answered_id = state["items"][0]["question"]["id"]
    answer(client, answered_id, "A")
    raw = client.get("/api/v1/daily").get_data(as_text=True)
    state = json.loads(raw)
    for item in state["items"]:
        if item["answered"]:
            continue
        assert set(item) == {"item_id", "position", "reason", "question", "answered"}
        assert set(item["question"]) == {
            "id",
            "type",
            "type_label",
            "stem",
            "options",
            "blanks",
            "category",
            "difficulty",
        }
    secrets_shown = {s for s in ("秘密解析", "秘密引用") if s in raw}
    assert secrets_shown == {"秘密解析", "秘密引用"}  # the answered one's feedback…
    assert raw.count("秘密解析") == 1 and raw.count("秘密引用") == 1  # …and no other's
    for page in ("/daily", "/practice", "/mistakes/review", "/"):
        html = client.get(page).get_data(as_text=True)
        assert "秘密" not in html
    practice = client.post("/api/v1/practice/items", json={}).get_data(as_text=True)
    assert "秘密" not in practice and '"answer"' not in practice and "correct" not in practice


def test_concurrent_identical_answers_count_once(app, learner, bank, frozen_clock):
    run_concurrent_answers(app)


@pytest.mark.postgres
def test_concurrent_identical_answers_count_once_on_postgresql(app, learner, bank, frozen_clock):
    run_concurrent_answers(app)


def run_concurrent_answers(app, threads: int = 8):
    """Eight tabs submit the same answer at the same instant: one answer, one point, one result."""
    clients = [app.test_client() for _ in range(threads)]
    for client in clients:
        client.post("/login", data={"username": "learner", "password": PASSWORD})
    # All tabs open the daily page at once: one set is drawn.
    barrier = threading.Barrier(threads)
    sets, results, errors = [], [], []

    def open_then_answer(client):
        try:
            barrier.wait()
            state = get_daily(client)
            sets.append([item["question"]["id"] for item in state["items"]])
            barrier.wait()
            qid = state["items"][0]["question"]["id"]
            response = answer(client, qid, key_for(app, qid))
            results.append((response.status_code, response.get_json()))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=open_then_answer, args=(client,)) for client in clients]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert all(ids == sets[0] for ids in sets)
    assert [status for status, _ in results] == [200] * threads
    assert sum(body["first"] for _, body in results) == 1
    assert len({json.dumps(body["feedback"], sort_keys=True) for _, body in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(DailySet.id))) == 1
        assert db.session.scalar(select(DailySet.answered_count)) == 1
        assert (
            db.session.scalar(
                select(func.count(LearningItem.id)).where(LearningItem.answered_at.is_not(None))
            )
            == 1
        )
        assert db.session.scalar(select(func.sum(PointsEntry.amount))) == 1


def test_bad_answers_get_a_clear_error_and_change_nothing(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    qid = get_daily(client)["items"][0]["question"]["id"]
    for body, status, text in [
        ({"question_id": qid, "answer": "Z"}, 400, "单选题"),
        ({"question_id": qid}, 400, "answer"),
        ({"question_id": "x", "answer": "A"}, 400, "question_id"),
        ({"question_id": 999999, "answer": "A"}, 409, "不在今天"),
    ]:
        response = client.post("/api/v1/daily/answers", json=body)
        assert response.status_code == status
        assert text in response.get_json()["error"]["message"] and response.get_json()["error"]["code"]
    not_json = client.post("/api/v1/daily/answers", data="A", content_type="text/plain")
    assert not_json.status_code == 400 and "JSON" in not_json.get_json()["error"]["message"]
    assert get_daily(client)["answered"] == 0


def test_api_requires_sign_in_and_csrf(app_config, learner, bank, frozen_clock):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    anonymous = client.get("/api/v1/daily")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    client.post("/login", data={"username": "learner", "password": PASSWORD, "csrf_token": token})
    qid = get_daily(client)["items"][0]["question"]["id"]
    refused = client.post("/api/v1/daily/answers", json={"question_id": qid, "answer": "A"})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf"
    home = client.get("/").get_data(as_text=True)
    token = home.split('name="csrf-token" content="')[1].split('"')[0]
    accepted = client.post(
        "/api/v1/daily/answers", json={"question_id": qid, "answer": "A"}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 200


# --- points, caps, streaks, stars ---------------------------------------------------------------


def test_points_for_right_answers_and_finishing(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    state = get_daily(client)
    for index, item in enumerate(state["items"]):
        qid = item["question"]["id"]
        answer(client, qid, key_for(app, qid) if index < 7 else wrong_for(app, qid))
    me = client.get("/api/v1/me").get_json()
    assert me["points"] == {"today": 7 + 2, "month": 9, "total": 9}
    assert me["streak"] == 1 and me["stars_this_month"] == 0
    assert me["name"] == "学员甲" and me["unit"] == {"code": "W1", "name": "一号窗口"}


@pytest.mark.app_config(POINTS={"daily_correct": 2, "daily_finish": 2, "practice_correct": 1})
def test_daily_cap_holds_and_the_ledger_recounts_exactly(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    assert finish_today(app, client)["points_today"] == 12  # 10 × 2 + 2, capped at 12
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "learner"))
        ledger = points.ledger(user_id)
        assert ledger == {(date(2026, 3, 2), "daily_correct"): 12}
        assert points.recount(user_id, rules.current()) == ledger


def test_practice_earns_up_to_its_own_cap(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    paid = []
    for _ in range(8):
        item = client.post("/api/v1/practice/items", json={"category": "社会保险"}).get_json()["item"]
        assert item["question"]["category"] == "社会保险"
        result = client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "A"}).get_json()
        assert result["feedback"]["correct"] is True
        paid.append(result["points_awarded"])
    assert paid == [1, 1, 1, 1, 1, 0, 0, 0]
    finish_today(app, client)  # daily points are a separate cap
    assert client.get("/api/v1/me").get_json()["points"]["today"] == 5 + 12
    frozen_clock.advance(days=1)
    item = client.post("/api/v1/practice/items", json={}).get_json()["item"]
    assert (
        client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "A"}).get_json()[
            "points_awarded"
        ]
        == 1
    )  # a new day, a new cap
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "learner"))
        assert points.recount(user_id, rules.current()) == points.ledger(user_id)


def test_practice_filters_and_errors(app, client, auth, learner, bank, create_question, frozen_clock):
    create_question("judge", category="劳动关系", difficulty=3)
    auth.login("learner")
    item = client.post("/api/v1/practice/items", json={"type": "judge", "difficulty": "3"}).get_json()["item"]
    assert item["question"]["type"] == "judge"
    none = client.post("/api/v1/practice/items", json={"type": "fill"})
    assert none.status_code == 404 and "没有符合条件" in none.get_json()["error"]["message"]
    unknown = client.post("/api/v1/practice/items", json={"category": "不存在"})
    assert unknown.status_code == 404
    # Another learner's item is not found, and cannot be answered.
    other = app.test_client()
    with app.app_context():
        from quizapp.services import accounts

        accounts.create_user("other", "乙", PASSWORD, unit_code="W1", must_change_password=False)
        db.session.commit()
    other.post("/login", data={"username": "other", "password": PASSWORD})
    stolen = other.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "true"})
    assert stolen.status_code == 404


def test_streak_survives_an_open_day_and_breaks_on_a_missed_one(
    app, client, auth, learner, bank, frozen_clock
):
    auth.login("learner")
    streaks = []
    for finish in (True, True, False, True):  # Mon, Tue, (Wed missed), Thu
        get_daily(client)
        streaks.append(client.get("/api/v1/me").get_json()["streak"])  # before finishing
        if finish:
            finish_today(app, client)
        streaks.append(client.get("/api/v1/me").get_json()["streak"])
        frozen_clock.advance(days=1)
    assert streaks == [0, 1, 1, 2, 2, 2, 0, 1]


def test_daily_star_needs_every_answer_right(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    assert finish_today(app, client)["star"] is True
    frozen_clock.advance(days=1)
    assert finish_today(app, client, right=False)["star"] is False
    assert client.get("/api/v1/me").get_json()["stars_this_month"] == 1


# --- the mistake book -------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_mistake_book_schedule(ctx, learner, bank, frozen_clock, backend):
    """Wrong → due next day; reviews 1, 3, 7 days apart as right reviews accumulate; a wrong review
    resets the run; two right in a row in review take it out; a miss after that reopens it."""
    learning = rules.current()
    question = bank[0]

    def record(correct, review=True):
        return mistakes.record(
            learner.id,
            question,
            correct=correct,
            response="B",
            review=review,
            origin="daily",
            now=frozen_clock(),
            rules=learning,
        )

    def due_day(entry):
        return entry.due_at.astimezone(learning.tz).date()

    start = frozen_clock().astimezone(learning.tz).date()
    entry = record(False, review=False)
    assert (entry.wrong_count, entry.right_streak, due_day(entry)) == (1, 0, start + timedelta(days=1))
    assert record(True, review=False).right_streak == 0  # right outside review does not count

    frozen_clock.advance(days=1)
    entry = record(True)
    assert (entry.right_streak, due_day(entry)) == (1, start + timedelta(days=1 + 3))
    frozen_clock.advance(days=3)
    entry = record(False)
    assert (entry.right_streak, entry.wrong_count, due_day(entry)) == (0, 2, start + timedelta(days=4 + 3))
    frozen_clock.advance(days=3)
    entry = record(True)
    assert (entry.right_streak, due_day(entry)) == (1, start + timedelta(days=7 + 7))
    frozen_clock.advance(days=7)
    entry = record(True)
    assert entry.cleared_at is not None and entry.right_streak == 2
    db.session.commit()

    reopened = record(False, review=False)
    assert reopened.cleared_at is None and reopened.wrong_count == 3 and reopened.reviews_right == 0
    assert db.session.scalar(select(func.count(MistakeEntry.id))) == 1


def test_review_mode_serves_due_mistakes_and_takes_them_out(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    state = get_daily(client)
    missed = state["items"][0]["question"]["id"]
    answer(client, missed, "B")
    book = client.get("/api/v1/mistakes").get_json()
    assert [e["question_id"] for e in book["entries"]] == [missed] and book["due"] == 0
    assert book["entries"][0]["origin"] == "daily" and book["entries"][0]["wrong_count"] == 1
    assert client.post("/api/v1/mistakes/review", json={}).get_json()["item"] is None  # not yet due

    for gap in (1, 3):
        frozen_clock.advance(days=gap)
        item = client.post("/api/v1/mistakes/review", json={}).get_json()["item"]
        assert item["question"]["id"] == missed and item["reason"] == "mistake"
        again = client.post("/api/v1/mistakes/review", json={}).get_json()["item"]
        assert again["item_id"] == item["item_id"]  # an unanswered review is served again
        result = client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "A"}).get_json()
        assert result["feedback"]["correct"] and result["points_awarded"] == 0  # reviews earn no points
    assert client.get("/api/v1/mistakes").get_json()["entries"] == []
    page = client.get("/mistakes").get_data(as_text=True)
    assert "错题本是空的" in page


def test_mistake_book_page_lists_entries(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    qid = get_daily(client)["items"][0]["question"]["id"]
    answer(client, qid, "B")
    page = client.get("/mistakes").get_data(as_text=True)
    assert "来自日日学" in page and "答错 1 次" in page and "3月3日 复习" in page


# --- pages and queries ------------------------------------------------------------------------


def test_history_shows_the_calendar_and_accuracy(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    finish_today(app, client)
    page = client.get("/history").get_data(as_text=True)
    assert "2026年3月" in page and 'class=" done star today"' in page.replace("  ", " ")
    data = json.loads(page.split('id="accuracy-data">')[1].split("</script>")[0])
    assert {row["name"]: row["answered"] for row in data["category"]} == {name: 2 for name in CATEGORIES}
    assert all(row["rate"] == 1.0 for row in data["category"])
    assert sum(row["answered"] for row in data["ability"]) == 10
    assert client.get("/history?year=2026&month=13").status_code == 200  # a bad month falls back


def test_daily_queries_do_not_grow_with_the_bank_or_the_set(
    app, client, auth, learner, create_question, frozen_clock, count_queries
):
    for category in CATEGORIES:
        for _ in range(3):
            create_question("single", category=category)
    auth.login("learner")
    with count_queries() as drawing:
        get_daily(client)
    with count_queries() as small:
        get_daily(client)
    frozen_clock.advance(days=1)
    for category in CATEGORIES:
        for _ in range(30):
            create_question("multiple", category=category)
    get_daily(client)
    state = finish_today(app, client)
    assert state["finished"]
    with count_queries() as large:
        get_daily(client)
    with count_queries() as one_answer:
        answer(client, state["items"][0]["question"]["id"], "A")
    assert large.count == small.count <= 6
    assert drawing.count <= 10  # includes drawing the set: 2 inserts, whatever its size
    assert one_answer.count <= 12  # the pages' budgets are in test_query_budget


def test_points_recount_command(app, client, auth, learner, bank, frozen_clock, runner):
    auth.login("learner")
    finish_today(app, client)
    assert "一致" in runner.invoke(args=["points", "recount"]).output
    with app.app_context():
        entry = db.session.scalar(select(PointsEntry).limit(1))
        entry.amount += 5  # tamper with the ledger
        db.session.commit()
    result = runner.invoke(args=["points", "recount", "--user", "learner"])
    assert result.exit_code == 1 and "账本" in result.output and "1 处不一致" in result.output
