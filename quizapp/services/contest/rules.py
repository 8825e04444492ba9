"""The contest's rules as one pure function: ``replay(setup, events)`` → the state.

Nothing here reads the database or a clock: the state of a contest is its set-up folded over its
event log, in the order the server accepted the events (``seq``). A reload, a reconnecting phone, a
restarted server and the replay afterwards all see the same state from the same log.

``check(setup, state, event)`` is the gate in front of the log: it raises a DomainError (Chinese,
shown to the person) for an action the rules refuse, so a refused action is never recorded.

Segments (DESIGN words: 必答 required, 抢答 buzz, 风险题 risk, 加赛 tie-break):

- 必答 / 风险题: each question belongs to one team (set-up deals them round-robin). The host shows
  it, opens the clock, and the team answers on the phone (choice items, when the segment lets them:
  graded at once) or aloud (the host judges). Right: +points_right; wrong: −points_wrong. 风险题:
  before the question is shown the team stakes one of the offered amounts; right +stake, wrong
  −stake.
- 抢答 / 加赛: the host shows the question and opens the buzzers. A buzz before they open is a foul
  (−early_penalty, once per team and question); after, the first buzz has the floor and the others
  are listed with how far behind they were. A second buzz of a team is the same buzz. The team with
  the floor answers; right +points_right, wrong −points_wrong. 加赛 is open only to the teams tied at
  the top when it starts (or the teams the set-up names).
- The host may undo their last action (it and every contestant's action after it are voided),
  adjust a score with a reason, pause and resume, and finish.
"""

from __future__ import annotations

from copy import deepcopy

from ..errors import Conflict, DomainError, PermissionDenied

HOST_KINDS = {"next", "show", "open", "judge", "reveal", "adjust", "pause", "resume", "finish", "stake"}
PLAYER_KINDS = {"buzz", "answer", "stake"}  # a stake comes from the team's phone or the host
BUZZ_KINDS = ("buzz", "tiebreak")
CHOICE_TYPES = ("single", "multiple", "judge")


class ContestError(DomainError):
    """A contest action the rules refuse; nothing was recorded."""


def _team_names(setup: dict) -> dict[int, str]:
    return {team["id"]: team["name"] for team in setup["teams"]}


def initial_state(setup: dict) -> dict:
    return {
        "seq": 0,
        "status": "waiting",  # waiting → running ⇄ paused → finished
        "segment": None,  # index into setup["segments"]
        "question": None,  # index into the segment's questions
        "phase": None,  # staking → shown → open → judged
        "scores": {team["id"]: 0 for team in setup["teams"]},
        "eligible": None,  # the teams of the current segment
        "opened": None,  # {"at": iso, "mono_ns", "boot", "seq"}
        "paused_at": None,
        "paused_seconds": 0.0,
        "buzzes": [],  # valid buzzes in order: {"team_id", "member", "seq", "behind_ms"}
        "fouls": [],  # {"team_id", "member", "penalty"}
        "stake": None,
        "answers": {},  # team_id → the phone's answer (host only until judged)
        "floor": None,  # the team whose answer is awaited
        "tried": [],  # teams judged on this question
        "judgements": [],  # {"team_id", "correct", "delta", "by"}
        "changes": [],  # every score change: {"seq", "team_id", "delta", "reason", "segment", "question"}
        "last_host_seq": None,
        "finished": False,
    }


def current_segment(setup: dict, state: dict) -> dict | None:
    return None if state["segment"] is None else setup["segments"][state["segment"]]


def current_question(setup: dict, state: dict) -> dict | None:
    segment = current_segment(setup, state)
    return None if segment is None or state["question"] is None else segment["questions"][state["question"]]


def voided(events: list[dict]) -> set[int]:
    """The seqs undone: each undo voids the latest host action still standing before it, and every
    contestant action recorded after that action."""
    gone: set[int] = set()
    for index, event in enumerate(events):
        if event["kind"] != "undo":
            continue
        target = event["payload"]["target"]
        gone.add(target)
        gone.update(e["seq"] for e in events[:index] if e["seq"] > target and e["kind"] in PLAYER_KINDS)
    return gone


def replay(setup: dict, events: list[dict]) -> dict:
    """The state after ``events`` (in seq order)."""
    state = initial_state(setup)
    gone = voided(events)
    for event in events:
        state["seq"] = event["seq"]
        if event["kind"] == "undo" or event["seq"] in gone:
            continue
        apply(setup, state, event)
    return state


def last_host_action(events: list[dict]) -> int | None:
    gone = voided(events)
    for event in reversed(events):
        if event["kind"] in HOST_KINDS and event["seq"] not in gone and event.get("actor_id") is not None:
            return event["seq"]
    return None


def _change(state: dict, team_id: int, delta: int, reason: str, seq: int, *, adjust: bool = False) -> None:
    if not delta:
        return
    state["scores"][team_id] += delta
    state["changes"].append(
        {
            "seq": seq,
            "team_id": team_id,
            "delta": delta,
            "reason": reason,
            "segment": state["segment"],
            "question": state["question"],
            "adjust": adjust,
        }
    )


def _enter(setup: dict, state: dict, segment_index: int, question_index: int) -> None:
    entering = state["segment"] != segment_index
    state.update(
        segment=segment_index,
        question=question_index,
        opened=None,
        paused_seconds=0.0,
        buzzes=[],
        fouls=[],
        stake=None,
        answers={},
        floor=None,
        tried=[],
        judgements=[],
    )
    segment = setup["segments"][segment_index]
    if entering:
        state["eligible"] = _eligible(setup, state, segment)
    question = segment["questions"][question_index]
    if segment["kind"] == "risk":
        state["phase"] = "staking"
    else:
        state["phase"] = "shown"
    if segment["kind"] in ("required", "risk"):
        state["floor"] = question["team_id"]


def _eligible(setup: dict, state: dict, segment: dict) -> list[int]:
    if segment["team_ids"]:
        return list(segment["team_ids"])
    if segment["kind"] == "tiebreak":
        return tied_at_top(setup, state)
    return [team["id"] for team in setup["teams"]]


def tied_at_top(setup: dict, state: dict) -> list[int]:
    scores = state["scores"]
    best = max(scores.values(), default=0)
    tied = [team["id"] for team in setup["teams"] if scores[team["id"]] == best]
    return tied if len(tied) > 1 else []


def next_position(setup: dict, state: dict) -> tuple[int, int] | None:
    """Where ``next`` goes: the next question, the first of the next segment with questions, or
    None at the end. A tie-break segment is entered only when teams are tied at the top."""
    segment_index, question_index = state["segment"], state["question"]
    if segment_index is None:
        segment_index, question_index = 0, -1
    segments = setup["segments"]
    if segment_index < len(segments) and question_index + 1 < len(segments[segment_index]["questions"]):
        return segment_index, question_index + 1
    for index in range(segment_index + 1, len(segments)):
        segment = segments[index]
        if not segment["questions"]:
            continue
        if segment["kind"] == "tiebreak" and not segment["team_ids"] and not tied_at_top(setup, state):
            continue
        return index, 0
    return None


def _judge(setup: dict, state: dict, team_id: int, correct: bool, seq: int, by: str) -> None:
    segment = current_segment(setup, state)
    if segment["kind"] == "risk":
        stake = state["stake"] or 0
        delta = stake if correct else -stake
    else:
        delta = segment["points_right"] if correct else -segment["points_wrong"]
    state["judgements"].append({"team_id": team_id, "correct": correct, "delta": delta, "by": by})
    state["tried"].append(team_id)
    _change(state, team_id, delta, ("答对" if correct else "答错") + f"（{segment['title']}）", seq)
    state["floor"] = None
    if correct or segment["kind"] in ("required", "risk"):
        state["phase"] = "judged"
    else:  # 抢答 answered wrong: the next buzzer in order has the floor, if any
        waiting = [b["team_id"] for b in state["buzzes"] if b["team_id"] not in state["tried"]]
        if waiting:
            state["floor"] = waiting[0]
        else:
            state["phase"] = "judged"


def apply(setup: dict, state: dict, event: dict) -> None:
    """Fold one accepted event into ``state`` (the rules were checked when it was accepted)."""
    kind, payload, seq, team_id = event["kind"], event["payload"], event["seq"], event["team_id"]
    if event.get("actor_id") is not None and kind in HOST_KINDS:
        state["last_host_seq"] = seq
    if kind == "next":
        state["status"] = "running" if state["status"] == "waiting" else state["status"]
        _enter(setup, state, payload["segment"], payload["question"])
    elif kind == "stake":
        state["stake"] = payload["stake"]
    elif kind == "show":
        state["phase"] = "shown"
    elif kind == "open":
        state["phase"] = "open"
        state["opened"] = {"at": event["at"], "mono_ns": event["mono_ns"], "boot": event["boot"], "seq": seq}
        state["paused_seconds"] = 0.0
    elif kind == "buzz":
        member = payload.get("member", "")
        if payload.get("early"):
            penalty = current_segment(setup, state)["early_penalty"]
            state["fouls"].append({"team_id": team_id, "member": member, "penalty": penalty})
            _change(state, team_id, -penalty, "抢答犯规（提前抢答）", seq)
            return
        first = state["buzzes"][0] if state["buzzes"] else None
        behind = 0
        if first is not None:
            if first["boot"] == event["boot"]:
                behind = (event["mono_ns"] - first["mono_ns"]) // 1_000_000
            else:  # a restart between the two buzzes: wall-clock difference
                behind = int(payload.get("wall_behind_ms", 0))
        state["buzzes"].append(
            {
                "team_id": team_id,
                "member": member,
                "seq": seq,
                "mono_ns": event["mono_ns"],
                "boot": event["boot"],
                "at": event["at"],
                "behind_ms": behind,
            }
        )
        if state["floor"] is None and team_id not in state["tried"]:
            state["floor"] = team_id
    elif kind == "answer":
        state["answers"][team_id] = payload["answer"]
        _judge(setup, state, team_id, payload["correct"], seq, "phone")
    elif kind == "judge":
        _judge(setup, state, payload["team_id"], payload["correct"], seq, "host")
    elif kind == "reveal":
        state["phase"] = "judged"
        state["floor"] = None
    elif kind == "adjust":
        _change(state, payload["team_id"], payload["delta"], payload["reason"], seq, adjust=True)
    elif kind == "pause":
        state["status"] = "paused"
        state["paused_at"] = event["at"]
    elif kind == "resume":
        state["status"] = "running"
        state["paused_seconds"] += payload.get("paused_seconds", 0.0)
        state["paused_at"] = None
    elif kind == "finish":
        state["status"] = "finished"
        state["finished"] = True
        state["phase"] = "judged" if state["phase"] else None


# ---------------------------------------------------------------------------------------------
# The gate: what may be recorded now


def check(setup: dict, state: dict, kind: str, team_id: int | None, payload: dict) -> dict:
    """Refuse (ContestError) what the rules do not allow now; returns the event's payload to record
    (with what the rules decided, e.g. whether a buzz was early)."""
    status = state["status"]
    if status == "finished":
        raise Conflict("比赛已结束")
    segment, question = current_segment(setup, state), current_question(setup, state)
    teams = _team_names(setup)
    if team_id is not None and team_id not in teams:
        raise ContestError("没有这支队伍")
    if kind in ("buzz", "answer") or (kind == "stake" and payload.get("from_phone")):
        if status == "paused":
            raise ContestError("比赛已暂停，请等待主持人继续")
        if question is None:
            raise ContestError("比赛还没有开始出题")
        if state["eligible"] is not None and team_id not in state["eligible"]:
            raise PermissionDenied("本环节不由你的队伍作答")
    if kind == "next":
        if status == "paused":
            raise ContestError("比赛已暂停，请先继续")
        if question is not None and state["phase"] != "judged":
            raise ContestError("请先判定本题或公布答案，再进入下一题")
        position = next_position(setup, state)
        if position is None:
            raise ContestError("已经是最后一题，请点击“结束比赛”")
        return {"segment": position[0], "question": position[1]}
    if kind == "stake":
        if segment is None or segment["kind"] != "risk" or state["phase"] != "staking":
            raise ContestError("现在不是选择风险题分值的时候")
        if team_id != question["team_id"]:
            raise PermissionDenied(f"这道风险题由{teams[question['team_id']]}选择分值")
        stake = payload.get("stake")
        if not isinstance(stake, int) or isinstance(stake, bool) or stake not in segment["stakes"]:
            offered = "、".join(str(s) for s in segment["stakes"])
            raise ContestError(f"分值只能选 {offered} 分")
        return {"stake": stake}
    if kind == "show":
        if state["phase"] != "staking":
            raise ContestError("题目已经显示")
        if state["stake"] is None:
            raise ContestError(f"请等{teams[question['team_id']]}选择风险题分值")
        return {}
    if kind == "open":
        if status == "paused":
            raise ContestError("比赛已暂停，请先继续")
        if state["phase"] != "shown":
            raise ContestError("现在不能开始计时" if state["phase"] != "staking" else "请先出示题目")
        return {}
    if kind == "buzz":
        if segment["kind"] not in BUZZ_KINDS:
            raise ContestError("本环节不是抢答题")
        if state["phase"] in ("shown", "staking"):
            if any(f["team_id"] == team_id for f in state["fouls"]):
                return {"duplicate": True}
            return {"early": True}
        if state["phase"] != "open":
            raise ContestError("本题抢答已结束")
        if (
            team_id in state["tried"]
            or any(b["team_id"] == team_id for b in state["buzzes"])
            or any(f["team_id"] == team_id for f in state["fouls"])  # a foul sits the question out
        ):
            return {"duplicate": True}
        return {}
    if kind == "answer":
        if question["type"] not in CHOICE_TYPES or not segment["phone_answers"]:
            raise ContestError("本题请口头作答，由主持人判定")
        if state["phase"] != "open":
            raise ContestError("现在不能作答" if state["phase"] != "judged" else "本题已判定")
        if state["floor"] != team_id:
            raise PermissionDenied("现在不是你的队伍作答")
        return {}
    if kind == "judge":
        if state["phase"] not in ("shown", "open") or question is None:
            raise ContestError("现在没有待判定的作答")
        if state["floor"] is None:
            raise ContestError("还没有队伍抢到本题")
        return {"team_id": state["floor"], "correct": bool(payload.get("correct"))}
    if kind == "reveal":
        if state["phase"] not in ("shown", "open"):
            raise ContestError("现在没有可公布答案的题目")
        return {}
    if kind == "adjust":
        target, delta, reason = payload.get("team_id"), payload.get("delta"), (payload.get("reason") or "")
        if target not in teams:
            raise ContestError("没有这支队伍")
        if not isinstance(delta, int) or isinstance(delta, bool) or not delta or abs(delta) > 1000:
            raise ContestError("调整分值须为 -1000 到 1000 之间的非零整数")
        if not reason.strip() or len(reason) > 100:
            raise ContestError("请填写调整原因（100 字以内）")
        return {"team_id": target, "delta": delta, "reason": reason.strip()}
    if kind == "pause":
        if status != "running":
            raise ContestError("比赛不在进行中")
        return {}
    if kind == "resume":
        if status != "paused":
            raise ContestError("比赛没有暂停")
        return {}
    if kind == "finish":
        if status == "waiting":
            raise ContestError("比赛还没有开始")
        return {}
    raise ContestError("未知的操作")


def standings(setup: dict, state: dict) -> list[dict]:
    """Teams by score (standard competition ranking: 1, 2, 2, 4)."""
    rows = sorted(
        (
            {"team_id": t["id"], "name": t["name"], "unit": t["unit"], "score": state["scores"][t["id"]]}
            for t in setup["teams"]
        ),
        key=lambda row: -row["score"],
    )
    for index, row in enumerate(rows):
        row["rank"] = (
            rows[index - 1]["rank"] if index and rows[index - 1]["score"] == row["score"] else index + 1
        )
    return rows


def snapshot(state: dict) -> dict:
    return deepcopy(state)
