"""Build a province-sized synthetic organisation: units, staff, a bank and days of 日日学 history.

    python -m benchmarks.make_org --staff 100000 --units 10000 --questions 10000 [--days 30]
        [--database-url postgresql+psycopg://postgres@127.0.0.1/bench]

Everything is written with multi-row INSERTs (ids assigned here, paths computed here), so the size
of the organisation, not the number of round trips, sets the time.
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta

from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import func, insert, select, text
from werkzeug.security import generate_password_hash

from quizapp import clock
from quizapp.extensions import db
from quizapp.models import (
    Ability,
    Category,
    DailySet,
    PointsEntry,
    Question,
    QuestionVersion,
    Source,
    Unit,
    User,
)
from quizapp.services import bank_io
from quizapp.services.text import content_hash

from .common import app_for, timed

PASSWORD = "Bench12345"
CHUNK = 5000


def chunks(rows, size=CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def build(staff: int, units: int, questions: int, days: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    results: dict = {}
    bank_io.ensure_taxonomy()
    now = clock.utcnow()
    base_unit = (db.session.scalar(select(func.max(Unit.id))) or 0) + 1
    # Tree: 1 province, then cities, counties and windows in the proportions 1 : 8 : 40 : rest.
    cities = max(1, units // 50)
    counties = max(cities, units // 10)
    windows = max(1, units - 1 - cities - counties)
    with timed("units", results):
        rows, ids = [], base_unit
        province = {
            "id": ids,
            "code": f"B{ids}",
            "name": "基准省人社厅",
            "parent_id": None,
            "path": f"/{ids}/",
            "level": 1,
            "active": True,
            "created_at": now,
        }
        rows.append(province)
        ids += 1
        city_rows = []
        for n in range(cities):
            row = {
                "id": ids,
                "code": f"B{ids}",
                "name": f"第{n + 1}市人社局",
                "parent_id": province["id"],
                "path": f"{province['path']}{ids}/",
                "level": 2,
                "active": True,
                "created_at": now,
            }
            city_rows.append(row)
            ids += 1
        county_rows = []
        for n in range(counties):
            parent = city_rows[n % cities]
            county_rows.append(
                {
                    "id": ids,
                    "code": f"B{ids}",
                    "name": f"第{n + 1}县人社局",
                    "parent_id": parent["id"],
                    "path": f"{parent['path']}{ids}/",
                    "level": 3,
                    "active": True,
                    "created_at": now,
                }
            )
            ids += 1
        window_rows = []
        for n in range(windows):
            parent = county_rows[n % counties]
            window_rows.append(
                {
                    "id": ids,
                    "code": f"B{ids}",
                    "name": f"第{n + 1}窗口",
                    "parent_id": parent["id"],
                    "path": f"{parent['path']}{ids}/",
                    "level": 4,
                    "active": True,
                    "created_at": now,
                }
            )
            ids += 1
        for part in chunks(rows + city_rows + county_rows + window_rows):
            db.session.execute(insert(Unit), part)
    with timed("staff", results):
        password_hash = generate_password_hash(PASSWORD)
        first_user = (db.session.scalar(select(func.max(User.id))) or 0) + 1
        people = [
            {
                "id": first_user + n,
                "username": f"b{first_user + n}",
                "name": f"员工{n}",
                "password_hash": password_hash,
                "role": "staff",
                "unit_id": window_rows[n % windows]["id"],
                "gender": rng.choice("男女"),
                "birth_year": rng.randint(1965, 2000),
                "level": "科员",
                "job_section": rng.choice(["社会保险经办", "就业创业服务", "劳动关系协调"]),
                "active": True,
                "must_change_password": False,
                "session_version": 1,
                "created_at": now,
            }
            for n in range(staff)
        ]
        for part in chunks(people):
            db.session.execute(insert(User), part)
    with timed("questions", results):
        source_id = db.session.scalar(select(Source.id).limit(1))
        if source_id is None:
            source = Source(code="bench_source", title="基准文件", body="原文")
            db.session.add(source)
            db.session.flush()
            source_id = source.id
        category_ids = list(db.session.scalars(select(Category.id)))
        ability_ids = list(db.session.scalars(select(Ability.id)))
        first_question = (db.session.scalar(select(func.max(Question.id))) or 0) + 1
        db.session.execute(
            insert(Question),
            [{"id": first_question + n, "status": "active", "created_at": now} for n in range(questions)],
        )
        versions = []
        for n in range(questions):
            qtype = ("single", "single", "multiple", "judge", "fill")[n % 5]
            stem = f"基准题目第{n}题：" + ("____" if qtype == "fill" else "以下哪项正确？")
            options = (
                [{"key": k, "text": f"选项{k}{n}"} for k in "ABCD"] if qtype in ("single", "multiple") else []
            )
            answer = {"single": "A", "multiple": ["A", "C"], "judge": True, "fill": [["三十", "30"]]}[qtype]
            versions.append(
                {
                    "question_id": first_question + n,
                    "number": 1,
                    "is_current": True,
                    "type": qtype,
                    "stem": stem,
                    "options": options,
                    "answer": answer,
                    "explanation": "基准解析",
                    "category_id": category_ids[n % len(category_ids)],
                    "ability_id": ability_ids[n % len(ability_ids)],
                    "difficulty": 1 + n % 3,
                    "source_id": source_id,
                    "locator": "第一条",
                    "quote": "原文",
                    "content_hash": content_hash(qtype, stem, options),
                    "created_at": now,
                }
            )
        for part in chunks(versions):
            db.session.execute(insert(QuestionVersion), part)
    with timed(f"history ({days} days)", results):
        today = clock.business_date(now, current_app.config["TZINFO"])
        set_rows, point_rows = [], []
        for day_offset in range(1, days + 1):
            day = today - timedelta(days=day_offset)
            for person in people:
                if rng.random() < 0.6:
                    right = rng.randint(5, 10)
                    set_rows.append(
                        {
                            "user_id": person["id"],
                            "day": day,
                            "size": 10,
                            "answered_count": 10,
                            "correct_count": right,
                            "created_at": now,
                            "finished_at": now,
                        }
                    )
                    point_rows.append(
                        {
                            "user_id": person["id"],
                            "rule": "daily_correct",
                            "amount": right,
                            "source_id": len(point_rows) + 1,
                            "day": day,
                            "created_at": now,
                        }
                    )
        for part in chunks(set_rows):
            db.session.execute(insert(DailySet), part)
        for part in chunks(point_rows):
            db.session.execute(insert(PointsEntry), part)
        results["daily_sets"] = len(set_rows)
    advance_sequences()
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would give a live database
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return results


def advance_sequences() -> None:
    """Rows were inserted with explicit ids: move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("unit", '"user"', "question", "question_version", "attempt"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--staff", type=int, default=100000)
    parser.add_argument("--units", type=int, default=10000)
    parser.add_argument("--questions", type=int, default=10000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    app = app_for(args.database_url)
    print(
        f"Building {args.units} units, {args.staff} staff, {args.questions} questions, {args.days} days "
        f"on {app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}"
    )
    with app.app_context():
        upgrade()
        started = datetime.now()
        results = build(args.staff, args.units, args.questions, args.days)
        print(f"done in {(datetime.now() - started).total_seconds():.1f} s: {results}")


if __name__ == "__main__":
    main()
