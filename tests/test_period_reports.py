"""Period reports (双月评估, 季度汇报, 半年总结; issue 23.3): figures against a small hand-built history
(participation, averages, pass rates, ranks, changes against the previous period, best and worst,
non-participants), scope, the .xlsx, the print view, the stored reports of the sweep, and the page's
query count.

The history: 2026 Q1 (January–March) and Q2 (April–June); the clock stands on 2 July, so Q2 and the
first half-year have ended."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from quizapp import jobs
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptStatus,
    Bulletin,
    DailySet,
    PointsEntry,
    RankingSnapshot,
    Round,
    RoundStatus,
    RoundTarget,
    SnapshotRow,
    User,
)
from quizapp.services import period_reports
from quizapp.services.periods import span_period

from .conftest import closed_round

NOW = datetime(2026, 7, 2, 2, 0, tzinfo=UTC)  # 10:00 on 2 July in Shanghai
Q2 = "quarter:2026-Q2"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def history(app, create_unit, create_user, frozen_clock):
    """P → A (A1: amy, ann, abe; aadmin at A), B (B1: bob, ben), C (C1: cat, cal), D (no staff).

    Q1: daily — bob, ben, cat, cal; an exam closed 20 Feb — amy 40, bob 85, cat 60; points bob 10,
    cat 10. Q2: daily — amy (twice), ann, bob; an exam closed 20 May — amy 90, ann 50, bob 80, cal 70;
    points amy 20, ann 10, bob 9, cal 6."""
    frozen_clock.set(NOW)
    units = {
        code: create_unit(code, name, parent)
        for code, name, parent in [
            ("P", "示范省", None),
            ("A", "甲市", "P"),
            ("B", "乙市", "P"),
            ("C", "丙市", "P"),
            ("D", "丁市", "P"),
            ("A1", "甲窗口", "A"),
            ("B1", "乙窗口", "B"),
            ("C1", "丙窗口", "C"),
        ]
    }
    people = {
        name: create_user(name, unit=units[unit], name=label)
        for name, unit, label in [
            ("amy", "A1", "甲一"),
            ("ann", "A1", "甲二"),
            ("abe", "A1", "=HYPERLINK(1)"),  # a name a spreadsheet would run
            ("bob", "B1", "乙一"),
            ("ben", "B1", "乙二"),
            ("cat", "C1", "丙一"),
            ("cal", "C1", "丙二"),
        ]
    }
    people["aadmin"] = create_user("aadmin", unit=units["A"], role="unit_admin", name="甲管理")
    people["root"] = create_user("root", role="admin")
    with app.app_context():
        add_daily(people, [("bob", date(2026, 2, 10)), ("ben", date(2026, 2, 11)), ("cat", date(2026, 3, 1))])
        add_daily(people, [("cal", date(2026, 3, 2))])
        add_daily(people, [("amy", date(2026, 4, 10)), ("amy", date(2026, 4, 11)), ("ann", date(2026, 5, 3))])
        add_daily(people, [("bob", date(2026, 4, 11))])
        add_points(people, [("bob", date(2026, 2, 10), 10), ("cat", date(2026, 3, 1), 10)])
        add_points(
            people,
            [
                ("amy", date(2026, 4, 10), 20),
                ("ann", date(2026, 5, 3), 10),
                ("bob", date(2026, 4, 11), 9),
                ("cal", date(2026, 5, 4), 6),
            ],
        )
        add_exam(people, datetime(2026, 2, 20, 4, tzinfo=UTC), [("amy", 40.0), ("bob", 85.0), ("cat", 60.0)])
        add_exam(
            people,
            datetime(2026, 5, 20, 4, tzinfo=UTC),
            [("amy", 90.0), ("ann", 50.0), ("bob", 80.0), ("cal", 70.0)],
        )
        db.session.commit()
    return units, people


def add_daily(people, days) -> None:
    for name, day in days:
        db.session.add(
            DailySet(
                user_id=people[name].id,
                day=day,
                size=10,
                answered_count=10,
                correct_count=9,
                finished_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3),
            )
        )


def add_points(people, entries) -> None:
    for name, day, amount in entries:
        db.session.add(
            PointsEntry(
                user_id=people[name].id,
                rule="daily_correct",
                amount=amount,
                source_id=day.toordinal(),
                day=day,
            )
        )


def add_exam(people, closes_at: datetime, scores) -> int:
    round_ = closed_round(
        kind="exam",
        title=f"{closes_at:%m}月考试",
        opens_at=closes_at - timedelta(days=2),
        closes_at=closes_at,
    )
    db.session.add(round_)
    db.session.flush()
    db.session.add(RoundTarget(round_id=round_.id, unit_id=people["amy"].unit.path_ids()[0]))
    submitted = closes_at - timedelta(days=1)
    for name, percent in scores:
        user = people[name]
        db.session.add(
            Attempt(
                round_id=round_.id,
                user_id=user.id,
                unit_id=user.unit_id,
                number=1,
                max_attempts=1,
                status=AttemptStatus.SUBMITTED,
                started_at=submitted - timedelta(minutes=30),
                deadline_at=submitted,
                submitted_at=submitted,
                question_order=[],
                option_orders={},
                percent=percent,
                score=percent / 10,
                time_used_seconds=600,
                graded_at=closes_at,
                counted=True,
            )
        )
    db.session.flush()
    return round_.id


def report_of(app, unit_code: str = "P", period: str = Q2, **options) -> dict:
    with app.app_context():
        unit = db.session.scalar(select(period_reports.Unit).where(period_reports.Unit.code == unit_code))
        result = period_reports.report(
            unit, period_reports.parse(period, today=NOW.date()), now=NOW, tz=app.config["TZINFO"], **options
        )
        db.session.commit()
        return result


# ---------------------------------------------------------------------------------------------
# Figures


def test_figures_ranks_and_changes_match_the_hand_computed_ones(app, history):
    report = report_of(app)
    assert report["title"] == "2026年第二季度 季度汇报" and report["previous_period"].key == "quarter:2026-Q1"
    assert report["state"]["key"] == "final"  # Q2 is over and every round in it closed
    rows = {row["code"]: row for row in report["rows"]}
    a, b, c, d = rows["A"], rows["B"], rows["C"], rows["D"]
    # 甲市: amy, ann, abe and its unit admin (4); amy and ann took part; amy passed (90), ann not (50):
    # the pass rate is over the attempts (a quarter's dozen weekly rounds would pass 100% of the heads).
    assert (a["headcount"], a["participants"], a["person_times"]) == (4, 2, 5)  # amy 2 days + exam
    assert a["participation"] == 0.5 and a["avg_score"] == 70.0 and a["pass_rate"] == 0.5
    assert a["points_per_head"] == 7.5
    assert (b["participation"], b["avg_score"], b["pass_rate"], b["points_per_head"]) == (0.5, 80.0, 1.0, 4.5)
    assert (c["participation"], c["avg_score"], c["pass_rate"], c["points_per_head"]) == (0.5, 70.0, 1.0, 3.0)
    # Composite 0.4·participation + 0.4·average + 0.2·points per head ÷ the best (甲市, 7.5).
    assert a["composite"] == pytest.approx(0.2 + 0.28 + 0.2)
    assert b["composite"] == pytest.approx(0.2 + 0.32 + 0.2 * 4.5 / 7.5)
    assert c["composite"] == pytest.approx(0.2 + 0.28 + 0.2 * 3.0 / 7.5)
    assert [row["code"] for row in report["rows"]] == ["A", "B", "C", "D"]
    assert [rows[code]["ranks"]["composite"] for code in "ABCD"] == [1, 2, 3, 4]
    # Q1: 乙市 (all took part, 85) 1st, 丙市 2nd, 甲市 (amy's 40 only) 3rd, 丁市 4th.
    assert [rows[code]["previous_rank"] for code in "ABCD"] == [3, 1, 2, 4]
    assert [rows[code]["change"] for code in "ABCD"] == [2, -1, -1, 0]
    assert a["deltas"]["participation"] == pytest.approx(0.5 - 0.25)
    assert a["deltas"]["avg_score"] == pytest.approx(70 - 40) and a["deltas"]["pass_rate"] == 0.5
    assert b["deltas"]["participation"] == pytest.approx(-0.5) and b["deltas"]["avg_score"] == -5
    assert b["deltas"]["pass_rate"] == 0  # bob passed both times
    assert a["previous"]["composite"] == pytest.approx(0.4 * 0.25 + 0.4 * 0.40)
    assert d["deltas"]["avg_score"] is None  # no scores either time: nothing to compare
    # The province itself: 8 staff, 4 took part, 7 person-times, (90+50+80+70)/4, 3 passed, 45 points.
    current, previous, deltas = (report["summary"][key] for key in ("current", "previous", "deltas"))
    assert (current["headcount"], current["participants"], current["person_times"]) == (8, 4, 8)
    assert (
        current["avg_score"] == 72.5
        and current["pass_rate"] == 3 / 4
        and current["points_per_head"] == 45 / 8
    )
    assert (previous["participants"], previous["person_times"], previous["pass_rate"]) == (5, 7, 2 / 3)
    assert previous["avg_score"] == pytest.approx(185 / 3)
    assert deltas["participation"] == pytest.approx(4 / 8 - 5 / 8) and deltas["person_times"] == 1
    # Best and worst: 丁市 has no staff and is neither; three staffed units → one each.
    assert [row["code"] for row in report["best"]] == ["A"]
    assert [row["code"] for row in report["worst"]] == ["C"]
    # Non-participants: headcount − participants, named, by unit code and login.
    absent = report["absent"]
    assert absent["total"] == 4 == current["headcount"] - current["participants"]
    assert [p["username"] for p in absent["rows"]] == ["aadmin", "abe", "ben", "cat"]
    assert absent["rows"][0]["unit_name"] == "甲市"


def test_a_subtree_a_half_year_two_months_and_a_custom_range(app, history):
    report = report_of(app, "A")
    assert [row["code"] for row in report["rows"]] == ["A1"]
    assert report["best"] == [] and report["worst"] == []  # one child: nobody is best or worst
    assert [p["username"] for p in report["absent"]["rows"]] == ["aadmin", "abe"]
    half = report_of(app, period="half:2026-H1")
    assert half["title"] == "2026年上半年 半年总结" and half["previous_period"].key == "half:2025-H2"
    rows = {row["code"]: row for row in half["rows"]}
    # The half-year holds both quarters: 丙市 cat (Q1) and cal (both) took part, both exams count.
    assert rows["C"]["participation"] == 1.0 and rows["C"]["avg_score"] == 65.0
    assert half["summary"]["current"]["participants"] == 6
    # Nothing happened in 2025's second half: no yardstick (not every unit 1st, every change vs zero).
    assert not half["compared"] and half["summary"]["previous"] is None
    assert all(row["change"] is None and row["deltas"]["participation"] is None for row in half["rows"])
    two = report_of(app, period="bimonth:2026-B3")  # May–June: ann's day, the May exam, cal's points
    assert two["period"].label == "2026年5–6月" and two["previous_period"].key == "bimonth:2026-B2"
    assert two["summary"]["current"]["participants"] == 4  # the exam's four
    custom = report_of(app, period="custom:2026-04-01:2026-06-30")
    assert custom["period"].kind == "custom" and custom["previous_period"].ends_on == date(2026, 4, 1)
    assert (custom["previous_period"].ends_on - custom["previous_period"].starts_on).days == 91
    quarter = report_of(app)
    assert [r["composite"] for r in custom["rows"]] == [r["composite"] for r in quarter["rows"]]


def test_pages_of_non_participants(app, history, monkeypatch):
    first = report_of(app, page=1, limit=3)
    assert first["absent"] | {"rows": None} == {"total": 4, "rows": None, "page": 1, "pages": 2}
    last = report_of(app, page=99, limit=3)  # past the last page: the last page
    assert last["absent"]["page"] == 2 and [p["username"] for p in last["absent"]["rows"]] == ["cat"]
    everyone = report_of(app, limit=None)
    assert len(everyone["absent"]["rows"]) == 4


@pytest.mark.parametrize(
    "value, message",
    [
        ("quarter:2026-Q5", "季度汇报的期数应为 1–4"),
        ("half:2026-Q1", "统计周期“half:2026-Q1”无效"),
        ("quarter:1999-Q1", "年份超出范围"),
        ("custom:2026-05-01:2026-04-01", "截止日期早于起始日期"),
        ("custom:2025-01-01:2026-06-30", "不能超过 366 天"),
        ("custom:2026-13-01:2026-14-01", "自定义时间段“custom:2026-13-01:2026-14-01”无效"),
    ],
)
def test_a_bad_period_gets_a_clear_400(login_as, history, value, message):
    response = login_as("root").get(f"/period-reports?period={value}")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Pages, scope, exports


def test_the_page_shows_the_report_to_whoever_manages_the_unit(login_as, history):
    page = login_as("root").get(f"/period-reports?unit=P&period={Q2}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "示范省 · 2026年第二季度 季度汇报" in html and "对比上期 2026年第一季度" in html
    assert 'id="chart-composite"' in html and 'id="report-data"' in html and "echarts.common.min.js" in html
    assert "↑2" in html and "↓1" in html  # 甲市 up two places, 乙市 and 丙市 down one
    assert "乙二" in html and "丙一" in html  # named non-participants
    # A unit admin: their subtree by default, never another one, never above their own unit.
    unit_admin = login_as("aadmin")
    own = unit_admin.get(f"/period-reports?period={Q2}").get_data(as_text=True)
    assert "甲市 · 2026年第二季度 季度汇报" in own and "甲窗口" in own
    assert "乙二" not in own and "乙市" not in own and "示范省" not in own
    for code in ("B", "B1", "P"):
        assert unit_admin.get(f"/period-reports?unit={code}&period={Q2}").status_code == 404
        assert unit_admin.get(f"/period-reports.xlsx?unit={code}&period={Q2}").status_code == 404
        assert unit_admin.get(f"/period-reports/print?unit={code}&period={Q2}").status_code == 404
    assert unit_admin.get(f"/period-reports?unit=A1&period={Q2}").status_code == 200
    assert login_as("amy").get("/period-reports").status_code == 403  # staff: it names people


def test_the_workbook_holds_the_tables_and_keeps_text_as_text(login_as, history):
    response = login_as("root").get(f"/period-reports.xlsx?unit=P&period={Q2}")
    assert response.status_code == 200 and response.mimetype == XLSX
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["下级单位", "概况", "未参加人员"]
    units = list(workbook["下级单位"].iter_rows(values_only=True))
    assert units[0][:7] == ("名次", "上期名次", "名次变化", "单位", "编码", "人数", "参与人数")
    by_code = {row[4]: row for row in units[1:]}
    assert by_code["A"][:3] == (1, 3, 2) and by_code["A"][7:10] == (50.0, 25.0, 5)
    assert by_code["B"][:3] == (2, 1, -1)
    summary = {row[0]: row[1:] for row in workbook["概况"].iter_rows(values_only=True)}
    assert summary["参与率%"] == (50.0, 62.5, -12.5) and summary["平均分"][0] == 72.5
    assert summary["最好：第1名"][0] == "甲市" and summary["最差：第3名"][0] == "丙市"
    absent = workbook["未参加人员"]
    assert [row[3] for row in absent.iter_rows(min_row=2, values_only=True)] == [
        "aadmin",
        "abe",
        "ben",
        "cat",
    ]
    formula = next(
        cell for row in absent.iter_rows(min_row=2) for cell in row if cell.value == "=HYPERLINK(1)"
    )
    assert formula.data_type == "s"  # stored as text, not a formula


def test_the_print_view_has_no_navigation_and_prints_the_report(login_as, history, app):
    response = login_as("root").get(f"/period-reports/print?unit=P&period={Q2}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="topbar"' not in html and 'class="tabs"' not in html and "<form" not in html
    assert "css/print.css" in html and "css/period_report.css" in html
    assert "下级单位排名与变化" in html and "乙二" in html
    with app.test_client().get("/static/css/period_report.css") as stylesheet:
        css = stylesheet.get_data(as_text=True)
    assert "@media print" in css and ".topbar" in css.split("@media print")[1]


# ---------------------------------------------------------------------------------------------
# The sweep: 季度汇报 and 半年总结, stored once


def test_the_sweep_stores_each_report_once_and_lists_it_with_the_bulletins(
    app, history, login_as, frozen_clock
):
    with app.app_context():  # a round closing in June still open: Q2 and H1 are not settled
        open_round = closed_round(
            title="六月月月比",
            status=RoundStatus.OPEN,
            opens_at=datetime(2026, 6, 28, tzinfo=UTC),
            closes_at=datetime(2026, 6, 30, 15, tzinfo=UTC),
        )
        db.session.add(open_round)
        db.session.commit()
        round_id = open_round.id
    assert jobs.run_sweep(app, "period_reports").counts == {"reports_built": 0, "reports_waiting": 2}
    with app.app_context():
        db.session.get(Round, round_id).status = RoundStatus.CLOSED
        db.session.commit()
    assert jobs.run_sweep(app, "period_reports").counts == {"reports_built": 2, "reports_waiting": 0}
    assert jobs.run_sweep(app, "period_reports").counts == {"reports_built": 0, "reports_waiting": 0}
    with app.app_context():
        stored = {b.period_key: b for b in db.session.scalars(select(Bulletin))}
        assert set(stored) == {"quarter:2026-Q2", "half:2026-H1"}
        quarter = stored["quarter:2026-Q2"]
        assert quarter.title == "2026年第二季度 季度汇报"
        assert (quarter.content["headcount"], quarter.content["participants"]) == (8, 4)
        names = sorted(p["username"] for g in quarter.content["non_participants"] for p in g["people"])
        assert names == ["aadmin", "abe", "ben", "cat"]
        quarter_id = quarter.id
        # Someone joins 甲窗口 afterwards: the stored report keeps the list as it was.
        db.session.add(
            User(username="newbie", name="新人", password_hash="x", unit_id=history[0]["A1"].id, active=True)
        )
        db.session.commit()
    frozen_clock.advance(days=1)  # the next day's run: still one of each
    assert jobs.run_sweep(app, "period_reports").counts == {"reports_built": 0, "reports_waiting": 0}
    with app.app_context():
        assert db.session.scalar(select(func.count(Bulletin.id))) == 2
    admin = login_as("root")
    listing = admin.get("/bulletins").get_data(as_text=True)
    assert "2026年第二季度 季度汇报" in listing and "2026年上半年 半年总结" in listing
    page = admin.get(f"/period-reports?unit=P&period={Q2}").get_data(as_text=True)
    assert "归档为" in page and "新人" not in page and "乙二" in page
    live = admin.get("/period-reports?unit=P&period=custom:2026-04-01:2026-06-30").get_data(as_text=True)
    assert "新人" in live  # the same range, not stored: today's staff
    # The stored report as a bulletin: its own figures, names and the way to the whole report —
    # for a unit admin, their subtree only.
    bulletin = login_as("aadmin").get(f"/bulletins/{quarter_id}").get_data(as_text=True)
    assert "查看完整报告" in bulletin and "=HYPERLINK(1)" in bulletin
    assert "乙二" not in bulletin
    assert login_as("aadmin").get(f"/bulletins/{quarter_id}/print").status_code == 200
    assert login_as("aadmin").get(f"/bulletins/{quarter_id}.xlsx").status_code == 200


def test_no_report_before_anything_happened(app, create_unit, frozen_clock):
    frozen_clock.set(NOW)
    create_unit("P", "示范省")
    assert jobs.run_sweep(app, "period_reports").counts == {"reports_built": 0, "reports_waiting": 0}


def test_a_running_quarter_is_live_and_refreshed(app, history, frozen_clock):
    with app.app_context():
        tz = app.config["TZINFO"]
        period = span_period("quarter", 2026, 3)
        first = period_reports.snapshot(period, now=NOW, tz=tz)
        assert not first.official and first.computed_at == NOW
        assert period_reports.snapshot(period, now=NOW + timedelta(minutes=4), tz=tz).computed_at == NOW
        later = NOW + timedelta(minutes=6)
        assert period_reports.snapshot(period, now=later, tz=tz).computed_at == later
        db.session.commit()


# ---------------------------------------------------------------------------------------------
# Query count: the page's statements do not grow with the organisation


def grow(app, history, extra: int) -> None:
    """``extra`` more cities, each with a window, two people (one took part) and points."""
    units, people = history
    from quizapp.services import org

    with app.app_context():
        for n in range(extra):
            city = org.create_unit(f"G{n}", f"新市{n}", "P")
            window = org.create_unit(f"G{n}W", f"新窗口{n}", city.code)
            for s in range(2):
                user = User(username=f"g{n}s{s}", name=f"新员工{n}{s}", password_hash="x", unit_id=window.id)
                db.session.add(user)
                db.session.flush()
                if s == 0:
                    add_daily({"u": user}, [("u", date(2026, 4, 2 + n % 20))])
                    add_points({"u": user}, [("u", date(2026, 4, 2 + n % 20), 5 + n)])
        db.session.commit()


def test_the_page_runs_the_same_statements_whatever_the_size(
    app, history, login_as, count_queries, figures, frozen_clock
):
    admin, unit_admin = login_as("root"), login_as("aadmin")
    urls = {"admin": f"/period-reports?unit=P&period={Q2}", "unit admin": f"/period-reports?period={Q2}"}

    def measure() -> dict:
        counts = {}
        for who, client in (("admin", admin), ("unit admin", unit_admin)):
            assert client.get(urls[who]).status_code == 200  # the first may write the snapshots
            with count_queries() as counted:
                assert client.get(urls[who]).status_code == 200
            counts[who] = counted.count
        return counts

    small = measure()
    grow(app, history, 12)
    with app.app_context():  # the quarters' official figures are computed again, with the new cities
        db.session.execute(delete(SnapshotRow))
        db.session.execute(delete(RankingSnapshot))
        db.session.commit()
    frozen_clock.advance(minutes=1)  # a new computation time: nothing kept from the small world
    large = measure()
    with app.app_context():
        assert db.session.scalar(select(func.count(SnapshotRow.id))) > 2 * 20  # the grown tree, twice
    assert large == small, (small, large)
    assert max(large.values()) <= 16, large
    figures.put("period reports", "statements on the report page", max(large.values()))


def test_a_reviewers_decision_restates_a_stored_report(app, history):
    """cat's 日日学 day in May was held when the quarter's report was stored: cleared afterwards, the
    stored 季度汇报 and 半年总结 are built again from the restated official figures."""
    from quizapp.services.integrity import review

    units, people = history
    day = date(2026, 5, 8)
    with app.app_context():
        held = DailySet(
            user_id=people["cat"].id,
            day=day,
            size=10,
            answered_count=10,
            correct_count=9,
            finished_at=datetime(2026, 5, 8, 3, tzinfo=UTC),
            held=True,
        )
        db.session.add(held)
        db.session.commit()
        held_id = held.id
    assert jobs.run_sweep(app, "period_reports").counts == {"reports_built": 2, "reports_waiting": 0}

    def stored(key: str) -> tuple[list[str], int]:
        bulletin = db.session.scalar(select(Bulletin).where(Bulletin.period_key == key))
        names = sorted(p["username"] for g in bulletin.content["non_participants"] for p in g["people"])
        return names, bulletin.content["participants"]

    with app.app_context():
        assert stored(Q2) == (["aadmin", "abe", "ben", "cat"], 4)
        db.session.get(DailySet, held_id).held = False  # 核准计入
        db.session.flush()
        review._restate_day(day, now=NOW + timedelta(hours=1))
        db.session.commit()
        assert stored(Q2) == (["aadmin", "abe", "ben"], 5)
        assert stored("half:2026-H1")[0] == ["aadmin", "abe"]
        assert db.session.scalar(select(func.count(Bulletin.id))) == 2
    report = report_of(app)
    assert report["summary"]["current"]["participants"] == 5 and report["absent"]["total"] == 3
