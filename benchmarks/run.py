"""Print figures on a synthetic organisation (build it first with benchmarks.make_org).

    python -m benchmarks.run [--quick] [--json] [--database-url URL]

Figures: through gunicorn, autosave and the reads (rankings API and page, home page, 日日学)
beside the stack's floor at 32 clients, as ratios to it; 2,000 staff starting a
monthly round within 10 s, peak memory per worker, and on SQLite 200 simultaneous autosaves (see
benchmarks/load.py); 对战 on PostgreSQL: 200 four-player battles, answer → the opponents' screens
(benchmarks/battles.py); then the full live ranking recompute of every level; the rankings page from
its snapshot (p95); closing a monthly round (auto-submit, grade in one pass, rank, snapshot,
bulletin, item analysis) with N attempts × 50 answers; importing 10,000 questions and 100,000 staff
from .xlsx; a 现场比武 hall (8 teams × 4 phones on quizapp serve, SQLite): open → every phone and
32 near-simultaneous buzzes → the screen (see benchmarks/contest.py).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import time
from datetime import timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, insert, select

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import (
    Attempt,
    AttemptAnswer,
    PaperQuestion,
    QuestionVersion,
    Round,
    RoundTarget,
    Unit,
    User,
)
from quizapp.services import bank_io, sweeps

from . import battles, contest, load, refresh, staff_import
from .common import app_for, percentile, timed
from .make_org import PASSWORD, advance_sequences, chunks


def ranking_figures(app, results: dict, requests: int) -> None:
    with app.app_context():
        with timed("rankings: live recompute, every level", results):
            sweeps.refresh_rankings(clock.utcnow())
            db.session.commit()
        root = db.session.scalar(select(Unit.code).where(Unit.parent_id.is_(None)).order_by(Unit.id.desc()))
        username = db.session.scalar(select(User.username).where(User.role == "staff").limit(1))
    client = app.test_client()
    client.post("/login", data={"username": username, "password": PASSWORD})
    latencies = []
    for _ in range(requests):
        start = time.perf_counter()
        assert client.get("/rankings", query_string={"parent": root}).status_code == 200
        latencies.append(time.perf_counter() - start)
    results["rankings page p95 ms"] = round(percentile(latencies, 0.95) * 1000, 1)
    print(f"  {'rankings page from snapshot, p95':<44} {results['rankings page p95 ms']:>9.1f} ms")


def close_figures(app, results: dict, attempts: int) -> None:
    rng = random.Random(3)
    with app.app_context():
        now = clock.utcnow()
        root_id = db.session.scalar(select(Unit.id).where(Unit.parent_id.is_(None)).order_by(Unit.id.desc()))
        round_ = Round(
            kind="monthly",
            title="基准月月比",
            status="open",
            opens_at=now - timedelta(hours=3),
            closes_at=now - timedelta(minutes=5),
            time_limit_seconds=2400,
            attempts_allowed=1,
            pass_mark=60,
            show_answers="after_close",
            grace_seconds=30,
            paper_drawn_at=now,
            blueprint=[{"type": None, "count": 50}],
        )
        db.session.add(round_)
        db.session.flush()
        db.session.add(RoundTarget(round_id=round_.id, unit_id=root_id))
        paper = db.session.execute(
            select(QuestionVersion.id, QuestionVersion.question_id, QuestionVersion.type)
            .where(QuestionVersion.is_current)
            .limit(50)
        ).all()
        db.session.execute(
            insert(PaperQuestion),
            [
                {"round_id": round_.id, "position": i, "question_id": q, "question_version_id": v}
                for i, (v, q, _) in enumerate(paper, 1)
            ],
        )
        takers = db.session.execute(
            select(User.id, User.unit_id).where(User.role == "staff").limit(attempts)
        ).all()
        first = (db.session.scalar(select(func.max(Attempt.id))) or 0) + 1
        order = [q for _, q, _ in paper]
        db.session.execute(
            insert(Attempt),
            [
                {
                    "id": first + n,
                    "round_id": round_.id,
                    "user_id": user_id,
                    "unit_id": unit_id,
                    "number": 1,
                    "max_attempts": 1,
                    "status": "in_progress",
                    "started_at": now - timedelta(hours=2),
                    "deadline_at": now - timedelta(hours=1),
                    "question_order": order,
                    "option_orders": {},
                    "counted": False,
                    "focus": {"pages": {"page": [1, 12]}},  # the page reported, as a browser's does
                }
                for n, (user_id, unit_id) in enumerate(takers)
            ],
        )
        answers = []
        for n in range(len(takers)):
            given = now - timedelta(hours=2)
            for position, (version_id, question_id, _) in enumerate(paper):
                step = rng.uniform(8, 60)  # a person's pace: the integrity signals run on it
                given += timedelta(seconds=step)
                right = rng.random() < 0.7
                answers.append(
                    {
                        "attempt_id": first + n,
                        "question_id": question_id,
                        "question_version_id": version_id,
                        "response": "A" if right else "B",
                        "score": 1.0 if right else 0.0,
                        "correct": right,
                        "saved_at": given,
                        "first_saved_at": given,
                        "gap_seconds": step if position else None,
                        "revision": 1,
                    }
                )
        for part in chunks(answers, 20000):
            db.session.execute(insert(AttemptAnswer), part)
        advance_sequences()
        db.session.commit()
        label = f"round close: {len(takers)} attempts x 50 answers"
        with timed(label, results):
            outcome = sweeps.close_due_rounds(clock.utcnow())
            db.session.commit()
        assert outcome["closed"] >= 1, outcome


def import_figures(app, results: dict, questions: int) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题目"
    sheet.append([title for _, title in bank_io.COLUMNS])
    quote = "用人单位应当自成立之日起三十日内凭营业执照、登记证书或者单位印章，向当地社会保险经办机构申请办理社会保险登记"
    for n in range(questions):
        sheet.append(
            [
                "law_social_insurance",
                "单选",
                "社会保险",
                "法规政策理解运用能力",
                1 + n % 3,
                f"导入基准第{n}题：单位几日内登记？",
                "十日",
                "十五日",
                "三十日",
                "六十日",
                None,
                None,
                "C",
                "第五十七条。",
                "第五十七条",
                quote,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    with app.app_context():
        with timed(f"bank import: {questions} questions from .xlsx", results):
            batch = bank_io.read_for_import(
                [("bench.xlsx", buffer.getvalue(), None)], Path(app.config["BANK_PATH"])
            )
            summary = bank_io.import_batch(batch)
            db.session.commit()
        assert not batch.problems and summary.added + summary.duplicates == questions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller and shorter (2,000 attempts, 1,000 questions, 5 s loads)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for the load figures")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--battle-threads",
        type=int,
        default=250,
        help="threads per worker for the battles (a stream holds one)",
    )
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn load figures")
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help="only the floor, autosave and the reads beside it (for A/B runs of the read paths)",
    )
    args = parser.parse_args()
    app = app_for(args.database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    results: dict = {}
    print(f"quizapp benchmarks on {url.split('://')[0]}")
    if args.reads_only:
        load.load_figures(
            app, results, quick=args.quick, workers=args.workers, threads=args.threads, reads_only=True
        )
        if args.json:
            print(json.dumps(results, ensure_ascii=False, indent=2))
        return
    if not args.skip_load:
        load.load_figures(app, results, quick=args.quick, workers=args.workers, threads=args.threads)
        if url.startswith("sqlite"):
            load.sqlite_burst_figures(
                app, url, results, quick=args.quick, workers=args.workers, threads=args.threads
            )
        # 对战: 200 four-player battles (800 held event streams) on PostgreSQL; skipped on SQLite.
        battles.battle_figures(
            app, results, battles=50 if args.quick else 200, workers=args.workers, threads=args.battle_threads
        )
    ranking_figures(app, results, 20 if args.quick else 100)
    # The live refresh as of the history's last day: from the per-person totals and from every fact.
    refresh.refresh_figures(app, results)
    close_figures(app, results, 2000 if args.quick else 50000)
    import_figures(app, results, 1000 if args.quick else 10000)
    rows = 10000 if args.quick else 100000
    label = (
        f"staff import: {rows} rows from .xlsx"  # reading, checking, hashing, writing; not making the file
    )
    results[label] = round(staff_import.staff_import_figure(app, rows), 3)
    print(f"  {label:<44} {results[label]:>9.3f} s", flush=True)
    contest.contest_figures(results)  # 现场比武: its own SQLite hall, whatever --database-url says
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
