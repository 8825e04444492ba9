"""Rankings: indicators against hand-computed figures, ties, empty periods, moved staff, snapshots,
scope, exports and the big screen (query budgets: test_query_budget)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptStatus,
    DailySet,
    PointsEntry,
    Round,
    RoundTarget,
    ScreenLink,
    SnapshotRow,
    User,
)
from quizapp.services import rankings, reports

from .conftest import closed_round

NOW = datetime(2026, 3, 20, 4, 0, tzinfo=UTC)  # 12:00 on 20 March in Shanghai
MARCH = "month:2026-03"


@pytest.fixture
def town(create_unit, create_user, frozen_clock):
    """P → A (A1: amy, ann; aadmin, 甲市's unit admin, at A), B (B1: bob, ben), C (no staff).
    Unit admins are staff of their unit: they count in its headcount."""
    frozen_clock.set(NOW)
    units = {
        code: create_unit(code, name, parent)
        for code, name, parent in [
            ("P", "省", None),
            ("A", "甲市", "P"),
            ("B", "乙市", "P"),
            ("C", "丙市", "P"),
            ("A1", "甲窗口", "A"),
            ("B1", "乙窗口", "B"),
        ]
    }
    people = {
        name: create_user(name, unit=units[unit])
        for name, unit in [("amy", "A1"), ("ann", "A1"), ("bob", "B1"), ("ben", "B1")]
    }
    people["aadmin"] = create_user("aadmin", unit=units["A"], role="unit_admin")
    people["root"] = create_user("root", role="admin")
    return units, people


def add_facts(app, people, *, daily=(), points=(), attempts=()):
    """daily: (user, day, star); points: (user, day, amount); attempts: (user, percent, seconds)."""
    with app.app_context():
        for name, day, star in daily:
            db.session.add(
                DailySet(
                    user_id=people[name].id,
                    day=day,
                    size=10,
                    answered_count=10,
                    correct_count=10 if star else 7,
                    finished_at=NOW,
                )
            )
        for index, (name, day, amount) in enumerate(points):
            db.session.add(
                PointsEntry(
                    user_id=people[name].id,
                    rule="daily_correct",
                    amount=amount,
                    source_id=1000 + index,
                    day=day,
                )
            )
        if attempts:
            round_ = closed_round(
                kind="monthly",
                title="三月月月比",
                opens_at=NOW - timedelta(days=3),
                closes_at=NOW - timedelta(days=1),
            )
            db.session.add(round_)
            db.session.flush()
            db.session.add(RoundTarget(round_id=round_.id, unit_id=people["amy"].unit.path_ids()[0]))
            for name, percent, seconds in attempts:
                user = people[name]
                db.session.add(
                    Attempt(
                        round_id=round_.id,
                        user_id=user.id,
                        unit_id=user.unit_id,
                        number=1,
                        max_attempts=1,
                        status=AttemptStatus.SUBMITTED,
                        started_at=NOW - timedelta(days=2),
                        deadline_at=NOW - timedelta(days=2),
                        submitted_at=NOW - timedelta(days=2),
                        question_order=[],
                        option_orders={},
                        percent=percent,
                        score=percent / 10,
                        time_used_seconds=seconds,
                        graded_at=NOW,
                        counted=True,
                    )
                )
            db.session.commit()
            return round_.id
        db.session.commit()
    return None


def table(app, parent_code="P", period=MARCH, indicator="composite", official=False):
    with app.app_context():
        parent = db.session.scalar(select(rankings.Unit).where(rankings.Unit.code == parent_code))
        tz = app.config["TZINFO"]
        snapshot = rankings.write_snapshot(
            rankings.parse_period(period, today=NOW.date(), tz=tz), official=official, now=NOW, tz=tz
        )
        db.session.commit()
        return {row["code"]: row for row in rankings.rank_children(snapshot, parent.id, indicator)}


@pytest.mark.parametrize(  # PostgreSQL writes the rows with COPY, SQLite with INSERTs
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_indicators_match_hand_computed_figures(app, town, backend):
    units, people = town
    day = date(2026, 3, 10)
    add_facts(
        app,
        people,
        daily=[("amy", day, True), ("amy", day + timedelta(days=1), False), ("bob", day, True)],
        points=[("amy", day, 12), ("amy", day + timedelta(days=1), 9), ("bob", day, 12), ("ben", day, 3)],
        attempts=[("amy", 90.0, 600), ("ann", 50.0, 700), ("bob", 80.0, 500)],
    )
    rows = table(app)
    a, b, c = rows["A"], rows["B"], rows["C"]
    # 甲市: 3 staff (amy, ann, aadmin); amy (daily + round) and ann (round) took part: 2/3.
    assert (a["headcount"], a["participants"], a["person_times"]) == (3, 2, 4)
    assert a["participation"] == pytest.approx(2 / 3) and a["avg_score"] == 70.0
    assert a["pass_rate"] == pytest.approx(1 / 3)  # amy passed (90), ann did not (50)
    assert a["points_per_head"] == 7.0 and a["stars_per_head"] == pytest.approx(1 / 3)
    # 乙市: bob took part (daily + round); ben only earned points (no finished activity): 1/2.
    assert (b["headcount"], b["participants"], b["person_times"]) == (2, 1, 2)
    assert b["participation"] == 0.5 and b["avg_score"] == 80.0 and b["pass_rate"] == 0.5
    assert b["points_per_head"] == 7.5 and b["stars_per_head"] == 0.5
    # Composite: 0.4·participation + 0.4·avg/100 + 0.2·points per head / the best (乙市, 7.5).
    assert a["composite"] == pytest.approx(0.4 * 2 / 3 + 0.4 * 0.70 + 0.2 * 7.0 / 7.5)
    assert b["composite"] == pytest.approx(0.4 * 0.5 + 0.4 * 0.80 + 0.2 * 1.0)
    # 丙市 has no staff: zeros, no division by zero, ranked last.
    assert (c["headcount"], c["participation"], c["avg_score"], c["composite"]) == (0, 0.0, None, 0.0)
    assert [a["ranks"]["composite"], b["ranks"]["composite"], c["ranks"]["composite"]] == [1, 2, 3]
    assert (b["ranks"]["avg_score"], a["ranks"]["avg_score"]) == (1, 2)
    # The province's own row sums its subtree.
    with app.app_context():
        province = db.session.scalar(select(SnapshotRow).where(SnapshotRow.code == "P"))
        assert (province.headcount, province.participants, province.points) == (5, 3, 36)


def test_ties_share_a_rank_and_participation_breaks_them(app, town):
    units, people = town
    day = date(2026, 3, 10)
    # Both cities: average score 80; 甲市 all took part, 乙市 half.
    add_facts(
        app,
        people,
        daily=[("ben", day, False), ("aadmin", day, False)],
        attempts=[("amy", 80.0, 600), ("ann", 80.0, 600), ("bob", 80.0, 600)],
    )
    rows = table(app, indicator="avg_score")
    assert rows["A"]["avg_score"] == rows["B"]["avg_score"] == 80.0
    assert rows["A"]["participation"] == rows["B"]["participation"] == 1.0  # ben's daily counts too
    assert (rows["A"]["ranks"]["avg_score"], rows["B"]["ranks"]["avg_score"]) == (1, 1)  # a true tie
    assert rows["C"]["ranks"]["avg_score"] == 3  # 1, 1, 3: standard competition ranking
    assert list(rows) == ["A", "B", "C"]  # tied units listed by code
    rows = table(app, indicator="points_per_head")  # all zero points: participation decides
    assert (
        rows["A"]["ranks"]["points_per_head"],
        rows["B"]["ranks"]["points_per_head"],
        rows["C"]["ranks"]["points_per_head"],
    ) == (1, 1, 3)


def test_an_empty_period_ranks_everyone_equal(app, town):
    rows = table(app, period="month:2025-12")
    assert {code: row["ranks"]["composite"] for code, row in rows.items()} == {"A": 1, "B": 1, "C": 1}
    assert all(row["participants"] == 0 and row["avg_score"] is None for row in rows.values())


def test_official_snapshot_never_changes_even_when_staff_move(app, town, create_unit):
    units, people = town
    round_id = add_facts(app, people, attempts=[("amy", 90.0, 600), ("bob", 60.0, 600)])
    period = f"round:{round_id}"
    first = table(app, period=period, official=True)
    assert (first["A"]["participants"], first["B"]["participants"]) == (1, 1)
    with app.app_context():
        amy = db.session.get(User, people["amy"].id)
        amy.unit_id = units["B1"].id  # amy moves to 乙市 after the round
        db.session.add(
            Attempt(
                round_id=round_id,
                user_id=people["ben"].id,
                unit_id=units["B1"].id,
                number=1,
                max_attempts=1,
                status=AttemptStatus.SUBMITTED,
                started_at=NOW,
                deadline_at=NOW,
                submitted_at=NOW,
                question_order=[],
                option_orders={},
                percent=100.0,
                time_used_seconds=1,
                graded_at=NOW,
                counted=True,
            )
        )
        db.session.commit()
    again = table(app, period=period, official=True)  # asked again: the official one, untouched
    assert again == first
    live = table(app, period=period, official=False)  # a fresh count sees the change
    assert live["B"]["participants"] == 2 and live["B"]["headcount"] == 3
    assert live["A"]["participants"] == 1  # amy's attempt stays with the unit she sat it in


def test_rankings_page_api_export_and_rank_change(login_as, app, town):
    units, people = town
    add_facts(app, people, daily=[("amy", date(2026, 3, 2), False), ("bob", date(2026, 2, 10), False)])
    table(app, period="month:2026-02")  # last month: 乙市 was first
    client = login_as("amy")
    page = client.get("/rankings", query_string={"period": MARCH, "indicator": "participation"}).get_data(
        as_text=True
    )
    assert "省 · 下级单位排名" in page and "甲市" in page and "↑1" in page and "↓1" in page
    api = client.get(
        "/api/v1/rankings/units", query_string={"period": MARCH, "indicator": "participation"}
    ).get_json()
    # February: 乙市 1st, 甲市 and 丙市 2nd (tied at 0); March: 甲市 1st, 乙市 and 丙市 2nd.
    assert [(u["code"], u["ranks"]["participation"], u["change"]) for u in api["units"]] == [
        ("A", 1, 1),
        ("B", 2, -1),
        ("C", 2, 0),
    ]
    exported = client.get(
        "/rankings", query_string={"period": MARCH, "indicator": "participation", "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(exported.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("名次", "单位", "编码") and [r[2] for r in rows[1:]] == [
        u["code"] for u in api["units"]
    ]
    assert rows[1][5] == 33.3  # 甲市 participation (1 of 3), in percent
    drill = client.get("/rankings", query_string={"parent": "A", "period": MARCH}).get_data(as_text=True)
    assert "甲市 · 下级单位排名" in drill and "甲窗口" in drill
    custom = client.get("/rankings", query_string={"from": "2026-03-01", "to": "2026-03-05"}).get_data(
        as_text=True
    )
    assert "03.01–03.05" in custom and 'value="2026-03-05"' in custom
    bad = client.get("/rankings", query_string={"period": "fortnight:3"})
    assert bad.status_code == 400 and "统计周期" in bad.get_data(as_text=True)


def test_leaderboards_scope_and_own_position(login_as, app, town):
    units, people = town
    day = date(2026, 3, 10)
    add_facts(app, people, points=[("amy", day, 5), ("ann", day, 9), ("bob", day, 9), ("ben", day, 1)])
    amy = login_as("amy")
    board = amy.get("/api/v1/rankings/users", query_string={"board": "month", "month": "2026-03"}).get_json()
    assert [(r["username"], r["rank"]) for r in board["rows"]] == [
        ("ann", 1),
        ("bob", 1),
        ("amy", 3),
        ("ben", 4),
    ]
    assert board["me"]["rank"] == 3 and board["unit"]["code"] == "P"
    assert amy.get("/api/v1/rankings/users", query_string={"unit": "B"}).status_code == 404  # not her subtree
    admin = login_as("aadmin")
    mine = admin.get("/api/v1/rankings/users", query_string={"board": "total"}).get_json()
    assert mine["unit"]["code"] == "A" and {r["username"] for r in mine["rows"]} == {"amy", "ann"}
    assert admin.get("/api/v1/rankings/users", query_string={"unit": "B"}).status_code == 404
    page = amy.get("/rankings/people", query_string={"board": "month", "month": "2026-03"}).get_data(
        as_text=True
    )
    assert "我的位置：第 3 名" in page


def test_bulletins_are_scoped_for_unit_admins_and_hidden_from_staff(login_as, app, town):
    units, people = town
    round_id = add_facts(app, people, attempts=[("amy", 90.0, 600), ("bob", 40.0, 600)])
    with app.app_context():
        snapshot = rankings.write_snapshot(
            rankings.round_period(db.session.get(Round, round_id), app.config["TZINFO"]),
            official=True,
            now=NOW,
            tz=app.config["TZINFO"],
        )
        bulletin_id = reports.build_round_bulletin(round_id, snapshot, now=NOW).id
        db.session.commit()
    root = login_as("root")
    full = root.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    assert "ben" in full and "bob" in full  # the whole province: 乙市's absentee and failure too
    workbook = load_workbook(io.BytesIO(root.get(f"/bulletins/{bulletin_id}.xlsx").data))
    absent = [row[3] for row in workbook["未参加人员"].iter_rows(min_row=2, values_only=True)]
    assert sorted(absent) == ["aadmin", "ann", "ben"]
    assert [row[2] for row in workbook["不合格人员"].iter_rows(min_row=2, values_only=True)] == ["bob"]
    admin = login_as("aadmin")
    scoped = load_workbook(io.BytesIO(admin.get(f"/bulletins/{bulletin_id}.xlsx").data))
    assert sorted(row[3] for row in scoped["未参加人员"].iter_rows(min_row=2, values_only=True)) == [
        "aadmin",
        "ann",
    ]
    assert list(scoped["不合格人员"].iter_rows(min_row=2, values_only=True)) == []  # bob is in 乙市
    page = admin.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    assert "ben" not in page and "bob" not in page
    assert "打印版" in page and admin.get(f"/bulletins/{bulletin_id}/print").status_code == 200
    staff = login_as("amy")
    assert staff.get(f"/bulletins/{bulletin_id}").status_code == 403
    assert staff.get(f"/bulletins/{bulletin_id}.xlsx").status_code == 403


def test_big_screen_link_works_without_sign_in_until_revoked(login_as, app, town):
    units, people = town
    admin = login_as("root")
    assert admin.post("/admin/screens", data={"unit": "P", "label": "大厅电视"}).status_code == 302
    with app.app_context():
        link = db.session.scalar(select(ScreenLink))
        token, link_id = link.token, link.id
    anonymous = app.test_client()
    page = anonymous.get(f"/screen/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "省 · 练兵比武" in text and 'http-equiv="refresh"' in text
    assert "甲市" in text and "今日参与率" in text
    assert anonymous.get("/screen/not-a-token").status_code == 404
    admin.post(f"/admin/screens/{link_id}/revoke")
    assert anonymous.get(f"/screen/{token}").status_code == 404


def test_selection_filters_and_exports(login_as, app, town):
    units, people = town
    with app.app_context():
        for name, gender, year, level in [
            ("amy", "女", 1995, "科员"),
            ("ann", "女", 1970, "科员"),
            ("bob", "男", 1990, "一级科员"),
            ("ben", "男", 1985, "科员"),
        ]:
            user = db.session.get(User, people[name].id)
            user.gender, user.birth_year, user.level, user.job_section = gender, year, level, "社会保险经办"
        db.session.commit()
    add_facts(
        app, people, attempts=[("amy", 70.0, 600), ("ann", 95.0, 600), ("bob", 85.0, 600), ("ben", 60.0, 9)]
    )
    admin = login_as("root")
    query = {"starts_on": "2026-03-01", "ends_on": "2026-03-31", "gender": "女"}
    page = admin.get("/admin/selection", query_string=query).get_data(as_text=True)
    assert page.index("ann") < page.index("amy") and "bob" not in page
    young = admin.get("/admin/selection", query_string=query | {"age_band": "31-40岁"}).get_data(as_text=True)
    assert "amy" in young and "ann" not in young  # amy is 31 in 2026
    exported = admin.get(
        "/admin/selection",
        query_string={"starts_on": "2026-03-01", "ends_on": "2026-03-31", "format": "xlsx"},
    )
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(min_row=2, values_only=True))
    assert [r[2] for r in rows] == ["ann", "bob", "amy", "ben"]  # aadmin: a unit admin, no round
    unit_admin = login_as("aadmin")
    scoped = unit_admin.get("/admin/selection", query_string={"starts_on": "2026-03-01", "format": "xlsx"})
    names = {
        r[2] for r in load_workbook(io.BytesIO(scoped.data)).active.iter_rows(min_row=2, values_only=True)
    }
    assert names == {"ann", "amy"}  # 甲市 only


def test_honour_roll(login_as, app, town):
    units, people = town
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), True)], points=[("amy", date(2026, 3, 3), 12)])
    client = login_as("bob")
    page = client.get("/honours").get_data(as_text=True)
    assert "2026年3月 光荣榜" in page and "甲市" in page and "amy" in page


def test_one_pass_over_several_periods_equals_each_period_alone(app, town):
    """The live refresh reads the facts once for the week and the month (and any custom range);
    each period's totals must equal what that period alone gives — including facts that fall in
    one period and not the other (a week that starts in February)."""
    _, people = town
    add_facts(
        app,
        people,
        daily=[
            ("amy", date(2026, 3, 2), True),
            ("bob", date(2026, 2, 27), False),
            ("ann", date(2026, 3, 19), True),
        ],
        points=[("amy", date(2026, 3, 2), 9), ("bob", date(2026, 2, 27), 5), ("ann", date(2026, 3, 19), 12)],
        attempts=[("amy", 90, 300), ("ben", 40, 600)],
    )
    with app.app_context():
        tz = app.config["TZINFO"]
        periods = [
            rankings.week_period(date(2026, 3, 1)),  # 23 Feb – 1 Mar: bob's day only
            rankings.month_period(date(2026, 3, 20)),
            rankings.custom_period(date(2026, 2, 1), date(2026, 3, 2)),
        ]
        together = rankings._calendar_totals(periods, tz)
        for period in periods:
            alone = rankings._calendar_totals([period], tz)[period.key]
            assert {k: dict(v) for k, v in together[period.key].items()} == {
                k: dict(v) for k, v in alone.items()
            }
        week, month = together[periods[0].key], together[periods[1].key]
        bob_unit, amy_unit = people["bob"].unit_id, people["amy"].unit_id
        assert week[bob_unit]["participants"] == 1 and week[bob_unit]["points"] == 5
        assert week[amy_unit]["participants"] == 0
        assert month[amy_unit]["participants"] == 2 and month[amy_unit]["points"] == 21
        assert month[amy_unit]["stars"] == 2 and month[bob_unit]["score_count"] == 1


def test_ranked_rows_kept_per_process_follow_a_rewrite_in_the_same_instant(app, town):
    """Pages read the ranked children from a per-process copy keyed by the snapshot's computed_at;
    a live rewrite, even at the same instant (a frozen clock), must show the new figures."""
    units, people = town
    add_facts(app, people, daily=[("bob", date(2026, 3, 2), False)])
    assert table(app)["B"]["ranks"]["participation"] == 1 and table(app)["A"]["participation"] == 0
    add_facts(app, people, daily=[("amy", date(2026, 3, 3), True), ("ann", date(2026, 3, 3), True)])
    rewritten = table(app)  # the same period, the same `now`
    assert rewritten["A"]["participation"] == pytest.approx(2 / 3)
    assert rewritten["A"]["ranks"]["participation"] == 1 and rewritten["B"]["ranks"]["participation"] == 2
    with app.app_context():  # the caller may change its rows; the kept ones stay as ranked
        snapshot = rankings.snapshot_for(MARCH)
        first = rankings.rank_children(snapshot, units["P"].id, "participation")
        first[0]["change"], first[0]["name"] = 5, "改过的名字"
        again = rankings.rank_children(snapshot, units["P"].id, "participation")
        assert "change" not in again[0] and again[0]["name"] == "甲市"


def test_the_trend_follows_one_unit_over_the_periods(app, town):
    units, people = town
    add_facts(
        app,
        people,
        daily=[
            ("bob", date(2026, 1, 5), False),
            ("amy", date(2026, 2, 5), False),
            ("amy", date(2026, 3, 5), False),
        ],
    )
    for month in ("month:2026-01", "month:2026-02", MARCH):
        table(app, period=month)
    with app.app_context():
        period = rankings.parse_period(MARCH, today=NOW.date(), tz=app.config["TZINFO"])
        points = rankings.trend(units["A"].id, units["P"].id, period, "participation")
    assert [(p["period"], p["rank"]) for p in points] == [
        ("month:2026-01", 2),
        ("month:2026-02", 1),
        ("month:2026-03", 1),
    ]
    assert points[1]["value"] == pytest.approx(1 / 3)
