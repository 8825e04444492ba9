"""The live ranking refresh at the end of the history's last day (issue 24): from the per-person
totals, and from every fact as it was before them; the roll-over's fold of one day.

    python -m benchmarks.refresh [--database-url URL] [--no-full]

Build the organisation first with ``benchmarks.make_org --learning --today --as-of …`` (the
refresh is timed as of the last day with facts, 20:00, so the month is as full as asked for).
Every write is rolled back but the refreshes' snapshots (what the scheduler writes anyway).
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from sqlalchemy import delete, func, select

from quizapp import clock, database
from quizapp.extensions import db
from quizapp.models import DailySet, LearningItem, PersonPeriodAbility, PersonPeriodTotal, TotalsDay
from quizapp.services import period_totals, rankings

from .common import app_for, timed


def refresh_figures(app, results: dict, *, full: bool = True) -> None:
    with app.app_context():
        tz = app.config["TZINFO"]
        today = db.session.scalar(select(func.max(DailySet.day)))
        if today is None:
            print("  live refresh: no history (build it with make_org)")
            return
        now = clock.day_bounds(today, tz)[0] + timedelta(hours=20)
        month = rankings.month_period(today)
        facts = {
            "daily sets this month": db.session.scalar(
                select(func.count(DailySet.id)).where(DailySet.day >= month.starts_on)
            ),
            "learning answers this month": db.session.scalar(
                select(func.count(LearningItem.id)).where(LearningItem.day >= month.starts_on)
            ),
            "learning answers today": db.session.scalar(
                select(func.count(LearningItem.id)).where(LearningItem.day == today)
            ),
            "person rows": db.session.scalar(select(func.count()).select_from(PersonPeriodTotal)),
            "person ability rows": db.session.scalar(select(func.count()).select_from(PersonPeriodAbility)),
            "folded days": db.session.scalar(select(func.count()).select_from(TotalsDay)),
        }
        results["refresh history"] = {"as of": today.isoformat(), **facts}
        print(f"  live refresh as of {today} 20:00: {facts}")
        with timed("live refresh from the totals, every level", results):
            rankings.refresh_live(now)
            db.session.commit()
        with timed("live refresh from the totals, again", results):
            rankings.refresh_live(now)
            db.session.commit()
        if full:
            with timed("live refresh from every fact (as before)", results):
                rankings.refresh_live(now, full=True)
                db.session.commit()
        # The roll-over's fold of a day, timed on the last day (as if it were over), then undone.
        with timed("roll-over: fold one day into the totals", results):
            database.bulk_work()
            db.session.execute(delete(TotalsDay).where(TotalsDay.day == today))
            period_totals.fold_day(today, today=today, now=now)
        db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--no-full", action="store_true", help="skip the full recompute")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    app = app_for(args.database_url)
    results: dict = {}
    refresh_figures(app, results, full=not args.no_full)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
