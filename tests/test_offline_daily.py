"""日日学 offline (PWA), the server's side: answers queued on a device are taken for their own
business day only, graded as usual with the time they were given, and once; the manifest and the
service worker; and what the worker keeps (the daily page's files, never an API response)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import DailySet, LearningItem, PointsEntry

from . import test_daily
from .test_daily import get_daily, key_for, shanghai

learner, bank = test_daily.learner, test_daily.bank  # the 日日学 tests' fixtures

STATIC = Path(__file__).resolve().parents[1] / "quizapp" / "static"


def queued(client, question_id: int, value, *, day: str = "2026-03-02", at: datetime | str | None = None):
    """An answer as the page's queue sends it: with its set's day and when it was given."""
    body = {"question_id": question_id, "answer": value, "day": day}
    if at is not None:
        body["answered_at"] = at.isoformat().replace("+00:00", "Z") if isinstance(at, datetime) else at
    return client.post("/api/v1/daily/answers", json=body)


def stored_items(app) -> list[LearningItem]:
    with app.app_context():
        return db.session.scalars(select(LearningItem).order_by(LearningItem.position)).all()


def points_of(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0)))


def test_answers_sent_together_keep_the_pace_they_were_given_at(
    app, client, auth, learner, bank, frozen_clock
):
    """Ten answers given offline a minute apart and sent in one burst half an hour later: graded and
    paid as usual, each stored with its own time — so the day's timing looks like the learner's pace,
    and is not held for review as ten answers in one second would be."""
    auth.login("learner")
    opened = frozen_clock()
    items = get_daily(client)["items"]
    frozen_clock.advance(minutes=30)  # back online
    for number, item in enumerate(items):
        qid = item["question"]["id"]
        response = queued(client, qid, key_for(app, qid), at=opened + timedelta(minutes=1 + number))
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["first"] is True and response.get_json()["feedback"]["correct"] is True
    final = response.get_json()["set"]
    assert final["answered"] == 10 and final["finished"] and final["star"] and not final["held"]
    times = [item.answered_at for item in stored_items(app)]
    assert times == [opened + timedelta(minutes=1 + number) for number in range(10)]
    with app.app_context():
        daily_set = db.session.scalar(select(DailySet))
        assert daily_set.finished_at == opened + timedelta(minutes=10) and not daily_set.held
    assert points_of(app) == final["points_today"] > 0


def test_a_given_time_is_kept_between_serving_and_now(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    served = frozen_clock()
    first, second, third = [item["question"]["id"] for item in get_daily(client)["items"][:3]]
    frozen_clock.advance(minutes=5)
    assert queued(client, first, "A", at=served + timedelta(hours=3)).status_code == 200  # a fast clock
    assert queued(client, second, "A", at=served - timedelta(days=2)).status_code == 200  # a slow one
    assert queued(client, third, "A", at="2026-03-02T09:02:00+08:00").status_code == 200  # any zone
    by_question = {item.question_id: item.answered_at for item in stored_items(app)}
    assert by_question[first] == frozen_clock()
    assert by_question[second] == served
    assert by_question[third] == datetime(2026, 3, 2, 1, 2, tzinfo=UTC)


def test_an_answer_for_an_earlier_days_set_is_refused_clearly(app, client, auth, learner, bank, frozen_clock):
    """Answered offline late on the 2nd, sent after midnight: refused (409 day_over) with the day
    named, and nothing stored — not on that day's set, not on today's."""
    auth.login("learner")
    frozen_clock.set(shanghai(2026, 3, 2, 23, 50))
    late = get_daily(client)
    question = late["items"][0]["question"]["id"]
    frozen_clock.set(shanghai(2026, 3, 3, 0, 10))
    refused = queued(client, question, key_for(app, question), at=shanghai(2026, 3, 2, 23, 55))
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "day_over" and "3月2日" in error["message"] and "未被接受" in error["message"]
    today = get_daily(client)
    assert today["date"] == "2026-03-03" and today["answered"] == 0
    # Even a question that is in today's set too is not answered by a queued answer of yesterday's.
    todays_question = today["items"][0]["question"]["id"]
    assert queued(client, todays_question, "A").status_code == 409
    assert all(item.answered_at is None for item in stored_items(app))
    assert points_of(app) == 0
    # The same answer for today's set, said so, is taken.
    assert queued(client, todays_question, "A", day="2026-03-03").status_code == 200


def test_a_queued_answer_sent_again_counts_once(app, client, auth, learner, bank, frozen_clock):
    """The response was lost and the device sends the same answer again: one result, no more points."""
    auth.login("learner")
    qid = get_daily(client)["items"][0]["question"]["id"]
    given = frozen_clock() + timedelta(seconds=40)
    frozen_clock.advance(minutes=3)
    first = queued(client, qid, key_for(app, qid), at=given).get_json()
    again = queued(client, qid, key_for(app, qid), at=given + timedelta(seconds=1)).get_json()
    assert first["first"] is True and first["points_awarded"] > 0
    assert again["first"] is False and again["points_awarded"] == 0 and again["feedback"] == first["feedback"]
    assert again["set"]["answered"] == 1 and again["set"]["points_today"] == first["set"]["points_today"]
    with app.app_context():
        assert db.session.scalar(select(func.count(PointsEntry.id))) == 1
    assert [item.answered_at for item in stored_items(app) if item.answered_at] == [given]


def test_a_bad_day_or_time_is_a_clear_error_naming_the_field(app, client, auth, learner, bank, frozen_clock):
    auth.login("learner")
    qid = get_daily(client)["items"][0]["question"]["id"]
    for day in ("2026-13-01", "昨天", 20260302):
        response = queued(client, qid, "A", day=day)
        assert response.status_code == 400 and "day" in response.get_json()["error"]["message"], day
    for moment in (
        "刚才",
        "2026-03-02T09:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        5,
    ):
        response = queued(client, qid, "A", at=moment)
        assert response.status_code == 400, moment
        assert "answered_at" in response.get_json()["error"]["message"], moment
    assert all(item.answered_at is None for item in stored_items(app))


def test_no_key_before_answering_in_what_the_page_keeps(app, client, auth, learner, bank, frozen_clock):
    """The page keeps the set as GET /api/v1/daily gives it before answering: no key, no
    explanation, no quote of any unanswered question (the feedback comes with the answer)."""
    auth.login("learner")
    raw = client.get("/api/v1/daily").get_data(as_text=True)
    for secret in ("秘密", '"answer"', "correct_answer", "explanation", "feedback", "quote"):
        assert secret not in raw, secret
    for item in json.loads(raw)["items"]:
        assert set(item["question"]) <= {
            "id",
            "type",
            "type_label",
            "stem",
            "options",
            "blanks",
            "category",
            "difficulty",
            "unit",
            "case",
        }
    page = client.get("/daily").get_data(as_text=True)
    assert "秘密" not in page and 'data-user="' in page


def test_the_worker_is_served_from_the_root_and_always_revalidated(client, auth, learner):
    with client.get("/sw.js") as response:  # readable signed out: the browser checks it for updates
        assert response.status_code == 200 and response.mimetype == "text/javascript"
        assert response.headers["Service-Worker-Allowed"] == "/"
        assert response.headers["Cache-Control"] == "no-cache"
        assert 'self.addEventListener("fetch"' in response.get_data(as_text=True)
    auth.login("learner")
    with client.get("/sw.js") as response:
        assert response.headers["Cache-Control"] == "no-cache"  # not the pages' no-store


def test_the_manifest_makes_the_app_installable(client, auth, learner):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"] == "练兵比武" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["theme_color"] == "#c0392b"
    sizes = set()
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200 and image.mimetype == "image/png"
            width, height = Image.open(io.BytesIO(image.data)).size
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert {192, 512} <= sizes
    # Every page links it; the worker is installed from the pages of someone signed in.
    login = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in login and "js/pwa.js" not in login
    auth.login("learner")
    home = client.get("/").get_data(as_text=True)
    assert 'rel="manifest"' in home and "js/pwa.js" in home and 'name="theme-color"' in home


def _imports(script: str, seen: set[str]) -> set[str]:
    """The static modules ``script`` loads, itself included, following its imports."""
    if script in seen:
        return seen
    seen.add(script)
    text = (STATIC / "js" / script).read_text("utf-8")
    for name in re.findall(r'^import .* from "\./([\w.]+)";', text, re.MULTILINE):
        _imports(name, seen)
    return seen


def test_the_worker_keeps_what_the_daily_page_needs_and_no_api(client):
    """The precache list holds every file the 日日学 page loads (its modules, followed through their
    imports, the stylesheet, the icons); each one is there to fetch; and no API address is kept."""
    source = (STATIC / "js" / "sw.js").read_text("utf-8")
    precache = re.findall(r'^  "(/[^"]+)",$', source[source.index("const PRECACHE") :], re.MULTILINE)
    needed = {f"/static/js/{name}" for name in _imports("daily.js", set()) | {"pwa.js"}}
    needed |= {"/static/css/app.css", "/static/favicon.svg", "/manifest.webmanifest"}
    assert needed <= set(precache), needed - set(precache)
    for address in precache:
        with client.get(address) as response:
            assert response.status_code == 200, address
    assert "/api/" not in source  # the set is kept by the page, without keys; no API response here
