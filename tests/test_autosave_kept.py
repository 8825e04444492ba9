"""Autosave in one statement (issue 24): after an attempt's first save in a process, what grading
needs (the paper's versions, the option orders) is kept there and a save is the upsert alone, fed by
the attempt's row locked and checked in the same statement. Every check of the long way still
holds: a submitted attempt, the deadline plus grace (as the round says now), another person's
attempt; and the stored answer is the same as the long way's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from quizapp.extensions import db
from quizapp.models import AttemptAnswer, Round

from .test_rounds import START, key_in_display, make_round, save, start, wrong_in_display  # noqa: F401


@pytest.fixture
def statements(app):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))

    def taken() -> list[str]:
        found = list(seen)
        seen.clear()
        return found

    return taken


def stored(app, attempt_id: int, question_id: int) -> AttemptAnswer:
    with app.app_context():
        return db.session.scalar(
            select(AttemptAnswer).where(
                AttemptAnswer.attempt_id == attempt_id, AttemptAnswer.question_id == question_id
            )
        )


def test_a_kept_save_is_one_statement_and_stores_what_the_long_way_does(
    login_as,
    app,
    province,
    mixed_bank,
    make_round,  # noqa: F811
    frozen_clock,
    statements,  # noqa: F811
):
    frozen_clock.set(START)
    client = login_as("amy")
    view = start(client, make_round(attempts_allowed=1))
    first, *rest = view["questions"]
    assert (
        save(client, view["id"], first["id"], key_in_display(app, view["id"], first["id"])).status_code == 200
    )
    for question in rest:  # every type: single, multiple, judge, fill
        frozen_clock.advance(seconds=7)
        right = key_in_display(app, view["id"], question["id"])
        statements()
        assert save(client, view["id"], question["id"], right).status_code == 200
        taken = statements()
        assert not any(sql.lstrip().upper().startswith("SELECT") and "FROM attempt " in sql for sql in taken)
        assert sum("INSERT INTO attempt_answer" in sql for sql in taken) == 1, taken
        answer = stored(app, view["id"], question["id"])
        assert answer.correct is True and answer.score == 1 and answer.revision == 1, question["type"]
        assert (
            answer.saved_at
            == answer.first_saved_at
            == START + timedelta(seconds=7 * (rest.index(question) + 1))
        )
        assert answer.gap_seconds == pytest.approx(7, abs=0.01)  # SQLite: julianday arithmetic
    last = rest[-1]
    frozen_clock.advance(seconds=3)
    assert save(client, view["id"], last["id"], wrong_in_display(app, view["id"], last)).status_code == 200
    again = stored(app, view["id"], last["id"])
    assert again.correct is False and again.revision == 2 and again.first_saved_at < again.saved_at


def test_a_kept_attempt_refuses_what_the_long_way_refuses(
    login_as,
    app,
    province,
    mixed_bank,
    make_round,  # noqa: F811
    frozen_clock,  # noqa: F811
):
    frozen_clock.set(START)
    round_id = make_round(attempts_allowed=1)
    amy = login_as("amy")
    view = start(amy, round_id)
    one, two = view["questions"][:2]
    assert save(amy, view["id"], one["id"], key_in_display(app, view["id"], one["id"])).status_code == 200
    assert save(login_as("ann"), view["id"], two["id"], "A").status_code == 404  # not hers
    bad = save(amy, view["id"], two["id"], ["不是答案"] if two["type"] != "fill" else 5)
    assert bad.status_code in (400, 422)
    # The grace as the round says now: an admin gives 2 minutes more while the round runs.
    with app.app_context():
        db.session.execute(update(Round).where(Round.id == round_id).values(grace_seconds=120))
        db.session.commit()
    frozen_clock.set(START + timedelta(minutes=21))
    late = save(amy, view["id"], two["id"], key_in_display(app, view["id"], two["id"]))
    assert late.status_code == 200
    frozen_clock.set(START + timedelta(minutes=22, seconds=1))
    too_late = save(amy, view["id"], two["id"], wrong_in_display(app, view["id"], two))
    assert too_late.status_code == 409 and too_late.get_json()["error"]["code"] == "deadline_passed"
    assert stored(app, view["id"], two["id"]).correct is True  # the refused save changed nothing
    frozen_clock.set(START + timedelta(minutes=1))
    assert amy.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200
    after = save(amy, view["id"], one["id"], wrong_in_display(app, view["id"], one))
    assert after.status_code == 409 and after.get_json()["error"]["code"] == "already_submitted"
    assert stored(app, view["id"], one["id"]).correct is True
