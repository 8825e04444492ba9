"""Build a province-sized synthetic organisation: units, staff, a bank and days of 日日学 history.

    python -m benchmarks.make_org --staff 100000 --units 10000 --questions 10000 [--days 30]
        [--learning] [--today] [--as-of 2026-12-31] [--raw-days N]
        [--database-url postgresql+psycopg://postgres@127.0.0.1/bench]

Big tables go in with COPY on PostgreSQL (multi-row INSERTs elsewhere; ids and paths assigned
here), so the size of the organisation, not the number of round trips, sets the time.

History: ``--days`` days before ``--as-of`` (default today), 60% of the staff finishing their
日日学 set each day (one ledger row each); ``--today`` adds the as-of day itself (as at its end);
``--learning`` writes each set's 10 answers (``learning_item``, made by the database from the sets:
~18 M rows a month at province size), which the live refresh's accuracy by ability reads. Past days
within the live week and month are then folded into the per-person totals (``period_totals``), as
the day roll-over does. ``--raw-days N`` keeps raw facts for the last N past days only: older days
of the live week and month exist only as per-person totals (synthetic, drawn as the raw days are)
— how a nation (1 M staff) is built in minutes.
"""

from __future__ import annotations

import argparse
import random
from datetime import date, datetime, timedelta

from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import Integer, func, insert, literal, select, text, union_all
from werkzeug.security import generate_password_hash

from quizapp import clock, database
from quizapp.extensions import db
from quizapp.models import (
    Ability,
    Category,
    DailySet,
    LearningItem,
    PersonPeriodAbility,
    PersonPeriodTotal,
    PointsEntry,
    Question,
    QuestionVersion,
    Source,
    TotalsDay,
    Unit,
    User,
)
from quizapp.services import bank_io, period_totals
from quizapp.services.periods import month_period, week_period
from quizapp.services.text import content_hash

from .common import app_for, timed

PASSWORD = "Bench12345"
CHUNK = 5000


def chunks(rows, size=CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def copy_rows(table, names: list[str], rows) -> int:
    """Write ``rows`` (tuples in ``names`` order, any iterable) into ``table``: COPY on PostgreSQL,
    multi-row INSERTs elsewhere. Returns how many."""
    count = 0
    if db.session.get_bind().dialect.name == "postgresql":
        columns = ", ".join(f'"{name}"' for name in names)
        connection = db.session.connection().connection.driver_connection
        with (
            connection.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = []
    for row in rows:
        batch.append(dict(zip(names, row, strict=True)))
        count += 1
        if len(batch) >= CHUNK:
            db.session.execute(insert(table), batch)
            batch = []
    if batch:
        db.session.execute(insert(table), batch)
    return count


UNIT_COLUMNS = ["id", "code", "name", "parent_id", "path", "level", "active", "created_at"]


def build(
    staff: int,
    units: int,
    questions: int,
    days: int,
    seed: int = 1,
    *,
    learning: bool = False,
    today_too: bool = False,
    as_of: date | None = None,
    raw_days: int | None = None,
) -> dict:
    rng = random.Random(seed)
    results: dict = {}
    if db.session.get_bind().dialect.name == "postgresql":
        # Synthetic rows made consistent here: no foreign-key trigger per row (the build's main cost).
        db.session.execute(text("SET session_replication_role = replica"))
    database.bulk_work()  # the background statement timeout (until the first commit)
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
        copy_rows(
            Unit.__table__,
            UNIT_COLUMNS,
            ([row[name] for name in UNIT_COLUMNS] for row in rows + city_rows + county_rows + window_rows),
        )
    with timed("staff", results):
        password_hash = generate_password_hash(PASSWORD)
        first_user = (db.session.scalar(select(func.max(User.id))) or 0) + 1
        people = range(first_user, first_user + staff)  # ids: the rows are streamed, never held
        names = [
            "id",
            "username",
            "name",
            "password_hash",
            "role",
            "unit_id",
            "gender",
            "birth_year",
            "level",
            "job_section",
            "active",
            "must_change_password",
            "session_version",
            "created_at",
        ]
        sections = ["社会保险经办", "就业创业服务", "劳动关系协调"]
        copy_rows(
            User.__table__,
            names,
            (
                (
                    first_user + n,
                    f"b{first_user + n}",
                    f"员工{n}",
                    password_hash,
                    "staff",
                    window_rows[n % windows]["id"],
                    rng.choice("男女"),
                    rng.randint(1965, 2000),
                    "科员",
                    rng.choice(sections),
                    True,
                    False,
                    1,
                    now,
                )
                for n in range(staff)
            ),
        )
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
    first_version = db.session.scalar(
        select(func.min(QuestionVersion.id)).where(QuestionVersion.question_id >= first_question)
    )
    today = as_of or clock.business_date(now, current_app.config["TZINFO"])
    raw_days = days if raw_days is None else min(raw_days, days)
    window = min(week_period(today).starts_on, month_period(today).starts_on)
    raw = [today - timedelta(days=n) for n in range(0 if today_too else 1, raw_days + 1)]
    synthetic = [
        today - timedelta(days=n)
        for n in range(raw_days + 1, days + 1)
        if today - timedelta(days=n) >= window
    ]
    with timed(f"history ({len(raw)} days of facts)", results):
        results["daily_sets"] = results["learning_items"] = 0
        for day in sorted(raw):
            database.bulk_work()  # the statement timeout of background work, per transaction
            finished = datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo) + timedelta(hours=4)
            sets = []
            for user_id in people:
                if rng.random() < 0.6:
                    sets.append((user_id, rng.randint(5, 10)))
            results["daily_sets"] += copy_rows(
                DailySet.__table__,
                [
                    "user_id",
                    "day",
                    "size",
                    "answered_count",
                    "correct_count",
                    "created_at",
                    "finished_at",
                    "held",
                ],
                ((user_id, day, 10, 10, right, finished, finished, False) for user_id, right in sets),
            )
            first_point = (db.session.scalar(select(func.max(PointsEntry.source_id))) or 0) + 1
            copy_rows(
                PointsEntry.__table__,
                ["user_id", "rule", "amount", "source_id", "day", "created_at"],
                (
                    (user_id, "daily_correct", right, first_point + n, day, finished)
                    for n, (user_id, right) in enumerate(sets)
                ),
            )
            if learning:
                results["learning_items"] += _learning_items(day, first_user, first_version, questions)
            db.session.commit()
    if synthetic:
        with timed(f"per-person totals of {len(synthetic)} older days (no facts kept)", results):
            database.bulk_work()
            live_keys = {week_period(today).key, month_period(today).key}
            _synthetic_totals(rng, people, synthetic, live_keys)
            db.session.commit()
    with timed("fold the past days of the live week and month into the totals", results):
        for day in sorted(d for d in raw if window <= d < today):
            database.bulk_work()
            period_totals.fold_day(day, today=today, now=now)
            db.session.commit()
    advance_sequences()
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would give a live database
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return results


def _learning_items(day: date, first_user: int, first_version: int, questions: int) -> int:
    """The day's sets' answers, made by the database from the sets (one INSERT … SELECT): position n
    is right when n ≤ the set's correct count; the question is spread over the bank by (set, n)."""
    positions = union_all(*(select(literal(n, Integer).label("n")) for n in range(1, 11))).subquery("p")
    version = first_version + (DailySet.id * 7 + positions.c.n * 131) % questions
    right = positions.c.n <= DailySet.correct_count
    source = (
        select(
            DailySet.user_id,
            literal("daily"),
            DailySet.id,
            positions.c.n,
            literal("new"),
            QuestionVersion.question_id,
            QuestionVersion.id,
            DailySet.day,
            DailySet.created_at,
            DailySet.finished_at,
            func.cast(right, Integer) * 1.0,
            right,
        )
        .select_from(DailySet)
        .join(positions, positions.c.n <= DailySet.size)
        .join(QuestionVersion, QuestionVersion.id == version)
        .where(DailySet.day == day, DailySet.user_id >= first_user)
    )
    columns = [
        "user_id",
        "kind",
        "daily_set_id",
        "position",
        "reason",
        "question_id",
        "question_version_id",
        "day",
        "served_at",
        "answered_at",
        "score",
        "correct",
    ]
    db.session.execute(insert(LearningItem).from_select(columns, source))
    return db.session.scalar(  # psycopg reports no rowcount for an INSERT … SELECT here (-1)
        select(func.count())
        .select_from(LearningItem)
        .where(LearningItem.day == day, LearningItem.kind == "daily", LearningItem.user_id >= first_user)
    )


def _synthetic_totals(rng: random.Random, people, days: list[date], live_keys: set[str]) -> None:
    """Per-person totals for days kept only as totals, drawn as the raw days are (60% finish, 5–10
    right of 10; the 10 answers spread over the abilities by position), and their fold markers."""
    abilities = list(db.session.scalars(select(Ability.id).order_by(Ability.id)))
    if db.session.get_bind().dialect.name == "postgresql":
        _synthetic_totals_in_sql(people, days, abilities, live_keys)
        return
    periods = sorted(
        ({week_period(day).key for day in days} | {month_period(day).key for day in days}) & live_keys
    )
    totals, answered = [], []
    for user_id in people:
        mine = {key: [0, 0, 0, 0, 0] for key in periods}
        by_ability = {key: {} for key in periods}
        for day in days:
            if rng.random() >= 0.6:
                continue
            right = rng.randint(5, 10)
            for key in {week_period(day).key, month_period(day).key} & set(mine):
                row = mine[key]
                row[0] += 1
                row[1] += right == 10
                row[4] += right
                for position in range(1, 11):
                    pair = by_ability[key].setdefault(abilities[position % len(abilities)], [0, 0])
                    pair[0] += 1
                    pair[1] += position <= right
        for key in periods:
            if mine[key][0]:
                totals.append((key, user_id, *mine[key]))
                answered += [(key, user_id, a, n, float(r)) for a, (n, r) in by_ability[key].items()]
        if len(answered) > 200000:
            _write_totals(totals, answered)
            totals, answered = [], []
    _write_totals(totals, answered)
    now = clock.utcnow()
    db.session.execute(insert(TotalsDay), [{"day": day, "folded_at": now} for day in days])


def _synthetic_totals_in_sql(people, days: list[date], abilities: list[int], live_keys: set[str]) -> None:
    """The same draws made by PostgreSQL (a million people × a month in seconds, not in Python):
    each day a person finishes with probability 0.6, with 5–10 of 10 right; position p's ability is
    the (p mod 4)-th, right when p ≤ the day's right answers."""
    db.session.execute(
        text(
            "CREATE TEMP TABLE synthetic_day ON COMMIT DROP AS "
            "SELECT u.id AS user_id, d.day, 5 + floor(random() * 6)::int AS right_count "
            'FROM "user" u CROSS JOIN unnest(CAST(:days AS date[])) AS d(day) '
            "WHERE u.id BETWEEN :first AND :last AND random() < 0.6"
        ),
        {"days": days, "first": people[0], "last": people[-1]},
    )
    # Right answers of ability k (positions p ≤ r with p mod 4 = k): floor((r - k) / 4) + 1 for k ≥ 1.
    right_of = [
        "right_count / 4",
        *(f"CASE WHEN right_count >= {k} THEN (right_count - {k}) / 4 + 1 ELSE 0 END" for k in (1, 2, 3)),
    ]
    answered_of = [2, 3, 3, 2]  # positions 1–10 by p mod 4
    keys: dict[str, list[date]] = {}
    for day in days:  # only the live week and month are ever read
        for key in {week_period(day).key, month_period(day).key} & live_keys:
            keys.setdefault(key, []).append(day)
    for key, key_days in keys.items():
        db.session.execute(text("DROP TABLE IF EXISTS synthetic_person"))
        db.session.execute(
            text(
                "CREATE TEMP TABLE synthetic_person AS SELECT user_id, count(*) AS sets, "
                "count(*) FILTER (WHERE right_count = 10) AS stars, sum(right_count) AS points, "
                + ", ".join(f"sum({expression}) AS right{k}" for k, expression in enumerate(right_of))
                + " FROM synthetic_day WHERE day = ANY(CAST(:days AS date[])) GROUP BY user_id"
            ),
            {"days": key_days},
        )
        db.session.execute(
            text(
                "INSERT INTO person_period_total (period_key, user_id, sets, stars, tries, battles, points) "
                "SELECT :key, user_id, sets, stars, 0, 0, points FROM synthetic_person"
            ),
            {"key": key},
        )
        db.session.execute(
            text(
                'INSERT INTO person_period_ability (period_key, user_id, ability_id, answered, "right") '
                "SELECT :key, p.user_id, k.ability, k.answered * p.sets, "
                "CASE k.position WHEN 0 THEN p.right0 WHEN 1 THEN p.right1 WHEN 2 THEN p.right2 ELSE p.right3 END "
                "FROM synthetic_person p CROSS JOIN (VALUES "
                + ", ".join(f"({k}, {abilities[k % len(abilities)]}, {answered_of[k]})" for k in range(4))
                + ") AS k(position, ability, answered)"
            ),
            {"key": key},
        )
    now = clock.utcnow()
    db.session.execute(insert(TotalsDay), [{"day": day, "folded_at": now} for day in days])


def _write_totals(totals: list, answered: list) -> None:
    copy_rows(
        PersonPeriodTotal.__table__,
        ["period_key", "user_id", "sets", "stars", "tries", "battles", "points"],
        totals,
    )
    copy_rows(
        PersonPeriodAbility.__table__, ["period_key", "user_id", "ability_id", "answered", "right"], answered
    )


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
    parser.add_argument("--learning", action="store_true", help="write each set's answers too")
    parser.add_argument("--today", action="store_true", help="history on the as-of day too (at its end)")
    parser.add_argument("--as-of", type=date.fromisoformat, help="the history's last day (default today)")
    parser.add_argument("--raw-days", type=int, help="past days with facts (older: per-person totals only)")
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
        results = build(
            args.staff,
            args.units,
            args.questions,
            args.days,
            learning=args.learning,
            today_too=args.today,
            as_of=args.as_of,
            raw_days=args.raw_days,
        )
        print(f"done in {(datetime.now() - started).total_seconds():.1f} s: {results}")


if __name__ == "__main__":
    main()
