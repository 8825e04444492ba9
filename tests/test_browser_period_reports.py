"""Period reports in a browser (issue 23.3): the admin's 季度汇报 of the demo province on a laptop,
a city admin's on a phone (390 px: nothing sticks out sideways, the charts drawn), and the print view.
Screenshots: ``period-report-*.png``.

The world: the demo (its five weeks of 日日学), and a previous quarter built here — other people
taking part, and an exam in each quarter — so there is a change to show."""

from __future__ import annotations

import os
import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from quizapp import clock, create_app
from quizapp.cli.server import initialise
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptStatus,
    DailySet,
    PointsEntry,
    Role,
    Round,
    RoundStatus,
    RoundTarget,
    Unit,
    User,
)
from quizapp.services.periods import previous_period, span_of

from .conftest import make_config
from .test_browser import DESKTOP, PHONE, page_for, serving, shot, sign_in  # noqa: F401

pytestmark = pytest.mark.browser
PASSWORD = "Report12345"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    os.environ["QUIZAPP_DEMO_PASSWORD"] = PASSWORD
    os.environ["QUIZAPP_ADMIN_PASSWORD"] = PASSWORD
    try:
        app = create_app(
            make_config(f"sqlite:///{instance / 'reports.sqlite3'}", instance, WTF_CSRF_ENABLED=True)
        )
        with app.app_context():
            initialise(demo_org=True, echo=lambda message: None)
            quarter = add_history(app)
            db.session.commit()
    finally:
        del os.environ["QUIZAPP_DEMO_PASSWORD"], os.environ["QUIZAPP_ADMIN_PASSWORD"]
    with serving(app) as base:
        yield app, base, quarter


def add_history(app) -> str:
    """The previous quarter: each staff member took part on a few days at a habit of their own (the
    first city keener then than now), and an exam closed in each quarter. Returns this quarter's key."""
    tz = app.config["TZINFO"]
    today = clock.business_date(clock.utcnow(), tz)
    this, before = span_of("quarter", today), previous_period(span_of("quarter", today))
    rng = random.Random(7)
    staff = db.session.execute(
        select(User.id, User.unit_id, Unit.path)
        .join(Unit, Unit.id == User.unit_id)
        .where(User.role == Role.STAFF)
    ).all()
    cities = sorted({path.split("/")[2] for _, _, path in staff})
    for user_id, _, path in staff:
        keen = 0.8 if path.split("/")[2] == cities[0] else 0.45
        for n in range(20):
            day = before.starts_on + timedelta(days=4 * n)
            if rng.random() < keen and day < before.ends_on:
                db.session.add(
                    DailySet(
                        user_id=user_id,
                        day=day,
                        size=10,
                        answered_count=10,
                        correct_count=8,
                        finished_at=clock.day_bounds(day, tz)[0] + timedelta(hours=2),
                    )
                )
                db.session.add(
                    PointsEntry(
                        user_id=user_id, rule="daily_correct", amount=10, source_id=900000 + n, day=day
                    )
                )
    province = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
    for period, spread in ((before, 0), (this, 1)):
        closes = clock.day_bounds(min(period.starts_on + timedelta(days=20), today - timedelta(days=1)), tz)[
            0
        ]
        exam = Round(
            kind="exam",
            title=f"{period.label}专项考试",
            status=RoundStatus.CLOSED,
            opens_at=closes - timedelta(days=2),
            closes_at=closes,
            time_limit_seconds=2400,
            attempts_allowed=1,
            pass_mark=60,
            show_answers="after_close",
            grace_seconds=30,
            blueprint=[{"type": None, "count": 10}],
        )
        db.session.add(exam)
        db.session.flush()
        db.session.add(RoundTarget(round_id=exam.id, unit_id=province.id))
        for user_id, unit_id, path in staff:
            if rng.random() < 0.75:
                percent = float(
                    rng.randint(40, 100) if path.split("/")[2] != cities[spread] else rng.randint(70, 100)
                )
                db.session.add(
                    Attempt(
                        round_id=exam.id,
                        user_id=user_id,
                        unit_id=unit_id,
                        number=1,
                        max_attempts=1,
                        status=AttemptStatus.SUBMITTED,
                        started_at=closes - timedelta(days=1),
                        deadline_at=closes - timedelta(hours=23),
                        submitted_at=closes - timedelta(hours=23),
                        question_order=[],
                        option_orders={},
                        percent=percent,
                        score=percent / 10,
                        time_used_seconds=900,
                        graded_at=closes,
                        counted=True,
                    )
                )
    return this.key


def fits_and_draws(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "sticks out sideways"
    for chart in ("chart-composite", "chart-rates"):
        page.wait_for_selector(f"#{chart}[data-ready='true']")
        assert page.locator(f"#{chart} canvas").count() == 1
    assert page.problems == [], page.problems


def test_the_admin_reads_the_province_on_a_laptop(world, page_for):  # noqa: F811
    app, base, quarter = world
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", PASSWORD)
    page.goto(f"{base}/period-reports?period={quarter}")
    assert "季度汇报" in page.locator("h1").inner_text()
    fits_and_draws(page)
    assert page.locator(".report-table tbody tr").count() == 3  # the demo's three cities
    assert page.locator(".extreme.best li").count() == 1 and page.locator(".extreme.worst li").count() == 1
    assert page.locator(".report-table .delta").count() > 10  # changes against the previous quarter
    shot(page, "period-report-desktop-01-province")
    page.get_by_role("link", name="打印版").click()
    page.wait_for_selector("#chart-composite[data-ready='true']")
    assert page.locator("nav").count() == 0 and page.locator("form").count() == 0
    shot(page, "period-report-desktop-02-print")
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_a_city_admin_reads_their_city_on_a_phone(world, page_for):  # noqa: F811
    app, base, quarter = world
    page = page_for(PHONE)
    sign_in(page, base, "city1_admin", PASSWORD)
    page.goto(f"{base}/period-reports?period={quarter}")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("成都市") and "季度汇报" in heading
    fits_and_draws(page)
    assert page.locator(".report-table tbody tr").count() == 2  # its two counties
    shot(page, "period-report-phone-01-city")
    page.locator(".report-table tbody tr a").first.click()  # down to a county
    page.wait_for_load_state()
    assert page.locator(".trail a").count() == 2  # 成都市 › the county; never the province
    fits_and_draws(page)
    shot(page, "period-report-phone-02-county")
