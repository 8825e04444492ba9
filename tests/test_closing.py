"""Issue 15: one close. The sweep, the admin's 结束 button and `quizapp round close` all call
``rounds.close_round``, which closes a round completely (grading, ranks, the official snapshot,
the bulletin, the item analysis, the audit entry) or not at all; rounds closed the old, partial way
are repaired by `quizapp round repair`."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quizapp import jobs
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AuditLog,
    Bulletin,
    ItemStat,
    RankingSnapshot,
    Round,
    RoundStatus,
    SnapshotRow,
)
from quizapp.services import rounds

from .test_jobs import T0, new_round

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
WHOLE_BANK = [{"type": None, "count": 30}]  # every question of mixed_bank: identical papers


def take_part(login_as, app, username: str, round_id: int, *, right: bool) -> None:
    """Answer every question the same way in every round: the key, or the first wrong option in
    the question's own order (each attempt shuffles the options, so display letters differ)."""
    from quizapp.models import PaperQuestion

    client = login_as(username)
    view = client.post(f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        attempt = db.session.get(Attempt, view["id"])
        for question in view["questions"]:
            version = db.session.scalar(
                select(PaperQuestion).where(
                    PaperQuestion.round_id == round_id, PaperQuestion.question_id == question["id"]
                )
            ).version
            key = version.answer
            if right:
                original = key
            elif version.type == "judge":
                original = not key
            elif version.type == "fill":
                original = [["错"] for _ in key]
            else:
                wrong = next(o["key"] for o in version.options if o["key"] not in key)
                original = wrong if version.type == "single" else [wrong]
            answer = rounds.to_display(attempt, version, original)
            if version.type == "fill":
                answer = [alternatives[0] for alternatives in answer]
            client.put(f"/api/v1/attempts/{view['id']}/answers/{question['id']}", json={"answer": answer})
    client.post(f"/api/v1/attempts/{view['id']}/submit")


def results_of(app, round_id: int) -> dict:
    """What a close writes, without the ids and stamps that differ between rounds."""
    with app.app_context():
        snapshot = db.session.scalar(
            select(RankingSnapshot).where(RankingSnapshot.round_id == round_id, RankingSnapshot.official)
        )
        rows = db.session.scalars(
            select(SnapshotRow).where(SnapshotRow.snapshot_id == snapshot.id).order_by(SnapshotRow.code)
        ).all()
        bulletin = db.session.scalar(select(Bulletin).where(Bulletin.round_id == round_id))
        stats = db.session.scalars(select(ItemStat).where(ItemStat.round_id == round_id)).all()
        attempts = db.session.scalars(
            select(Attempt).where(Attempt.round_id == round_id).order_by(Attempt.user_id)
        ).all()
        closes = db.session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.action == "round.close", AuditLog.target_id == str(round_id)
            )
        )
        return {
            "status": str(db.session.get(Round, round_id).status),
            "snapshot rows": [
                {k: v for k, v in vars(row).items() if k not in ("_sa_instance_state", "id", "snapshot_id")}
                for row in rows
            ],
            "bulletin": bulletin.content,
            "item stats": sorted(
                (s.question_id, s.attempts, s.answered, s.facility, s.discrimination, s.distribution, s.flags)
                for s in stats
            ),
            "attempts": [
                (a.user_id, a.percent, a.counted, a.rank_in_round, a.rank_in_unit) for a in attempts
            ],
            "audit entries": closes,
        }


def test_three_identical_rounds_closed_three_ways_have_equal_results(
    login_as, app, province, mixed_bank, frozen_clock, runner
):
    frozen_clock.set(T0)
    ids = [
        new_round(app, "exam", closes=T0 + timedelta(hours=2), blueprint=WHOLE_BANK, title=f"同卷{n}")
        for n in range(3)
    ]
    for round_id in ids:
        take_part(login_as, app, "amy", round_id, right=True)
        take_part(login_as, app, "bob", round_id, right=False)
    frozen_clock.set(T0 + timedelta(hours=3))
    by_admin, by_cli, by_sweep = ids
    admin = login_as("root")
    assert admin.post(f"/admin/rounds/{by_admin}/close").status_code == 302
    result = runner.invoke(args=["round", "close", str(by_cli)])
    assert result.exit_code == 0 and "通报" in result.output
    assert jobs.run_sweep(app, "close_rounds").counts == {"closed": 1, "waiting": 0}
    results = [results_of(app, round_id) for round_id in ids]
    assert results[0]["status"] == "closed" and results[0]["audit entries"] == 1
    assert results[0]["bulletin"]["failures"] and results[0]["item stats"]
    assert results[0] == results[1] == results[2]
    # Closing again, any way, changes nothing.
    assert admin.post(f"/admin/rounds/{by_sweep}/close").status_code == 302
    assert runner.invoke(args=["round", "close", str(by_admin)]).exit_code == 0
    assert jobs.run_sweep(app, "close_rounds").counts == {"closed": 0, "waiting": 0}
    assert [results_of(app, round_id) for round_id in ids] == results


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_admin_and_the_command_line_closing_one_round_at_once_close_it_once(
    login_as, app, province, mixed_bank, frozen_clock, backend
):
    frozen_clock.set(T0)
    round_id = new_round(app, "exam", closes=T0 + timedelta(hours=2), blueprint=WHOLE_BANK)
    for name in ("amy", "ann", "bob"):
        take_part(login_as, app, name, round_id, right=name != "bob")
    frozen_clock.set(T0 + timedelta(hours=3))
    admin = login_as("root")
    barrier, outcomes, errors = threading.Barrier(2), [], []

    def by_admin():
        barrier.wait()
        outcomes.append(admin.post(f"/admin/rounds/{round_id}/close").status_code)

    def by_service():
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(rounds.close_round(round_id, now=frozen_clock())["closed"])
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=by_admin), threading.Thread(target=by_service)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and 302 in outcomes
    result = results_of(app, round_id)
    assert result["status"] == "closed" and result["audit entries"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Bulletin.id))) == 1
        assert db.session.scalar(select(func.count(RankingSnapshot.id)).where(RankingSnapshot.official)) == 1
        assert db.session.scalar(select(func.count(ItemStat.id))) == 30


def test_rounds_closed_the_old_way_are_repaired_once(
    login_as, app, province, mixed_bank, frozen_clock, runner
):
    """The old admin close graded and ranked but wrote no snapshot, bulletin or item analysis."""
    frozen_clock.set(T0)
    broken = new_round(app, "exam", closes=T0 + timedelta(hours=2), blueprint=WHOLE_BANK, title="旧办法结束")
    whole = new_round(app, "exam", closes=T0 + timedelta(hours=2), blueprint=WHOLE_BANK, title="新办法结束")
    for round_id in (broken, whole):
        take_part(login_as, app, "amy", round_id, right=True)
        take_part(login_as, app, "bob", round_id, right=False)
    frozen_clock.set(T0 + timedelta(hours=3))
    with app.app_context():
        rounds.finish_overdue(now=frozen_clock(), round_id=broken)
        rounds.grade_attempts(Attempt.round_id == broken, now=frozen_clock())
        rounds.rank_round(broken)
        round_ = db.session.get(Round, broken)
        round_.status, round_.closed_at = RoundStatus.CLOSED, frozen_clock()
        db.session.commit()
    assert jobs.run_sweep(app, "close_rounds").counts == {"closed": 1, "waiting": 0}  # passes it by
    with app.app_context():
        assert db.session.scalar(select(Bulletin.id).where(Bulletin.round_id == broken)) is None
    result = runner.invoke(args=["round", "repair"])
    assert result.exit_code == 0 and f"#{broken}" in result.output and f"#{whole}" not in result.output
    repaired, reference = results_of(app, broken), results_of(app, whole)
    for part in ("snapshot rows", "bulletin", "item stats", "attempts"):
        assert repaired[part] == reference[part], part
    assert runner.invoke(args=["round", "repair"]).output.strip() == "无需补全"
