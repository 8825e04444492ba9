"""The record afterwards: the score sheet (.xlsx: standings, per segment and question, every event
with its time) and the certificate list, both from the event log."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import func, select

from ... import clock
from ...extensions import db
from ...models import Contest, Unit
from .. import exports
from ..org import in_subtree
from ..periods import Period
from . import play, rules

KIND_LABELS = {
    "next": "出题",
    "stake": "选择分值",
    "show": "出示题目",
    "open": "开始计时/开放抢答",
    "buzz": "抢答",
    "answer": "手机作答",
    "judge": "主持人判定",
    "reveal": "公布答案",
    "adjust": "调整分数",
    "pause": "暂停",
    "resume": "继续",
    "finish": "结束比赛",
    "undo": "撤销",
}
AWARDS = {1: "一等奖", 2: "二等奖", 3: "三等奖"}


def stamp() -> tuple:
    """The version of every contest's record (a finish, or a finish taken back, changes it): one
    aggregate, for the pages that keep what ``podiums`` shows."""
    finished = Contest.finished_at.is_not(None)
    row = db.session.execute(
        select(
            func.count(Contest.id), func.max(Contest.finished_at), func.coalesce(func.sum(Contest.id), 0)
        ).where(finished)
    ).one()
    return tuple(str(value) for value in row)


def podiums(root: Unit, period: Period, *, tz) -> list[dict]:
    """The 光荣榜's record of the contests of ``root``'s subtree finished in ``period``: title, day
    and the teams placed 1–3 (ties share a place), newest first — one query."""
    starts, _ = clock.day_bounds(period.starts_on, tz)
    ends, _ = clock.day_bounds(period.ends_on, tz)
    rows = db.session.execute(
        select(Contest.title, Contest.finished_at, Contest.podium)
        .join(Unit, Unit.id == Contest.unit_id)
        .where(in_subtree(root), Contest.finished_at >= starts, Contest.finished_at < ends)
        .order_by(Contest.finished_at.desc())
    ).all()
    return [
        {
            "title": title,
            "day": clock.business_date(finished_at, tz),
            "placed": [team for team in podium or [] if team["rank"] <= 3],
        }
        for title, finished_at, podium in rows
    ]


def _local(iso: str, tz) -> str:
    moment = datetime.fromisoformat(iso).astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def score_sheet(contest: Contest, *, tz) -> io.BytesIO:
    setup = play.setup_of(contest)
    events = play.events_of(contest.id)
    state = rules.replay(setup, events)
    names = {t["id"]: t["name"] for t in setup["teams"]}
    gone = rules.voided(events)
    book = exports.workbook()
    bold = exports.bold()

    sheet = book.active
    sheet.title = "总成绩"
    sheet.append([contest.title, f"比赛码 {contest.code}"])
    sheet.append(
        ["名次", "队伍", "单位", "队员", "总分"] + [s["title"] for s in setup["segments"]] + ["调整"]
    )
    members = {t["id"]: "、".join(t["members"]) for t in setup["teams"]}
    for row in rules.standings(setup, state):
        changes = [c for c in state["changes"] if c["team_id"] == row["team_id"]]
        by_segment = [
            sum(c["delta"] for c in changes if c["segment"] == index and not c["adjust"])
            for index in range(len(setup["segments"]))
        ]
        adjusted = sum(c["delta"] for c in changes if c["adjust"])
        sheet.append(
            [
                row["rank"],
                row["name"],
                row["unit"],
                members[row["team_id"]],
                row["score"],
                *by_segment,
                adjusted,
            ]
        )
    for cell in sheet[2]:
        cell.font = bold

    questions = book.create_sheet("逐题")
    questions.append(["环节", "题号", "题型", "题目", "答案", "作答队伍", "判定", "得分变化"])
    judged = _judgements_by_question(setup, events, gone)
    for s_index, segment in enumerate(setup["segments"]):
        for q_index, question in enumerate(segment["questions"]):
            rows = judged.get((s_index, q_index)) or [
                (None, "未出题" if (s_index, q_index) not in judged else "无人作答", 0)
            ]
            for team, verdict, delta in rows:
                questions.append(
                    [
                        segment["title"],
                        q_index + 1,
                        question["type_label"],
                        question["stem"],
                        question["answer_text"],
                        names.get(team, "—"),
                        verdict,
                        delta,
                    ]
                )
    for cell in questions[1]:
        cell.font = bold

    log = book.create_sheet("事件记录")
    log.append(["序号", "时间", "事件", "队伍", "内容", "已撤销", "服务器单调时钟(ns)"])
    for event in events:
        log.append(
            [
                event["seq"],
                _local(event["at"], tz),
                KIND_LABELS.get(event["kind"], event["kind"]),
                names.get(event["team_id"] or event["payload"].get("team_id"), ""),
                _describe(event, names),
                "是" if event["seq"] in gone else "",
                event["mono_ns"],
            ]
        )
    for cell in log[1]:
        cell.font = bold
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def _judgements_by_question(setup: dict, events: list[dict], gone: set[int]) -> dict:
    """(segment, question) → [(team, verdict, delta)], from a step-by-step replay."""
    state = rules.initial_state(setup)
    out: dict[tuple[int, int], list] = {}
    for event in events:
        if event["kind"] == "undo" or event["seq"] in gone:
            continue
        before = len(state["judgements"])
        rules.apply(setup, state, event)
        key = (state["segment"], state["question"])
        if event["kind"] == "next":
            out.setdefault(key, [])
        if event["kind"] == "buzz" and event["payload"].get("early"):
            out.setdefault(key, []).append((event["team_id"], "提前抢答犯规", -state["fouls"][-1]["penalty"]))
        for j in state["judgements"][before:]:
            out.setdefault(key, []).append((j["team_id"], "答对" if j["correct"] else "答错", j["delta"]))
    return out


def _describe(event: dict, names: dict) -> str:
    payload, kind = event["payload"], event["kind"]
    if kind == "next":
        return f"第{payload['segment'] + 1}环节 第{payload['question'] + 1}题"
    if kind == "buzz":
        if payload.get("early"):
            return f"{payload.get('member', '')} 提前抢答（犯规）"
        return f"{payload.get('member', '')} 抢答"
    if kind == "answer":
        return f"答案 {payload['answer']}，{'正确' if payload['correct'] else '错误'}"
    if kind == "judge":
        return f"{names.get(payload['team_id'], '')} {'答对' if payload['correct'] else '答错'}"
    if kind == "stake":
        return f"{payload['stake']} 分"
    if kind == "adjust":
        return f"{payload['delta']:+d} 分：{payload['reason']}"
    if kind == "undo":
        return f"撤销第 {payload['target']} 号事件"
    return ""


def certificate_rows(setup: dict, state: dict) -> list[dict]:
    """One certificate per member of the teams placed 1–3 (ties share the award)."""
    rows = []
    teams = {t["id"]: t for t in setup["teams"]}
    for row in rules.standings(setup, state):
        award = AWARDS.get(row["rank"], "优秀奖")
        for member in teams[row["team_id"]]["members"]:
            rows.append(
                {
                    "name": member,
                    "team": row["name"],
                    "unit": row["unit"],
                    "rank": row["rank"],
                    "award": award,
                    "score": row["score"],
                }
            )
    return rows
