"""Setting a contest up: teams, segments in order with their rules, questions drawn from the bank
by blueprint or picked by hand, the join code and the teams' PINs; and reading it back as plain
data for the rules (``load_setup``)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ...extensions import db
from ...models import (
    WRITTEN_TYPES,
    Category,
    Contest,
    ContestEvent,
    ContestQuestion,
    ContestSegment,
    ContestTeam,
    Question,
    QuestionStatus,
    QuestionVersion,
    SegmentKind,
    Unit,
    User,
)
from .. import grading, seal
from ..errors import InvalidInput, NotFound, PermissionDenied, Problem
from ..org import unit_scope

CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
DEFAULT_STAKES = [10, 20, 30]
DEFAULT_TYPES = {
    SegmentKind.REQUIRED: ["single", "judge", "multiple"],
    SegmentKind.BUZZ: ["single", "judge"],
    SegmentKind.RISK: ["single", "multiple", "fill", "calc"],
    SegmentKind.TIEBREAK: ["single", "judge"],
}


@dataclass
class TeamSpec:
    name: str
    unit: str
    members: list[str]


@dataclass
class SegmentSpec:
    kind: str
    title: str = ""
    points_right: int = 10
    points_wrong: int = 0
    time_limit: int = 30
    early_penalty: int = 0
    stakes: list[int] = field(default_factory=list)
    team_positions: list[int] | None = None  # 1-based team numbers (None: all teams)
    phone_answers: bool = True
    count: int = 0  # drawn from the bank …
    types: list[str] | None = None
    category: str | None = None
    question_ids: list[int] = field(default_factory=list)  # … or picked by hand


def _problem(field_name: str, message: str, row: str = "") -> Problem:
    return Problem(file="", row=row, field=field_name, message=message)


def validate(title: str, teams: list[TeamSpec], segments: list[SegmentSpec]) -> list[Problem]:
    problems = []
    if not title.strip() or len(title) > 100:
        problems.append(_problem("比赛名称", "请填写比赛名称（100 字以内）"))
    if not 2 <= len(teams) <= 16:
        problems.append(_problem("参赛队", "参赛队须为 2–16 支"))
    names = [team.name.strip() for team in teams]
    for number, team in enumerate(teams, 1):
        row = f"第{number}队"
        if not team.name.strip() or len(team.name) > 50:
            problems.append(_problem("队名", "请填写队名（50 字以内）", row))
        elif names.count(team.name.strip()) > 1:
            problems.append(_problem("队名", f"队名“{team.name.strip()}”重复", row))
        if not team.unit.strip() or len(team.unit) > 100:
            problems.append(_problem("单位", "请填写所属单位", row))
        members = [m for m in team.members if m.strip()]
        if not 2 <= len(members) <= 4:
            problems.append(_problem("队员", "每队队员须为 2–4 人", row))
        if any(len(m) > 50 for m in members):
            problems.append(_problem("队员", "队员姓名过长", row))
    if not segments:
        problems.append(_problem("环节", "请至少设置一个环节"))
    for number, segment in enumerate(segments, 1):
        row = f"第{number}环节"
        if segment.kind not in SegmentKind._value2member_map_:
            problems.append(_problem("环节类型", "环节类型只能是必答、抢答、风险题或加赛", row))
            continue
        if not 0 <= segment.points_right <= 1000 or not 0 <= segment.points_wrong <= 1000:
            problems.append(_problem("分值", "答对、答错的分值须在 0–1000 之间", row))
        if not 5 <= segment.time_limit <= 600:
            problems.append(_problem("限时", "限时须在 5–600 秒之间", row))
        if not 0 <= segment.early_penalty <= 1000:
            problems.append(_problem("犯规扣分", "犯规扣分须在 0–1000 之间", row))
        if segment.kind == SegmentKind.RISK and (
            not segment.stakes or any(not 1 <= stake <= 1000 for stake in segment.stakes)
        ):
            problems.append(_problem("风险分值", "风险题须给出可选分值（1–1000 分，如 10、20、30）", row))
        if segment.team_positions is not None and (
            not segment.team_positions or any(not 1 <= p <= len(teams) for p in segment.team_positions)
        ):
            problems.append(_problem("参赛队", f"作答队伍须为第 1–{len(teams)} 队", row))
        if not 0 <= segment.count <= 200:
            problems.append(_problem("题数", "每个环节最多 200 题", row))
        if segment.count == 0 and not segment.question_ids:
            problems.append(_problem("题目", "请设置抽题数量或指定题号", row))
        for type_ in segment.types or []:
            if type_ not in ("single", "multiple", "judge", "fill", "calc"):
                problems.append(_problem("题型", f"未知题型 {type_}", row))
    return problems


def create_contest(
    viewer: User,
    *,
    title: str,
    unit_code: str,
    teams: list[TeamSpec],
    segments: list[SegmentSpec],
    rng: random.Random | None = None,
) -> Contest:
    """Validate everything first (all problems at once, nothing written), then write the contest."""
    rng = rng or random.SystemRandom()
    problems = validate(title, teams, segments)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code, unit_scope(viewer)))
    if unit is None:
        problems.append(_problem("单位", f"单位 {unit_code} 不存在或不在您的管理范围内"))
    if problems:
        raise InvalidInput(problems, f"比赛设置有 {len(problems)} 处错误，未保存")
    picked: list[list[QuestionVersion]] = []
    used: set[int] = set()
    for number, segment in enumerate(segments, 1):
        versions = _hand_picked(segment.question_ids, used, problems, f"第{number}环节")
        versions += _drawn(segment, used, rng, problems, f"第{number}环节")
        picked.append(versions)
    if problems:
        raise InvalidInput(problems, f"比赛设置有 {len(problems)} 处错误，未保存")

    contest = Contest(code=_new_code(), title=title.strip(), unit_id=unit.id, created_by_id=viewer.id)
    db.session.add(contest)
    db.session.flush()
    pins = rng.sample(range(1000, 10000), len(teams))
    rows = []
    for position, (team, pin) in enumerate(zip(teams, pins, strict=True), 1):
        row = ContestTeam(
            contest_id=contest.id,
            position=position,
            name=team.name.strip(),
            unit_name=team.unit.strip(),
            members=[m.strip() for m in team.members if m.strip()],
            pin=str(pin),
        )
        rows.append(row)
    db.session.add_all(rows)
    db.session.flush()
    for position, (segment, versions) in enumerate(zip(segments, picked, strict=True), 1):
        kind = SegmentKind(segment.kind)
        answering = [rows[p - 1].id for p in segment.team_positions] if segment.team_positions else None
        row = ContestSegment(
            contest_id=contest.id,
            position=position,
            kind=kind,
            title=segment.title.strip() or kind.label,
            points_right=segment.points_right,
            points_wrong=segment.points_wrong,
            time_limit_seconds=segment.time_limit,
            early_penalty=segment.early_penalty if kind in (SegmentKind.BUZZ, SegmentKind.TIEBREAK) else 0,
            stakes=sorted(set(segment.stakes)) if kind == SegmentKind.RISK else [],
            team_ids=answering,
            phone_answers=segment.phone_answers,
        )
        db.session.add(row)
        db.session.flush()
        turn = answering or [team.id for team in rows]
        db.session.add_all(
            ContestQuestion(
                segment_id=row.id,
                position=index,
                version_id=version.id,
                team_id=turn[(index - 1) % len(turn)]
                if kind in (SegmentKind.REQUIRED, SegmentKind.RISK)
                else None,
            )
            for index, version in enumerate(versions, 1)
        )
    db.session.flush()
    return contest


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Contest.id).where(Contest.code == code)) is None:
            return code


def _usable():
    """Current versions of active questions that are not 考试专用 and not on a sealed paper: the big
    screen shows every question to the hall, and its key after judging; no written question (a hall
    judges answers on the spot)."""
    return (
        select(QuestionVersion)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(
            QuestionVersion.is_current.is_(True),
            Question.status == QuestionStatus.ACTIVE,
            Question.reserved.is_(False),
            QuestionVersion.type.not_in(WRITTEN_TYPES),
            seal.not_sealed(QuestionVersion.question_id),
        )
    )


def _hand_picked(ids: list[int], used: set[int], problems: list, row: str) -> list[QuestionVersion]:
    if not ids:
        return []
    found = {
        v.question_id: v for v in db.session.scalars(_usable().where(QuestionVersion.question_id.in_(ids)))
    }
    versions = []
    for question_id in ids:
        version = found.get(question_id)
        if version is None:
            problems.append(
                _problem("题号", f"题号 {question_id} 不存在、已停用、为考试专用题或正用于进行中的比赛", row)
            )
        elif question_id in used:
            problems.append(_problem("题号", f"题号 {question_id} 重复", row))
        else:
            used.add(question_id)
            versions.append(version)
    return versions


def _drawn(segment: SegmentSpec, used: set[int], rng: random.Random, problems: list, row: str) -> list:
    if not segment.count:
        return []
    types = segment.types or DEFAULT_TYPES[SegmentKind(segment.kind)]
    statement = _usable().where(QuestionVersion.type.in_(types))
    if used:
        statement = statement.where(QuestionVersion.question_id.not_in(used))
    if segment.category:
        statement = statement.join(Category, Category.id == QuestionVersion.category_id).where(
            Category.name == segment.category
        )
    ids = list(
        db.session.scalars(statement.with_only_columns(QuestionVersion.id).order_by(QuestionVersion.id))
    )
    if len(ids) < segment.count:
        problems.append(
            _problem("题数", f"题库中符合条件的题只有 {len(ids)} 道，不够抽 {segment.count} 道", row)
        )
        return []
    chosen = rng.sample(ids, segment.count)
    by_id = {
        v.id: v for v in db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(chosen)))
    }
    versions = [by_id[i] for i in chosen]
    used.update(v.question_id for v in versions)
    return versions


# ---------------------------------------------------------------------------------------------
# Reading


def find(code: str) -> Contest:
    """The contest with this join code (any case, spaces ignored), or NotFound in Chinese."""
    cleaned = "".join((code or "").split()).upper()
    contest = db.session.scalar(select(Contest).where(Contest.code == cleaned)) if cleaned else None
    if contest is None:
        raise NotFound(f"比赛码 {cleaned or '（空）'} 不存在，请核对主持人公布的比赛码")
    return contest


def managed(viewer: User, code: str) -> Contest:
    """A contest the viewer may run (admins: all; unit admins: their subtree's)."""
    contest = find(code)
    in_scope = db.session.scalar(select(Unit.id).where(Unit.id == contest.unit_id, unit_scope(viewer)))
    if in_scope is None:
        raise PermissionDenied("这场比赛不在您的管理范围内")
    return contest


def managed_list(viewer: User) -> list[dict]:
    rows = db.session.execute(
        select(Contest, Unit.name, func.count(ContestEvent.id))
        .join(Unit, Unit.id == Contest.unit_id)
        .outerjoin(ContestEvent, ContestEvent.contest_id == Contest.id)
        .where(unit_scope(viewer))
        .group_by(Contest.id, Unit.name)
        .order_by(Contest.id.desc())
    ).all()
    return [{"contest": contest, "unit": unit, "events": events} for contest, unit, events in rows]


def load_setup(contest: Contest) -> dict:
    """The set-up as plain data for the rules: teams, segments and their questions (with keys)."""
    teams = db.session.scalars(
        select(ContestTeam).where(ContestTeam.contest_id == contest.id).order_by(ContestTeam.position)
    ).all()
    segments = db.session.scalars(
        select(ContestSegment)
        .where(ContestSegment.contest_id == contest.id)
        .order_by(ContestSegment.position)
    ).all()
    questions = db.session.execute(
        select(ContestQuestion, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == ContestQuestion.version_id)
        .join(ContestSegment, ContestSegment.id == ContestQuestion.segment_id)
        .where(ContestSegment.contest_id == contest.id)
        .order_by(ContestQuestion.segment_id, ContestQuestion.position)
    ).all()
    by_segment: dict[int, list] = {}
    for item, version in questions:
        public = grading.public_question(version)
        by_segment.setdefault(item.segment_id, []).append(
            {
                "id": item.id,
                "question_id": version.question_id,
                "team_id": item.team_id,
                "type": str(version.type),
                "type_label": version.type.label,
                "stem": public["stem"],
                "options": public["options"],
                "case": public.get("case"),
                "unit": public.get("unit"),
                "answer": version.answer,
                "answer_text": grading.tabular_answer(str(version.type), version.answer),
                "explanation": version.explanation,
            }
        )
    return {
        "id": contest.id,
        "code": contest.code,
        "title": contest.title,
        "teams": [
            {"id": t.id, "name": t.name, "unit": t.unit_name, "members": t.members, "position": t.position}
            for t in teams
        ],
        "segments": [
            {
                "id": s.id,
                "kind": str(s.kind),
                "kind_label": s.kind.label,
                "title": s.title,
                "points_right": s.points_right,
                "points_wrong": s.points_wrong,
                "time_limit": s.time_limit_seconds,
                "early_penalty": s.early_penalty,
                "stakes": s.stakes,
                "team_ids": s.team_ids,
                "phone_answers": s.phone_answers,
                "questions": by_segment.get(s.id, []),
            }
            for s in segments
        ],
    }


def team_pins(contest: Contest) -> list[dict]:
    return [
        {"id": t.id, "name": t.name, "pin": t.pin, "position": t.position}
        for t in db.session.scalars(
            select(ContestTeam).where(ContestTeam.contest_id == contest.id).order_by(ContestTeam.position)
        )
    ]
