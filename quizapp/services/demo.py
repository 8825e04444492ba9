"""A demo organisation: one province, three cities, two counties each, two windows each, five staff
per window, with unit admins, so a newcomer sees a realistic platform at once."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from .. import clock
from ..extensions import db
from ..models import (
    DailySet,
    DrawReason,
    ItemKind,
    LearningItem,
    MistakeEntry,
    PointsEntry,
    Question,
    QuestionVersion,
    Role,
    Unit,
    User,
)
from . import grading, mistakes, rounds, sweeps
from . import rules as learning_rules
from .accounts import create_user
from .org import create_unit
from .questions import in_use

PROVINCE = ("510000", "四川省人力资源和社会保障厅")
CITIES = [
    ("510100", "成都市人力资源和社会保障局", [("510107", "武侯区"), ("510117", "郫都区")]),
    ("510700", "绵阳市人力资源和社会保障局", [("510703", "涪城区"), ("510781", "江油市")]),
    ("511500", "宜宾市人力资源和社会保障局", [("511502", "翠屏区"), ("511503", "南溪区")]),
]
WINDOWS = ["政务服务中心人社综合窗口", "社会保险经办大厅窗口"]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"
)
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "玉兰",
    "红梅",
    "志强",
    "晓东",
    "海燕",
    "雪梅",
    "俊",
    "浩然",
    "思雨",
    "梓涵",
    "欣怡",
    "宇航",
    "婷",
    "颖",
    "鑫",
    "佳怡",
    "子豪",
    "丹",
    "蕾",
    "晨",
]
SECTIONS = ["社会保险经办", "就业创业服务", "劳动关系协调", "人才人事服务", "综合柜员"]
LEVELS = ["办事员", "科员", "一级科员", "四级主任科员", "三级主任科员"]
FEMALE_HINTS = set("芳娜敏静丽艳娟霞秀英桂玉兰红梅海燕雪思雨涵欣怡婷颖佳丹蕾")


HISTORY_DAYS = 35  # five weeks of 日日学 before today
PAST_WEEKS = 3  # closed weekly rounds with results


@dataclass
class DemoLogin:
    username: str
    role: str
    name: str
    unit: str


def demo_exists() -> bool:
    return db.session.scalar(select(Unit.id).where(Unit.code == PROVINCE[0])) is not None


def create_demo_org(password: str) -> list[DemoLogin]:
    """Create the demo units and accounts (idempotent: returns [] if the demo province exists)."""
    if demo_exists():
        return []
    rng = random.Random(20201)  # the same names on every machine
    password_hash = generate_password_hash(password)  # one hash for all: demo accounts share it
    logins: list[DemoLogin] = []

    def person(username, role, unit, **attrs):
        user = create_user(
            username,
            attrs.pop("name"),
            password,
            role=role,
            unit_code=unit.code,
            must_change_password=False,
            password_hash=password_hash,
            **attrs,
        )
        logins.append(DemoLogin(username, role.label, user.name, unit.name))
        return user

    used_names: set[str] = set()

    def chinese_name():
        while True:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if name not in used_names:
                used_names.add(name)
                return name

    def attributes():
        name = chinese_name()
        gender = "女" if any(ch in FEMALE_HINTS for ch in name[1:]) else "男"
        return {
            "name": name,
            "gender": gender,
            "birth_year": rng.randint(1968, 2000),
            "job_section": rng.choice(SECTIONS),
            "level": rng.choice(LEVELS),
            "phone": f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}",
        }

    province = create_unit(*PROVINCE)
    person("province_admin", Role.UNIT_ADMIN, province, **attributes())
    staff_number = 0
    for city_index, (city_code, city_name, counties) in enumerate(CITIES, 1):
        city = create_unit(city_code, city_name, province.code)
        person(f"city{city_index}_admin", Role.UNIT_ADMIN, city, **attributes())
        for county_code, county_name in counties:
            county = create_unit(county_code, f"{county_name}人力资源和社会保障局", city.code)
            for window_index, window_name in enumerate(WINDOWS, 1):
                window = create_unit(
                    f"{county_code}{window_index:02d}", f"{county_name}{window_name}", county.code
                )
                for _ in range(5):
                    staff_number += 1
                    person(f"staff{staff_number:02d}", Role.STAFF, window, **attributes())
    db.session.flush()
    return logins


def create_demo_rounds(*, now: datetime, tz) -> list[str]:
    """A weekly and a monthly round open now, and the last ``PAST_WEEKS`` weekly rounds taken by most
    demo staff and closed, so a newcomer sees results and rankings at once. Returns the titles
    created."""
    today = clock.business_date(now, tz)
    staff = list(
        db.session.scalars(
            select(User)
            .join(Unit, Unit.id == User.unit_id)
            .where(User.role == Role.STAFF)
            .order_by(User.username)
        )
    )
    staff = [user for user in staff if not is_newcomer(user.username)]
    created = []

    # The schedule templates, so the scheduler plans the coming weeks and months by itself.
    for kind in ("weekly", "monthly"):
        template = rounds.template_for(kind)
        template.enabled, template.target_codes = True, [PROVINCE[0]]
        db.session.add(template)
    weekly = rounds.RoundSettings.from_defaults("weekly", today, tz, [PROVINCE[0]])
    if weekly.closes_at < now + timedelta(hours=12):  # late on Sunday: keep it open a while
        weekly = weekly.but(closes_at=now + timedelta(days=2))
    weekly_round = rounds.create_round(weekly, actor_id=None)
    # This week is planned: the template skips it.
    weekly_round.plan_key = rounds.window_and_title("weekly", today, tz).plan_key
    created.append(weekly_round.title)

    monthly = rounds.RoundSettings.from_defaults("monthly", today, tz, [PROVINCE[0]])
    if not monthly.opens_at <= now < monthly.closes_at:  # outside the last week of the month
        monthly = monthly.but(
            opens_at=now - timedelta(hours=1),
            closes_at=now + timedelta(days=7),
            title=f"{today.year}年{today.month}月 月月比（演示）",
        )
    created.append(rounds.create_round(monthly, actor_id=None).title)

    for weeks_back in range(PAST_WEEKS, 0, -1):
        created.append(_past_weekly_round(today, tz, weeks_back, staff))
    sweeps.close_due_rounds(now)  # closes last week's round: grades, ranks, snapshot, bulletin
    db.session.flush()
    return created


def _past_weekly_round(today: date, tz, weeks_back: int, staff: list[User]) -> str:
    """The weekly round ``weeks_back`` weeks ago, taken by about four in five of ``staff`` at a
    person's pace through the services a taker's browser calls (so nothing of it is held)."""
    past = rounds.RoundSettings.from_defaults(
        "weekly", today - timedelta(days=7 * weeks_back), tz, [PROVINCE[0]]
    )
    past_round = rounds.create_round(past, actor_id=None)
    rng = random.Random(6 + weeks_back)  # last week: the seed the demo always had
    for user in staff:
        if rng.random() < 0.2:
            continue  # some staff did not take part
        start = past.opens_at + timedelta(
            days=rng.randint(0, 5), hours=rng.randint(8, 17), minutes=rng.randint(0, 59)
        )
        skill = rng.uniform(0.45, 0.95)
        attempt, _ = rounds.start_attempt(user, past_round.id, now=start)
        moment = start
        for item, version, _, _ in rounds.attempt_paper_rows(attempt):
            moment += timedelta(seconds=rng.uniform(12, 50))  # a person reads, then answers
            answer = _demo_answer(version, right=rng.random() < skill, rng=rng)
            rounds.save_answer(
                user, attempt.id, item.question_id, rounds.to_display(attempt, version, answer), now=moment
            )
        page = {"page": "demo", "hidden": rng.randint(0, 2), "hidden_seconds": rng.randint(0, 40)}
        rounds.submit(user, attempt.id, now=moment + timedelta(seconds=rng.randint(20, 90)), focus=page)
    return past_round.title


def is_newcomer(username: str) -> bool:
    """staff03, staff13, …: joined this week, so they have no history (a first day to try out)."""
    return username.startswith("staff") and username[-1] == "3"


def create_demo_history(*, now: datetime, tz, days: int = HISTORY_DAYS) -> dict:
    """``days`` days of 日日学 before today for the demo staff (not the newcomers): each person takes
    part on most days at their own habit and skill, so this month's rankings, the 光荣榜 and the
    individual boards show what they are for. Only the past is written: today's set of every demo
    staff member is still to be drawn and taken.

    Set-based: the sets, their answered items, the points ledger and the mistake book go in as a few
    multi-row inserts (the same rows ``daily.answer_daily`` would leave, answers a person's pace
    apart); the day roll-up and the live rankings are then the scheduler's own sweeps.
    """
    rules = learning_rules.current()
    today = clock.business_date(now, tz)
    rng = random.Random(31)
    staff = [
        (user_id, username)
        for user_id, username in db.session.execute(
            select(User.id, User.username).where(User.role == Role.STAFF).order_by(User.username)
        )
        if not is_newcomer(username)
    ]
    pool = db.session.scalars(
        in_use(QuestionVersion).where(
            QuestionVersion.case_id.is_(None),
            QuestionVersion.type.in_(["single", "multiple", "judge", "fill"]),
            Question.reserved.is_(False),
        )
    ).all()
    sets, answers = [], []  # answers: (set index, position, version, response, grade, answered_at)
    for user_id, _ in staff:
        habit, skill = rng.uniform(0.55, 0.98), rng.uniform(0.6, 0.97)
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            if rng.random() > habit:
                continue
            moment = clock.day_bounds(day, tz)[0] + timedelta(hours=rng.uniform(8, 21))
            started = moment
            picked = rng.sample(pool, rules.daily_size)
            correct = 0
            for position, version in enumerate(picked, 1):
                moment += timedelta(seconds=rng.uniform(15, 45))
                response = _demo_answer(version, right=rng.random() < skill, rng=rng)
                result = grading.grade(version, response, multiple_partial=rules.multiple_partial)
                correct += result.correct
                answers.append((len(sets), position, version, response, result, moment))
            sets.append(
                {
                    "user_id": user_id,
                    "day": day,
                    "size": len(picked),
                    "answered_count": len(picked),
                    "correct_count": correct,
                    "created_at": started,
                    "finished_at": moment,
                }
            )
    if not sets:
        return {"sets": 0}
    # Core inserts without RETURNING (one executemany each); the new ids are read back in one query.
    db.session.execute(insert(DailySet.__table__), sets)
    set_id = {
        (user_id, day): id_
        for id_, user_id, day in db.session.execute(
            select(DailySet.id, DailySet.user_id, DailySet.day).where(DailySet.day < today)
        )
    }
    items = [
        {
            "user_id": sets[index]["user_id"],
            "kind": ItemKind.DAILY,
            "daily_set_id": set_id[sets[index]["user_id"], sets[index]["day"]],
            "position": position,
            "reason": DrawReason.NEW,
            "question_id": version.question_id,
            "question_version_id": version.id,
            "day": sets[index]["day"],
            "served_at": sets[index]["created_at"],
            "answered_at": at,
            "response": response,
            "score": result.score,
            "correct": result.correct,
        }
        for index, position, version, response, result, at in answers
    ]
    db.session.execute(insert(LearningItem.__table__), items)
    item_id = {
        (daily_set_id, position): id_
        for daily_set_id, position, id_ in db.session.execute(
            select(LearningItem.daily_set_id, LearningItem.position, LearningItem.id).where(
                LearningItem.day < today, LearningItem.kind == ItemKind.DAILY
            )
        )
    }
    ledger = [
        {
            "user_id": item["user_id"],
            "rule": "daily_correct",
            "amount": rules.points["daily_correct"],
            "source_id": item_id[item["daily_set_id"], item["position"]],
            "day": item["day"],
            "created_at": item["answered_at"],
        }
        for item in items
        if item["correct"]
    ] + [
        {
            "user_id": entry["user_id"],
            "rule": "daily_finish",
            "amount": rules.points["daily_finish"],
            "source_id": set_id[entry["user_id"], entry["day"]],
            "day": entry["day"],
            "created_at": entry["finished_at"],
        }
        for entry in sets
    ]
    db.session.execute(insert(PointsEntry.__table__), ledger)
    book: dict[tuple[int, int], dict] = {}  # each (user, question) missed, as of its last miss
    for item in items:
        if item["correct"]:
            continue
        entry = book.setdefault(
            (item["user_id"], item["question_id"]),
            {
                "user_id": item["user_id"],
                "question_id": item["question_id"],
                "origin": "daily",
                "wrong_count": 0,
                "right_streak": 0,
                "reviews_right": 0,
                "added_at": item["answered_at"],
            },
        )
        entry.update(
            wrong_count=entry["wrong_count"] + 1,
            last_wrong_at=item["answered_at"],
            last_response=item["response"],
            due_at=mistakes.due_from(item["day"], rules.review_days[0], rules),
        )
    if book:
        db.session.execute(insert(MistakeEntry.__table__), list(book.values()))
    sweeps.refresh_rankings(now)  # this week's and this month's live rankings, as the scheduler does
    return {"sets": len(sets), "answers": len(items), "points": sum(row["amount"] for row in ledger)}


def _demo_answer(version, *, right: bool, rng: random.Random):
    key = version.answer
    if version.type == "judge":
        return key if right else not key
    if version.type == "fill":
        return [alternatives[0] for alternatives in key] if right else ["不清楚"] * len(key)
    keys = [option["key"] for option in version.options]
    if version.type == "single":
        return key if right else rng.choice([k for k in keys if k != key])
    return key if right else key[:1]


def demo_logins() -> list[DemoLogin]:
    """The demo's accounts as ``create_demo_org`` returned them (for a second start)."""
    rows = db.session.execute(
        select(User.username, User.role, User.name, Unit.name)
        .join(Unit, Unit.id == User.unit_id)
        .where(Unit.path.startswith(select(Unit.path).where(Unit.code == PROVINCE[0]).scalar_subquery()))
        .order_by(User.id)
    ).all()
    return [DemoLogin(username, Role(role).label, name, unit) for username, role, name, unit in rows]


def login_lines(logins: list[DemoLogin], *, admin_password: str, demo_password: str) -> list[str]:
    """What ``serve --demo`` prints: the system admin, the province's and one city's unit admins and
    a staff member, each with where the password comes from."""
    shown = [entry for entry in logins if entry.username in ("province_admin", "city1_admin", "staff01")]
    lines = [f"{'admin':<16} {'系统管理员':<6} 全部单位  {admin_password}"]
    lines += [f"{entry.username:<16} {entry.role:<6} {entry.name}  {entry.unit}" for entry in shown]
    lines.append(
        f"以上演示账号（admin 除外）{demo_password}；其余 {len(logins) - len(shown)} 个见 quizapp user list"
    )
    return lines
