"""随机组卷、一人一卷 (issue 16 §1–3): a paper drawn per attempt with equal counts in every blueprint row,
exposure control, a fresh paper for each weekly attempt, and the reserve pool (考试专用)."""

# ruff: noqa: F811 — fixtures shared with test_rounds and test_daily are imported, then requested
from __future__ import annotations

import io
import threading
from collections import Counter
from datetime import timedelta

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from quizapp import kept, serving
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    Category,
    ItemStat,
    PaperQuestion,
    Question,
    QuestionVersion,
    Round,
)
from quizapp.services import bank_io, questions, rounds
from quizapp.services.errors import DomainError

from .conftest import ROOT, ROUND_CATEGORIES
from .test_daily import get_daily, learner  # noqa: F401
from .test_rounds import BACKENDS, START, answer_all, at_start, make_round, save, start  # noqa: F401

BANK = ROOT / "question_bank"
BLUEPRINT = [
    {"type": "single", "category": "社会保险", "count": 2},
    {"type": "judge", "count": 3},
    {"type": "multiple", "count": 1},
]


@pytest.fixture
def big_bank(create_question):
    """Per category: 7 single, 3 judge, 2 multiple, 1 fill — enough for a drawn row at 30%."""
    for category in ROUND_CATEGORIES:
        for qtype in ["single"] * 7 + ["judge"] * 3 + ["multiple"] * 2 + ["fill"]:
            create_question(qtype, category=category, explanation="秘密解析", quote="秘密引用")


def stratum_of(question_ids) -> dict[int, tuple]:
    """question → (type, category name) for the current versions."""
    return {
        question_id: (str(qtype), category)
        for question_id, qtype, category in db.session.execute(
            select(QuestionVersion.question_id, QuestionVersion.type, Category.name)
            .join(Category, Category.id == QuestionVersion.category_id)
            .where(QuestionVersion.question_id.in_(list(question_ids)), QuestionVersion.is_current)
        )
    }


def row_of(stratum: tuple) -> str:
    qtype, category = stratum
    return "single-社会保险" if qtype == "single" and category == "社会保险" else qtype


def test_every_drawn_paper_has_the_blueprint_counts_in_every_row_over_1000_draws(
    app, province, big_bank, make_round
):
    round_id = make_round("monthly", blueprint=BLUEPRINT, paper_mode="drawn")
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        for _ in range(1000):
            ids = [question_id for _, question_id in rounds.papers.draw_for_attempt(round_, user_id=1)]
            assert len(set(ids)) == len(ids) == 6
            rows = Counter(row_of(stratum) for stratum in stratum_of(ids).values())
            assert rows == {"single-社会保险": 2, "judge": 3, "multiple": 1}


def test_takers_get_their_own_papers_kept_across_resume_and_exposure_stays_under_the_share(
    login_as, app, province, big_bank, make_round, create_user, at_start
):
    round_id = make_round("monthly", blueprint=BLUEPRINT, paper_mode="drawn")
    units = province[0]
    takers = [create_user(f"t{n:02d}", unit=units["A1"]) for n in range(30)]
    papers = {}
    for taker in takers:
        client = login_as(taker.username)
        view = start(client, round_id)
        papers[taker.username] = sorted(q["id"] for q in view["questions"])
        again = client.get(f"/api/v1/attempts/{view['id']}").get_json()  # resume: the same paper
        assert sorted(q["id"] for q in again["questions"]) == papers[taker.username]
        assert start(client, round_id)["id"] == view["id"]
    assert len({tuple(p) for p in papers.values()}) > 20  # one paper per taker, not one for all
    with app.app_context():
        exposure = Counter(
            db.session.scalars(select(PaperQuestion.question_id).where(PaperQuestion.attempt_id.is_not(None)))
        )
        share = max(exposure.values()) / len(takers)
        assert share <= 0.3, share
        # least exposed first: within each row every question of the pool is on the same number of
        # papers, give or take one (30 takers × 2 of 7 社保 singles, × 3 of 15 judges, × 1 of 10 multiples)
        strata = stratum_of(exposure)
        by_row: dict[str, list[int]] = {}
        for question_id, papers in exposure.items():
            by_row.setdefault(row_of(strata[question_id]), []).append(papers)
        assert {row: (len(counts), min(counts), max(counts)) for row, counts in by_row.items()} == {
            "single-社会保险": (7, 8, 9),
            "judge": (15, 6, 6),
            "multiple": (10, 3, 3),
        }
        # the stored paper is what the attempt answers: its order is a permutation of its own rows
        for attempt in db.session.scalars(select(Attempt)):
            own = db.session.scalars(
                select(PaperQuestion.question_id).where(PaperQuestion.attempt_id == attempt.id)
            )
            assert sorted(attempt.question_order) == sorted(own)


def test_a_drawn_blueprint_whose_pool_is_too_small_is_refused_and_the_preview_shows_the_pools(
    login_as, app, province, big_bank, make_round
):
    with pytest.raises(DomainError, match=r"至少需要 10 题可选.*题库中只有 7 题"):
        make_round(
            "monthly", paper_mode="drawn", blueprint=[{"type": "single", "category": "社会保险", "count": 3}]
        )
    round_id = make_round("monthly", paper_mode="drawn", blueprint=BLUEPRINT)
    page = login_as("root").get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    assert "可选题量" in page and '<td class="num">7</td>' in page and "28% 的试卷中" in page
    assert "抽取试卷" not in page  # nothing to draw in advance


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)
def test_a_second_weekly_attempt_after_reading_the_answers_meets_new_questions(
    login_as, app, province, big_bank, make_round, at_start
):
    round_id = make_round("weekly", paper_mode="drawn", blueprint=[{"type": "single", "count": 10}])
    client = login_as("amy")
    first = start(client, round_id)
    done = client.post(f"/api/v1/attempts/{first['id']}/submit").get_json()
    assert done["review"] and done["review"][0]["correct_answer"]  # the answers are shown at once
    second = start(client, round_id)
    seen, new = {q["id"] for q in first["questions"]}, {q["id"] for q in second["questions"]}
    assert len(new) == 10 and not seen & new  # 35 singles: the taker's earlier ten come last


def test_one_paper_for_every_attempt_shows_answers_only_after_the_last(
    login_as, app, province, big_bank, make_round, at_start
):
    round_id = make_round(
        "weekly", paper_mode="shared", attempts_allowed=2, blueprint=[{"type": "single", "count": 5}]
    )
    client = login_as("amy")
    first = start(client, round_id)
    answer_all(app, client, first, right=False)
    done = client.post(f"/api/v1/attempts/{first['id']}/submit").get_json()
    assert done["review"] is None and done["result"] is None
    assert "秘密解析" not in client.get(f"/attempts/{first['id']}/result").get_data(as_text=True)
    second = start(client, round_id)
    answer_all(app, client, second)
    done = client.post(f"/api/v1/attempts/{second['id']}/submit").get_json()
    assert done["result"]["percent"] == 100.0 and done["review"]
    assert client.get(f"/api/v1/attempts/{first['id']}").get_json()["result"]["percent"] == 0.0


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)
def test_a_drawn_round_is_graded_on_each_paper_and_analysed_among_those_who_had_each_question(
    login_as, app, province, big_bank, make_round, at_start
):
    round_id = make_round("monthly", paper_mode="drawn", blueprint=[{"type": "single", "count": 4}])
    for name, right in (("amy", True), ("ann", False), ("bob", True)):
        client = login_as(name)
        view = start(client, round_id)
        answer_all(app, client, view, right=right)
        assert client.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200
    with app.app_context():
        rounds.close_round(round_id, now=START + timedelta(days=4))
        db.session.commit()
        percents = sorted(db.session.scalars(select(Attempt.percent)))
        assert percents == [0.0, 100.0, 100.0]
        holders = Counter(
            db.session.scalars(select(PaperQuestion.question_id).where(PaperQuestion.round_id == round_id))
        )
        for stat in db.session.scalars(select(ItemStat).where(ItemStat.round_id == round_id)):
            assert stat.attempts == holders[stat.question_id]  # among the papers that held it
            assert stat.answered == holders[stat.question_id]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)
def test_many_takers_starting_a_drawn_round_at_once_each_get_one_paper(
    login_as, app, province, big_bank, make_round, create_user, at_start, backend
):
    round_id = make_round("monthly", paper_mode="drawn", blueprint=[{"type": "single", "count": 5}])
    clients = [login_as(create_user(f"s{n}", unit=province[0]["B1"]).username) for n in range(8)]
    results, errors = [], []
    barrier = threading.Barrier(len(clients))

    def go(client):
        barrier.wait()
        try:
            results.append(client.post(f"/api/v1/rounds/{round_id}/attempts"))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(r.status_code for r in results) == [201] * 8
    with app.app_context():
        assert db.session.scalar(select(func.count(PaperQuestion.id))) == 40
        assert db.session.scalar(select(func.count(func.distinct(PaperQuestion.attempt_id)))) == 8


# --- the reserve pool (考试专用) ------------------------------------------------------------------


def test_reserve_questions_stay_out_of_daily_practice_the_mistake_book_and_weekly_rounds(
    login_as, app, province, learner, create_question, make_round, at_start
):
    everyday = [create_question("single", category=c) for c in ROUND_CATEGORIES for _ in range(2)]
    reserve = [create_question("single", category=c) for c in ROUND_CATEGORIES for _ in range(2)]
    with app.app_context():
        assert questions.set_reserved(reserve, True, actor_id=None) == 10
        db.session.commit()
    client = login_as("learner")
    assert {i["question"]["id"] for i in get_daily(client)["items"]} <= set(everyday)
    for _ in range(5):
        item = client.post("/api/v1/practice/items", json={}).get_json()["item"]
        assert item["question"]["id"] in everyday
        client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "B"})
    weekly = make_round("weekly", blueprint=[{"type": "single", "count": 10}])
    monthly = make_round("monthly", blueprint=[{"type": "single", "count": 20}])
    assert {q["id"] for q in start(login_as("amy"), weekly)["questions"]} == set(everyday)
    assert {q["id"] for q in start(login_as("amy"), monthly)["questions"]} == set(everyday) | set(reserve)
    with pytest.raises(DomainError, match="题库中只有 10 题"):
        make_round("weekly", blueprint=[{"type": "single", "count": 11}], paper_mode="drawn")
    # a question moved to the reserve after it was missed leaves the mistake book
    assert client.get("/mistakes").get_data(as_text=True).count('class="card mistake') >= 1
    with app.app_context():
        questions.set_reserved(everyday, True, actor_id=None)
        db.session.commit()
    assert client.get("/mistakes").get_data(as_text=True).count('class="card mistake') == 0


def test_the_reserve_flag_goes_in_and_out_of_every_bank_format_and_the_console(login_as, app, province):
    document = yaml.safe_load((BANK / "calculations.yaml").read_text("utf-8"))
    source, items = document["source"], document["questions"][:2]
    items[0]["reserved"] = True
    items[1]["reserved"] = "否"
    data = yaml.safe_dump({"source": source, "questions": items}, allow_unicode=True).encode()
    with app.app_context():
        bank_io.ensure_taxonomy()
        bank_io.import_batch(bank_io.read_for_import([("r.yaml", data, None)], BANK))
        db.session.commit()
        assert sorted(db.session.scalars(select(Question.reserved))) == [False, True]
        rows = bank_io.current_versions()
        assert "reserved: true" in bank_io.export_yaml(rows).decode()
        sheet = load_workbook(io.BytesIO(bank_io.export_xlsx(rows))).active
        header = [c.value for c in sheet[1]]
        assert [row[header.index("考试专用")] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
            "是",
            None,
        ]
        bad = dict(items[1], reserved="也许", stem=items[1]["stem"] + "（改）")
        problems = bank_io.read_for_import(
            [
                (
                    "bad.yaml",
                    yaml.safe_dump({"source": source, "questions": [bad]}, allow_unicode=True).encode(),
                    None,
                )
            ],
            BANK,
        ).problems
        assert [(p.field, p.message) for p in problems] == [("考试专用", "考试专用应填 是 或 否（留空为否）")]
        plain = db.session.scalar(select(Question.id).where(Question.reserved.is_(False)))
    admin = login_as("root")
    admin.post("/admin/questions/status", data={"ids": str(plain), "reserve": "1"})
    listing = admin.get("/admin/questions?status=reserved").get_data(as_text=True)
    assert listing.count("考试专用</span>") == 2


def test_the_warmer_readies_the_pools_of_drawn_rounds_opening_soon_so_their_first_start_reads_none(
    login_as, app, province, big_bank, make_round, create_user, frozen_clock, count_queries
):
    """A server process's warmer (quizapp.serving) reads the pools of drawn rounds opening within
    15 minutes before anyone starts them: the first start of a warmed round runs fewer statements
    than the first start of the same round cold, and a round opening later is left alone."""
    opens = START + timedelta(minutes=10)
    warmed, cold = (
        make_round("monthly", blueprint=BLUEPRINT, paper_mode="drawn", opens=opens, title=f"轮{n}")
        for n in (1, 2)
    )
    later = make_round("monthly", blueprint=BLUEPRINT, paper_mode="drawn", opens=START + timedelta(hours=2))
    with app.app_context():
        app.config["PAPER_WARM_SECONDS"] = 0
        assert serving.start_paper_warmer(app) is None  # off: no thread
        for round_id in (cold, later):  # this test warms one round only
            db.session.execute(
                update(Round).where(Round.id == round_id).values(opens_at=START + timedelta(hours=2))
            )
        db.session.commit()
    frozen_clock.set(START)
    assert serving.warm_once(app) == len(BLUEPRINT)
    with app.app_context():
        pools = kept.store("pools", 256)
        assert all(pools.get((warmed, row)).rows for row in range(1, len(BLUEPRINT) + 1))
        assert pools.get((later, 1)) is None
        db.session.execute(update(Round).where(Round.id == cold).values(opens_at=opens))
        db.session.commit()
    frozen_clock.set(opens + timedelta(seconds=1))
    statements = {}
    for round_id, name in ((warmed, "w1"), (cold, "c1")):
        client = login_as(create_user(name, unit=province[0]["A1"]).username)
        with count_queries() as counted:
            assert len(start(client, round_id)["questions"]) == 6
        statements[round_id] = counted.count
    assert statements[warmed] < statements[cold], statements
