from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib.resources import files

import yaml
from flask import jsonify, request
from flask_login import current_user, login_required

from .. import clock, read_cache
from ..database import writes_database
from ..extensions import db
from ..models import Ability, Category, QuestionType, Source
from ..models._types import MAX_ID
from ..replica import from_replica
from ..services import (
    daily,
    draws,
    error_reports,
    favourites,
    history,
    integrity,
    leaderboards,
    points,
    practice,
    rankings,
    rules,
)
from ..services import mistakes as mistake_book
from ..services import rounds as round_service
from ..services.errors import DomainError, NotFound
from ..web import client_key, commits
from . import bp


class BadRequest(DomainError):
    code = "bad_request"


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("请求体应为 JSON 对象")
    return body


def _int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise BadRequest(f"{name} 应为正整数")
    return value


def _str(value, name: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{name} 应为字符串")
    return value


def _day(value) -> date | None:
    """An optional ISO date (2026-03-01) of the body: the day of the set an answer is for."""
    if value is None:
        return None
    try:
        return date.fromisoformat(_str(value, "day"))
    except ValueError:
        raise BadRequest("day 应为日期，如 2026-03-01") from None


def _moment(value) -> datetime | None:
    """An optional ISO 8601 time with its zone (2026-03-01T08:30:00Z) of the body."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(_str(value, "answered_at"))
        if moment.tzinfo is None:
            raise ValueError("no time zone")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across a zone
        raise BadRequest("answered_at 应为带时区的时间，如 2026-03-01T08:30:00Z") from None


def _answer_payload(outcome) -> dict:
    return {"feedback": outcome.feedback, "first": outcome.first, "points_awarded": outcome.points_awarded}


@cache
def openapi_document() -> dict:
    """The API's OpenAPI document (kept as YAML beside this module; tests hold it to the routes)."""
    return yaml.safe_load(files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/me")
@login_required
def me():
    now = clock.utcnow()
    learning = rules.current()
    today = clock.business_date(now, learning.tz)
    month_start = today.replace(day=1)
    unit = current_user.unit
    return jsonify(
        id=current_user.id,
        username=current_user.username,
        name=current_user.name,
        role=str(current_user.role),
        unit={"code": unit.code, "name": unit.name} if unit else None,
        today=today.isoformat(),
        points=points.totals(current_user.id, today),
        streak=history.streak(current_user.id, today),
        stars_this_month=history.stars_between(current_user.id, month_start, today + timedelta(days=1)),
    )


@bp.get("/session")
@login_required
def session_info():
    """Who is signed in, and nothing else: the cheapest signed-in call (apps check their session
    with it; the benchmarks use it as the stack's floor)."""
    return jsonify(id=current_user.id, username=current_user.username, role=str(current_user.role))


@bp.get("/daily")
@login_required
@commits
@writes_database  # the first request of the day draws the set
def daily_set():
    now = clock.utcnow()
    learning = rules.current()
    todays = daily.todays_set(current_user.id, now=now, rules=learning)
    view = daily.daily_view(todays, today=todays.day, user_id=current_user.id, now=now, rules=learning)
    return jsonify(view)


@bp.post("/daily/answers")
@login_required
@commits
def daily_answer():
    body = _body()
    question_id = _int(body.get("question_id"), "question_id")
    if "answer" not in body:
        raise BadRequest("缺少 answer")
    outcome = daily.answer_daily(
        current_user.id,
        question_id,
        body["answer"],
        now=clock.utcnow(),
        rules=rules.current(),
        client=client_key(),
        day=_day(body.get("day")),
        answered_at=_moment(body.get("answered_at")),
    )
    return jsonify(_answer_payload(outcome) | {"finish_points": outcome.finish_points, "set": outcome.extra})


@bp.get("/mistakes")
@login_required
def mistakes():
    entries = mistake_book.book(current_user.id, now=clock.utcnow())
    return jsonify(entries=entries, due=sum(entry["due"] for entry in entries))


@bp.get("/favourites")
@login_required
def favourites_list():
    """我的收藏, each question in full where the rules allow (``hidden`` says why not)."""
    return jsonify(questions=favourites.listing(current_user.id))


@bp.route("/questions/<int:question_id>/favourite", methods=["PUT", "DELETE"])
@login_required
@commits
def favourite(question_id: int):
    """收藏 (PUT) a question the person has answered, or 取消收藏 (DELETE). One rule for both
    methods: an id beyond any row's is then a 404 for both, not a 405."""
    if request.method == "PUT":
        favourites.star(current_user.id, question_id, now=clock.utcnow())
    else:
        favourites.unstar(current_user.id, question_id)
    return jsonify(question_id=question_id, favourite=request.method == "PUT")


@bp.post("/mistakes/review")
@login_required
@commits
def mistake_review():
    item = practice.serve_review(current_user.id, now=clock.utcnow(), rules=rules.current())
    return jsonify(item=item)


@bp.post("/practice/items")
@login_required
@commits
def practice_item():
    filters = practice_filters(_body() if request.get_data() else {})
    item = practice.serve_practice(current_user.id, filters, now=clock.utcnow(), rules=rules.current())
    return jsonify(item=item)


@bp.post("/items/<int:item_id>/answer")
@login_required
@commits
def item_answer(item_id: int):
    """Answer a practice or review item. A written practice item (简答, 情景应答) takes two calls:
    ``{"answer": "…"}`` keeps the text and returns the keypoints to tick (``self_mark``, no feedback
    yet); ``{"covered": [0, 2]}`` self-marks it (indexes of the keypoints covered) and returns the
    feedback with the model answer."""
    body = _body()
    if "covered" in body:
        outcome = practice.self_mark_item(
            current_user.id, item_id, body["covered"], now=clock.utcnow(), rules=rules.current()
        )
        return jsonify(_answer_payload(outcome) | {"covered": outcome.extra.get("covered")})
    if "answer" not in body:
        raise BadRequest("缺少 answer")
    outcome = practice.answer_item(
        current_user.id, item_id, body["answer"], now=clock.utcnow(), rules=rules.current()
    )
    return jsonify(_answer_payload(outcome) | outcome.extra)


def practice_filters(values) -> draws.Filters:
    """Filters from names (as the practice page sends them); unknown names are a clear error."""
    filters = draws.Filters()
    for name in ("category", "ability", "type", "from"):
        if values.get(name) is not None:
            _str(values[name], name)
    if chosen := values.get("from"):  # 练习收藏 / 练习全部错题
        if chosen not in ("favourites", "mistakes"):
            raise BadRequest("from 应为 favourites 或 mistakes")
        setattr(filters, f"{chosen}_of", current_user.id)
    if category := values.get("category"):
        filters.category_id = db.session.scalar(db.select(Category.id).where(Category.name == category))
        if filters.category_id is None:
            raise NotFound(f"业务类别“{category}”不存在")
    if ability := values.get("ability"):
        filters.ability_id = db.session.scalar(db.select(Ability.id).where(Ability.name == ability))
        if filters.ability_id is None:
            raise NotFound(f"能力“{ability}”不存在")
    if qtype := values.get("type"):
        allowed = [qtype.value for qtype in QuestionType] + [draws.CASE_FILTER]
        if qtype not in allowed:
            raise BadRequest(f"题型应为 {'、'.join(allowed)}")
        filters.type = qtype
    if difficulty := values.get("difficulty"):
        if str(difficulty) not in ("1", "2", "3"):
            raise BadRequest("难度应为 1、2 或 3")
        filters.difficulty = int(difficulty)
    if source := values.get("source"):  # 政策原文 练一练: one document, and maybe one article of it
        filters.source_id = db.session.scalar(
            db.select(Source.id).where(Source.code == _str(source, "source"))
        )
        if filters.source_id is None:
            raise NotFound(f"文件“{source}”不存在")
        if locator := values.get("locator"):
            filters.locator = _str(locator, "locator")[:64]
    return filters


# ---------------------------------------------------------------------------------------------
# Rounds and attempts


@bp.get("/rounds")
@login_required
def rounds_list():
    return jsonify(rounds=round_service.rounds_for_user(current_user, now=clock.utcnow()))


@bp.post("/rounds/<int:round_id>/attempts")
@login_required
@commits
def start_attempt(round_id: int):
    now = clock.utcnow()
    attempt, created = round_service.start_attempt(current_user, round_id, now=now)
    view = round_service.attempt_view(attempt, now=now, fresh=created)
    return jsonify(view), 201 if created else 200


@bp.get("/attempts/<int:attempt_id>")
@login_required
@commits
@writes_database  # an overdue attempt is auto-submitted on sight
def attempt_detail(attempt_id: int):
    now = clock.utcnow()
    attempt = round_service.get_attempt(current_user.id, attempt_id)
    if round_service.finish_overdue(now=now, round_id=attempt.round_id, user_id=current_user.id):
        db.session.refresh(attempt)
    view = round_service.attempt_view(attempt, now=now)
    return jsonify(view)


@bp.put("/attempts/<int:attempt_id>/answers/<int:question_id>")
@login_required
@commits
def save_answer(attempt_id: int, question_id: int):
    body = _body()
    if "answer" not in body:
        raise BadRequest("缺少 answer（清空答案请传 null）")
    now = clock.utcnow()
    saved_at = round_service.save_answer(
        current_user, attempt_id, question_id, body["answer"], now=now, client=client_key()
    )
    return jsonify(
        question_id=question_id, saved=saved_at is not None, saved_at=(saved_at or now).isoformat()
    )


@bp.post("/attempts/<int:attempt_id>/focus")
@login_required
@commits
def report_focus(attempt_id: int):
    integrity.record_focus(current_user.id, attempt_id, _body())
    return "", 204


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
@commits
def submit_attempt(attempt_id: int):
    now = clock.utcnow()
    body = request.get_json(silent=True)  # optional: {"time_up": true} from the countdown, "focus"
    body = body if isinstance(body, dict) else {}
    focus = body.get("focus")
    if focus is not None and not isinstance(focus, dict):
        raise BadRequest("focus 应为对象")
    attempt = round_service.submit(
        current_user, attempt_id, now=now, time_up=body.get("time_up") is True, focus=focus
    )
    view = round_service.attempt_view(attempt, now=now)
    return jsonify(view)


# ---------------------------------------------------------------------------------------------
# Rankings


@bp.get("/rankings/units")
@login_required
@commits
@writes_database
@from_replica
def rankings_units():
    """Built once per snapshot version (``read_cache``): any signed-in person may see any unit's
    children ranked, so the key is the parameters, with the viewer's scope when no parent is named
    (the default is their own unit or province)."""
    parent = request.args.get("parent")
    parts = (
        request.args.get("period"),
        ("parent", parent) if parent else ("default", *read_cache.viewer_scope()),
        request.args.get("indicator", "composite"),
    )
    cache_key, body = read_cache.once("api.rankings.units", parts, _rankings_units_body)
    return read_cache.respond(
        body, etag=read_cache.etag_for(cache_key, personal=False), mimetype="application/json"
    )


def _rankings_units_body() -> bytes:
    table = rankings.children_table(
        request.args.get("period"),
        leaderboards.unit_or_default(request.args.get("parent"), current_user),
        request.args.get("indicator", "composite"),
        now=clock.utcnow(),
        tz=rules.current().tz,
    )
    period, snapshot = table["period"], table["snapshot"]
    return jsonify(
        period={
            "key": period.key,
            "label": period.label,
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
        },
        parent={"code": table["parent"].code, "name": table["parent"].name},
        indicator=table["indicator"],
        official=snapshot.official,
        computed_at=snapshot.computed_at.isoformat(),
        units=[
            {
                key: row[key]
                for key in (
                    "code",
                    "name",
                    "headcount",
                    "participants",
                    "person_times",
                    "participation",
                    "avg_score",
                    "pass_rate",
                    "points_per_head",
                    "stars_per_head",
                    "composite",
                    "ranks",
                    "change",
                )
            }
            for row in table["rows"]
        ],
    ).get_data()


@bp.get("/rankings/users")
@login_required
@from_replica
def rankings_users():
    kind = request.args.get("board", "month")
    if kind not in ("round", "month", "total"):
        raise BadRequest("board 应为 round、month 或 total")
    month = rankings.parse_month(
        request.args.get("month"), today=clock.business_date(clock.utcnow(), rules.current().tz)
    )
    unit = leaderboards.unit_or_default(request.args.get("unit"), current_user)
    data = leaderboards.board(
        kind, unit=unit, viewer=current_user, month=month, round_id=request.args.get("round", type=int)
    )
    strip = lambda row: {k: v for k, v in row.items() if k != "user_id"}  # noqa: E731
    return jsonify(
        title=data["title"],
        measure=data["measure"],
        unit=data["unit"],
        total=data["total"],
        rows=[strip(r) for r in data["rows"]],
        me=strip(data["me"]) if data["me"] else None,
    )


@bp.post("/questions/<int:question_id>/reports")
@login_required
@commits
def report_question(question_id: int):
    body = _body()
    reason = _str(body.get("reason", ""), "reason")
    entry = error_reports.report(current_user, question_id, reason, now=clock.utcnow())
    return jsonify(
        id=entry.id, status=entry.status, message="已提交，管理员处理后会在“我的纠错”中回复您"
    ), 201
