"""Rankings as read (issue 18), below the browser: a closed period settles and is labelled final, a
window's people and who may see them, a unit admin's bulletin on their own unit, an honour roll
that gives nothing for 0, and a 选拔 list of staff who took part."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import RankingSnapshot, RoundStatus, Unit, User
from quizapp.services import participation, rankings, reports, selection

from .conftest import closed_round
from .test_rankings import NOW, add_facts, town  # noqa: F401  (town: the fixture)


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def test_a_closed_week_settles_official_and_reads_final(app, town):  # noqa: F811
    _, people = town
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), True)])
    with app.app_context():
        tz = app.config["TZINFO"]
        closed = rankings.week_period(date(2026, 3, 3))  # 2–8 March; today is 20 March
        snapshot = rankings.ensure_snapshot(closed, now=NOW, tz=tz)
        assert snapshot.official
        assert rankings.state_of(closed, snapshot, now=NOW, tz=tz)["key"] == "final"
        assert rankings.ensure_snapshot(closed, now=NOW + timedelta(hours=1), tz=tz).id == snapshot.id
        this_week = rankings.week_period(NOW.date())
        live = rankings.ensure_snapshot(this_week, now=NOW, tz=tz)
        assert not live.official and rankings.state_of(this_week, live, now=NOW, tz=tz)["key"] == "live"
        # A custom range never settles: anyone may ask for any range; once over it reads 已结束.
        custom = rankings.custom_period(date(2026, 3, 2), date(2026, 3, 5))
        ended = rankings.ensure_snapshot(custom, now=NOW, tz=tz)
        assert not ended.official and rankings.state_of(custom, ended, now=NOW, tz=tz)["key"] == "ended"
        db.session.commit()


def test_a_week_waits_for_its_rounds_to_close_before_it_settles(app, town):  # noqa: F811
    with app.app_context():
        tz = app.config["TZINFO"]
        week = rankings.week_period(date(2026, 3, 10))  # 9–15 March
        late = closed_round(
            title="还没结束的周练",
            status=RoundStatus.OPEN,
            opens_at=datetime(2026, 3, 9, tzinfo=UTC),
            closes_at=datetime(2026, 3, 15, 15, 0, tzinfo=UTC),  # Sunday 23:00 in Shanghai
        )
        db.session.add(late)
        db.session.flush()
        assert not rankings.settles(week, now=NOW, tz=tz)
        late.status = RoundStatus.CLOSED
        assert rankings.settles(week, now=NOW, tz=tz)
        db.session.rollback()


def test_a_windows_people_in_order_with_what_each_did(app, town):  # noqa: F811
    _, people = town
    add_facts(
        app,
        people,
        daily=[
            ("amy", date(2026, 3, 3), True),
            ("amy", date(2026, 3, 4), False),
            ("bob", date(2026, 3, 4), True),
        ],
        points=[("amy", date(2026, 3, 3), 12), ("amy", date(2026, 3, 4), 7)],
        attempts=[("amy", 80.0, 600)],
    )
    with app.app_context():
        listed = participation.unit_people(
            unit("A1"), rankings.month_period(date(2026, 3, 1)), tz=app.config["TZINFO"]
        )
        assert [p["username"] for p in listed] == ["ann", "amy"]  # who has not taken part first
        ann, amy = listed
        assert (ann["took_part"], ann["days"], ann["rounds"], ann["points"], ann["last"]) == (
            False,
            0,
            0,
            0,
            None,
        )
        assert (amy["took_part"], amy["days"], amy["rounds"], amy["points"]) == (True, 2, 1, 19)
        assert amy["last"] == date(2026, 3, 18)  # the attempt, submitted two days before NOW
        april = participation.unit_people(
            unit("A1"), rankings.month_period(date(2026, 4, 1)), tz=app.config["TZINFO"]
        )
        assert not any(p["took_part"] for p in april)


def test_who_may_see_a_windows_people(app, town):  # noqa: F811
    _, people = town
    with app.app_context():
        viewer = {name: db.session.get(User, people[name].id) for name in ("aadmin", "bob", "root")}
        assert participation.may_see_people(viewer["aadmin"], unit("A1"))
        assert not participation.may_see_people(viewer["aadmin"], unit("B1"))  # another city
        assert not participation.may_see_people(viewer["bob"], unit("B1"))  # staff: not even their own
        assert participation.may_see_people(viewer["root"], unit("B1"))


def test_a_window_page_lists_people_for_its_admin_only(login_as, app, town):  # noqa: F811
    _, people = town
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), True)], points=[("amy", date(2026, 3, 3), 12)])
    page = login_as("aadmin").get("/rankings?parent=A1").get_data(as_text=True)
    assert "人员参与情况" in page and "未参与 1 人" in page and "ann" in page and "没有下级单位" not in page
    exported = login_as("aadmin").get("/rankings?parent=A1&format=xlsx")
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2]) for r in rows] == [("ann", "否"), ("amy", "是")]
    staff = login_as("bob").get("/rankings?parent=A1").get_data(as_text=True)
    assert "ann" not in staff and "共 2 人，已参与 1 人" in staff
    other = login_as("aadmin").get("/rankings?parent=B1").get_data(as_text=True)
    assert "ben" not in other


def test_an_empty_month_draws_no_chart_and_honours_nobody(login_as, app, town):  # noqa: F811
    client = login_as("bob")
    page = client.get("/rankings?parent=P").get_data(as_text=True)
    assert "本月尚无数据" in page and 'id="chart-units"' not in page
    assert '<span class="tie">并列</span>' not in page  # no ranks at all, not three firsts
    honours = client.get("/honours").get_data(as_text=True)
    assert "honour-list" not in honours and "本月尚无数据" in honours


def test_ties_read_as_ties(login_as, app, town):  # noqa: F811
    _, people = town
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), False)])
    page = login_as("bob").get("/rankings?parent=P&indicator=participation").get_data(as_text=True)
    assert page.count('<span class="tie">并列</span>') == 2  # 甲市 first alone; 乙市 and 丙市 at 0%


def test_a_unit_admins_bulletin_opens_on_their_unit(app, town):  # noqa: F811
    _, people = town
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), True), ("bob", date(2026, 3, 3), True)])
    with app.app_context():
        bulletin = reports.build_month_bulletin(date(2026, 3, 1), now=datetime(2026, 4, 1, 1, tzinfo=UTC))
        whole = reports.view_for(bulletin, None)
        assert (whole["headcount"], whole["participants"], whole["scope_name"]) == (5, 2, None)
        city = reports.view_for(bulletin, unit("A"))
        assert (city["headcount"], city["participants"], city["scope_name"]) == (3, 1, "甲市")
        absent = {p["username"] for g in city["non_participants"] for p in g["people"]}
        assert absent == {"ann", "aadmin"}  # bob and ben are 乙市's
        assert db.session.scalar(
            select(RankingSnapshot.official).where(RankingSnapshot.id == bulletin.snapshot_id)
        )


def test_selection_is_staff_who_took_part(app, town):  # noqa: F811
    _, people = town
    add_facts(
        app,
        people,
        points=[("ben", date(2026, 3, 3), 5), ("aadmin", date(2026, 3, 3), 12)],
        attempts=[("amy", 70.0, 600), ("aadmin", 99.0, 600)],
    )
    with app.app_context():
        root = db.session.get(User, people["root"].id)
        criteria = selection.Criteria(starts_on=date(2026, 3, 1), ends_on=date(2026, 4, 1))
        rows = selection.select_staff(root, criteria, tz=app.config["TZINFO"])
        # amy: a round; ben: points only; ann and bob did nothing; aadmin is a unit admin
        assert [r["username"] for r in rows] == ["amy", "ben"]
