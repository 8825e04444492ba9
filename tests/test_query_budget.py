"""Query budgets (issue 8.4): the number of SQL statements a page runs does not depend on how much
data there is. Every budgeted page is counted in a small world, then again after the world has
grown several times over (units, staff, questions, rounds, attempts and answers, 日日学 history,
mistakes, points, error reports, audit rows, job runs, bulletins): an N+1 anywhere shows as a
difference. A page's second request is the one counted (the first may compute a snapshot once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from quizapp import jobs
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AuditLog,
    Bulletin,
    DailySet,
    MarkKind,
    MistakeEntry,
    PointsEntry,
    Question,
    QuestionMark,
    Role,
    Round,
    User,
)
from quizapp.services import accounts, audit, error_reports, org, rounds, sweeps

from .conftest import PASSWORD, ROUND_CATEGORIES

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
NOW = datetime(2026, 3, 18, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai; the clock stays here
PASSWORD_HASH = generate_password_hash(PASSWORD)  # hashed once: the world has hundreds of people
BLUEPRINT = [
    {"type": "single", "count": 4},
    {"type": "multiple", "count": 2},
    {"type": "judge", "count": 2},
    {"type": "fill", "count": 2},
]
ANY_ANSWER = {"single": "A", "multiple": ["A"], "judge": "true"}


def a_round(kind: str, title: str, *, opens: datetime, closes: datetime) -> rounds.RoundSettings:
    return rounds.RoundSettings(
        kind=kind,
        title=title,
        opens_at=opens,
        closes_at=closes,
        target_codes=["P"],
        time_limit_minutes=20,
        attempts_allowed=3 if kind == "weekly" else 1,
        pass_mark=60,
        show_answers="after_attempt" if kind == "weekly" else "after_close",
        grace_seconds=30,
        blueprint=BLUEPRINT,
    )


def answer_for(question: dict):
    return ANY_ANSWER.get(question["type"]) or ["三十"] * question["blanks"]


def add_people(prefix: str, cities: int, windows: int, staff: int) -> list[int]:
    """``cities`` cities under P, each with ``windows`` windows of ``staff`` people and a unit admin."""
    ids = []
    for c in range(cities):
        city = org.create_unit(f"{prefix}{c}", f"{prefix}市{c}", "P")
        admin = accounts.create_user(
            f"{prefix}{c}adm",
            f"{prefix}管理{c}",
            "",
            role=Role.UNIT_ADMIN,
            unit_code=city.code,
            must_change_password=False,
            password_hash=PASSWORD_HASH,
        )
        ids.append(admin.id)
        for w in range(windows):
            window = org.create_unit(f"{prefix}{c}W{w}", f"{prefix}窗口{c}-{w}", city.code)
            for s in range(staff):
                person = accounts.create_user(
                    f"{prefix}{c}w{w}s{s}",
                    f"{prefix}员工{c}{w}{s}",
                    "",
                    unit_code=window.code,
                    must_change_password=False,
                    password_hash=PASSWORD_HASH,
                    gender="男女"[s % 2],
                    birth_year=1970 + s,
                    job_section="社会保险经办",
                )
                ids.append(person.id)
    return ids


def take(round_id: int, user_ids: list[int], *, submit: bool) -> list[int]:
    """Each person starts the round, answers every question and (optionally) submits."""
    attempt_ids = []
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        attempt, _ = rounds.start_attempt(user, round_id, now=NOW)
        for question in rounds.attempt_view(attempt, now=NOW)["questions"]:
            rounds.save_answer(user, attempt.id, question["id"], answer_for(question), now=NOW)
        if submit:
            rounds.submit(user, attempt.id, now=NOW)
        attempt_ids.append(attempt.id)
    return attempt_ids


def closed_exam(title: str, user_ids: list[int]) -> int:
    """An exam taken by these people, then closed (graded, ranked, snapshot, bulletin)."""
    exam = rounds.create_round(
        a_round("exam", title, opens=NOW - timedelta(hours=1), closes=NOW + timedelta(minutes=30)),
        actor_id=None,
    )
    db.session.flush()
    take(exam.id, user_ids, submit=True)
    assert sweeps.close_due_rounds(NOW + timedelta(hours=1))["closed"] == 1
    return exam.id


def add_history(user_id: int, days: int, first_question: int) -> None:
    """Past 日日学 days with points, and mistakes (some due) — rows the learner's pages read."""
    today = NOW.date()
    question_ids = list(db.session.scalars(select(Question.id).order_by(Question.id)))[first_question:]
    db.session.execute(
        insert(DailySet),
        [
            {
                "user_id": user_id,
                "day": today - timedelta(days=back),
                "size": 10,
                "answered_count": 10,
                "correct_count": 8 + back % 3,
                "finished_at": NOW - timedelta(days=back),
            }
            for back in range(1, days + 1)
        ],
    )
    db.session.execute(
        insert(PointsEntry),
        [
            {
                "user_id": user_id,
                "rule": "daily_correct",
                "amount": 8,
                "source_id": 10000 + back,
                "day": today - timedelta(days=back),
            }
            for back in range(1, days + 1)
        ],
    )
    db.session.execute(
        insert(MistakeEntry),
        [
            {
                "user_id": user_id,
                "question_id": question_id,
                "origin": "daily",
                "due_at": NOW - timedelta(days=1) if n % 2 else NOW + timedelta(days=3),
            }
            for n, question_id in enumerate(question_ids[:days])
        ],
    )
    db.session.execute(  # 收藏: fifty starred questions for 我的收藏
        insert(QuestionMark),
        [
            {"user_id": user_id, "question_id": question_id, "kind": MarkKind.FAVOURITE, "created_at": NOW}
            for question_id in question_ids[:50]
        ],
    )
    db.session.execute(  # 背题模式: questions marked 已掌握
        insert(QuestionMark),
        [
            {"user_id": user_id, "question_id": question_id, "kind": MarkKind.MASTERED, "created_at": NOW}
            for question_id in question_ids[5:45:2]
        ],
    )


@pytest.fixture
def world(app, frozen_clock, create_question, mixed_bank):
    """P → A (A1: learner, two colleagues), B (B1: one person); padmin at P; root. A closed exam,
    an open weekly round the learner is half-way through, today's 日日学 started, a report, a job run."""
    frozen_clock.set(NOW)
    with app.app_context():
        org.create_unit("P", "示范省")
        for city, window in (("A", "A1"), ("B", "B1")):
            org.create_unit(city, f"{city}市", "P")
            org.create_unit(window, f"{window}窗口", city)
        people = {}
        for username, unit, role in [
            ("root", None, Role.ADMIN),
            ("padmin", "P", Role.UNIT_ADMIN),
            ("learner", "A1", Role.STAFF),
            ("amy", "A1", Role.STAFF),
            ("ann", "A1", Role.STAFF),
            ("bob", "B1", Role.STAFF),
        ]:
            people[username] = accounts.create_user(
                username,
                username,
                "",
                role=role,
                unit_code=unit,
                must_change_password=False,
                password_hash=PASSWORD_HASH,
            ).id
        exam_id = closed_exam("一月考试", [people["amy"], people["bob"]])
        weekly = rounds.create_round(
            a_round("weekly", "本周练习", opens=NOW - timedelta(days=2), closes=NOW + timedelta(days=4)),
            actor_id=people["root"],
        )
        db.session.commit()
        weekly_id = weekly.id
    clients = {username: app.test_client() for username in ("learner", "root", "padmin")}
    for username, client in clients.items():
        assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    learner = clients["learner"]
    view = learner.post(f"/api/v1/rounds/{weekly_id}/attempts").get_json()
    first = view["questions"][0]
    assert (
        learner.put(
            f"/api/v1/attempts/{view['id']}/answers/{first['id']}", json={"answer": answer_for(first)}
        ).status_code
        == 200
    )
    todays = learner.get("/api/v1/daily").get_json()
    item = todays["items"][0]["question"]
    response = learner.post(
        "/api/v1/daily/answers", json={"question_id": item["id"], "answer": answer_for(item)}
    )
    assert response.status_code == 200
    with app.app_context():
        error_reports.report(db.session.get(User, people["learner"]), item["id"], "解析有误", now=NOW)
        db.session.commit()
    for sweep in ("roll_day", "refresh_rankings"):
        jobs.run_sweep(app, sweep)
    return {
        "app": app,
        "clients": clients,
        "people": people,
        "exam_id": exam_id,
        "weekly_id": weekly_id,
        "attempt": view,
        "daily": todays,
        "create_question": create_question,
    }


def grow(world) -> dict:
    """Make the world several times bigger in every dimension a budgeted page could iterate over."""
    app, learner = world["app"], world["clients"]["learner"]
    for _ in range(3):
        for category in ROUND_CATEGORIES:
            for qtype in ("single", "single", "multiple", "judge", "fill"):
                world["create_question"](qtype, category=category)
    with app.app_context():
        newcomers = add_people("G", cities=10, windows=2, staff=3)
        closed_exam("二月考试", newcomers[::2])
        closed_exam("三月考试", newcomers[1::3])
        take(world["weekly_id"], newcomers[::3], submit=False)
        take(world["weekly_id"], newcomers[1::4], submit=True)
        seen = db.session.execute(  # the newcomers' weekly attempts (the learner has reported already)
            select(Attempt.user_id, Attempt.question_order).where(
                Attempt.round_id == world["weekly_id"], Attempt.user_id.in_(newcomers)
            )
        ).all()
        for user_id, order in seen[:25]:
            error_reports.report(db.session.get(User, user_id), order[0], "题干有歧义", now=NOW)
        add_history(world["people"]["learner"], days=40, first_question=10)
        for n in range(60):
            audit.record("unit.rename", "unit", n, actor_id=newcomers[n % 30])  # many actors to show
        db.session.commit()
    for sweep in ("roll_day", "refresh_rankings", "open_rounds", "finish_overdue"):
        jobs.run_sweep(app, sweep)
    attempt = world["attempt"]
    for question in attempt["questions"][1:]:
        response = learner.put(
            f"/api/v1/attempts/{attempt['id']}/answers/{question['id']}",
            json={"answer": answer_for(question)},
        )
        assert response.status_code == 200
    for entry in world["daily"]["items"][1:6]:
        question = entry["question"]
        assert (
            learner.post(
                "/api/v1/daily/answers", json={"question_id": question["id"], "answer": answer_for(question)}
            ).status_code
            == 200
        )
    with app.app_context():
        sizes = {
            "users": db.session.scalar(select(func.count(User.id))),
            "attempts": db.session.scalar(select(func.count(Attempt.id))),
            "bulletins": db.session.scalar(select(func.count(Bulletin.id))),
            "audit": db.session.scalar(select(func.count(AuditLog.id))),
            "rounds": db.session.scalar(select(func.count(Round.id))),
        }
    return sizes


def pages(world) -> dict[str, tuple[str, str, int]]:
    """label → (who, url, budget): the staff home, daily, attempt and rankings pages, the admin lists.
    A budget is the page's statement count today; a change that needs more must say why here."""
    attempt_id, exam_id = world["attempt"]["id"], world["exam_id"]
    return {
        "home /": ("learner", "/", 9),  # the open rounds and the learner's attempts in them
        "daily page": ("learner", "/daily", 1),
        "daily api": ("learner", "/api/v1/daily", 5),
        "attempt page": ("learner", f"/attempts/{attempt_id}", 3),
        "attempt api": ("learner", f"/api/v1/attempts/{attempt_id}", 6),
        "rounds list": ("learner", "/rounds", 4),
        # the round, whether the viewer may take it, their rounds and attempts (as the round's page)
        "round start confirmation": ("padmin", f"/rounds/{world['weekly_id']}/start", 6),
        "mistake book": ("learner", "/mistakes", 3),  # the filters' counts, then the whole questions
        "mistake book (filtered)": ("learner", "/mistakes?category=2&source=1", 3),
        "favourites": ("learner", "/favourites", 2),
        "favourites api": ("learner", "/api/v1/favourites", 2),
        "history": ("learner", "/history", 5),
        "reading room": ("learner", "/reading", 2),  # the documents with their question counts
        "reading search": ("learner", "/reading?q=原文", 2),
        "reading document": ("learner", "/reading/test_source?hl=原文", 3),  # the text, counts per article
        "recite (背题)": ("learner", "/recite", 5),  # the count, the page, the filters' choices
        "recite (背题, filtered)": ("learner", "/recite?category=社会保险&type=single&page=2", 6),
        # The rankings page commits (a snapshot may have been computed) before it renders, to free
        # SQLite's write lock early; the commit expires the viewer and units: 2 statements reload them.
        "rankings": ("learner", "/rankings", 13),
        "rankings of a round": ("root", f"/rankings?period=round:{exam_id}&parent=P", 14),
        "rankings people (month)": ("learner", "/rankings/people", 5),
        "rankings people (round)": ("root", f"/rankings/people?board=round&round={exam_id}", 5),
        "rankings people (total)": ("padmin", "/rankings/people?board=total", 4),
        # Where the drill-down ends: a window's people (one query) for its unit admin, after the
        # scope check; its totals (one query) for staff and admins alike; and the snapshots' stamp
        # (read_cache: the page is looked up, found to be a window's, the viewer's own, and built).
        "rankings of a window (unit admin)": ("padmin", "/rankings?parent=A1", 13),
        "rankings of a window (staff)": ("learner", "/rankings?parent=A1", 12),
        "admin questions": ("root", "/admin/questions", 7),
        "admin question drafts": ("root", "/admin/questions/drafts", 4),  # stored documents, the choices
        "admin staff": ("root", "/admin/staff", 3),
        "admin staff (unit admin)": ("padmin", "/admin/staff", 4),
        "admin units": ("root", "/admin/units?parent=P", 4),
        "admin units (unit admin)": ("padmin", "/admin/units", 4),
        "admin rounds": ("root", "/admin/rounds", 2),
        # The unit picker: the matches, then the names above them; the form shows its chosen units so.
        "admin unit search": ("root", "/admin/units/search?q=A", 3),
        "admin unit search (unit admin)": ("padmin", "/admin/units/search?q=A", 4),
        "admin round form": ("root", "/admin/rounds/new?kind=exam", 4),
        "admin staff by unit": ("padmin", "/admin/staff?unit=A1", 7),  # + the chosen unit, named
        "admin reports": ("root", "/admin/reports", 2),
        "admin audit": ("root", "/admin/audit", 2),
        # Every attempt of this world is answered in one frozen instant: all of them are flagged.
        "admin integrity": ("root", "/admin/integrity?status=flagged", 3),
        "admin integrity (unit admin)": ("padmin", "/admin/integrity?status=flagged", 4),
        "admin home": ("root", "/admin/", 14),
        "admin home (unit admin)": ("padmin", "/admin/", 7),
        "bulletins": ("root", "/bulletins", 2),
        "bulletins (unit admin)": ("padmin", "/bulletins", 3),
    }


def measure(world, count_queries) -> dict[str, int]:
    counts = {}
    for label, (who, url, _) in pages(world).items():
        client = world["clients"][who]
        assert client.get(url).status_code == 200, label
        with count_queries() as counted:
            response = client.get(url)
        assert response.status_code == 200, (label, response.status_code)
        counts[label] = counted.count
    return counts


@pytest.mark.parametrize("backend", BACKENDS)
def test_page_queries_do_not_grow_with_the_data(backend, world, count_queries, figures):
    small = measure(world, count_queries)
    sizes = grow(world)
    assert sizes["users"] >= 70 and sizes["attempts"] >= 40 and sizes["bulletins"] >= 3, sizes
    large = measure(world, count_queries)
    grown = {label: (small[label], large[label]) for label in small if large[label] != small[label]}
    assert not grown, f"statements per page grew with the data (small, large): {grown}"
    budgets = {label: budget for label, (_, _, budget) in pages(world).items()}
    over = {label: (large[label], budgets[label]) for label in large if large[label] > budgets[label]}
    assert not over, f"over budget (statements, budget): {over}"
    figures.count("query budget", f"pages budgeted ({backend})", len(large))
    figures.put("query budget", f"most statements on a page ({backend})", max(large.values()))
