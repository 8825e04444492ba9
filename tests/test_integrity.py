"""Integrity signals and holds (issue 16 §4–6): a replayed script is held, a human pace is not; two
sessions and a hidden page are flagged; the same wrong answers within a unit are flagged at close;
held attempts and days count nowhere official until a reviewer of their subtree clears them (which
restates the snapshot and the bulletin) or voids them."""

# ruff: noqa: F811 — fixtures shared with test_rounds and test_daily are imported, then requested
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quizapp.config import DefaultConfig
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AuditLog,
    Bulletin,
    DailySet,
    IntegrityReview,
    PointsEntry,
    QuestionVersion,
    RankingSnapshot,
    ReviewStatus,
    SnapshotRow,
    Unit,
)
from quizapp.services import integrity, rankings, rounds

from .test_daily import answer, bank, get_daily  # noqa: F401
from .test_rounds import BACKENDS, START, at_start, key_in_display, make_round, save, start  # noqa: F401

DEFAULTS = pytest.mark.app_config(INTEGRITY=DefaultConfig.INTEGRITY)
pytestmark = DEFAULTS


def reading_chars(question: dict) -> int:
    return len(question["stem"]) + sum(len(option["text"]) for option in question.get("options") or [])


def human_pause(rng: random.Random, question: dict) -> float:
    """A person: reading time in proportion to the text, then a varying moment to decide."""
    return 1.5 + 0.12 * reading_chars(question) + rng.uniform(1, 15)


def right_answer(app, question_id: int):
    with app.app_context():
        version = db.session.scalar(
            select(QuestionVersion).where(
                QuestionVersion.question_id == question_id, QuestionVersion.is_current
            )
        )
        if version.type == "judge":
            return "true" if version.answer else "false"
        if version.type == "fill":
            return [alternatives[0] for alternatives in version.answer]
        return version.answer


def run_daily(app, client, clock, pause) -> dict:
    state = get_daily(client)
    outcome = None
    for item in state["items"]:
        clock.advance(seconds=pause(item["question"]))
        response = answer(client, item["question"]["id"], right_answer(app, item["question"]["id"]))
        assert response.status_code == 200, response.get_data(as_text=True)
        outcome = response.get_json()
    return outcome["set"]


def run_attempt(app, client, clock, round_id, pause, *, focus=None) -> dict:
    view = start(client, round_id)
    if focus is not None:
        client.post(
            f"/api/v1/attempts/{view['id']}/focus", json={"page": "p1", "hidden": 0, "hidden_seconds": 0}
        )
    for question in view["questions"]:
        clock.advance(seconds=pause(question))
        value = key_in_display(app, view["id"], question["id"])
        assert save(client, view["id"], question["id"], value).status_code == 200
    body = {"focus": focus} if focus is not None else None
    done = client.post(f"/api/v1/attempts/{view['id']}/submit", json=body)
    assert done.status_code == 200, done.get_data(as_text=True)
    return done.get_json()


def review_of(app, *, attempt_id=None, daily_set_id=None) -> IntegrityReview | None:
    with app.app_context():
        condition = (
            IntegrityReview.attempt_id == attempt_id
            if attempt_id is not None
            else IntegrityReview.daily_set_id == daily_set_id
        )
        review = db.session.scalar(select(IntegrityReview).where(condition))
        if review is not None:
            db.session.expunge(review)
        return review


def codes(review) -> set[str]:
    return {signal["code"] for signal in review.signals} if review else set()


NO_FOCUS_LOSS = {"page": "p1", "hidden": 1, "hidden_seconds": 8}


def test_a_script_replaying_answers_every_half_second_is_held(
    login_as, app, province, mixed_bank, bank, make_round, at_start
):
    client = login_as("amy")
    day = run_daily(app, client, at_start, lambda question: 0.5)
    assert day["finished"] and day["held"] and not day["star"]
    assert day["points_today"] == 0  # the right answers' and the finish's points are held too
    with app.app_context():
        daily_set = db.session.scalar(select(DailySet))
        assert daily_set.held and daily_set.integrity_score >= 60
        assert db.session.scalar(select(func.count(PointsEntry.id))) == 0
    review = review_of(app, daily_set_id=daily_set.id)
    assert review.status == ReviewStatus.HELD and {"fast", "regular"} <= codes(review)
    fast = next(signal for signal in review.signals if signal["code"] == "fast")
    assert "9 次作答中 9 次快于阅读下限" in fast["detail"] and "最短 0.5 秒" in fast["detail"]

    round_id = make_round("weekly", attempts_allowed=1)  # results right after the attempt
    done = run_attempt(app, client, at_start, round_id, lambda question: 0.5)
    assert done["standing"]["label"] == "成绩待核"
    assert done["result"] is None and done["review"] is None  # no verdict while held
    review = review_of(app, attempt_id=done["id"])
    assert review.status == ReviewStatus.HELD
    assert codes(review) == {"fast", "regular", "no_report"}
    listing = client.get("/api/v1/rounds").get_json()["rounds"][0]
    assert listing["attempts"][0]["held"] and listing["attempts"][0]["percent"] is None
    assert "成绩待核" in client.get(f"/attempts/{done['id']}/result").get_data(as_text=True)


def test_a_human_pace_is_not_held(login_as, app, province, mixed_bank, bank, make_round, at_start):
    rng = random.Random(7)
    client = login_as("amy")
    day = run_daily(app, client, at_start, lambda question: human_pause(rng, question))
    assert day["finished"] and not day["held"] and day["star"] and day["points_today"] == 12
    round_id = make_round("weekly", attempts_allowed=1)
    done = run_attempt(
        app, client, at_start, round_id, lambda question: human_pause(rng, question), focus=NO_FOCUS_LOSS
    )
    assert done["standing"] is None and done["result"]["percent"] == 100.0
    with app.app_context():
        assert db.session.get(Attempt, done["id"]).integrity_score == 0
        assert db.session.scalar(select(DailySet.integrity_score)) == 0
        assert db.session.scalar(select(func.count(IntegrityReview.id))) == 0


def test_answers_given_without_the_page_reporting_are_flagged_not_held(
    login_as, app, province, mixed_bank, make_round, at_start
):
    rng = random.Random(3)
    client = login_as("amy")
    done = run_attempt(
        app,
        client,
        at_start,
        make_round("weekly", attempts_allowed=1),
        lambda question: human_pause(rng, question),
    )
    review = review_of(app, attempt_id=done["id"])
    assert review.status == ReviewStatus.FLAGGED and codes(review) == {"no_report"}
    assert done["standing"] is None and done["result"] is not None


def test_two_sessions_on_one_account_are_flagged(login_as, app, province, mixed_bank, make_round, at_start):
    rng = random.Random(5)
    phone, desktop = login_as("amy"), login_as("amy")
    round_id = make_round("weekly")
    view = start(phone, round_id)
    for n, question in enumerate(view["questions"]):
        at_start.advance(seconds=human_pause(rng, question))
        device = phone if n % 2 == 0 else desktop  # the other device answers every second question
        assert (
            save(
                device, view["id"], question["id"], key_in_display(app, view["id"], question["id"])
            ).status_code
            == 200
        )
    phone.post(f"/api/v1/attempts/{view['id']}/submit", json={"focus": NO_FOCUS_LOSS})
    review = review_of(app, attempt_id=view["id"])
    assert codes(review) == {"sessions"} and review.status == ReviewStatus.FLAGGED
    assert "2 个登录会话" in review.signals[0]["detail"]


def test_a_page_hidden_five_times_for_thirty_seconds_is_flagged(
    login_as, app, province, mixed_bank, make_round, at_start
):
    rng = random.Random(9)
    client = login_as("amy")
    round_id = make_round("weekly")
    view = start(client, round_id)
    for n, question in enumerate(view["questions"]):
        at_start.advance(seconds=human_pause(rng, question))
        save(client, view["id"], question["id"], key_in_display(app, view["id"], question["id"]))
        if n < 5:  # the page comes back from another app after 30 s and reports its totals
            at_start.advance(seconds=30)
            report = {"page": "load-1", "hidden": n + 1, "hidden_seconds": 30 * (n + 1)}
            assert client.post(f"/api/v1/attempts/{view['id']}/focus", json=report).status_code == 204
    client.post(
        f"/api/v1/attempts/{view['id']}/submit",
        json={"focus": {"page": "load-1", "hidden": 5, "hidden_seconds": 150}},
    )
    review = review_of(app, attempt_id=view["id"])
    assert codes(review) == {"hidden"} and "切走 5 次，共 150 秒" in review.signals[0]["detail"]
    # A report is refused once the attempt is handed in, and a malformed one is a clear 400.
    bad = client.post(
        f"/api/v1/attempts/{view['id']}/focus", json={"page": "x", "hidden": -1, "hidden_seconds": 0}
    )
    assert bad.status_code == 400 and "hidden" in bad.get_json()["error"]["message"]


def snapshot_participants(app, round_id, code="P") -> int:
    with app.app_context():
        return db.session.scalar(
            select(SnapshotRow.participants)
            .join(RankingSnapshot, RankingSnapshot.id == SnapshotRow.snapshot_id)
            .join(Unit, Unit.id == SnapshotRow.unit_id)
            .where(
                RankingSnapshot.round_id == round_id, RankingSnapshot.official.is_(True), Unit.code == code
            )
        )


def close(app, round_id, clock):
    clock.set(START + timedelta(days=3, minutes=5))
    with app.app_context():
        outcome = rounds.close_round(round_id, now=clock())
        db.session.commit()
    assert outcome["closed"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_held_attempt_is_out_of_the_official_snapshot_until_cleared(
    backend, login_as, app, province, mixed_bank, make_round, at_start, create_user
):
    units, _ = province
    create_user("a_admin", unit=units["A"], role="unit_admin")
    create_user("b_admin", unit=units["B"], role="unit_admin")
    rng = random.Random(11)
    round_id = make_round("monthly")
    bot = run_attempt(app, login_as("amy"), at_start, round_id, lambda question: 0.5)
    run_attempt(
        app,
        login_as("bob"),
        at_start,
        round_id,
        lambda question: human_pause(rng, question),
        focus=NO_FOCUS_LOSS,
    )
    close(app, round_id, at_start)

    assert snapshot_participants(app, round_id) == 1
    with app.app_context():
        held = db.session.get(Attempt, bot["id"])
        assert held.held and not held.counted and held.rank_in_round is None
        bulletin = db.session.scalar(select(Bulletin).where(Bulletin.round_id == round_id))
        assert bulletin.content["participants"] == 1
        assert [row["username"] for row in bulletin.content["top_staff"]] == ["bob"]
    amy = login_as("amy")
    assert "成绩待核" in amy.get(f"/attempts/{bot['id']}/result").get_data(as_text=True)

    # Only a unit admin of amy's subtree (or an admin) sees and decides it, with a reason.
    review = review_of(app, attempt_id=bot["id"])
    outsider, reviewer = login_as("b_admin"), login_as("a_admin")
    assert "甲一" not in outsider.get("/admin/integrity").get_data(as_text=True)
    assert (
        outsider.post(
            f"/admin/integrity/{review.id}", data={"decision": "clear", "reason": "核实"}
        ).status_code
        == 404
    )
    page = reviewer.get("/admin/integrity").get_data(as_text=True)
    assert "甲一" in page and "秒答" in page and "间隔过于均匀" in page
    no_reason = reviewer.post(
        f"/admin/integrity/{review.id}", data={"decision": "clear", "reason": " "}, follow_redirects=True
    )
    assert "请填写核查结论" in no_reason.get_data(as_text=True)
    assert snapshot_participants(app, round_id) == 1
    reviewer.post(
        f"/admin/integrity/{review.id}", data={"decision": "clear", "reason": "已电话核实，本人作答"}
    )

    assert snapshot_participants(app, round_id) == 2  # restated
    with app.app_context():
        cleared = db.session.get(Attempt, bot["id"])
        assert not cleared.held and cleared.counted and cleared.rank_in_round == 1  # 100% and faster
        bulletin = db.session.scalar(select(Bulletin).where(Bulletin.round_id == round_id))
        assert bulletin.content["participants"] == 2
        assert [row["username"] for row in bulletin.content["top_staff"]] == ["amy", "bob"]
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "integrity.clear"))
        assert entry.after == {"status": "cleared", "reason": "已电话核实，本人作答"}
        assert entry.target_type == "attempt" and entry.target_id == str(bot["id"])
    again = reviewer.post(
        f"/admin/integrity/{review.id}", data={"decision": "void", "reason": "再改"}, follow_redirects=True
    )
    assert "已核准，不能再处理" in again.get_data(as_text=True)
    assert "成绩待核" not in amy.get(f"/attempts/{bot['id']}/result").get_data(as_text=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_held_day_gives_no_points_star_or_participation_until_cleared_and_a_void_keeps_it_out(
    backend, login_as, app, province, bank, at_start, create_user
):
    units, _ = province
    create_user("p_admin", unit=units["P"], role="unit_admin")
    today = run_daily(app, login_as("amy"), at_start, lambda question: 0.5)
    run_daily(app, login_as("ann"), at_start, lambda question: 0.4)
    assert today["held"]
    tz = app.config["TZINFO"]
    with app.app_context():
        period = rankings.week_period(START.astimezone(tz).date())
        _, totals = rankings.subtree_totals(period, tz)
        window = db.session.scalar(select(Unit.id).where(Unit.code == "A1"))
        assert totals[window]["participants"] == 0 and totals[window]["stars"] == 0
        assert totals[window]["points"] == 0
        sets = {s.user_id: s.id for s in db.session.scalars(select(DailySet))}
    admin = login_as("p_admin")
    reviews = [review_of(app, daily_set_id=set_id) for set_id in sets.values()]
    first, second = sorted(reviews, key=lambda r: r.daily_set_id)
    admin.post(f"/admin/integrity/{first.id}", data={"decision": "clear", "reason": "核实为本人"})
    admin.post(f"/admin/integrity/{second.id}", data={"decision": "void", "reason": "代答"})
    with app.app_context():
        _, totals = rankings.subtree_totals(period, tz)
        assert totals[window]["participants"] == 1 and totals[window]["stars"] == 1
        assert totals[window]["points"] == 12  # the cleared day's ten right answers and its finish
        assert (
            db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action.like("integrity.%"))) == 2
        )


def test_the_same_wrong_answers_in_one_unit_are_flagged_at_close(
    login_as, app, province, mixed_bank, make_round, at_start
):
    """amy and ann (one window) hand in the same wrong answers; bob (another city) does too, but
    only colleagues of one unit are compared."""
    round_id = make_round("monthly")
    rng = random.Random(13)
    ids = {}
    for name in ("amy", "ann", "bob"):
        client = login_as(name)
        view = start(client, round_id)
        for question in view["questions"]:
            at_start.advance(seconds=human_pause(rng, question))
            display = {o["key"]: o["text"] for o in question["options"]}
            if question["type"] == "fill":
                value = ["抄的"]
            elif question["type"] == "judge":
                value = "false"
            else:  # the same option text, whatever letter this attempt shows it under
                wrong_text = sorted(display.values())[-1]
                letter = next(k for k, v in display.items() if v == wrong_text)
                value = letter if question["type"] == "single" else [letter]
            save(client, view["id"], question["id"], value)
        client.post(f"/api/v1/attempts/{view['id']}/submit", json={"focus": NO_FOCUS_LOSS})
        ids[name] = view["id"]
    close(app, round_id, at_start)
    amy, ann, bob = (review_of(app, attempt_id=ids[name]) for name in ("amy", "ann", "bob"))
    assert codes(amy) == codes(ann) == {"same_answers"}
    assert "甲二" in amy.signals[0]["detail"] and "甲一" in ann.signals[0]["detail"]
    assert bob is None


def test_the_explained_score_adds_up_and_thresholds_are_configuration(app):
    with app.app_context():
        limits = integrity.thresholds()
        assert limits.hold_score == DefaultConfig.INTEGRITY["hold_score"]
        signals = integrity.client_signals(
            ["aaaa@1.1.1.1", "bbbb@1.1.1.1"], limits
        ) + integrity.focus_signals(None, limits)
        assert [s["code"] for s in signals] == ["sessions", "no_report"]
        assert integrity.total(signals) == limits.sessions_points + limits.no_report_points
        assert integrity.client_signals(["aaaa@1.1.1.1", "aaaa@2.2.2.2"], limits)[0]["code"] == "addresses"


def test_an_attempt_the_sweep_hands_in_is_assessed_too(
    login_as, app, province, mixed_bank, make_round, at_start
):
    """A script that saves answers and never hands in: the overdue sweep submits it, and holds it."""
    client = login_as("amy")
    view = start(client, make_round("weekly", attempts_allowed=1))
    for question in view["questions"]:
        at_start.advance(seconds=0.5)
        save(client, view["id"], question["id"], key_in_display(app, view["id"], question["id"]))
    at_start.advance(minutes=25)
    with app.app_context():
        assert rounds.finish_overdue(now=at_start()) == 1
        db.session.commit()
        attempt = db.session.get(Attempt, view["id"])
        assert attempt.status == "auto_submitted" and attempt.held and attempt.integrity_score >= 60
    assert client.get(f"/api/v1/attempts/{view['id']}").get_json()["standing"]["label"] == "成绩待核"


def test_the_demo_s_results_are_not_held(app):
    """`quizapp serve --demo` answers last week's round for its staff at a person's pace, through the
    page: none of it is held (the demo's rankings would be empty)."""
    from pathlib import Path

    from quizapp import clock
    from quizapp.services import bank_io, demo

    with app.app_context():
        bank_io.load_shipped_banks(Path(app.config["BANK_PATH"]))
        demo.create_demo_org("Demo12345")
        demo.create_demo_rounds(now=clock.utcnow(), tz=app.config["TZINFO"])
        finished = db.session.scalar(select(func.count(Attempt.id)).where(Attempt.status != "in_progress"))
        assert finished > 20
        assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.held.is_(True))) == 0
        assert db.session.scalar(select(func.count(Attempt.id)).where(Attempt.integrity_score > 0)) == 0
