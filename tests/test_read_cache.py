"""Snapshot-backed reads built once per snapshot version (issue 24, ``quizapp.read_cache``): a kept
response is served until a snapshot is written, whatever the clock says; a matching ETag gets a
304; a body kept for one viewer's scope is never served to another's; a kept read costs the
sign-in check and the stamp, nothing else; in Redis, one process's response serves another."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, select

from quizapp import create_app, read_cache
from quizapp.extensions import db
from quizapp.models import Unit
from quizapp.services import rankings, reports

from .conftest import PASSWORD, require_service
from .test_rankings import NOW, add_facts, town  # noqa: F401  (town: the fixture)


def refresh(app) -> None:
    """The scheduler's live refresh, at the same frozen instant as the snapshot before it."""
    with app.app_context():
        rankings.refresh_live(NOW)
        db.session.commit()


@pytest.fixture
def statements(app):
    """statements() → the SQL statements run since the last call."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))

    def taken() -> list[str]:
        found = list(seen)
        seen.clear()
        return found

    return taken


def amy_points(api) -> int:
    return next(u for u in api.get_json()["units"] if u["code"] == "A")["points_per_head"]


def test_the_rankings_api_is_kept_until_a_snapshot_is_written(app, town, login_as):  # noqa: F811
    _, people = town
    amy = login_as("amy")
    first = amy.get("/api/v1/rankings/units?parent=P")
    assert first.status_code == 200 and amy_points(first) == 0
    add_facts(app, people, points=[("amy", date(2026, 3, 19), 30)])
    kept = amy.get("/api/v1/rankings/units?parent=P")
    assert kept.get_data() == first.get_data()  # the facts changed, the snapshot did not: kept
    refresh(app)  # the same instant as the snapshot it replaces (a frozen clock)
    fresh = amy.get("/api/v1/rankings/units?parent=P")
    assert amy_points(fresh) == 10  # 30 points over A's 3 people
    assert fresh.headers["ETag"] != first.headers["ETag"]


def test_a_matching_etag_gets_a_304_until_the_snapshot_changes(app, town, login_as):  # noqa: F811
    amy = login_as("amy")
    first = amy.get("/api/v1/rankings/units?parent=P")
    assert first.headers["Cache-Control"] == "private, no-cache"
    tag = first.headers["ETag"]
    again = amy.get("/api/v1/rankings/units?parent=P", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    other = amy.get("/api/v1/rankings/units?parent=P&indicator=participation", headers={"If-None-Match": tag})
    assert other.status_code == 200  # other parameters, another response
    refresh(app)
    after = amy.get("/api/v1/rankings/units?parent=P", headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["ETag"] != tag
    page = amy.get("/rankings?parent=P")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-cache"
    assert amy.get("/rankings?parent=P", headers={"If-None-Match": page.headers["ETag"]}).status_code == 304


def test_the_page_is_kept_but_its_viewer_bits_are_each_viewers_own(app, town, login_as):  # noqa: F811
    amy, bob = login_as("amy"), login_as("bob")
    amys, bobs = amy.get("/rankings?parent=P"), bob.get("/rankings?parent=P")
    token = lambda page: re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))[1]  # noqa: E731
    assert token(amys) != token(bobs)  # each page carries its own session's CSRF token
    assert amys.headers["ETag"] != bobs.headers["ETag"]
    assert bob.get("/rankings?parent=P", headers={"If-None-Match": amys.headers["ETag"]}).status_code == 200
    assert "甲市" in bobs.get_data(as_text=True)  # the kept table, the same for both


def test_a_default_parent_is_kept_per_scope(app, town, login_as, create_user):  # noqa: F811
    units, _ = town
    create_user("badmin", unit=units["B"], role="unit_admin")
    codes = lambda response: [u["code"] for u in response.get_json()["units"]]  # noqa: E731
    assert codes(login_as("aadmin").get("/api/v1/rankings/units")) == ["A1"]  # their own unit's children
    assert codes(login_as("badmin").get("/api/v1/rankings/units")) == ["B1"]
    assert sorted(codes(login_as("amy").get("/api/v1/rankings/units"))) == ["A", "B", "C"]  # the province
    assert "甲窗口" in login_as("aadmin").get("/rankings").get_data(as_text=True)
    assert "甲窗口" not in login_as("badmin").get("/rankings").get_data(as_text=True)


def test_a_windows_people_are_never_served_from_the_cache(app, town, login_as):  # noqa: F811
    manager = login_as("aadmin").get("/rankings?parent=A1").get_data(as_text=True)
    assert "people-table" in manager and "amy" in manager
    staff = login_as("bob").get("/rankings?parent=A1").get_data(as_text=True)
    assert "people-table" not in staff and "amy" not in staff  # totals only for staff


def test_a_kept_read_costs_the_sign_in_check_and_the_stamp(app, town, login_as, statements):  # noqa: F811
    amy = login_as("amy")
    for url in ("/api/v1/rankings/units?parent=P", "/rankings?parent=P"):
        amy.get(url)
        statements()
        assert amy.get(url).status_code == 200
        taken = statements()
        assert len(taken) <= 3, taken  # the user, the stamp (SQLite: a BEGIN may show too)
        assert any("ranking_snapshot" in sql for sql in taken)


def test_a_refused_request_is_not_kept(app, town, login_as):  # noqa: F811
    amy = login_as("amy")
    assert amy.get("/api/v1/rankings/units?parent=P&indicator=nonsense").status_code == 400
    assert amy.get("/api/v1/rankings/units?parent=NOPE").status_code == 404
    assert amy.get("/api/v1/rankings/units?parent=NOPE").status_code == 404


def test_redis_shares_a_response_between_processes(app, app_config, monkeypatch, town):  # noqa: F811
    url = require_service("QUIZAPP_TEST_REDIS_URL", "Redis")
    import redis

    store = redis.Redis.from_url(url)
    for stale in store.keys(read_cache.REDIS_PREFIX + "*"):
        store.delete(stale)
    refresh(
        app
    )  # written by the scheduler: no web process writes one (on SQLite its own writes are in its stamp)
    first, second = (create_app(app_config | {"REDIS_URL": url}) for _ in range(2))  # two processes
    with first.app_context():
        assert db.session.scalar(select(Unit.id).where(Unit.code == "P"))

    def client(app):
        signed_in = app.test_client()
        assert signed_in.post("/login", data={"username": "amy", "password": PASSWORD}).status_code == 302
        return signed_in

    built = client(first).get("/api/v1/rankings/units?parent=P")
    assert built.status_code == 200
    monkeypatch.setattr(rankings, "children_table", lambda *a, **k: pytest.fail("built again"))
    shared = client(second).get("/api/v1/rankings/units?parent=P")
    assert shared.status_code == 200 and shared.get_data() == built.get_data()
    assert store.keys(read_cache.REDIS_PREFIX + "*")


def test_a_bulletin_is_kept_per_readers_scope(app, town, login_as, create_user):  # noqa: F811
    units, people = town
    create_user("badmin", unit=units["B"], role="unit_admin")
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), True), ("bob", date(2026, 3, 3), True)])
    with app.app_context():
        bulletin_id = reports.build_month_bulletin(date(2026, 3, 1), now=NOW).id
        db.session.commit()
    url = f"/bulletins/{bulletin_id}"
    admin = login_as("aadmin")
    first = admin.get(url)
    assert first.status_code == 200 and "ann" in first.get_data(as_text=True)  # 甲市's absentee
    assert admin.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    other = login_as("badmin").get(url).get_data(as_text=True)
    assert "ben" in other and "ann" not in other  # 乙市's part only, never the kept 甲市 one
    assert login_as("amy").get(url).status_code == 403  # staff: never, kept or not
    assert "ann" in login_as("root").get(f"{url}/print").get_data(as_text=True)


def test_the_honours_page_is_kept_per_root(app, town, login_as):  # noqa: F811
    _, people = town
    add_facts(app, people, points=[("bob", date(2026, 3, 19), 30)])
    amy = login_as("amy")
    first = amy.get("/honours")
    assert first.status_code == 200 and "bob" in first.get_data(as_text=True)
    assert amy.get("/honours", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert "bob" not in login_as("aadmin").get("/honours").get_data(as_text=True)  # 甲市: bob is 乙市's
    add_facts(app, people, points=[("ann", date(2026, 3, 19), 50)])
    assert "ann" not in amy.get("/honours").get_data(as_text=True)  # kept until the next snapshot
    refresh(app)
    assert "ann" in amy.get("/honours").get_data(as_text=True)
