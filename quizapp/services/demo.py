"""A demo organisation: one province, three cities, two counties each, two windows each, five staff
per window, with unit admins, so a newcomer sees a realistic platform at once."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from .. import clock
from ..extensions import db
from ..models import Role, Unit, User
from . import rounds, sweeps
from .accounts import create_user
from .org import create_unit

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
    """A weekly and a monthly round open now, and last week's weekly round taken by most demo staff
    and closed, so a newcomer sees results and rankings at once. Returns the titles created."""
    today = clock.business_date(now, tz)
    staff = list(
        db.session.scalars(
            select(User)
            .join(Unit, Unit.id == User.unit_id)
            .where(User.role == Role.STAFF)
            .order_by(User.username)
        )
    )
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

    past = rounds.RoundSettings.from_defaults("weekly", today - timedelta(days=7), tz, [PROVINCE[0]])
    past_round = rounds.create_round(past, actor_id=None)
    created.append(past_round.title)
    rng = random.Random(7)
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
    sweeps.close_due_rounds(now)  # closes last week's round: grades, ranks, snapshot, bulletin
    db.session.flush()
    return created


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
