"""Written answers (简答, 情景应答): a round goes to marking when it closes, two markers mark each answer
blind, a third settles a gap, and the results come out once every answer has its final mark."""
# ruff: noqa: F811 — fixtures shared with test_rounds are imported, then requested

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from quizapp.extensions import db
from quizapp.models import Attempt, AttemptAnswer, MarkingTask, Round, RoundStatus
from quizapp.services import grading, sweeps, written
from quizapp.services.errors import DomainError

from .test_rounds import BACKENDS, START, at_start, make_round, run_together, save, start  # noqa: F401, F811

RUBRIC = {
    "model": "您好，请您在失业后60日内到公共就业服务机构办理失业登记，并带好身份证。",
    "rubric": [
        {"point": "60日内办理失业登记", "points": 2, "phrases": ["60日内", "六十日内", "失业登记"]},
        {"point": "到公共就业服务机构", "points": 2, "phrases": ["公共就业服务机构"]},
        {"point": "告知携带身份证", "points": 1, "phrases": ["身份证"]},
    ],
    "deductions": [{"point": "推诿", "points": 1, "phrases": ["不归我们管"]}],
}
GOOD = "您好，失业后请在60日内到公共就业服务机构办理失业登记，记得带身份证。"


@pytest.fixture
def written_round(app, province, create_unit, create_user, create_question, make_round):
    """A monthly round of one single and one 简答 question; takers amy (甲市窗口) and bob (乙市窗口);
    markers m1, m2, m3 in 丙市, and ma in 甲市 (amy's city)."""
    units, people = province
    create_question("single")
    create_question("short", answer=RUBRIC, stem="简述失业登记的办理要求。")
    unit_c = create_unit("C", "丙市", "P")
    markers = {name: create_user(name, unit=unit_c, name=f"阅卷{name}") for name in ("m1", "m2", "m3")}
    markers["ma"] = create_user("ma", unit=units["A"], name="阅卷甲")
    round_id = make_round(
        "monthly",
        blueprint=[{"type": "single", "count": 1}, {"type": "short", "count": 1}],
    )
    return round_id, people, markers


def choose_markers(app, round_id, user_ids) -> None:
    with app.app_context():
        written.add_markers(round_id, user_ids, own_unit_ok=False, actor_id=None)
        db.session.commit()


def written_question_id(view) -> int:
    return next(q["id"] for q in view["questions"] if q["type"] == "short")


def take(login_as, username, round_id, text):
    client = login_as(username)
    view = start(client, round_id)
    assert save(client, view["id"], written_question_id(view), text).status_code == 200
    assert client.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200
    return client, view


def close(app, frozen_clock):
    with app.app_context():
        round_ = db.session.scalar(select(Round))
        frozen_clock.set(round_.closes_at + timedelta(minutes=1))
        outcome = sweeps.close_due_rounds(frozen_clock())
        db.session.commit()
        return outcome, db.session.get(Round, round_.id).status


def mark_next(app, round_id, marker_id, awarded, deducted=(), now=START):
    with app.app_context():
        task = written.next_task(round_id, marker_id)
        assert task is not None
        outcome = written.mark(task["task"], marker_id, list(awarded), list(deducted), task["stamp"], now=now)
        db.session.commit()
        return task, outcome


def test_a_round_with_written_answers_waits_in_marking_until_two_markers_agree_then_publishes(
    app, login_as, written_round, at_start, frozen_clock
):
    round_id, people, markers = written_round
    choose_markers(app, round_id, [markers["m1"].id, markers["m2"].id])
    take(login_as, "amy", round_id, GOOD)
    outcome, status = close(app, frozen_clock)
    assert status == RoundStatus.MARKING and outcome == {"closed": 0, "waiting": 1}
    with app.app_context():
        assert db.session.scalar(select(Attempt.percent)) is None  # no result while marking
        assert written.progress(round_id) | {} == {
            "answers": 1,
            "settled": 0,
            "tasks": 2,
            "marked": 0,
            "third_waiting": 0,
            "unassigned": 0,
            "percent": 0.0,
            "complete": False,
        }
    task, first = mark_next(app, round_id, markers["m1"].id, [2, 2, 1])
    assert first == {"total": 5.0, "final": None}
    # blind: the marker sees the answer and the question, nothing of the taker
    assert task["answer"] == GOOD and "amy" not in repr(task) and "甲" not in repr(task)
    assert task["suggestion"]["rubric"][0]["hint"] == "covered"
    _, second = mark_next(app, round_id, markers["m2"].id, [2, 1.5, 1])
    assert second["final"] == pytest.approx(4.75)  # a gap of 0.5 ≤ 20% of 5: the average
    _, status = close(app, frozen_clock)
    assert status == RoundStatus.CLOSED
    with app.app_context():
        attempt = db.session.scalar(select(Attempt))
        answer = db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.mark_final.is_not(None)))
        assert answer.score == pytest.approx(0.95)
        # one mark per question: the single (left blank: 0) and the written 0.95, of 2
        assert attempt.percent == pytest.approx(47.5)


def test_a_gap_beyond_the_limit_goes_to_a_third_marker_and_the_two_closest_settle_it(
    app, login_as, written_round, at_start, frozen_clock
):
    round_id, people, markers = written_round
    ids = [markers[name].id for name in ("m1", "m2", "m3")]
    choose_markers(app, round_id, ids[:2])
    take(login_as, "bob", round_id, GOOD + "这事不归我们管。")
    close(app, frozen_clock)
    mark_next(app, round_id, ids[0], [2, 2, 1], deducted=[0])  # 4
    _, outcome = mark_next(app, round_id, ids[1], [0.5, 0, 0.5])  # 1: a gap of 3 > 1
    assert outcome == {"total": 1.0, "final": None}
    with app.app_context():
        assert written.progress(round_id)["unassigned"] == 1  # nobody free for the third
        written.add_markers(round_id, [ids[2]], own_unit_ok=False, actor_id=None)
        db.session.commit()
        assert written.progress(round_id)["third_waiting"] == 1
    _, third = mark_next(app, round_id, ids[2], [2, 1.5, 0.5])  # 4: closest to the first (4)
    assert third["final"] == pytest.approx(4.0)
    with app.app_context():
        rows = {row["username"]: row for row in written.quality(round_id)}
        assert rows["m1"]["mean_gap"] == 3 and rows["m1"]["third_share"] == 1.0 and rows["m3"]["marked"] == 1


@pytest.mark.parametrize(
    "first, second, third, rule, final",
    [
        (8, 2, 7, "closest", 7.5),
        (8, 2, 3, "closest", 2.5),
        (8, 2, 5, "closest", 5),  # a tie: the third's
        (8, 2, 7, "third", 7),
    ],
)
def test_the_third_mark_rule(first, second, third, rule, final):
    assert written.third_mark(first, second, third, rule) == final


def test_markers_never_get_their_own_units_takers_nor_an_answer_twice_and_bad_marks_are_refused(
    app, login_as, written_round, at_start, frozen_clock
):
    round_id, people, markers = written_round
    with app.app_context():
        written.add_markers(
            round_id, [markers["ma"].id, markers["m1"].id, markers["m2"].id], own_unit_ok=False, actor_id=None
        )
        db.session.commit()
    take(login_as, "amy", round_id, GOOD)
    take(login_as, "bob", round_id, GOOD)
    close(app, frozen_clock)
    with app.app_context():
        rows = db.session.execute(
            select(MarkingTask.marker_id, Attempt.user_id)
            .join(AttemptAnswer, AttemptAnswer.id == MarkingTask.attempt_answer_id)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        ).all()
        assert len(rows) == 4
        assert (markers["ma"].id, people["amy"].id) not in rows  # 甲市's marker never marks 甲市窗口
        task = written.next_task(round_id, markers["m1"].id)
        with pytest.raises(DomainError, match="0.5"):
            written.mark(task["task"], markers["m1"].id, [1.2, 0, 0], [], task["stamp"], now=START)
        with pytest.raises(DomainError, match="之间"):
            written.mark(task["task"], markers["m1"].id, [3, 0, 0], [], task["stamp"], now=START)
        with pytest.raises(DomainError, match="评分要点已变更"):
            written.mark(task["task"], markers["m1"].id, [1, 0, 0], [], "stale", now=START)
        with pytest.raises(DomainError, match="不在您的评阅任务中"):
            written.mark(task["task"], markers["m2"].id, [1, 0, 0], [], task["stamp"], now=START)
        written.mark(task["task"], markers["m1"].id, [1, 0, 0], [], task["stamp"], now=START)
        with pytest.raises(DomainError, match="已评过"):
            written.mark(task["task"], markers["m1"].id, [2, 0, 0], [], task["stamp"], now=START)
        db.session.rollback()


def test_written_answers_are_bounded_and_an_emptied_one_is_no_answer(app, login_as, written_round, at_start):
    round_id, *_ = written_round
    client = login_as("amy")
    view = start(client, round_id)
    question_id = written_question_id(view)
    too_long = save(client, view["id"], question_id, "长" * (grading.MAX_WRITTEN + 1))
    assert too_long.status_code == 400 and "过长" in too_long.get_json()["error"]["message"]
    assert save(client, view["id"], question_id, "<script>alert(1)</script>").status_code == 200
    assert save(client, view["id"], question_id, "   ").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.question_id == question_id)) is None
        )
    public = next(q for q in view["questions"] if q["type"] == "short")
    assert "model" not in repr(public) and "rubric" not in repr(public)  # no key before the rules allow


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_markers_marking_one_answer_at_the_same_moment_make_one_third_task(
    app, login_as, written_round, at_start, frozen_clock, backend
):
    """The first and second marks of one answer arrive together and differ past the gap: exactly
    one third task comes of it (the answer row is locked while it is settled; UNIQUE(answer, seq))."""
    round_id, people, markers = written_round
    ids = [markers[name].id for name in ("m1", "m2", "m3")]
    choose_markers(app, round_id, ids)
    take(login_as, "amy", round_id, GOOD)
    close(app, frozen_clock)
    with app.app_context():
        tasks = db.session.execute(select(MarkingTask.id, MarkingTask.marker_id)).all()
        stamp = written.rubric_stamp(RUBRIC)

    def marking(task_id, marker_id, awarded):
        def run():
            with app.app_context():
                outcome = written.mark(task_id, marker_id, awarded, [], stamp, now=START)
                db.session.commit()
                return outcome

        return run

    results = run_together(
        [
            marking(tasks[0].id, tasks[0].marker_id, [2, 2, 1]),
            marking(tasks[1].id, tasks[1].marker_id, [0, 0, 0]),
        ]
    )
    assert sorted(r["total"] for r in results) == [0.0, 5.0]
    with app.app_context():
        thirds = db.session.execute(select(MarkingTask.marker_id).where(MarkingTask.seq == 3)).all()
        assert len(thirds) == 1 and thirds[0].marker_id not in {t.marker_id for t in tasks}


def test_an_answer_left_unsettled_after_its_marks_is_settled_by_the_close_sweep_run_twice(
    app, login_as, written_round, at_start, frozen_clock
):
    round_id, people, markers = written_round
    choose_markers(app, round_id, [markers["m1"].id, markers["m2"].id])
    take(login_as, "amy", round_id, GOOD)
    close(app, frozen_clock)
    mark_next(app, round_id, markers["m1"].id, [2, 2, 1])
    mark_next(app, round_id, markers["m2"].id, [2, 2, 1])
    with app.app_context():  # the settlement lost (a crash between the mark and its settlement)
        db.session.execute(update(AttemptAnswer).values(mark_final=None, score=0.0))
        db.session.commit()
    assert close(app, frozen_clock)[1] == RoundStatus.CLOSED
    assert close(app, frozen_clock) == ({"closed": 0, "waiting": 0}, RoundStatus.CLOSED)
    with app.app_context():
        assert db.session.scalar(select(Attempt.percent)) == pytest.approx(50.0)


def test_a_rubric_changed_while_marking_does_not_change_what_is_being_marked(
    app, login_as, written_round, at_start, frozen_clock
):
    """Refused, not re-marked: the answers are marked against the version their takers answered. An
    edit of the question (used, so a new version) leaves the marking form's rubric as it was, and a
    mark sent with the new rubric's stamp is refused."""
    from quizapp.models import QuestionVersion, Source
    from quizapp.services import questions

    round_id, people, markers = written_round
    choose_markers(app, round_id, [markers["m1"].id, markers["m2"].id])
    take(login_as, "amy", round_id, GOOD)
    close(app, frozen_clock)
    with app.app_context():
        before = written.next_task(round_id, markers["m1"].id)
        db.session.scalar(select(Source).where(Source.code == "test_source")).body = "第一条 原文引用"
        version = db.session.scalar(select(QuestionVersion).where(QuestionVersion.type == "short"))
        changed = {
            "source": "test_source",
            "type": "short",
            "category": "社会保险",
            "ability": "法规政策理解运用能力",
            "difficulty": 1,
            "stem": version.stem,
            "answer": RUBRIC["model"],
            "rubric": [{"point": "只看一个要点", "points": 5, "phrases": ["失业登记"]}],
            "explanation": version.explanation,
            "locator": version.locator,
            "quote": version.quote,
        }
        edited = questions.edit(version.question_id, changed, actor_id=None)
        db.session.commit()
        assert edited.id != version.id  # answered: a new version
        after = written.next_task(round_id, markers["m1"].id)
        assert (
            after["question"]["rubric"] == before["question"]["rubric"] and after["stamp"] == before["stamp"]
        )
        with pytest.raises(DomainError, match="评分要点已变更"):
            written.mark(
                after["task"], markers["m1"].id, [5], [], written.rubric_stamp(edited.answer), now=START
            )
