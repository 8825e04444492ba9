"""周周练, 月月比 and exams: rounds, papers and timed attempts, with a fixed clock."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from quizapp.extensions import db
from quizapp.models import Attempt, AttemptAnswer, AttemptStatus, PaperQuestion, Round, User
from quizapp.services import rounds
from quizapp.services.errors import DomainError

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CATEGORIES = ["就业创业", "社会保险", "劳动关系", "人才人事", "综合服务与行风"]
START = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


def settings(
    kind="weekly",
    *,
    targets=("P",),
    opens=START - timedelta(hours=1),
    closes=START + timedelta(days=3),
    **changes,
):
    values = dict(
        kind=kind,
        title=f"测试{kind}",
        opens_at=opens,
        closes_at=closes,
        target_codes=list(targets),
        time_limit_minutes=20,
        attempts_allowed=3 if kind == "weekly" else 1,
        pass_mark=60,
        show_answers="after_attempt" if kind == "weekly" else "after_close",
        grace_seconds=30,
        blueprint=[
            {"type": "single", "count": 4},
            {"type": "multiple", "count": 2},
            {"type": "judge", "count": 2},
            {"type": "fill", "count": 2},
        ],
    )
    values.update(changes)
    return rounds.RoundSettings(**values)


@pytest.fixture
def make_round(app):
    def factory(kind="weekly", **changes) -> int:
        with app.app_context():
            round_ = rounds.create_round(settings(kind, **changes), actor_id=None)
            db.session.commit()
            return round_.id

    return factory


@pytest.fixture
def at_start(frozen_clock):
    frozen_clock.set(START)
    return frozen_clock


def start(client, round_id):
    response = client.post(f"/api/v1/rounds/{round_id}/attempts")
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    return response.get_json()


def key_in_display(app, attempt_id, question_id):
    """The right answer as this attempt displays it (options are shuffled per attempt)."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        version = db.session.scalar(
            select(PaperQuestion).where(
                PaperQuestion.round_id == attempt.round_id, PaperQuestion.question_id == question_id
            )
        ).version
        key = rounds.to_display(attempt, version, version.answer)
        if version.type == "fill":
            return [alternatives[0] for alternatives in key]
        return key


def wrong_in_display(app, attempt_id, question):
    right = key_in_display(app, attempt_id, question["id"])
    if question["type"] == "judge":
        return "false" if right == "true" else "true"
    if question["type"] == "fill":
        return ["错"] * question["blanks"]
    letters = [o["key"] for o in question["options"]]
    if question["type"] == "single":
        return next(letter for letter in letters if letter != right)
    return [next(letter for letter in letters if letter not in right)]


def save(client, attempt_id, question_id, answer):
    return client.put(f"/api/v1/attempts/{attempt_id}/answers/{question_id}", json={"answer": answer})


def answer_all(app, client, view, *, right=True):
    for question in view["questions"]:
        value = (
            key_in_display(app, view["id"], question["id"])
            if right
            else wrong_in_display(app, view["id"], question)
        )
        assert save(client, view["id"], question["id"], value).status_code == 200


# --- rounds: defaults, validation, targets ---------------------------------------------------------


def test_kind_defaults_follow_the_design(app, ctx):
    tz = app.config["TZINFO"]
    today = datetime(2026, 3, 4).date()  # a Wednesday
    weekly = rounds.RoundSettings.from_defaults("weekly", today, tz, ["P"])
    assert weekly.opens_at.astimezone(tz).strftime("%a %H:%M") == "Mon 00:00"
    assert weekly.closes_at.astimezone(tz).strftime("%a %d %H:%M") == "Sun 08 23:59"
    assert (weekly.time_limit_minutes, weekly.attempts_allowed, weekly.show_answers) == (
        20,
        3,
        "after_attempt",
    )
    assert sum(row["count"] for row in weekly.blueprint) == 20
    monthly = rounds.RoundSettings.from_defaults("monthly", today, tz, ["P"])
    assert monthly.opens_at.astimezone(tz).strftime("%m-%d %H:%M") == "03-25 00:00"
    assert monthly.closes_at.astimezone(tz).strftime("%m-%d %H:%M") == "03-31 23:59"
    assert (monthly.time_limit_minutes, monthly.attempts_allowed, monthly.show_answers) == (
        40,
        1,
        "after_close",
    )
    assert sum(row["count"] for row in monthly.blueprint) == 50
    exam = rounds.RoundSettings.from_defaults("exam", today, tz, ["P"])
    assert (exam.attempts_allowed, exam.pass_mark, exam.show_answers) == (1, 60, "after_close")


YEAR_ENDS = [
    (date(2020, 12, 31), "2020年第53周 周周练", "weekly:2020-W53", "2020-12-28"),
    (date(2021, 1, 3), "2020年第53周 周周练", "weekly:2020-W53", "2020-12-28"),
    (date(2021, 1, 4), "2021年第1周 周周练", "weekly:2021-W01", "2021-01-04"),
    *[
        (date(2026, 12, 28) + timedelta(days=n), "2026年第53周 周周练", "weekly:2026-W53", "2026-12-28")
        for n in range(7)
    ],
    (date(2027, 1, 4), "2027年第1周 周周练", "weekly:2027-W01", "2027-01-04"),
    (date(2024, 12, 30), "2025年第1周 周周练", "weekly:2025-W01", "2024-12-30"),  # ISO 2025 begins in 2024
]


@pytest.mark.parametrize(("day", "title", "key", "monday"), YEAR_ENDS, ids=[str(d[0]) for d in YEAR_ENDS])
def test_weeks_are_titled_by_the_iso_week_year_whoever_makes_the_round(app, ctx, day, title, key, monday):
    """A weekly round made by hand on 2027-01-01 and the one the template plans for that day agree:
    both are 2026年第53周, Monday 2026-12-28 to Sunday 2027-01-03."""
    from quizapp.models import RoundTemplate

    tz = app.config["TZINFO"]
    by_hand = rounds.RoundSettings.from_defaults("weekly", day, tz, ["P"])
    template = RoundTemplate(
        kind="weekly",
        open_day=0,
        open_time="00:00",
        close_day=6,
        close_time="23:59",
        target_codes=["P"],
        time_limit_minutes=20,
        attempts_allowed=3,
        pass_mark=60,
        show_answers="after_attempt",
        grace_seconds=30,
        blueprint=[{"type": "single", "count": 5}],
    )
    planned, period = rounds.RoundSettings.from_template(template, day, tz)
    assert by_hand.title == planned.title == title
    assert period.plan_key == rounds.window_and_title("weekly", day, tz).plan_key == key
    assert by_hand.opens_at == planned.opens_at
    assert by_hand.opens_at.astimezone(tz).date().isoformat() == monday
    assert (by_hand.closes_at - by_hand.opens_at) == timedelta(days=6, hours=23, minutes=59)


def test_the_planning_sweep_titles_the_last_week_of_2026_by_its_iso_year(
    app, province, mixed_bank, frozen_clock
):
    from quizapp import jobs
    from quizapp.models import Round

    frozen_clock.set(datetime(2027, 1, 1, 2, 0, tzinfo=UTC))  # Friday 10:00 in Shanghai
    with app.app_context():
        template = rounds.template_for("weekly")
        template.enabled, template.target_codes = True, ["P"]
        template.blueprint = [{"type": "single", "count": 3}]
        db.session.add(template)
        db.session.commit()
    assert jobs.run_sweep(app, "plan_rounds").counts == {"created": 2}
    with app.app_context():
        titles = db.session.scalars(select(Round.title).order_by(Round.opens_at)).all()
        keys = db.session.scalars(select(Round.plan_key).order_by(Round.opens_at)).all()
    assert titles == ["2026年第53周 周周练", "2027年第1周 周周练"]
    assert keys == ["weekly:2026-W53", "weekly:2027-W01"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"closes_at": START - timedelta(days=1)}, "结束时间必须晚于开始时间"),
        ({"target_codes": ["NOPE"]}, "NOPE"),
        ({"target_codes": []}, "参加单位"),
        ({"blueprint": [{"type": "essay", "count": 2}]}, "第1行：题型"),
        ({"blueprint": [{"type": "single", "count": 0}]}, "第1行：题数"),
        ({"blueprint": [{"category": "不存在", "count": 2}]}, "第1行：业务类别"),
        ({"attempts_allowed": 0}, "作答次数"),
    ],
)
def test_bad_round_settings_are_refused_clearly(ctx, province, changes, message):
    with pytest.raises(DomainError, match=message):
        rounds.create_round(settings(**changes), actor_id=None)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Round.id))) == 0


def test_a_city_round_reaches_its_windows_only(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round(targets=("A",))
    amy, bob = login_as("amy"), login_as("bob")
    assert [r["id"] for r in amy.get("/api/v1/rounds").get_json()["rounds"]] == [round_id]
    assert bob.get("/api/v1/rounds").get_json()["rounds"] == []
    refused = bob.post(f"/api/v1/rounds/{round_id}/attempts")
    assert refused.status_code == 404
    assert bob.get(f"/rounds/{round_id}").status_code == 404


# --- the paper ------------------------------------------------------------------------------------


def test_paper_is_drawn_once_from_the_blueprint_and_shared(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(
        blueprint=[
            {"type": "single", "category": "社会保险", "count": 3},
            {"type": "judge", "count": 4},
            {"type": "fill", "difficulty": 1, "count": 1},
        ]
    )
    views = [start(login_as(name), round_id) for name in ("amy", "ann", "bob")]
    papers = [sorted(q["id"] for q in view["questions"]) for view in views]
    assert papers[0] == papers[1] == papers[2] and len(papers[0]) == 8
    with app.app_context():
        rows = rounds.paper_rows(round_id)
        kinds = [(str(v.type), category) for _, v, category, _ in rows]
        assert kinds[:3] == [("single", "社会保险")] * 3
        assert [k for k, _ in kinds[3:]] == ["judge"] * 4 + ["fill"]
        assert db.session.scalar(select(func.count(PaperQuestion.id))) == 8
        with pytest.raises(DomainError, match="已有人作答"):
            rounds.draw_paper(round_id, now=START, redraw=True)


def test_the_process_copy_of_a_paper_follows_a_redraw(
    login_as, app, province, mixed_bank, make_round, at_start
):
    """Starts read the paper from a per-process copy; a redraw (even within the same instant, as
    under a frozen clock) must not leave the old questions behind."""
    round_id = make_round(blueprint=[{"type": "single", "count": 3}])
    with app.app_context():
        rounds.draw_paper(round_id, now=START)
        round_ = db.session.get(Round, round_id)
        first = [item.question_id for item in rounds.public_paper(round_)]
        drawn = [item.question_id for _, item, _, _ in rounds.paper_rows(round_id)]
        assert first == drawn and len(first) == 3
        for _ in range(20):  # 3 of the bank's singles: a redraw differs sooner or later
            rounds.draw_paper(round_id, now=START, redraw=True)
            if [item.question_id for _, item, _, _ in rounds.paper_rows(round_id)] != first:
                break
        db.session.commit()
        redrawn = [item.question_id for _, item, _, _ in rounds.paper_rows(round_id)]
        assert redrawn != first
        assert [item.question_id for item in rounds.public_paper(db.session.get(Round, round_id))] == redrawn
    view = start(login_as("amy"), round_id)
    assert sorted(q["id"] for q in view["questions"]) == sorted(redrawn)


def test_an_unfillable_blueprint_names_every_short_row_and_writes_nothing(
    app, province, mixed_bank, make_round
):
    round_id = make_round(
        blueprint=[
            {"type": "single", "count": 2},
            {"type": "multiple", "count": 9},
            {"type": "fill", "category": "社会保险", "count": 3},
        ]
    )
    with app.app_context():
        with pytest.raises(rounds.PaperError) as raised:
            rounds.draw_paper(round_id, now=START)
        message = raised.value.message
        assert "第2行（多选·任意类别·任意难度）需要 9 题，题库中只有 5 题可用" in message
        assert "第3行（填空·社会保险·任意难度）需要 3 题，题库中只有 1 题可用" in message
        assert "第1行" not in message
        db.session.rollback()
        assert db.session.scalar(select(func.count(PaperQuestion.id))) == 0
        assert rounds.check_blueprint(db.session.get(Round, round_id).blueprint) == message.split("：", 1)[
            1
        ].split("；")


def test_starting_with_an_unfillable_paper_is_a_clear_409(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(blueprint=[{"type": "multiple", "count": 50}])
    response = login_as("amy").post(f"/api/v1/rounds/{round_id}/attempts")
    assert response.status_code == 409 and "题库不足以组卷" in response.get_json()["error"]["message"]


# --- shuffles -------------------------------------------------------------------------------------


def test_shuffles_are_stored_per_attempt_and_stable(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(blueprint=[{"type": "single", "count": 12}])
    orders = []
    for name in ("amy", "ann", "bob"):
        client = login_as(name)
        first = start(client, round_id)
        again = client.get(f"/api/v1/attempts/{first['id']}").get_json()
        resumed = start(client, round_id)  # resume: the same attempt, the same order
        assert [q["id"] for q in again["questions"]] == [q["id"] for q in first["questions"]]
        assert [q["options"] for q in again["questions"]] == [q["options"] for q in first["questions"]]
        assert resumed["id"] == first["id"]
        orders.append(tuple(q["id"] for q in first["questions"]))
    assert len(set(orders)) > 1  # 12! orders: three takers do not all get the same one
    with app.app_context():
        for attempt in db.session.scalars(select(Attempt)):
            assert sorted(attempt.question_order) == sorted(orders[0])
            assert all(sorted(keys) == ["A", "B", "C", "D"] for keys in attempt.option_orders.values())


def test_answers_are_given_in_displayed_letters_and_graded_against_the_key(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(
        blueprint=[{"type": "single", "count": 6}, {"type": "multiple", "count": 3}], attempts_allowed=1
    )
    client = login_as("amy")
    view = start(client, round_id)
    answer_all(app, client, view)
    result = client.post(f"/api/v1/attempts/{view['id']}/submit").get_json()["result"]
    assert result["percent"] == 100.0 and result["correct_count"] == 9
    with app.app_context():
        stored = db.session.scalars(select(AttemptAnswer.response)).all()
        assert sorted(r for r in stored if isinstance(r, str)) == ["A"] * 6  # the question's own key
        assert all(r == ["A", "C"] for r in stored if isinstance(r, list))


# --- the attempt lifecycle --------------------------------------------------------------------------


def test_lifecycle_start_save_resume_deadline_grace(
    login_as, app, province, mixed_bank, make_round, frozen_clock
):
    frozen_clock.set(START)
    round_id = make_round(attempts_allowed=1)
    client = login_as("amy")
    created = client.post(f"/api/v1/rounds/{round_id}/attempts")
    view = created.get_json()
    assert created.status_code == 201 and view["remaining_seconds"] == 20 * 60
    assert view["deadline_at"] == (START + timedelta(minutes=20)).isoformat()
    first, second = view["questions"][0], view["questions"][1]
    saved = save(client, view["id"], first["id"], key_in_display(app, view["id"], first["id"])).get_json()
    assert saved["saved_at"] == START.isoformat()

    frozen_clock.advance(minutes=5)  # a reload, or another device
    resumed = client.post(f"/api/v1/rounds/{round_id}/attempts")
    assert resumed.status_code == 200 and resumed.get_json()["id"] == view["id"]
    assert resumed.get_json()["remaining_seconds"] == 15 * 60
    assert str(first["id"]) in resumed.get_json()["answers"]

    frozen_clock.set(START + timedelta(minutes=20, seconds=29))  # past the deadline, inside the grace
    late_but_ok = save(client, view["id"], second["id"], wrong_in_display(app, view["id"], second))
    assert late_but_ok.status_code == 200
    frozen_clock.set(START + timedelta(minutes=20, seconds=31))
    too_late = save(client, view["id"], second["id"], key_in_display(app, view["id"], second["id"]))
    assert too_late.status_code == 409 and too_late.get_json()["error"]["code"] == "deadline_passed"
    with app.app_context():
        kept = db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.question_id == second["id"]))
        assert kept.correct is False and kept.saved_at == START + timedelta(minutes=20, seconds=29)

    # Seen after the grace, the attempt is auto-submitted at its deadline (not at the moment it is seen).
    after = client.get(f"/api/v1/attempts/{view['id']}").get_json()
    assert after["status"] == "auto_submitted"
    assert after["submitted_at"] == (START + timedelta(minutes=20)).isoformat()
    assert after["result"]["correct_count"] == 1  # weekly: graded at once


def test_deadline_is_capped_by_the_round_close(login_as, app, province, mixed_bank, make_round, frozen_clock):
    frozen_clock.set(START)
    round_id = make_round(closes=START + timedelta(minutes=7))
    view = start(login_as("amy"), round_id)
    assert view["remaining_seconds"] == 7 * 60


def test_round_not_open_and_attempts_used_up_are_409(
    login_as, app, province, mixed_bank, make_round, frozen_clock
):
    frozen_clock.set(START - timedelta(days=1))
    round_id = make_round(attempts_allowed=2)
    client = login_as("amy")
    early = client.post(f"/api/v1/rounds/{round_id}/attempts")
    assert early.status_code == 409 and "尚未开始" in early.get_json()["error"]["message"]
    frozen_clock.set(START)
    for _ in range(2):
        view = start(client, round_id)
        client.post(f"/api/v1/attempts/{view['id']}/submit")
    used_up = client.post(f"/api/v1/rounds/{round_id}/attempts")
    assert used_up.status_code == 409 and "2 次作答机会" in used_up.get_json()["error"]["message"]
    frozen_clock.set(START + timedelta(days=4))
    assert (
        "已结束" in login_as("ann").post(f"/api/v1/rounds/{round_id}/attempts").get_json()["error"]["message"]
    )


def test_submit_twice_gives_one_result(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round()
    client = login_as("amy")
    view = start(client, round_id)
    answer_all(app, client, view)
    first = client.post(f"/api/v1/attempts/{view['id']}/submit").get_json()
    at_start.advance(minutes=3)
    second = client.post(f"/api/v1/attempts/{view['id']}/submit").get_json()
    assert first["submitted_at"] == second["submitted_at"] and first["result"] == second["result"]
    refused = save(client, view["id"], view["questions"][0]["id"], None)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "already_submitted"


def test_the_countdown_handing_in_at_zero_is_an_auto_submit(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round()
    early = login_as("amy")
    early_view = start(early, round_id)
    at_start.advance(minutes=10)  # a countdown that claims time is up half way through: a plain submit
    submitted = early.post(f"/api/v1/attempts/{early_view['id']}/submit", json={"time_up": True})
    assert submitted.get_json()["status"] == "submitted"

    on_time = login_as("ann")
    view = start(on_time, round_id)  # started at START + 10 min, 20 min limit
    at_start.advance(minutes=19, seconds=58)  # the countdown rounds to zero a moment early
    handed_in = on_time.post(f"/api/v1/attempts/{view['id']}/submit", json={"time_up": True}).get_json()
    assert handed_in["status"] == "auto_submitted"
    assert handed_in["submitted_at"] == (START + timedelta(minutes=29, seconds=58)).isoformat()
    page = on_time.get(f"/attempts/{view['id']}/result").get_data(as_text=True)
    assert "到时自动交卷" in page


def test_the_home_page_lists_the_open_rounds(login_as, app, province, mixed_bank, make_round, at_start):
    make_round(title="本周练习")
    make_round(title="下周练习", opens=START + timedelta(days=7), closes=START + timedelta(days=8))
    page = login_as("amy").get("/").get_data(as_text=True)
    assert "本周练习" in page and "下周练习" not in page and "暂无进行中的练习或比赛" not in page
    assert "暂无进行中的练习或比赛" in login_as("root").get("/").get_data(as_text=True)  # no unit


def test_clearing_an_answer(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round()
    client = login_as("amy")
    view = start(client, round_id)
    qid = view["questions"][0]["id"]
    save(client, view["id"], qid, key_in_display(app, view["id"], qid))
    assert save(client, view["id"], qid, None).get_json()["saved"] is False
    assert client.get(f"/api/v1/attempts/{view['id']}").get_json()["answers"] == {}
    bad = save(client, view["id"], qid, "Z" if view["questions"][0]["type"] != "fill" else "x")
    assert bad.status_code == 400 and bad.get_json()["error"]["message"]
    other = save(client, view["id"], 999999, "A")
    assert other.status_code == 404


# --- results and review per kind ----------------------------------------------------------------------


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)  # the small test bank: any pool that can fill a row
def test_weekly_shows_score_and_review_after_each_attempt_and_the_best_counts(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(paper_mode="drawn")
    client = login_as("amy")
    percents = []
    for right in (False, True, False):
        view = start(client, round_id)
        answer_all(app, client, view, right=right)
        done = client.post(f"/api/v1/attempts/{view['id']}/submit").get_json()
        assert done["review"] and all(item["explanation"] == "秘密解析" for item in done["review"])
        percents.append(done["result"]["percent"])
        at_start.advance(minutes=30)
    assert percents == [0.0, 100.0, 0.0]
    listing = client.get("/api/v1/rounds").get_json()["rounds"][0]
    assert listing["best_percent"] == 100.0 and listing["can_start"] is False
    with app.app_context():
        rounds.close_round(round_id, now=START + timedelta(days=4))
        db.session.commit()
        counted = db.session.scalars(select(Attempt).where(Attempt.counted)).all()
        assert [(a.number, a.percent, a.rank_in_round) for a in counted] == [(2, 100.0, 1)]


def test_monthly_shows_only_submitted_until_close_then_score_ranks_and_review(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round("monthly")
    outcomes = {"amy": True, "ann": False, "bob": True}
    views = {}
    for name, right in outcomes.items():
        client = login_as(name)
        view = start(client, round_id)
        answer_all(app, client, view, right=right)
        at_start.advance(minutes=2 if name == "amy" else 5)
        done = client.post(f"/api/v1/attempts/{view['id']}/submit")
        raw = done.get_data(as_text=True)
        body = done.get_json()
        assert body["status"] == "submitted" and body["result"] is None and body["review"] is None
        assert "秘密" not in raw and "correct_answer" not in raw
        page = client.get(f"/attempts/{view['id']}/result").get_data(as_text=True)
        assert "成绩和答案将在" in page and "秘密" not in page
        views[name] = (client, view["id"])
    with app.app_context():
        outcome = rounds.close_round(round_id, now=START + timedelta(days=3, minutes=1))
        db.session.commit()
        assert outcome["closed"] and outcome["graded"] == 3
    results = {
        name: client.get(f"/api/v1/attempts/{aid}").get_json()["result"]
        for name, (client, aid) in views.items()
    }
    # amy and bob both 100%, amy used less time: 1st; bob 2nd; ann last. Within 甲市窗口: amy 1, ann 2.
    assert [
        (results[n]["percent"], results[n]["rank_in_round"], results[n]["rank_in_unit"])
        for n in ("amy", "bob", "ann")
    ] == [(100.0, 1, 1), (100.0, 2, 1), (0.0, 3, 2)]
    assert results["amy"]["participants"] == 3 and results["amy"]["unit_participants"] == 2
    client, aid = views["ann"]
    page = client.get(f"/attempts/{aid}/result").get_data(as_text=True)
    assert "全轮第 3 名" in page and "本单位第 2 名" in page and "秘密解析" in page


def test_exam_shows_pass_or_fail(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round("exam", pass_mark=60)
    client = login_as("amy")
    view = start(client, round_id)
    for index, question in enumerate(view["questions"]):  # 5 of 10 right: 50 < 60
        value = (
            key_in_display(app, view["id"], question["id"])
            if index < 5
            else wrong_in_display(app, view["id"], question)
        )
        save(client, view["id"], question["id"], value)
    client.post(f"/api/v1/attempts/{view['id']}/submit")
    with app.app_context():
        rounds.close_round(round_id, now=START + timedelta(days=3))
        db.session.commit()
    result = client.get(f"/api/v1/attempts/{view['id']}").get_json()["result"]
    assert (result["percent"], result["passed"]) == (50.0, False)
    assert "不合格" in client.get(f"/attempts/{view['id']}/result").get_data(as_text=True)


# --- integrity ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_database_refuses_a_second_attempt_on_a_one_attempt_round(
    login_as, app, province, mixed_bank, make_round, at_start, backend
):
    round_id = make_round("monthly")
    client = login_as("amy")
    view = start(client, round_id)
    client.post(f"/api/v1/attempts/{view['id']}/submit")
    with app.app_context():
        first = db.session.get(Attempt, view["id"])
        for number in (1, 2):
            db.session.add(
                Attempt(
                    round_id=round_id,
                    user_id=first.user_id,
                    unit_id=first.unit_id,
                    number=number,
                    max_attempts=1,
                    status=AttemptStatus.IN_PROGRESS,
                    started_at=START,
                    deadline_at=START,
                    question_order=[],
                    option_orders={},
                )
            )
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()


def run_together(functions):
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)
@pytest.mark.parametrize("paper_mode", ["shared", "drawn"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_starts_submits_and_autosaves_are_safe(
    login_as, app, province, mixed_bank, make_round, at_start, backend, paper_mode
):
    round_id = make_round("monthly", blueprint=[{"type": "single", "count": 8}], paper_mode=paper_mode)
    tabs = [login_as("amy") for _ in range(6)]
    started = run_together([lambda c=c: c.post(f"/api/v1/rounds/{round_id}/attempts") for c in tabs])
    assert sorted(r.status_code for r in started) == [200] * 5 + [201]
    assert len({r.get_json()["id"] for r in started}) == 1
    view = started[0].get_json()
    # Six tabs save six different questions at once: all six are kept.
    saves = run_together(
        [
            lambda c=c, q=q: save(c, view["id"], q["id"], key_in_display(app, view["id"], q["id"]))
            for c, q in zip(tabs, view["questions"], strict=False)
        ]
    )
    assert [r.status_code for r in saves] == [200] * 6
    submits = run_together([lambda c=c: c.post(f"/api/v1/attempts/{view['id']}/submit") for c in tabs])
    assert [r.status_code for r in submits] == [200] * 6
    assert len({r.get_json()["submitted_at"] for r in submits}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Attempt.id))) == 1
        assert db.session.scalar(select(func.count(AttemptAnswer.id))) == 6


# --- access and leaks ------------------------------------------------------------------------------------


def test_another_users_attempt_is_not_found(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round()
    view = start(login_as("amy"), round_id)
    ann = login_as("ann")
    qid = view["questions"][0]["id"]
    assert ann.get(f"/api/v1/attempts/{view['id']}").status_code == 404
    assert save(ann, view["id"], qid, "A").status_code == 404
    assert ann.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 404
    assert ann.get(f"/attempts/{view['id']}").status_code == 404
    assert ann.get(f"/attempts/{view['id']}/result").status_code == 404


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)
@pytest.mark.parametrize("paper_mode", ["shared", "drawn"])
def test_no_answer_leaves_the_server_during_an_open_round(
    login_as, app, province, mixed_bank, make_round, at_start, paper_mode
):
    round_id = make_round("monthly", paper_mode=paper_mode)
    client = login_as("amy")
    view = start(client, round_id)
    answer_all(app, client, view)
    responses = [
        client.get("/api/v1/rounds"),
        client.get(f"/api/v1/attempts/{view['id']}"),
        client.get(f"/attempts/{view['id']}"),
        client.get("/rounds"),
        client.get(f"/rounds/{round_id}"),
        client.get("/"),
        save(client, view["id"], view["questions"][0]["id"], None),
    ]
    for response in responses:
        text = response.get_data(as_text=True)
        assert "秘密" not in text and "correct_answer" not in text and '"correct"' not in text
        assert '"score"' not in text and "explanation" not in text
    data = json.loads(responses[1].get_data(as_text=True))
    assert set(data["questions"][0]) == {
        "id",
        "type",
        "type_label",
        "stem",
        "options",
        "blanks",
        "category",
        "difficulty",
        "position",
    }


# --- closing, extension ------------------------------------------------------------------------------------


def test_close_is_idempotent_and_ties_share_a_rank(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round("monthly")
    ids = {}
    for name in ("amy", "ann"):
        client = login_as(name)
        view = start(client, round_id)
        ids[name] = view["id"]
        client.post(f"/api/v1/attempts/{view['id']}/submit")  # both empty, same instant, same time used
    with app.app_context():
        first = rounds.close_round(round_id, now=START + timedelta(days=3))
        db.session.commit()
        snapshot = [
            (a.id, a.percent, a.rank_in_round, a.rank_in_unit, a.graded_at)
            for a in db.session.scalars(select(Attempt).order_by(Attempt.id))
        ]
        second = rounds.close_round(round_id, now=START + timedelta(days=4))
        db.session.commit()
        again = [
            (a.id, a.percent, a.rank_in_round, a.rank_in_unit, a.graded_at)
            for a in db.session.scalars(select(Attempt).order_by(Attempt.id))
        ]
    assert first["closed"] and not second["closed"] and snapshot == again
    assert [row[2] for row in snapshot] == [1, 1]


def test_close_auto_submits_and_waits_for_an_extended_attempt(
    login_as, app, province, mixed_bank, make_round, frozen_clock
):
    frozen_clock.set(START)
    round_id = make_round("monthly", closes=START + timedelta(minutes=10))
    amy, ann = login_as("amy"), login_as("ann")
    amy_view, ann_view = start(amy, round_id), start(ann, round_id)
    with app.app_context():
        rounds.extend_attempt(round_id, "ann", 15, actor_id=None, now=START + timedelta(minutes=5))
        db.session.commit()
    frozen_clock.set(START + timedelta(minutes=12))
    assert (
        save(
            ann,
            ann_view["id"],
            ann_view["questions"][0]["id"],
            key_in_display(app, ann_view["id"], ann_view["questions"][0]["id"]),
        ).status_code
        == 200
    )
    with app.app_context():
        waiting = rounds.close_round(round_id, now=START + timedelta(minutes=12))
        db.session.commit()
        assert not waiting["closed"] and waiting["auto_submitted"] == 1
        assert db.session.get(Attempt, amy_view["id"]).status == AttemptStatus.AUTO_SUBMITTED
        done = rounds.close_round(round_id, now=START + timedelta(minutes=26))  # 10 + 15 min, + grace
        db.session.commit()
        assert done["closed"]
        assert db.session.get(Attempt, ann_view["id"]).correct_count == 1


# --- admin and CLI ----------------------------------------------------------------------------------------


def test_admin_creates_edits_previews_and_extends(login_as, app, province, mixed_bank, at_start):
    admin = login_as("root")
    page = admin.get("/admin/rounds/new?kind=weekly").get_data(as_text=True)
    assert "新建练习比赛" in page and 'value="P"' in page
    form = {
        "kind": "weekly",
        "title": "第10周 周周练",
        "opens_at": "2026-03-04T09:00",
        "closes_at": "2026-03-08T23:59",
        "targets": "A",
        "time_limit_minutes": "20",
        "attempts_allowed": "3",
        "pass_mark": "60",
        "show_answers": "after_attempt",
        "paper_mode": "shared",
        "grace_seconds": "30",
        "blueprint-0-qtype": "single",
        "blueprint-0-category": "",
        "blueprint-0-difficulty": "",
        "blueprint-0-count": "5",
        "blueprint-1-qtype": "judge",
        "blueprint-1-count": "3",
    }
    created = admin.post("/admin/rounds/new", data=form)
    assert created.status_code == 302
    round_id = int(created.location.rstrip("/").split("/")[-1])
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_.blueprint == [
            {"type": "single", "category": None, "difficulty": None, "count": 5},
            {"type": "judge", "category": None, "difficulty": None, "count": 3},
        ]
        assert round_.opens_at == datetime(2026, 3, 4, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    bad = admin.post("/admin/rounds/new", data=form | {"closes_at": "2026-03-01T00:00", "title": "坏"})
    assert "结束时间必须晚于开始时间" in bad.get_data(as_text=True)
    assert (
        admin.post(f"/admin/rounds/{round_id}/edit", data=form | {"title": "第10周（改）"}).status_code == 302
    )
    assert admin.post(f"/admin/rounds/{round_id}/paper").status_code == 302
    detail = admin.get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    assert (
        "第10周（改）" in detail and "答案：" in detail and "秘密" not in detail
    )  # key shown, not explanation

    amy = login_as("amy")
    view = start(amy, round_id)
    extended = admin.post(f"/admin/rounds/{round_id}/extend", data={"username": "amy", "minutes": "10"})
    assert extended.status_code == 302
    assert amy.get(f"/api/v1/attempts/{view['id']}").get_json()["remaining_seconds"] == 30 * 60
    missing = admin.post(
        f"/admin/rounds/{round_id}/extend", data={"username": "bob", "minutes": "10"}, follow_redirects=True
    )
    assert "没有正在进行的答卷" in missing.get_data(as_text=True)
    assert login_as("amy").get("/admin/rounds").status_code == 403


def test_round_cli(app, province, mixed_bank, runner, at_start):
    created = runner.invoke(
        args=[
            "round",
            "create",
            "--kind",
            "monthly",
            "--target",
            "A",
            "--opens",
            "2026-03-25T00:00",
            "--closes",
            "2026-03-31T23:59",
            "--paper-mode",
            "shared",
            "--json",
        ]
    )
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    assert data["kind"] == "monthly" and data["targets"] == ["A"] and data["questions"] == 50
    assert data["warnings"]  # the small test bank cannot fill a 50-question paper: said at once
    listed = json.loads(runner.invoke(args=["round", "list", "--json"]).output)
    assert [r["id"] for r in listed] == [data["id"]]
    shown = json.loads(runner.invoke(args=["round", "show", str(data["id"]), "--json"]).output)
    assert shown["attempts"] == 0 and shown["opens_at"] == "2026-03-24T16:00:00+00:00"
    bad = runner.invoke(args=["round", "create", "--kind", "weekly", "--target", "NOPE"])
    assert bad.exit_code == 1 and "NOPE" in bad.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 4


@pytest.mark.postgres
def test_bulk_work_gets_the_long_statement_timeout_and_requests_keep_the_short_one(app):
    """A request's statements stop after STATEMENT_TIMEOUT_SECONDS; closing a round or refreshing the
    rankings (millions of answers at province size) may run for BULK_STATEMENT_TIMEOUT_SECONDS."""
    from sqlalchemy import text

    from quizapp.database import bulk_work

    with app.app_context():
        assert db.session.scalar(text("SHOW statement_timeout")) == "30s"
        bulk_work()
        assert db.session.scalar(text("SHOW statement_timeout")) == "10min"
        assert db.session.scalar(text("SHOW work_mem")) == "64MB"
        db.session.commit()
        assert db.session.scalar(text("SHOW statement_timeout")) == "30s"  # SET LOCAL: this transaction only
