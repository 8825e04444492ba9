"""Accuracy by ability (issue 20.5): a person's and a unit's count round answers beside learning
answers — a written answer (简答, 情景应答) once its marking is final, at its mark's fraction — and the
rankings page ranks child units by any ability."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select, update

from quizapp.extensions import db
from quizapp.models import (
    Ability,
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    LearningItem,
    PaperQuestion,
    QuestionVersion,
    Round,
    RoundStatus,
    RoundTarget,
    SnapshotRow,
    Unit,
)
from quizapp.services import history, rankings

from .conftest import closed_round

NOW = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)  # 12:00 on 20 March in Shanghai
MARCH = "month:2026-03"
LAW, COMMUNICATION = "法规政策理解运用能力", "沟通协调能力"
WRITTEN_KEY = {
    "model": "先安抚情绪，再说明政策依据和办理流程。",
    "rubric": [{"point": "安抚情绪", "points": 2, "phrases": ["理解您"]}],
    "deductions": [],
}


@pytest.fixture
def world(create_unit, create_user, create_question, frozen_clock):
    """P → A (A1: amy), B (B1: bob); per ability, objective and written questions."""
    frozen_clock.set(NOW)
    units = {
        code: create_unit(code, name, parent)
        for code, name, parent in [("P", "省", None), ("A", "甲市", "P"), ("B", "乙市", "P")]
        + [("A1", "甲窗口", "A"), ("B1", "乙窗口", "B")]
    }
    people = {"amy": create_user("amy", unit=units["A1"]), "bob": create_user("bob", unit=units["B1"])}
    questions = {
        "law1": create_question("single", ability=LAW),
        "law2": create_question("multiple", ability=LAW),
        "talk1": create_question("short", ability=COMMUNICATION, answer=WRITTEN_KEY, options=[]),
        "talk2": create_question("situation", ability=COMMUNICATION, answer=WRITTEN_KEY, options=[]),
    }
    return units, people, questions


def version_of(question_id: int) -> int:
    return db.session.scalar(select(QuestionVersion.id).where(QuestionVersion.question_id == question_id))


def ability_key(name: str) -> str:
    return f"ability_{db.session.scalar(select(Ability.id).where(Ability.name == name))}"


def add_round(app, people, answers, *, status=RoundStatus.CLOSED, show_answers="after_close") -> int:
    """A round closed yesterday (or still ``status``) with one graded attempt per person. answers:
    (person, question id, score, mark_final) — mark_final None leaves a written answer unmarked."""
    with app.app_context():
        round_ = closed_round(
            kind="monthly",
            title="三月月月比",
            status=status,
            show_answers=show_answers,
            opens_at=NOW - timedelta(days=3),
            closes_at=NOW - timedelta(days=1) if status == RoundStatus.CLOSED else NOW + timedelta(days=1),
        )
        db.session.add(round_)
        db.session.flush()
        root = db.session.scalar(select(Unit.id).where(Unit.code == "P"))
        db.session.add(RoundTarget(round_id=round_.id, unit_id=root))
        attempts = {}
        for name in dict.fromkeys(person for person, *_ in answers):
            user = people[name]
            attempt = Attempt(
                round_id=round_.id,
                user_id=user.id,
                unit_id=user.unit_id,
                number=1,
                max_attempts=1,
                status=AttemptStatus.SUBMITTED,
                started_at=NOW - timedelta(days=2),
                deadline_at=NOW - timedelta(days=2),
                submitted_at=NOW - timedelta(days=2),
                question_order=[],
                option_orders={},
                percent=50.0,
                score=1.0,
                time_used_seconds=600,
                graded_at=NOW - timedelta(days=1),
                counted=True,
            )
            db.session.add(attempt)
            db.session.flush()
            attempts[name] = attempt.id
        for name, question_id, score, mark_final in answers:
            db.session.add(
                AttemptAnswer(
                    attempt_id=attempts[name],
                    question_id=question_id,
                    question_version_id=version_of(question_id),
                    response="作答",
                    score=score,
                    correct=score == 1.0,
                    saved_at=NOW - timedelta(days=2),
                    mark_final=mark_final,
                )
            )
        db.session.commit()
        return round_.id


def add_learning(app, people, answers, day=date(2026, 3, 10)) -> None:
    """Practice answers: (person, question id, correct)."""
    with app.app_context():
        for name, question_id, correct in answers:
            db.session.add(
                LearningItem(
                    user_id=people[name].id,
                    kind="practice",
                    question_id=question_id,
                    question_version_id=version_of(question_id),
                    day=day,
                    served_at=NOW - timedelta(days=10),
                    answered_at=NOW - timedelta(days=10),
                    response="A",
                    score=1.0 if correct else 0.0,
                    correct=correct,
                )
            )
        db.session.commit()


def by_ability(app, user_id: int) -> dict[str, dict]:
    with app.app_context():
        return {row["name"]: row for row in history.accuracy(user_id)["ability"]}


def test_a_persons_accuracy_counts_round_answers_and_marked_written_ones(app, world, login_as):
    _, people, q = world
    add_learning(app, people, [("amy", q["law1"], True)])
    add_round(
        app,
        people,
        [
            ("amy", q["law1"], 1.0, None),
            ("amy", q["law2"], 0.5, None),  # a multiple choice half right (少选)
            ("amy", q["talk1"], 0.5, 3.0),  # marked: 3 of the rubric's 6 points
            ("amy", q["talk2"], 0.0, None),  # still being marked: not counted
        ],
    )
    amy = by_ability(app, people["amy"].id)
    assert (amy[LAW]["answered"], amy[LAW]["correct"], amy[LAW]["rate"]) == (3, 2.5, 0.833)
    assert (amy[COMMUNICATION]["answered"], amy[COMMUNICATION]["correct"]) == (1, 0.5)
    assert amy[COMMUNICATION]["rate"] == 0.5
    # The category table counts the same answers.
    with app.app_context():
        assert sum(row["answered"] for row in history.accuracy(people["amy"].id)["category"]) == 4
    # Marking finishes: the written answer counts, at its mark.
    with app.app_context():
        db.session.execute(
            update(AttemptAnswer)
            .where(AttemptAnswer.question_id == q["talk2"])
            .values(score=1.0, mark_final=6.0)
        )
        db.session.commit()
    assert by_ability(app, people["amy"].id)[COMMUNICATION]["rate"] == 0.75
    # The learner's 学习记录 page shows them.
    page = login_as("amy").get("/history").get_data(as_text=True)
    data = json.loads(page.split('id="accuracy-data">')[1].split("</script>")[0])
    assert {row["name"]: row["answered"] for row in data["ability"]}[COMMUNICATION] == 2


def test_round_answers_count_for_a_person_only_once_results_are_out(app, world):
    _, people, q = world
    # A monthly round still open shows results only after it closes: its graded answers wait.
    add_round(app, people, [("bob", q["law1"], 1.0, None)], status=RoundStatus.OPEN)
    assert by_ability(app, people["bob"].id)[LAW]["answered"] == 0
    # A weekly-style round with answers after each attempt (one attempt) shows them at once...
    weekly = add_round(
        app, people, [("bob", q["law2"], 0.5, None)], status=RoundStatus.OPEN, show_answers="after_attempt"
    )
    bob = by_ability(app, people["bob"].id)[LAW]
    assert (bob["answered"], bob["correct"]) == (1, 0.5)
    # ...unless its paper has written questions (its results wait for their marks), or it is being
    # marked.
    with app.app_context():
        paper = PaperQuestion(
            round_id=weekly, position=1, question_id=q["talk1"], question_version_id=version_of(q["talk1"])
        )
        db.session.add(paper)
        db.session.commit()
    assert by_ability(app, people["bob"].id)[LAW]["answered"] == 0
    with app.app_context():
        db.session.execute(delete(PaperQuestion))
        db.session.execute(update(Round).where(Round.id == weekly).values(status=RoundStatus.MARKING))
        db.session.commit()
    assert by_ability(app, people["bob"].id)[LAW]["answered"] == 0
    with app.app_context():  # closed: out; but an attempt held for review (or voided) counts for nothing
        db.session.execute(update(Round).where(Round.id == weekly).values(status=RoundStatus.CLOSED))
        db.session.commit()
    assert by_ability(app, people["bob"].id)[LAW]["answered"] == 1
    with app.app_context():
        db.session.execute(update(Attempt).values(held=True))
        db.session.commit()
    assert by_ability(app, people["bob"].id)[LAW]["answered"] == 0


def rank(app, period: str, ability: str, parent: str = "P") -> list[tuple[str, float | None, int]]:
    with app.app_context():
        tz = app.config["TZINFO"]
        parent_id = db.session.scalar(select(Unit.id).where(Unit.code == parent))
        snapshot = rankings.write_snapshot(
            rankings.parse_period(period, today=NOW.date(), tz=tz), official=False, now=NOW, tz=tz
        )
        db.session.commit()
        key = ability_key(ability)
        return [
            (r["code"], r[key], r["ranks"][key]) for r in rankings.rank_children(snapshot, parent_id, key)
        ]


@pytest.mark.parametrize(  # PostgreSQL writes the snapshot rows with COPY (the JSON as text)
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_ranking_children_by_an_ability_orders_units_by_its_accuracy(app, world, login_as, backend):
    with app.app_context():
        assert db.engine.dialect.name == backend
    _, people, q = world
    # 法规: amy 1 of 1 (A 100%); bob a half-right multiple and a wrong practice answer (B 25%).
    # 沟通协调: amy's written answer marked 50%; bob's 80%, and one still unmarked — were it counted
    # (as 0), B would fall to 40%, below A.
    add_learning(app, people, [("bob", q["law1"], False)])
    round_id = add_round(
        app,
        people,
        [
            ("amy", q["law1"], 1.0, None),
            ("amy", q["talk1"], 0.5, 3.0),
            ("bob", q["law2"], 0.5, None),
            ("bob", q["talk1"], 0.8, 4.8),
            ("bob", q["talk2"], 0.0, None),
        ],
    )
    assert rank(app, MARCH, LAW) == [("A", 1.0, 1), ("B", 0.25, 2)]
    assert rank(app, MARCH, COMMUNICATION) == [("B", 0.8, 1), ("A", 0.5, 2)]
    # A round's own ranking counts its answers only (not the month's practice).
    assert rank(app, f"round:{round_id}", LAW) == [("A", 1.0, 1), ("B", 0.5, 2)]
    # Down the tree: a city's accuracy is its windows' answers.
    assert rank(app, MARCH, LAW, parent="A") == [("A1", 1.0, 1)]
    # The rankings page: the choice, the chosen column, and the export's column.
    with app.app_context():
        key = ability_key(COMMUNICATION)
    client = login_as("amy")
    page = client.get("/rankings", query_string={"period": MARCH, "indicator": key}).get_data(as_text=True)
    assert f'<option value="{key}" selected>按沟通协调能力正确率</option>' in page
    assert "沟通协调正确率" in page and "80.0%" in page
    assert page.index("乙市") < page.index("甲市")
    exported = client.get("/rankings", query_string={"period": MARCH, "indicator": key, "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    column = rows[0].index("沟通协调能力正确率")
    assert [(r[2], r[0], r[column]) for r in rows[1:]] == [("B", 1, 80.0), ("A", 2, 50.0)]
    assert rows[0][-1] == "名次变化"
    api = client.get("/api/v1/rankings/units", query_string={"period": MARCH, "indicator": key}).get_json()
    assert [(u["code"], u["ranks"][key]) for u in api["units"]] == [("B", 1), ("A", 2)]
    assert client.get("/rankings", query_string={"indicator": "ability_9999"}).status_code == 400


def test_a_snapshot_written_before_abilities_were_kept_reads_as_unknown(app, world, login_as):
    _, people, q = world
    add_round(app, people, [("amy", q["law1"], 1.0, None)])
    with app.app_context():
        tz = app.config["TZINFO"]
        snapshot = rankings.write_snapshot(
            rankings.week_period(date(2026, 3, 16)), official=False, now=NOW, tz=tz
        )
        db.session.execute(
            update(SnapshotRow).where(SnapshotRow.snapshot_id == snapshot.id).values(abilities=None)
        )
        db.session.commit()
        key, period_key = ability_key(LAW), snapshot.period_key
        parent_id = db.session.scalar(select(Unit.id).where(Unit.code == "P"))
        assert all(r[key] is None for r in rankings.rank_children(snapshot, parent_id, key))
    page = login_as("amy").get("/rankings", query_string={"period": period_key, "indicator": key})
    assert page.status_code == 200 and '<td class="num ind chosen">—<span' in page.get_data(as_text=True)


def test_one_pass_over_several_periods_equals_each_period_alone(app, world):
    _, people, q = world
    add_learning(app, people, [("bob", q["law1"], True)], day=date(2026, 2, 27))
    add_learning(app, people, [("amy", q["law1"], False)], day=date(2026, 3, 18))
    add_round(app, people, [("amy", q["talk1"], 0.5, 3.0), ("bob", q["law2"], 0.5, None)])
    with app.app_context():
        tz = app.config["TZINFO"]
        periods = [
            rankings.week_period(date(2026, 3, 1)),  # 23 Feb – 1 Mar: bob's practice only
            rankings.month_period(date(2026, 3, 20)),
        ]
        together = rankings._calendar_totals(periods, tz)
        for period in periods:
            alone = rankings._calendar_totals([period], tz)[period.key]
            assert {k: v["abilities"] for k, v in together[period.key].items()} == {
                k: v["abilities"] for k, v in alone.items()
            }
        law = ability_key(LAW).removeprefix("ability_")
        week, month = together[periods[0].key], together[periods[1].key]
        assert week[people["bob"].unit_id]["abilities"] == {law: [1, 1.0]}
        assert month[people["bob"].unit_id]["abilities"] == {law: [1, 0.5]}
        assert month[people["amy"].unit_id]["abilities"][law] == [1, 0.0]


def test_the_kept_round_totals_follow_an_integrity_decision(app, world):
    """The live refresh keeps the rounds' side of the ability totals per process: an attempt held
    (or cleared) after close changes what counts, and the next computation sees it."""
    from quizapp.models import Attempt

    _, people, q = world
    add_round(app, people, [("amy", q["law1"], 1.0, None), ("bob", q["law2"], 0.5, None)])
    assert rank(app, MARCH, LAW) == [("A", 1.0, 1), ("B", 0.5, 2)]
    with app.app_context():
        amy_attempt = db.session.scalar(select(Attempt).where(Attempt.user_id == people["amy"].id))
        amy_attempt.held = True  # held for review after close (its answers count for nothing)
        db.session.commit()
    assert rank(app, MARCH, LAW) == [("B", 0.5, 1), ("A", None, 2)]
