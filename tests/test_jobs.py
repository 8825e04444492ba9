"""The scheduler: each sweep's effect, idempotency, concurrency, catch-up, leadership, the run log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from quizapp import jobs
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptStatus,
    Bulletin,
    DailySet,
    DayRollup,
    JobRun,
    RankingSnapshot,
    Round,
    RoundStatus,
    RoundTemplate,
    SchedulerLease,
    SnapshotRow,
    UnitDayStat,
)
from quizapp.services import rounds

from .conftest import ROOT
from .test_rounds import key_in_display, settings, wrong_in_display

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
T0 = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai


@pytest.fixture
def clock_at(frozen_clock):
    frozen_clock.set(T0)
    return frozen_clock


def new_round(app, kind="monthly", **changes) -> int:
    with app.app_context():
        round_id = rounds.create_round(settings(kind, **changes), actor_id=None).id
        db.session.commit()
        return round_id


def sweep(app, name, leadership=None):
    return jobs.run_sweep(app, name, leadership)


def time_is_over(app, round_id: int) -> None:
    """The round closed a second ago (and so did its running attempts' time): what a wait for a
    close a few seconds ahead does, without the wait or the race with a busy machine."""
    over = datetime.now(UTC) - timedelta(seconds=1)
    with app.app_context():
        db.session.get(Round, round_id).closes_at = over
        db.session.execute(
            update(Attempt)
            .where(Attempt.round_id == round_id, Attempt.deadline_at > over)
            .values(deadline_at=over)
        )
        db.session.commit()


def take_part(login_as, app, username, round_id, *, right=True):
    """Start, answer everything (right or wrong) and submit, through the API."""
    client = login_as(username)
    view = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
    for question in view["questions"]:
        answer = (
            key_in_display(app, view["id"], question["id"])
            if right
            else wrong_in_display(app, view["id"], question)
        )
        client.put(f"/api/v1/attempts/{view['id']}/answers/{question['id']}", json={"answer": answer})
    client.post(f"/api/v1/attempts/{view['id']}/submit")
    return view["id"]


def finish_daily(client):
    for item in client.get("/api/v1/daily").get_json()["items"]:
        question = item["question"]
        answer = {"single": "A", "multiple": ["A"], "judge": "true", "fill": ["三十"] * question["blanks"]}
        response = client.post(
            "/api/v1/daily/answers", json={"question_id": question["id"], "answer": answer[question["type"]]}
        )
        assert response.status_code == 200


def state(app):
    with app.app_context():
        return {
            "rounds": [
                (r.id, str(r.status), r.closed_at)
                for r in db.session.scalars(select(Round).order_by(Round.id))
            ],
            "attempts": [
                (a.id, str(a.status), a.percent, a.rank_in_round, a.counted)
                for a in db.session.scalars(select(Attempt).order_by(Attempt.id))
            ],
            "snapshots": db.session.scalar(select(func.count(RankingSnapshot.id))),
            "rows": db.session.scalar(select(func.count(SnapshotRow.id))),
            "bulletins": db.session.scalar(select(func.count(Bulletin.id))),
            "rollups": db.session.scalar(select(func.count(DayRollup.day))),
            "unit_days": db.session.scalar(select(func.count(UnitDayStat.id))),
        }


# --- each sweep ------------------------------------------------------------------------------------


def test_open_rounds_draws_the_paper_and_reports_what_it_cannot(app, province, mixed_bank, clock_at):
    fine = new_round(app, opens=T0 - timedelta(minutes=1))
    short = new_round(app, opens=T0 - timedelta(minutes=1), blueprint=[{"type": "multiple", "count": 99}])
    later = new_round(app, opens=T0 + timedelta(hours=1))
    run = sweep(app, "open_rounds")
    assert run.outcome == "ok" and run.counts["opened"] == 1
    assert f"#{short}" in run.counts["problems"][0] and "题库不足" in run.counts["problems"][0]
    with app.app_context():
        status = {
            r.id: (str(r.status), r.paper_drawn_at is not None) for r in db.session.scalars(select(Round))
        }
    assert status == {fine: ("open", True), short: ("scheduled", False), later: ("scheduled", False)}
    assert sweep(app, "open_rounds").counts == {"opened": 0, "problems": run.counts["problems"]}


def test_finish_overdue_submits_attempts_left_behind(login_as, app, province, mixed_bank, clock_at):
    round_id = new_round(app, "weekly")
    client = login_as("amy")
    attempt_id = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()["id"]
    clock_at.advance(minutes=20, seconds=29)
    assert sweep(app, "finish_overdue").counts == {"auto_submitted": 0}  # still in the grace period
    clock_at.advance(seconds=2)
    assert sweep(app, "finish_overdue").counts == {"auto_submitted": 1}
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (
            attempt.status == AttemptStatus.AUTO_SUBMITTED and attempt.graded_at is not None
        )  # weekly: graded
        assert attempt.submitted_at == T0 + timedelta(minutes=20) and attempt.time_used_seconds == 1200


def test_close_rounds_grades_ranks_snapshots_and_bulletins(login_as, app, province, mixed_bank, clock_at):
    round_id = new_round(app, "exam", closes=T0 + timedelta(hours=2), pass_mark=60)
    take_part(login_as, app, "amy", round_id, right=True)
    take_part(login_as, app, "bob", round_id, right=False)
    clock_at.set(T0 + timedelta(hours=2, minutes=1))
    run = sweep(app, "close_rounds")
    assert run.counts == {"closed": 1, "waiting": 0}
    with app.app_context():
        attempts = {a.user.username: a for a in db.session.scalars(select(Attempt))}
        assert attempts["amy"].percent == 100.0 and attempts["amy"].rank_in_round == 1
        assert attempts["bob"].percent < 60 and attempts["bob"].rank_in_round == 2
        snapshot = db.session.scalar(select(RankingSnapshot).where(RankingSnapshot.official.is_(True)))
        assert snapshot.period_key == f"round:{round_id}"
        province_row = db.session.scalar(
            select(SnapshotRow).where(SnapshotRow.snapshot_id == snapshot.id, SnapshotRow.code == "P")
        )
        assert (province_row.headcount, province_row.participants, province_row.passed) == (3, 2, 1)
        bulletin = db.session.scalar(select(Bulletin))
        content = bulletin.content
        assert "缺考与不合格" in bulletin.title
        assert [p["username"] for g in content["non_participants"] for p in g["people"]] == ["ann"]
        assert [f["username"] for f in content["failures"]] == ["bob"]
        assert [s["username"] for s in content["top_staff"]] == ["amy", "bob"]
        assert {u["code"] for u in content["top_units"]} == {"A", "B"}


def test_plan_rounds_creates_each_period_once(app, province, mixed_bank, clock_at):
    with app.app_context():
        for kind in ("weekly", "monthly"):
            template = rounds.template_for(kind)
            template.enabled, template.target_codes = True, ["P"]
            template.blueprint = [{"type": "single", "count": 2}]
            db.session.add(template)
        db.session.commit()
    first = sweep(app, "plan_rounds")
    assert first.counts == {"created": 2}  # this week (open now) and next week (within 7 days)
    assert sweep(app, "plan_rounds").counts == {"created": 0}
    clock_at.set(datetime(2026, 3, 24, 2, 0, tzinfo=UTC))  # within a week of the monthly window
    assert sweep(app, "plan_rounds").counts == {"created": 3}  # this week, next week, March's monthly
    with app.app_context():
        planned = {r.plan_key: r for r in db.session.scalars(select(Round))}
        tz = app.config["TZINFO"]
        assert sorted(planned) == [
            "monthly:2026-03",
            "weekly:2026-W10",
            "weekly:2026-W11",
            "weekly:2026-W13",
            "weekly:2026-W14",
        ]
        monthly = planned["monthly:2026-03"]
        assert monthly.opens_at.astimezone(tz).strftime("%m-%d %H:%M") == "03-25 00:00"
        assert monthly.closes_at.astimezone(tz).strftime("%m-%d %H:%M") == "03-31 23:59"
        assert planned["weekly:2026-W10"].opens_at.astimezone(tz).strftime("%a %H:%M") == "Mon 00:00"


def test_roll_day_freezes_each_missed_day_once(login_as, app, province, mixed_bank, clock_at):
    client = login_as("amy")
    for _ in range(3):  # amy learns three days in a row
        finish_daily(client)
        clock_at.advance(days=1)
    run = sweep(app, "roll_day")
    # "folded": the past days of this month, into the live refresh's per-person totals (issue 24).
    assert run.counts == {"rolled": 3, "folded": 6}
    assert sweep(app, "roll_day").counts == {"rolled": 0, "folded": 0}
    with app.app_context():
        stats = db.session.execute(
            select(UnitDayStat.day, UnitDayStat.participants, UnitDayStat.headcount).order_by(UnitDayStat.day)
        ).all()
        assert len(stats) == 3 * 2  # three days × the two windows with staff
        assert [(r.day.isoformat(), r.participants, r.headcount) for r in stats if r.participants] == [
            ("2026-03-04", 1, 2),
            ("2026-03-05", 1, 2),
            ("2026-03-06", 1, 2),
        ]


def test_monthly_bulletin_on_the_first(login_as, app, province, mixed_bank, clock_at):
    client = login_as("amy")
    finish_daily(client)
    assert sweep(app, "monthly_bulletin").counts == {"built": 0}  # March is not over
    clock_at.set(datetime(2026, 3, 31, 16, 0, 1, tzinfo=UTC))  # 00:00:01 on 1 April in Shanghai
    assert sweep(app, "monthly_bulletin").counts == {"built": 1}
    assert sweep(app, "monthly_bulletin").counts == {"built": 0}
    with app.app_context():
        bulletin = db.session.scalar(select(Bulletin))
        assert bulletin.period_key == "month:2026-03" and "2026年3月" in bulletin.title
        absent = sorted(p["username"] for g in bulletin.content["non_participants"] for p in g["people"])
        assert absent == ["ann", "bob"] and bulletin.content["top_staff"][0]["username"] == "amy"


def test_refresh_rankings_writes_live_snapshots(app, province, mixed_bank, clock_at):
    new_round(app, opens=T0 - timedelta(hours=1))
    run = sweep(app, "refresh_rankings")
    assert run.counts == {"snapshots": 3}  # this week, this month, the open round
    with app.app_context():
        keys = set(db.session.scalars(select(RankingSnapshot.period_key)))
        assert {"week:2026-W10", "month:2026-03"} <= keys
    sweep(app, "refresh_rankings")
    with app.app_context():
        assert db.session.scalar(select(func.count(RankingSnapshot.id))) == 3  # replaced, not added


# --- idempotency, concurrency, catch-up --------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_sweep_twice_changes_nothing(login_as, app, province, mixed_bank, clock_at, backend):
    round_id = new_round(app, closes=T0 + timedelta(hours=1))
    take_part(login_as, app, "amy", round_id)
    client = login_as("bob")
    finish_daily(client)
    clock_at.advance(days=1)
    for name in jobs.SWEEPS:
        assert sweep(app, name).outcome == "ok"
    before = state(app)
    assert before["bulletins"] == 1 and before["rollups"] == 1
    for name in jobs.SWEEPS:
        if name != "refresh_rankings":  # the live refresh replaces its rows by design
            sweep(app, name)
    assert state(app) == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_threads_closing_at_once_close_once(login_as, app, province, mixed_bank, clock_at, backend):
    round_id = new_round(app, closes=T0 + timedelta(hours=1))
    for name in ("amy", "ann", "bob"):
        take_part(login_as, app, name, round_id)
    clock_at.advance(hours=2)
    barrier = threading.Barrier(2)
    runs = []

    def close():
        barrier.wait()
        runs.append(sweep(app, "close_rounds"))

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.counts["closed"] for r in runs) == [0, 1] and all(r.outcome == "ok" for r in runs)
    with app.app_context():
        assert db.session.scalar(select(func.count(Bulletin.id))) == 1
        assert db.session.scalar(select(func.count(RankingSnapshot.id)).where(RankingSnapshot.official)) == 1


@pytest.mark.postgres
def test_two_processes_closing_at_once_close_once_on_postgresql(
    login_as, app, app_config, province, mixed_bank
):
    now = datetime.now(UTC)
    round_id = new_round(app, opens=now - timedelta(hours=2), closes=now + timedelta(hours=1))
    for name in ("amy", "ann"):
        take_part(login_as, app, name, round_id)
    time_is_over(app, round_id)  # (a close 3 s ahead came before the second start under load)
    env = os.environ | {
        "QUIZAPP_DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "QUIZAPP_SECRET_KEY": "x",
        "QUIZAPP_INSTANCE_PATH": os.environ["QUIZAPP_INSTANCE_PATH"],
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "quizapp", "jobs", "run", "close_rounds"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    closed = sorted(json.loads(out.split("ok ", 1)[1])["closed"] for out in outputs)
    assert closed == [0, 1]
    with app.app_context():
        assert db.session.scalar(select(func.count(Bulletin.id))) == 1
        assert db.session.get(Round, round_id).status == RoundStatus.CLOSED


def test_catch_up_after_the_scheduler_was_down_across_a_close_and_midnight(
    login_as, app, province, mixed_bank, clock_at
):
    """The real scheduler starts after a downtime and reconciles everything at once."""
    round_id = new_round(app, closes=T0 + timedelta(hours=3))
    take_part(login_as, app, "amy", round_id)
    client = login_as("ann")
    client.post(f"/api/v1/rounds/{round_id}/attempts")  # ann starts and walks away
    finish_daily(client)
    clock_at.set(T0 + timedelta(days=1, hours=5))  # the scheduler was down meanwhile
    scheduler = jobs.build_scheduler(app, blocking=False)
    scheduler.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with app.app_context():
                if db.session.scalar(select(func.count(func.distinct(JobRun.job)))) == len(jobs.SWEEPS):
                    break
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
        scheduler.leadership.release()
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_.status == RoundStatus.CLOSED
        attempts = {a.user.username: a for a in db.session.scalars(select(Attempt))}
        assert attempts["ann"].status == AttemptStatus.AUTO_SUBMITTED and attempts["ann"].rank_in_round == 2
        assert attempts["amy"].rank_in_round == 1
        assert db.session.scalar(select(DayRollup.day)) == (T0 + timedelta(hours=8)).date()
        runs = db.session.scalars(select(JobRun)).all()
        assert {r.job for r in runs} == set(jobs.SWEEPS) and all(r.outcome == "ok" for r in runs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_scheduler_processes_started_after_a_missed_close_do_the_work_exactly_once(
    login_as, app, app_config, province, mixed_bank, figures, backend
):
    """No scheduler ran across the close; then two `quizapp scheduler` processes start at once (a
    standby beside the leader, or a careless second deployment). The leader catches up on its first
    runs; the other acts on nothing; every sweep is logged once, by one host."""
    closes = datetime.now(UTC) + timedelta(hours=1)
    round_id = new_round(app, opens=closes - timedelta(hours=2), closes=closes, grace_seconds=0)
    client = login_as("ann")
    started = client.post(f"/api/v1/rounds/{round_id}/attempts")  # ann starts and walks away
    assert started.status_code == 201, started.get_json()
    take_part(login_as, app, "amy", round_id)
    time_is_over(app, round_id)
    with app.app_context():
        assert db.session.get(Round, round_id).status != RoundStatus.CLOSED  # nobody closed it yet
    env = os.environ | {
        "QUIZAPP_DATABASE_URL": app_config["SQLALCHEMY_DATABASE_URI"],
        "QUIZAPP_SECRET_KEY": "x",
    }
    schedulers = [
        subprocess.Popen(
            [sys.executable, "-m", "quizapp", "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 90
        finished = 0
        while finished < len(jobs.SWEEPS) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in schedulers)
            time.sleep(0.5)
            with app.app_context():
                finished = db.session.scalar(select(func.count(JobRun.id)).where(JobRun.outcome != "running"))
        time.sleep(3)  # both have passed their first round of runs (one a second at start)
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGINT)  # Ctrl+C: stops and gives up the leadership
        outputs = [process.communicate(timeout=30)[0] for process in schedulers]
    assert all("定时任务已启动" in output for output in outputs), outputs
    with app.app_context():
        runs = db.session.scalars(select(JobRun)).all()
        assert sorted(r.job for r in runs) == sorted(jobs.SWEEPS), [(r.job, r.host) for r in runs]
        assert all(r.outcome == "ok" for r in runs), [r.error for r in runs if r.outcome != "ok"]
        assert len({r.host for r in runs}) == 1
        assert next(r for r in runs if r.job == "close_rounds").counts == {"closed": 1, "waiting": 0}
        round_ = db.session.get(Round, round_id)
        assert round_.status == RoundStatus.CLOSED
        attempts = {a.user.username: a for a in db.session.scalars(select(Attempt))}
        assert attempts["ann"].status == AttemptStatus.AUTO_SUBMITTED
        assert (attempts["amy"].rank_in_round, attempts["ann"].rank_in_round) == (1, 2)
        official = select(func.count(RankingSnapshot.id)).where(RankingSnapshot.official.is_(True))
        assert db.session.scalar(official) == 1
        keys = list(db.session.scalars(select(Bulletin.period_key)))
        assert keys.count(f"round:{round_id}") == 1 and len(keys) == len(set(keys))
        assert db.session.scalar(select(func.count(SchedulerLease.name))) == 0  # released on Ctrl+C
    figures.count("jobs: two scheduler processes after a missed close", "sweeps run", len(runs))
    figures.count("jobs: two scheduler processes after a missed close", "rounds closed", 1)
    figures.count(
        "jobs: two scheduler processes after a missed close", "duplicate runs", len(runs) - len(jobs.SWEEPS)
    )


# --- leadership -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_leader_and_a_hand_over(app, clock_at, backend):
    first, second = jobs.Leadership(app, "first"), jobs.Leadership(app, "second")
    try:
        assert first.is_leader(clock_at()) and not second.is_leader(clock_at())
        assert first.is_leader(clock_at())  # renewing
        assert sweep(app, "roll_day", second) is None  # the follower does nothing, logs nothing
        if backend == "postgresql":
            first._connection.invalidate()  # the leader's process dies: the server drops its lock
            first._connection = None
        clock_at.advance(seconds=jobs.LEASE_SECONDS + 1)  # …and stops renewing its lease
        # The server ends the dead session (and frees its lock) a moment later: the follower, like a
        # real one at its next sweep, simply tries again.
        deadline = time.monotonic() + 10
        while not second.is_leader(clock_at()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second.is_leader(clock_at())
        assert sweep(app, "roll_day", second).outcome == "ok"
        if backend == "sqlite":
            assert not first.is_leader(clock_at())  # it does not take the lead back while second renews
    finally:
        first.release()
        second.release()
    with app.app_context():
        assert [run.host for run in db.session.scalars(select(JobRun))] == ["second"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_schedulers_running_the_same_sweep_at_once_act_once(app, clock_at, backend):
    leaders = [jobs.Leadership(app, f"scheduler-{n}") for n in range(2)]
    barrier = threading.Barrier(2)
    results = []

    def run(leadership):
        barrier.wait()
        results.append(sweep(app, "plan_rounds", leadership))

    threads = [threading.Thread(target=run, args=(leader,)) for leader in leaders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for leader in leaders:
        leader.release()
    assert sum(result is not None for result in results) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(JobRun.id))) == 1


# --- failures and the log ---------------------------------------------------------------------------


def test_a_sweep_that_raises_is_logged_and_the_others_go_on(app, clock_at, monkeypatch):
    def broken(now):
        raise RuntimeError("database on fire")

    monkeypatch.setitem(jobs.SWEEPS, "roll_day", replace(jobs.SWEEPS["roll_day"], function=broken))
    failed = sweep(app, "roll_day")
    assert failed.outcome == "error" and "database on fire" in failed.error and failed.finished_at
    assert sweep(app, "close_rounds").outcome == "ok"


def test_run_log_page_cli_and_run_now(login_as, app, province, clock_at, runner):
    sweep(app, "plan_rounds")
    listing = json.loads(runner.invoke(args=["jobs", "list", "--json"]).output)
    assert {job["job"] for job in listing} == set(jobs.SWEEPS)
    plan = next(job for job in listing if job["job"] == "plan_rounds")
    assert plan["last_outcome"] == "ok" and plan["next_run"] > plan["last_run"]
    result = runner.invoke(args=["jobs", "run", "roll_day"])
    assert result.exit_code == 0 and "roll_day: ok" in result.output
    admin = login_as("root")
    page = admin.get("/admin/jobs").get_data(as_text=True)
    assert "结束到期轮次" in page and "plan_rounds" in page and "正常" in page
    assert admin.post("/admin/jobs/close_rounds/run").status_code == 302
    staff = login_as("amy")
    assert staff.get("/admin/jobs").status_code == 403
    assert staff.post("/admin/jobs/close_rounds/run").status_code == 403


def test_schedule_template_page(login_as, app, province, clock_at):
    admin = login_as("root")
    page = admin.get("/admin/schedule/weekly").get_data(as_text=True)
    assert "周周练排期模板" in page
    form = {
        "enabled": "y",
        "open_day": "0",
        "open_time": "08:00",
        "close_day": "5",
        "close_time": "18:00",
        "plan_ahead_days": "3",
        "targets": "A",
        "time_limit_minutes": "15",
        "attempts_allowed": "2",
        "pass_mark": "60",
        "show_answers": "after_attempt",
        "paper_mode": "shared",
        "grace_seconds": "30",
        "blueprint-0-qtype": "judge",
        "blueprint-0-count": "10",
    }
    assert admin.post("/admin/schedule/weekly", data=form).status_code == 302
    bad = admin.post("/admin/schedule/weekly", data=form | {"targets": "NOPE"})
    assert "NOPE" in bad.get_data(as_text=True)
    with app.app_context():
        template = db.session.scalar(select(RoundTemplate))
        assert (template.enabled, template.open_time, template.close_day, template.target_codes) == (
            True,
            "08:00",
            5,
            ["A"],
        )
        assert template.blueprint == [{"type": "judge", "category": None, "difficulty": None, "count": 10}]
    assert admin.get("/admin/schedule/daily").status_code == 404


def test_create_app_never_starts_the_scheduler(app):
    assert not any(t.name.startswith("APScheduler") for t in threading.enumerate())


def test_daily_sets_untouched_by_sweeps(login_as, app, province, mixed_bank, clock_at):
    """A guard: sweeps read learning data, they never rewrite it."""
    client = login_as("amy")
    client.get("/api/v1/daily")
    with app.app_context():
        before = [(d.id, d.answered_count, d.finished_at) for d in db.session.scalars(select(DailySet))]
    for name in jobs.SWEEPS:
        sweep(app, name)
    with app.app_context():
        assert [
            (d.id, d.answered_count, d.finished_at) for d in db.session.scalars(select(DailySet))
        ] == before
