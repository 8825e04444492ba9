"""Item analysis against a hand-computed fixture."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    ItemStat,
    PaperQuestion,
    QuestionVersion,
)
from quizapp.services import analysis

from .conftest import closed_round

NOW = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)
# Four takers, three questions. Taker 4 left question 1 blank (no answer row: scores 0).
SCORES = {"single": [1, 1, 0, None], "judge": [0, 0, 1, 0], "multiple": [1, 0.5, 0, 1]}
RESPONSES = {
    "single": ["A", "A", "B", None],
    "judge": [False, False, True, False],
    "multiple": [["A", "C"], ["A"], ["B"], ["A", "C"]],
}


@pytest.fixture
def analysed(app, create_unit, create_user, create_question):
    window = create_unit("W1", "窗口")
    takers = [create_user(f"t{i}", unit=window) for i in range(4)]
    create_user("root", role="admin")
    question_ids = {qtype: create_question(qtype) for qtype in SCORES}  # keys: A · true · [A, C]
    with app.app_context():
        round_ = closed_round(
            title="分析样例", opens_at=NOW - timedelta(hours=2), closes_at=NOW - timedelta(hours=1)
        )
        db.session.add(round_)
        db.session.flush()
        versions = {}
        for position, (qtype, question_id) in enumerate(question_ids.items(), 1):
            versions[qtype] = db.session.scalar(
                select(QuestionVersion.id).where(QuestionVersion.question_id == question_id)
            )
            db.session.add(
                PaperQuestion(
                    round_id=round_.id,
                    position=position,
                    question_id=question_id,
                    question_version_id=versions[qtype],
                )
            )
        for index, taker in enumerate(takers):
            total = sum(SCORES[q][index] or 0 for q in SCORES)
            attempt = Attempt(
                round_id=round_.id,
                user_id=taker.id,
                unit_id=window.id,
                number=1,
                max_attempts=1,
                status=AttemptStatus.SUBMITTED,
                started_at=NOW,
                deadline_at=NOW,
                submitted_at=NOW,
                question_order=list(question_ids.values()),
                option_orders={},
                score=total,
                percent=100 * total / 3,
                correct_count=0,
                time_used_seconds=60,
                graded_at=NOW,
                counted=True,
            )
            db.session.add(attempt)
            db.session.flush()
            for qtype, question_id in question_ids.items():
                if SCORES[qtype][index] is not None:
                    db.session.add(
                        AttemptAnswer(
                            attempt_id=attempt.id,
                            question_id=question_id,
                            question_version_id=versions[qtype],
                            response=RESPONSES[qtype][index],
                            score=SCORES[qtype][index],
                            correct=SCORES[qtype][index] == 1,
                            saved_at=NOW,
                        )
                    )
        db.session.commit()
        assert analysis.analyse_round(round_.id, now=NOW) == 3
        db.session.commit()
        return round_.id, question_ids


def expected(qtype):
    x = [s or 0 for s in SCORES[qtype]]
    totals = [sum(SCORES[q][i] or 0 for q in SCORES) for i in range(4)]
    return statistics.mean(x), statistics.correlation(x, [t - v for t, v in zip(totals, x, strict=True)])


def test_facility_and_discrimination_match_hand_computation(app, analysed):
    round_id, question_ids = analysed
    with app.app_context():
        stats = {
            s.question_id: s
            for s in db.session.scalars(select(ItemStat).where(ItemStat.round_id == round_id))
        }
    for qtype, question_id in question_ids.items():
        facility, discrimination = expected(qtype)
        assert stats[question_id].facility == pytest.approx(facility)
        assert stats[question_id].discrimination == pytest.approx(discrimination)
    single, judge, multiple = (stats[question_ids[q]] for q in ("single", "judge", "multiple"))
    assert (single.answered, single.attempts) == (3, 4)
    assert judge.discrimination < 0 and "negative_discrimination" in judge.flags  # the strong got it wrong
    assert single.distribution == {"A": 2, "B": 1, "C": 0, "D": 0}
    assert judge.distribution == {"true": 1, "false": 3}
    assert multiple.distribution == {"A": 3, "B": 1, "C": 2, "D": 0}  # each chosen option counts


def test_analysis_page_flags_and_links_to_the_fix(login_as, app, analysed):
    round_id, question_ids = analysed
    admin = login_as("root")
    page = admin.get(f"/admin/rounds/{round_id}/analysis").get_data(as_text=True)
    assert "区分度为负（可能答案有误）" in page
    assert f"/admin/questions/{question_ids['judge']}" in page
    assert "<b>A: 2</b>" in page  # the key is marked in the distribution
