"""收藏 (favourites) and the whole mistake book (issue 18): starring what one has answered, the
favourites list in full where the rules allow and never otherwise, practice from the favourites and
from all mistakes, the book's filters, and the home tile of a book with nothing due yet."""

# ruff: noqa: F811 — fixtures shared with test_rounds are imported, then requested
from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from quizapp.extensions import db
from quizapp.models import MarkKind, PaperQuestion, QuestionMark, QuestionVersion, Source
from quizapp.services import favourites, questions, rounds

from .conftest import ROUND_CATEGORIES
from .test_rounds import START, at_start, make_round, start  # noqa: F401

SECRET = "秘解{:03d}"
QUOTE = "秘引{:03d}"


@pytest.fixture
def bank(create_question):
    """Four single-choice questions per category (key A), each with its own explanation and quote
    markers, so a page that shows a key shows which one."""
    ids = []
    for category in ROUND_CATEGORIES:
        for _ in range(4):
            number = len(ids) + 1
            ids.append(
                create_question(
                    "single",
                    category=category,
                    answer="A",
                    explanation=SECRET.format(number),
                    quote=QUOTE.format(number),
                )
            )
    return ids


def markers(bank_ids: list[int], question_id: int) -> tuple[str, str]:
    number = bank_ids.index(question_id) + 1
    return SECRET.format(number), QUOTE.format(number)


def shown_markers(text: str) -> set[str]:
    return set(re.findall(r"秘[解引]\d{3}", text))


def answer_daily(client, *, right: bool = False) -> list[int]:
    """Answer today's whole set (wrong unless ``right``); the question ids in set order."""
    items = client.get("/api/v1/daily").get_json()["items"]
    for item in items:
        question_id = item["question"]["id"]
        body = {"question_id": question_id, "answer": "A" if right else "B"}
        assert client.post("/api/v1/daily/answers", json=body).status_code == 200
    return [item["question"]["id"] for item in items]


def star(client, question_id: int):
    return client.put(f"/api/v1/questions/{question_id}/favourite")


@pytest.fixture
def amy(login_as, province, at_start):
    return login_as("amy")


def test_only_an_answered_question_can_be_starred_and_the_list_shows_it_whole(app, amy, bank):
    never_seen = bank[-1]
    assert star(amy, never_seen).status_code == 404  # an id guessed, or read off a paper
    today = amy.get("/api/v1/daily").get_json()["items"]
    unanswered = today[0]["question"]["id"]
    assert star(amy, unanswered).status_code == 404  # shown but not answered yet: no key for it
    answered = answer_daily(amy)
    first = answered[0]
    assert star(amy, first).get_json() == {"question_id": first, "favourite": True}
    assert star(amy, first).status_code == 200  # twice: still one mark
    with app.app_context():
        assert db.session.scalar(select(db.func.count(QuestionMark.id))) == 1

    listed = amy.get("/api/v1/favourites").get_json()["questions"]
    assert [q["question_id"] for q in listed] == [first]
    entry = listed[0]
    assert entry["hidden"] is None and entry["key_text"].startswith("A. ")
    assert (entry["explanation"], entry["quote"]) == markers(bank, first)
    assert [o["key"] for o in entry["options"]] == ["A", "B", "C", "D"]
    page = amy.get("/favourites").get_data(as_text=True)
    assert shown_markers(page) == set(markers(bank, first)) and "练习收藏" in page

    # The feedback says it is starred (the page's star shows it), on the API's every reading.
    item = next(i for i in amy.get("/api/v1/daily").get_json()["items"] if i["question"]["id"] == first)
    assert item["feedback"]["favourite"] is True
    assert amy.delete(f"/api/v1/questions/{first}/favourite").get_json()["favourite"] is False
    assert amy.get("/api/v1/favourites").get_json()["questions"] == []
    assert "还没有收藏的题目" in amy.get("/favourites").get_data(as_text=True)


def test_no_key_of_a_reserve_or_a_running_rounds_question_shows_in_the_favourites(
    app, amy, bank, make_round, at_start
):
    answered = answer_daily(amy)
    for question_id in answered:
        assert star(amy, question_id).status_code == 200
    reserve, on_weekly, on_monthly = answered[0], answered[1], answered[2]
    with app.app_context():
        questions.set_reserved([reserve], True, actor_id=None)
        db.session.commit()
    # A weekly round (answers after each attempt) and a monthly contest (after close), both open,
    # each with a shared paper holding one of the starred questions.
    weekly = make_round("weekly", blueprint=[{"type": "single", "count": 1}])
    monthly = make_round("monthly", blueprint=[{"type": "single", "count": 1}])
    start(amy, weekly)
    start(amy, monthly)
    with app.app_context():  # put the starred questions on those papers, as a draw could have
        for round_id, question_id in ((weekly, on_weekly), (monthly, on_monthly)):
            row = db.session.scalar(select(PaperQuestion).where(PaperQuestion.round_id == round_id))
            version = db.session.scalar(
                select(QuestionVersion.id).where(
                    QuestionVersion.question_id == question_id, QuestionVersion.is_current
                )
            )
            row.question_id, row.question_version_id = question_id, version
        db.session.commit()

    listed = {q["question_id"]: q for q in amy.get("/api/v1/favourites").get_json()["questions"]}
    assert listed[reserve]["hidden"] == favourites.HIDDEN_RESERVED
    assert listed[on_weekly]["hidden"] == favourites.HIDDEN_OPEN_ROUND
    assert listed[on_monthly]["hidden"] == favourites.seal.WITHHELD
    for question_id in (reserve, on_weekly, on_monthly):
        assert "key_text" not in listed[question_id] and "explanation" not in listed[question_id]
    shown = [q for q in answered if q not in (reserve, on_weekly, on_monthly)]
    assert all(listed[q]["hidden"] is None for q in shown)
    page = amy.get("/favourites").get_data(as_text=True)
    hidden_markers = set().union(*(markers(bank, q) for q in (reserve, on_weekly, on_monthly)))
    assert not shown_markers(page) & hidden_markers
    assert set().union(*(markers(bank, q) for q in shown)) <= shown_markers(page)
    # Practice from the favourites draws none of them either.
    for _ in range(12):
        item = amy.post("/api/v1/practice/items", json={"from": "favourites"}).get_json()["item"]
        assert item["question"]["id"] in shown
        amy.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "A"})

    # Closed, the rounds' questions are shown again; the reserve question never is.
    at_start.advance(days=4)
    with app.app_context():
        for round_id in (weekly, monthly):
            rounds.close_round(round_id, now=at_start())
        db.session.commit()
    listed = {q["question_id"]: q for q in amy.get("/api/v1/favourites").get_json()["questions"]}
    assert listed[on_weekly]["hidden"] is None and listed[on_monthly]["hidden"] is None
    assert listed[reserve]["hidden"] == favourites.HIDDEN_RESERVED


def test_a_question_on_the_paper_in_hand_cannot_be_starred_to_read_its_key(amy, bank, make_round):
    weekly = make_round("weekly", attempts_allowed=1, blueprint=[{"type": "single", "count": 5}])
    attempt = start(amy, weekly)
    for question in attempt["questions"]:
        assert star(amy, question["id"]).status_code == 404
    assert amy.get("/api/v1/favourites").get_json()["questions"] == []
    # Handed in (answers shown after each attempt), they can be starred from the result page…
    assert amy.post(f"/api/v1/attempts/{attempt['id']}/submit").status_code == 200
    result = amy.get(f"/attempts/{attempt['id']}/result").get_data(as_text=True)
    assert result.count("data-favourite=") == 5
    first = attempt["questions"][0]["id"]
    assert star(amy, first).status_code == 200
    assert f'data-favourite="{first}" aria-pressed="true"' in amy.get(
        f"/attempts/{attempt['id']}/result"
    ).get_data(as_text=True)
    # …but while the round runs the favourites list keeps its key back.
    (listed,) = amy.get("/api/v1/favourites").get_json()["questions"]
    assert listed["hidden"] == favourites.HIDDEN_OPEN_ROUND


def test_practice_from_all_mistakes_serves_every_open_one_not_only_the_due(app, amy, bank, at_start):
    missed = answer_daily(amy)  # ten misses, due tomorrow
    assert amy.post("/api/v1/mistakes/review").get_json()["item"] is None  # nothing due today
    served = set()
    for _ in range(10):
        at_start.advance(minutes=1)  # the least recently seen comes next
        item = amy.post("/api/v1/practice/items", json={"from": "mistakes"}).get_json()["item"]
        served.add(item["question"]["id"])
        amy.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "A"})
    assert served == set(missed)
    # Right answers in practice do not clear them: that is the spaced review's job.
    assert len(amy.get("/api/v1/mistakes").get_json()["entries"]) == 10
    assert amy.post("/api/v1/practice/items", json={"from": "elsewhere"}).status_code == 400
    page = amy.get("/practice?from=mistakes").get_data(as_text=True)
    assert "练习错题" in page and 'name="from" value="mistakes"' in page


def test_the_mistake_book_shows_whole_questions_and_filters_by_category_and_document(app, amy, bank):
    missed = answer_daily(amy)
    with app.app_context():  # two of the missed questions come from another document
        other = Source(code="other_doc", title="另一份文件", body="原文")
        db.session.add(other)
        db.session.flush()
        db.session.execute(
            update(QuestionVersion)
            .where(QuestionVersion.question_id.in_(missed[:2]))
            .values(source_id=other.id)
        )
        db.session.commit()
        other_id = other.id
        categories = dict(
            db.session.execute(
                select(QuestionVersion.question_id, QuestionVersion.category_id).where(
                    QuestionVersion.question_id.in_(missed)
                )
            ).all()
        )
    entries = amy.get("/api/v1/mistakes").get_json()["entries"]
    assert len(entries) == 10
    entry = entries[0]
    assert entry["your_answer_text"].startswith("B. ") and entry["key_text"].startswith("A. ")
    assert (entry["explanation"], entry["quote"]) == markers(bank, entry["question_id"])
    assert entry["favourite"] is False and len(entry["options"]) == 4

    page = amy.get("/mistakes").get_data(as_text=True)
    assert page.count('class="card mistake') == 10
    assert {"你的答案", "正确答案", "解析", "出处"} <= set(re.findall(r"<(?:dt|h3)>([^<]+)<", page))
    assert "练习全部错题（10 题" in page
    by_document = amy.get(f"/mistakes?source={other_id}").get_data(as_text=True)
    assert by_document.count('class="card mistake') == 2 and "筛选出 2 题" in by_document
    category = categories[missed[0]]
    in_category = [q for q in missed if categories[q] == category]
    by_category = amy.get(f"/mistakes?category={category}").get_data(as_text=True)
    assert by_category.count('class="card mistake') == len(in_category)
    assert "练习" in by_category and "from=mistakes&amp;category=" in by_category


def test_the_home_tile_counts_a_book_with_nothing_due_yet(app, amy, bank, at_start):
    home = amy.get("/").get_data(as_text=True)
    assert "暂无错题" in home
    answer_daily(amy)  # every answer wrong: ten questions in the book, first review tomorrow
    home = amy.get("/").get_data(as_text=True)
    assert "错题本 10 题 · 明天起复习" in home and "暂无待复习" not in home
    at_start.advance(days=1)
    assert "10 道错题待复习 · 共 10 题" in amy.get("/").get_data(as_text=True)


def test_a_mark_for_one_learner_is_nobody_elses(app, login_as, province, at_start, bank):
    amy, bob = login_as("amy"), login_as("bob")
    answered = answer_daily(amy)
    answer_daily(bob)
    assert star(amy, answered[0]).status_code == 200
    assert bob.get("/api/v1/favourites").get_json()["questions"] == []
    assert bob.delete(f"/api/v1/questions/{answered[0]}/favourite").status_code == 200
    with app.app_context():
        marks = db.session.execute(select(QuestionMark.user_id, QuestionMark.kind)).all()
    assert len(marks) == 1 and marks[0].kind == MarkKind.FAVOURITE
    assert len(amy.get("/api/v1/favourites").get_json()["questions"]) == 1
