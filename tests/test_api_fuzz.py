"""The /api/v1 OpenAPI document, and Schemathesis fuzzing every operation against it in-process.

The fuzzing signs in as a learner with real state behind every route (today's set, a mistake, a
practice item, an open weekly round, a monthly attempt in progress, a closed exam with results,
another person's attempt) and sends the CSRF header as the browser does, so most generated
requests reach the services rather than stopping at "not found". Every response must be a
non-5xx with a status code, content type and body the document declares.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from quizapp.extensions import db
from quizapp.models import QuestionVersion, User
from quizapp.services import daily, draws, grading, practice, rounds, rules

from .conftest import PASSWORD, any_answer
from .test_rounds import START
from .test_rounds import settings as round_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 15  # per operation and generation mode: ~30 operations × 2 modes (25 took 100 s a database)


def _api_routes(app) -> set[tuple[str, str]]:
    """(path in OpenAPI form, method) of every /api/v1 route the app serves."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        found.update((path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"})
    return found


def test_document_lists_exactly_the_api_routes(app, client, figures):
    response = client.get("/api/v1/openapi.json")  # readable without signing in
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = _api_routes(app)
    assert documented == served, {"undocumented": served - documented, "not served": documented - served}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            codes = set(operation["responses"])
            if path != "/openapi.json":
                assert {"401", "403"} <= codes, (method, path)  # signed out; password change pending
            if method in ("post", "put"):
                assert "400" in codes, (method, path)  # malformed body or CSRF token
            if "{" in path:
                assert "404" in codes, (method, path)
    figures.put("api openapi", "operations documented", len(documented))


def test_document_is_a_valid_schemathesis_schema(app, client):
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").get_json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(_api_routes(app))


def test_error_bodies_use_machine_codes(app, client):
    """Errors raised by routing (no such URL, wrong method) carry a code a program can test."""
    missing = client.get("/api/v1/attempts/2147483648")  # beyond a 32-bit id: not a route match
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong_method = client.delete("/api/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
    assert client.get("/api/v1/me").get_json()["error"]["code"] == "unauthorized"


# ---------------------------------------------------------------------------------------------
# The fuzzing


@pytest.fixture
def learners(create_unit, create_user, frozen_clock):
    """Two learners in two cities of one province, at START."""
    frozen_clock.set(START)
    create_unit("P", "示范省")
    create_unit("A", "甲市", "P")
    create_unit("B", "乙市", "P")
    create_user("fuzzer", unit=create_unit("A1", "甲市窗口", "A"), name="模糊测试")
    create_user("other", unit=create_unit("B1", "乙市窗口", "B"), name="另一人")


@pytest.fixture
def world(app, learners, mixed_bank):
    """A learner with something behind every route; returns the ids the fuzzer steers towards."""
    with app.app_context():
        learner = db.session.scalar(db.select(User).where(User.username == "fuzzer"))
        other = db.session.scalar(db.select(User).where(User.username == "other"))
        learning = rules.current()
        # An exam that ran last week: both took it, it is closed and ranked.
        exam = rounds.create_round(
            round_settings(
                "exam", opens=START - timedelta(days=3), closes=START - timedelta(hours=2), title="上周考试"
            ),
            actor_id=None,
        )
        for person in (learner, other):
            attempt, _ = rounds.start_attempt(person, exam.id, now=START - timedelta(days=2))
            rounds.submit(person, attempt.id, now=START - timedelta(days=2, minutes=-5))
        rounds.close_round(exam.id, now=START - timedelta(hours=1))
        weekly = rounds.create_round(round_settings("weekly"), actor_id=None)
        monthly = rounds.create_round(round_settings("monthly"), actor_id=None)
        upcoming = rounds.create_round(
            round_settings("weekly", opens=START + timedelta(days=2), closes=START + timedelta(days=5)),
            actor_id=None,
        )
        in_progress, _ = rounds.start_attempt(learner, monthly.id, now=START)
        submittable, _ = rounds.start_attempt(learner, weekly.id, now=START)
        theirs, _ = rounds.start_attempt(other, weekly.id, now=START)
        todays = daily.todays_set(learner.id, now=START, rules=learning)
        set_questions = [item.question_id for item in todays.items]
        single = next(item for item in todays.items if item.version.type == "single")
        daily.answer_daily(learner.id, single.question_id, "B", now=START, rules=learning)  # key is A
        served = practice.serve_practice(learner.id, draws.Filters(), now=START, rules=learning)
        answered = practice.serve_practice(learner.id, draws.Filters(), now=START, rules=learning)
        key = {"single": "A", "multiple": ["A", "C"], "judge": "true", "fill": ["三十"]}
        practice.answer_item(
            learner.id, answered["item_id"], key[answered["question"]["type"]], now=START, rules=learning
        )
        # 对战: a challenge from the other to the learner, and a duel whose first question is open now
        from quizapp.services.battles import match, play

        invited = match.challenge(other, "fuzzer", now=START)
        running = play.start_battle("duel", [learner.id, other.id], now=START - timedelta(seconds=4))
        battle_key = db.session.get(QuestionVersion, running.question_version_ids[0])
        db.session.commit()
        ids = {
            "battles": [invited, running.id],
            "open_battle": running.id,
            "battle_answer": any_answer(grading.public_question(battle_key)),
            "rounds": [exam.id, weekly.id, monthly.id, upcoming.id],
            "attempt": in_progress.id,
            "submittable": submittable.id,
            "theirs": theirs.id,
            "paper": list(in_progress.question_order),
            "paper_answers": {
                question["id"]: any_answer(question)
                for question in rounds.attempt_view(in_progress, now=START)["questions"]
            },
            "daily": set_questions,
            "daily_answers": {
                item.question_id: any_answer(grading.public_question(item.version)) for item in todays.items
            },
            "items": [served["item_id"], answered["item_id"]],
            "units": ["P", "A", "A1", "B", "B1"],
        }
    return ids


def _signed_in(login_as) -> tuple[str, str]:
    """Sign in as the browser does (CSRF enabled) and return (session cookie, CSRF token)."""
    client = login_as("fuzzer")
    page = client.get("/daily").get_data(as_text=True)
    api_token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return client.get_cookie("session").value, api_token


def _steered(operation, world):
    """The operation's own strategy, and variants with path parameters fixed to real rows."""
    params = {parameter.name for parameter in operation.path_parameters}
    fixed = []
    if params == {"round_id"}:
        fixed = [{"round_id": round_id} for round_id in world["rounds"]]
    elif params == {"item_id"}:
        fixed = [{"item_id": item_id} for item_id in world["items"]]
    elif params == {"question_id"}:
        fixed = [{"question_id": question_id} for question_id in world["daily"]]
    elif params == {"attempt_id"}:
        attempt = world["submittable"] if operation.path.endswith("/submit") else world["attempt"]
        fixed = [{"attempt_id": attempt}, {"attempt_id": world["theirs"]}]
    elif params == {"battle_id"}:
        fixed = [{"battle_id": battle_id} for battle_id in world["battles"]]
    elif params == {"attempt_id", "question_id"}:
        fixed = [{"attempt_id": world["attempt"], "question_id": qid} for qid in world["paper"]]
        fixed.append({"attempt_id": world["attempt"]})
    return fixed


def _steer_values(case, world, rng: random.Random) -> None:
    """Now and then put a real question id or unit code where the generator put a random one, or
    bury a JSON body under dozens to hundreds of levels of nesting (refused as a 400)."""
    paper_question = (case.path_parameters or {}).get("question_id")
    if isinstance(case.body, dict) and paper_question in world["paper_answers"] and rng.random() < 0.5:
        case.body["answer"] = world["paper_answers"][paper_question]  # a save that gets past the checks
    if isinstance(case.body, dict) and "question_id" in case.body and rng.random() < 0.6:
        case.body["question_id"] = rng.choice(world["daily"])
        if rng.random() < 0.5:  # and a well-formed answer for it, so the operation is driven past its checks
            case.body["answer"] = world["daily_answers"][case.body["question_id"]]
    battle = (case.path_parameters or {}).get("battle_id")
    if isinstance(case.body, dict) and battle == world["open_battle"] and rng.random() < 0.5:
        case.body.update(position=0, answer=world["battle_answer"])  # the open question, well formed
    if isinstance(case.body, dict) and "username" in case.body and rng.random() < 0.6:
        case.body["username"] = "other"  # a colleague to challenge
    if case.query is not None:
        for name in ("parent", "unit"):
            if name in case.query and rng.random() < 0.6:
                case.query[name] = rng.choice(world["units"])
        if "round" in case.query and rng.random() < 0.6:
            case.query["round"] = rng.choice(world["rounds"])
    jsonable = isinstance(case.body, dict | list | str | int | float | bool)
    if jsonable and case.media_type == "application/json" and rng.random() < 0.1:
        for _ in range(rng.choice([33, 64, 200, 900])):
            case.body = [case.body] if rng.random() < 0.5 else {"a": case.body}


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_fuzz_every_operation(app, login_as, world, backend, figures):
    """Schemathesis, positive and negative data, every operation: no 5xx, and every response is
    one the document declares (status code, content type, body schema)."""
    cookie, token = _signed_in(login_as)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    statuses: dict[int, int] = {}
    reached: set[str] = set()  # operations that answered 2xx at least once
    cases = 0
    labels = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(mode)] + [
                operation.as_strategy(mode, path_parameters=fixed) for fixed in _steered(operation, world)
            ]

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # explain can crash
            )
            @given(case=st.one_of(strategies), seed=st.integers(0, 2**16))
            def run(case, seed):
                nonlocal cases
                _steer_values(case, world, random.Random(seed))
                response = case.call(cookies={"session": cookie}, headers={"X-CSRFToken": token})
                case.validate_response(response, checks=CHECKS)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

                if response.status_code < 300:
                    reached.add(case.operation.label)
                cases += 1

            run()
    figures.count("api fuzz", f"cases run ({backend})", cases)
    figures.count("api fuzz", "server errors", sum(n for code, n in statuses.items() if code >= 500))
    figures.put("api fuzz", f"statuses ({backend})", dict(sorted(statuses.items())))
    assert not any(code >= 500 for code in statuses)
    assert reached == labels, labels - reached  # every operation was driven past its guards
    assert statuses.get(400, 0) > 20 and statuses.get(404, 0) > 5  # and was refused cleanly


MALFORMED = [
    # (method, url, JSON body) that used to raise inside the app (500) and must be a clean refusal
    ("POST", "/api/v1/practice/items", True),
    ("POST", "/api/v1/practice/items", [1, 2]),
    ("POST", "/api/v1/practice/items", {"category": ["社会保险"]}),
    ("POST", "/api/v1/practice/items", {"type": {"a": 1}}),
    ("POST", "/api/v1/questions/1/reports", {"reason": 12345}),
    ("POST", "/api/v1/daily/answers", {"question_id": 10**30, "answer": "A"}),
    ("POST", "/api/v1/rounds/99999999999999999999/attempts", None),
    ("GET", "/api/v1/rankings/units?period=month:9999-12", None),
    ("GET", "/api/v1/rankings/units?period=month:0001-01", None),
    ("GET", "/api/v1/rankings/units?period=week:9999-W52", None),
    ("GET", "/api/v1/rankings/units?period=custom:9999-12-31:9999-12-31", None),
    ("GET", "/api/v1/rankings/units?period=round:99999999999999999999", None),
    ("GET", "/api/v1/rankings/users?month=9999-12", None),
    ("GET", "/api/v1/rankings/users?board=round&round=99999999999999999999", None),
    ("GET", "/rankings/people?month=9999-12", None),
    ("GET", "/honours?month=0001-01", None),
    # NUL: SQLite stores it, PostgreSQL refuses it (psycopg raises before the query runs)
    ("GET", "/api/v1/rankings/units?parent=%00", None),
    ("GET", "/api/v1/rankings/users?unit=A%00", None),
    ("POST", "/api/v1/practice/items", {"category": "社会\x00保险"}),
    ("POST", "/api/v1/practice/items", {"ability": "\x00"}),
    ("POST", "/api/v1/questions/1/reports", {"reason": "题目\x00有误"}),
    ("POST", "/api/v1/questions/1/reports", {"reason": "题目\ud800有误"}),  # not UTF-8: SQLite refuses
    ("PUT", "/api/v1/attempts/1/answers/1", {"answer": ["\x00"]}),
    ("POST", "/admin/questions/import", {"q": "\x00"}),
    ("GET", "/rankings?parent=%00", None),
    ("GET", "/rankings/people?unit=%00", None),
]


@pytest.mark.parametrize("depth", [33, 5000])
def test_deeply_nested_json_is_refused_by_every_write(app, learners, depth, figures):
    client = app.test_client()
    assert client.post("/login", data={"username": "fuzzer", "password": PASSWORD}).status_code == 302
    document = client.get("/api/v1/openapi.json").get_json()
    writes = [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("post", "put") and "requestBody" in item[method]
    ]
    assert writes
    for method, path in writes:
        url = "/api/v1" + re.sub(r"\{\w+\}", "1", path)
        body = "[" * depth + "]" * depth
        response = client.open(url, method=method.upper(), data=body, content_type="application/json")
        assert response.status_code == 400, (method, url, response.status_code)
        assert response.get_json()["error"]["message"] == "JSON 嵌套超过 32 层", url
        figures.count("api fuzz", "deep JSON bodies refused")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
@pytest.mark.parametrize(("method", "url", "body"), MALFORMED)
def test_malformed_input_is_refused_not_a_server_error(app, learners, backend, method, url, body, figures):
    client = app.test_client()
    assert client.post("/login", data={"username": "fuzzer", "password": PASSWORD}).status_code == 302
    payload = {} if body is None else {"data": json.dumps(body), "content_type": "application/json"}
    response = client.open(url, method=method, **payload)  # json.dumps escapes as \uXXXX, as a phone may
    assert response.status_code in (400, 404), response.get_data(as_text=True)[:300]
    if url.startswith("/api/"):
        assert set(response.get_json()["error"]) == {"code", "message"}
    figures.count("api fuzz", "malformed inputs refused")
