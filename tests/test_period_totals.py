"""Issue 24: the live refresh reads per-person period totals (folded by the day roll-over, restated
by closes, integrity decisions and late practice answers) and equals the full recompute from every
fact — on random histories (random people, units, days, answers, battles, rounds, holds), at every
step of the scheduler's life: folds held back by a running attempt, closes that hold attempts of
days already folded, a practice question answered days after it was served, reviewers' decisions,
a new week and a new month. Rolling over twice, closing twice and the repair change nothing."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import (
    Ability,
    Attempt,
    AttemptAnswer,
    Battle,
    BattlePlayer,
    Category,
    DailySet,
    IntegrityReview,
    LearningItem,
    PaperQuestion,
    PersonPeriodAbility,
    PersonPeriodTotal,
    PointsEntry,
    Question,
    QuestionVersion,
    ReviewStatus,
    Role,
    Round,
    RoundTarget,
    RoundUnitAbility,
    RoundUnitTotal,
    Source,
    TotalsDay,
    User,
)
from quizapp.services import period_totals, practice, rankings, rounds, rules, sweeps
from quizapp.services.integrity import review
from quizapp.services.periods import month_period, week_period

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
FIRST, LAST = date(2026, 2, 24), date(2026, 4, 3)  # facts on every day of this span


def at(day: date, hour: float, tz) -> datetime:
    """A UTC instant ``hour`` hours into the business day."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC) + timedelta(hours=hour)


def build_history(app, rng: random.Random) -> dict:
    """Units, people, a small bank and a random history of facts on every day from FIRST to LAST."""
    tz = app.config["TZINFO"]
    from quizapp.services import org

    units = [org.create_unit("P", "省")]
    for c in range(2):
        units.append(org.create_unit(f"C{c}", f"市{c}", "P"))
        for w in range(2):
            units.append(org.create_unit(f"W{c}{w}", f"窗口{c}{w}", f"C{c}"))
    db.session.flush()
    people = []
    for n in range(14):
        role = Role.UNIT_ADMIN if n == 0 else Role.STAFF
        user = User(
            username=f"u{n}",
            name=f"人{n}",
            password_hash="x",
            role=role,
            unit_id=rng.choice(units).id,
            active=n != 13,  # one account deactivated: its facts count for nobody
            must_change_password=False,
        )
        db.session.add(user)
        people.append(user)
    admin = User(username="admin", name="管理员", password_hash="x", role=Role.ADMIN, unit_id=None)
    db.session.add(admin)
    source = Source(code="pt_source", title="来源", body="原文")
    db.session.add(source)
    db.session.flush()
    abilities = list(db.session.scalars(select(Ability.id)))
    category = db.session.scalar(select(Category.id).limit(1))
    versions = []
    for n in range(12):
        question = Question(status="active")
        db.session.add(question)
        db.session.flush()
        version = QuestionVersion(
            question_id=question.id,
            number=1,
            is_current=True,
            type="single",
            stem=f"第{n}题：以下哪项正确？",
            options=[{"key": k, "text": f"选项{k}{n}"} for k in "ABCD"],
            answer="A",
            explanation="解析",
            category_id=category,
            ability_id=abilities[n % len(abilities)],
            difficulty=1,
            source_id=source.id,
            locator="第一条",
            quote="原文",
            content_hash=f"pt{n}",
        )
        db.session.add(version)
        versions.append(version)
    db.session.flush()
    paper, learning = versions[:4], versions[4:]

    def new_round(title: str, opens: date, closes: date) -> Round:
        round_ = Round(
            kind="weekly",
            title=title,
            status="open",
            opens_at=at(opens, 0, tz),
            closes_at=at(closes, 23.9, tz),
            time_limit_seconds=1200,
            attempts_allowed=3,
            pass_mark=60,
            show_answers="after_close",
            grace_seconds=30,
            paper_drawn_at=at(opens, 0, tz),
            blueprint=[{"type": None, "count": len(paper)}],
        )
        db.session.add(round_)
        db.session.flush()
        db.session.add(RoundTarget(round_id=round_.id, unit_id=units[0].id))
        for position, version in enumerate(paper, 1):
            db.session.add(
                PaperQuestion(
                    round_id=round_.id,
                    position=position,
                    question_id=version.question_id,
                    question_version_id=version.id,
                )
            )
        return round_

    spans = [
        (FIRST, date(2026, 2, 27)),
        (date(2026, 3, 2), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 17)),
    ]
    spans.append((date(2026, 3, 16), date(2026, 4, 25)))  # still open at the end
    round_list = [new_round(f"第{n}轮", *span) for n, span in enumerate(spans)]
    state = {"units": units, "people": people, "admin": admin, "rounds": round_list, "practice": []}

    day = FIRST
    while day <= LAST:
        for person in people:
            if rng.random() < 0.6:  # 日日学
                answered = rng.randint(1, 3)
                finished = answered == 3 and rng.random() < 0.9
                right = rng.randint(0, answered)
                held = finished and rng.random() < 0.15
                daily_set = DailySet(
                    user_id=person.id,
                    day=day,
                    size=3,
                    answered_count=answered,
                    correct_count=right,
                    created_at=at(day, 9, tz),
                    finished_at=at(day, 9.5, tz) if finished else None,
                    held=held,
                )
                db.session.add(daily_set)
                db.session.flush()
                for position in range(1, 4):
                    version = rng.choice(learning)
                    db.session.add(
                        LearningItem(
                            user_id=person.id,
                            kind="daily",
                            daily_set_id=daily_set.id,
                            position=position,
                            reason="new",
                            question_id=version.question_id,
                            question_version_id=version.id,
                            day=day,
                            served_at=at(day, 9, tz),
                            answered_at=at(day, 9.2, tz) if position <= answered else None,
                            correct=position <= right if position <= answered else None,
                            score=float(position <= right) if position <= answered else None,
                        )
                    )
                if right and not held:
                    db.session.add(
                        PointsEntry(
                            user_id=person.id,
                            rule="daily_correct",
                            amount=right,
                            source_id=daily_set.id,
                            day=day,
                            created_at=at(day, 9.5, tz),
                        )
                    )
                if held:
                    db.session.add(
                        IntegrityReview(
                            daily_set_id=daily_set.id,
                            user_id=person.id,
                            unit_id=person.unit_id,
                            day=day,
                            score=80,
                            signals=[],
                            status=ReviewStatus.HELD,
                        )
                    )
            if rng.random() < 0.3:  # 专项练习: some left unanswered, to be answered days later
                version = rng.choice(learning)
                answered = rng.random() < 0.6
                item = LearningItem(
                    user_id=person.id,
                    kind="practice",
                    reason="new",
                    question_id=version.question_id,
                    question_version_id=version.id,
                    day=day,
                    served_at=at(day, 20, tz),
                    answered_at=at(day, 20.1, tz) if answered else None,
                    correct=rng.random() < 0.5 if answered else None,
                )
                db.session.add(item)
                if not answered:
                    db.session.flush()
                    state["practice"].append(item.id)
            for round_ in round_list:  # attempts, submitted on this day
                opens = clock.business_date(round_.opens_at, tz)
                closes = clock.business_date(round_.closes_at, tz)
                if opens <= day <= closes and rng.random() < 0.15:
                    number = 1 + (
                        db.session.scalar(
                            select(Attempt.number)
                            .where(Attempt.round_id == round_.id, Attempt.user_id == person.id)
                            .order_by(Attempt.number.desc())
                            .limit(1)
                        )
                        or 0
                    )
                    if number > 3:
                        continue
                    submitted = at(day, 15, tz)
                    attempt = Attempt(
                        round_id=round_.id,
                        user_id=person.id,
                        unit_id=rng.choice(units).id,  # the unit at the start: it may differ from now
                        number=number,
                        max_attempts=3,
                        status="submitted",
                        started_at=submitted - timedelta(minutes=10),
                        deadline_at=submitted + timedelta(minutes=10),
                        submitted_at=submitted,
                        question_order=[v.question_id for v in paper],
                        option_orders={},
                        counted=False,
                        held=rng.random() < 0.1,
                    )
                    attempt.integrity_score = 80 if attempt.held else 0  # assessed at its submit
                    db.session.add(attempt)
                    db.session.flush()
                    for version in paper:
                        right = rng.random() < 0.6
                        db.session.add(
                            AttemptAnswer(
                                attempt_id=attempt.id,
                                question_id=version.question_id,
                                question_version_id=version.id,
                                response="A" if right else "B",
                                score=1.0 if right else 0.0,
                                correct=right,
                                saved_at=submitted,
                                first_saved_at=submitted,
                                revision=1,
                            )
                        )
                    if attempt.held:
                        db.session.add(
                            IntegrityReview(
                                attempt_id=attempt.id,
                                user_id=person.id,
                                unit_id=attempt.unit_id,
                                round_id=round_.id,
                                score=80,
                                signals=[],
                                status=ReviewStatus.HELD,
                            )
                        )
        if rng.random() < 0.7:  # 对战
            players = rng.sample(people, 2)
            battle = Battle(
                mode="duel",
                status="finished",
                question_version_ids=[v.id for v in learning[:3]],
                started_at=at(day, 12, tz),
                finished_at=at(day, 12.1, tz),
            )
            db.session.add(battle)
            db.session.flush()
            for seat, player in enumerate(players):
                db.session.add(
                    BattlePlayer(
                        battle_id=battle.id,
                        seat=seat,
                        user_id=player.id,
                        unit_id=player.unit_id,
                        held=rng.random() < 0.2,
                        forfeited_at=at(day, 12.05, tz) if rng.random() < 0.2 else None,
                        outcome="win" if seat == 0 else "loss",
                    )
                )
        day += timedelta(days=1)
    # One attempt still running past its deadline: the days from its deadline on wait for it.
    late = Attempt(
        round_id=round_list[2].id,
        user_id=people[1].id,
        unit_id=people[1].unit_id,
        number=9,
        max_attempts=9,
        status="in_progress",
        started_at=at(date(2026, 3, 10), 10, tz),
        deadline_at=at(date(2026, 3, 10), 10.3, tz),
        question_order=[v.question_id for v in paper],
        option_orders={},
        counted=False,
    )
    db.session.add(late)
    db.session.commit()
    return {key: value if key != "people" else [p.id for p in value] for key, value in state.items()} | {
        "units": [u.id for u in units],
        "admin": admin.id,
        "rounds": [r.id for r in round_list],
        "late_attempt": late.id,
    }


def _clean(totals: dict) -> dict:
    """Totals without the units that have nothing, floats rounded (sums in another order)."""
    cleaned = {}
    for key, units in totals.items():
        cleaned[key] = {}
        for unit_id, values in units.items():
            row = {
                k: round(v, 6) if isinstance(v, float) else v for k, v in values.items() if k != "abilities"
            }
            row["abilities"] = {a: [n, round(r, 6)] for a, (n, r) in values["abilities"].items()}
            if any(row[k] for k in rankings.TOTALS) or row["abilities"]:
                cleaned[key][unit_id] = row
    return cleaned


def assert_live_equals_full(app, now: datetime) -> dict:
    tz = app.config["TZINFO"]
    today = clock.business_date(now, tz)
    periods = [week_period(today), month_period(today)]
    full = _clean(rankings._calendar_totals(periods, tz))
    live = _clean(period_totals.live_calendar_totals(periods, tz, now=now))
    differences = {
        (key, unit): {
            name: (value, (full[key].get(unit) or {}).get(name))
            for name, value in (live[key].get(unit) or {}).items()
            if value != (full[key].get(unit) or {}).get(name)
        }
        for key in full
        for unit in set(full[key]) | set(live[key])
        if live[key].get(unit) != full[key].get(unit)
    }
    assert not differences, differences
    assert any(full[p.key] for p in periods)  # the comparison compares something
    return live


def stored() -> dict:
    """Every row the totals keep, to show that a second run changes nothing."""
    return {
        model.__tablename__: sorted(
            tuple(round(v, 6) if isinstance(v, float) else v for v in row)
            for row in db.session.execute(select(*model.__table__.columns)).all()
        )
        for model in (PersonPeriodTotal, PersonPeriodAbility, RoundUnitTotal, RoundUnitAbility)
    } | {"days": sorted(db.session.scalars(select(TotalsDay.day)))}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [1, 2])
def test_live_refresh_equals_the_full_recompute(app, backend, seed):
    rng = random.Random(seed)
    tz = app.config["TZINFO"]
    with app.app_context():
        history = build_history(app, rng)
        now = at(date(2026, 3, 19), 10, tz)  # a Thursday: the week began on Monday the 16th

        # Nothing folded yet: everything is read from the facts.
        assert_live_equals_full(app, now)

        # The roll-over folds the month's past days, but stops at the 10th: an attempt is still
        # running past a deadline on that day (its auto-submit will be dated then).
        outcome = sweeps.roll_days(now)
        db.session.commit()
        assert outcome["folded"] == 9
        assert max(db.session.scalars(select(TotalsDay.day))) == date(2026, 3, 9)
        assert db.session.scalar(select(PersonPeriodTotal.user_id).limit(1)) is not None
        assert_live_equals_full(app, now)

        # Closing the rounds: the third one auto-submits the running attempt (on the 10th) and its
        # signals hold attempts submitted on days already folded.
        for round_id in history["rounds"][:3]:
            if round_id == history["rounds"][1]:
                for attempt in db.session.scalars(select(Attempt).where(Attempt.round_id == round_id)):
                    if not attempt.held and rng.random() < 0.3:
                        attempt.held = True  # as the close's same-answers check would
            assert rounds.close_round(round_id, now=now)["closed"]
            db.session.commit()
            assert_live_equals_full(app, now)
        assert db.session.get(Attempt, history["late_attempt"]).submitted_at is not None

        # Now the rest of the past days fold; a second roll-over adds nothing.
        assert sweeps.roll_days(now)["folded"] == 9
        db.session.commit()
        assert_live_equals_full(app, now)
        before = stored()
        assert sweeps.roll_days(now)["folded"] == 0
        assert period_totals.fold_day(date(2026, 3, 12), today=date(2026, 3, 19), now=now) is False
        db.session.commit()
        assert stored() == before

        # Closing again and restating a round twice change nothing.
        assert not rounds.close_round(history["rounds"][1], now=now)["closed"]
        period_totals.restate_round(history["rounds"][1], now=now)
        period_totals.restate_round(history["rounds"][1], now=now)
        db.session.commit()
        assert stored() == before

        # Practice questions served on days already folded, answered now.
        learning_rules = rules.current()
        for item_id in history["practice"][:6]:
            item = db.session.get(LearningItem, item_id)
            if date(2026, 3, 1) <= item.day < date(2026, 3, 19):
                practice.answer_item(item.user_id, item.id, rng.choice("AB"), now=now, rules=learning_rules)
        db.session.commit()
        assert_live_equals_full(app, now)

        # Reviewers clear or void held days and attempts (of folded days and of closed rounds).
        admin = db.session.get(User, history["admin"])
        held = db.session.scalars(
            select(IntegrityReview.id)
            .where(IntegrityReview.status == ReviewStatus.HELD)
            .order_by(IntegrityReview.id)
        ).all()
        for review_id in rng.sample(held, min(8, len(held))):
            review.decide(
                admin, review_id, rng.choice(["clear", "void"]), "核实", now=now, rules=learning_rules
            )
            db.session.commit()
            assert_live_equals_full(app, now)

        # The repair recomputes every row from the facts: the same rows.
        before = stored()
        period_totals.rebuild(now=now)
        db.session.commit()
        assert stored() == before

        # With 对战 counted as the monthly contest.
        app.config["BATTLE_IN_MONTHLY"] = True
        assert_live_equals_full(app, now)
        app.config["BATTLE_IN_MONTHLY"] = False

        # Next day, a new week that spans two months, and a new month.
        for day in (date(2026, 3, 20), date(2026, 3, 31), date(2026, 4, 2)):
            later = at(day, 1, tz)
            sweeps.roll_days(later)
            db.session.commit()
            live = assert_live_equals_full(app, later)
        assert set(live) == {"week:2026-W14", "month:2026-04"}
        keys = set(db.session.scalars(select(PersonPeriodTotal.period_key)))
        assert keys == {"week:2026-W14", "month:2026-04"}  # the ended periods' rows are gone
        assert min(db.session.scalars(select(TotalsDay.day))) == date(2026, 3, 30)


@pytest.mark.parametrize("backend", BACKENDS)
def test_refresh_writes_the_same_snapshot_as_the_full_recompute(app, backend):
    """The scheduler's refresh from the totals and from every fact write the same snapshot rows."""
    tz = app.config["TZINFO"]
    with app.app_context():
        build_history(app, random.Random(3))
        now = at(date(2026, 3, 19), 10, tz)
        sweeps.roll_days(now)
        db.session.commit()
        from quizapp.models import RankingSnapshot, SnapshotRow

        def rows():
            return sorted(
                (
                    key,
                    unit_id,
                    headcount,
                    participants,
                    person_times,
                    points,
                    stars,
                    round(score_sum, 6),
                    score_count,
                )
                for key, unit_id, headcount, participants, person_times, points, stars, score_sum, score_count in db.session.execute(
                    select(
                        RankingSnapshot.period_key,
                        SnapshotRow.unit_id,
                        SnapshotRow.headcount,
                        SnapshotRow.participants,
                        SnapshotRow.person_times,
                        SnapshotRow.points,
                        SnapshotRow.stars,
                        SnapshotRow.score_sum,
                        SnapshotRow.score_count,
                    ).join(RankingSnapshot, RankingSnapshot.id == SnapshotRow.snapshot_id)
                )
            )

        rankings.refresh_live(now, full=True)
        full = rows()
        rankings.refresh_live(now)
        assert rows() == full
        assert any(row[3] for row in full)
