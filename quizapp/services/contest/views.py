"""What each screen may see of the state: the big screen (the hall), a team's phone, the host.

No answer key, explanation or phone answer reaches the hall or a phone before the question is
judged (or its answer revealed); the host sees the key, to judge oral answers."""

from __future__ import annotations

from . import rules

RECENT_CHANGES = 8


def public(setup: dict, state: dict) -> dict:
    names = {team["id"]: team["name"] for team in setup["teams"]}
    segment, question = rules.current_segment(setup, state), rules.current_question(setup, state)
    view = {
        "seq": state["seq"],
        "code": setup["code"],
        "title": setup["title"],
        "status": state["status"],
        "phase": state["phase"],
        "teams": rules.standings(setup, state),
        "team_order": [team["id"] for team in setup["teams"]],
        "segment": None,
        "question": None,
        "opened_at": state["opened"]["at"] if state["opened"] else None,
        "paused_seconds": state["paused_seconds"],
        "paused_at": state["paused_at"],
        "floor": state["floor"],
        "floor_name": names.get(state["floor"]),
        "buzzes": [
            {
                "team_id": b["team_id"],
                "name": names[b["team_id"]],
                "member": b["member"],
                "behind_ms": b["behind_ms"],
            }
            for b in state["buzzes"]
        ],
        "fouls": [
            {"team_id": f["team_id"], "name": names[f["team_id"]], "penalty": f["penalty"]}
            for f in state["fouls"]
        ],
        "stake": state["stake"],
        "judgements": [{**j, "name": names[j["team_id"]]} for j in state["judgements"]],
        "eligible": state["eligible"],
        "changes": [
            {
                "seq": c["seq"],
                "team_id": c["team_id"],
                "name": names[c["team_id"]],
                "delta": c["delta"],
                "reason": c["reason"],
            }
            for c in state["changes"][-RECENT_CHANGES:]
        ],
        "answer": None,
    }
    if segment is not None:
        view["segment"] = {
            "index": state["segment"],
            "count": len(setup["segments"]),
            "kind": segment["kind"],
            "kind_label": segment["kind_label"],
            "title": segment["title"],
            "points_right": segment["points_right"],
            "points_wrong": segment["points_wrong"],
            "early_penalty": segment["early_penalty"],
            "stakes": segment["stakes"],
            "time_limit": segment["time_limit"],
            "phone_answers": segment["phone_answers"],
            "questions": len(segment["questions"]),
        }
    if question is not None:
        shown = state["phase"] != "staking"
        view["question"] = {
            "index": state["question"],
            "team_id": question["team_id"],
            "team_name": names.get(question["team_id"]),
            "type": question["type"] if shown else None,
            "type_label": question["type_label"] if shown else None,
            "stem": question["stem"] if shown else None,
            "options": question["options"] if shown else [],
            "case": question["case"] if shown else None,
            "unit": question["unit"] if shown else None,
            "choice": question["type"] in rules.CHOICE_TYPES,
        }
        if state["phase"] == "judged":
            view["answer"] = {
                "text": question["answer_text"],
                "key": question["answer"],
                "explanation": question["explanation"],
                "phone_answers": {str(k): v for k, v in state["answers"].items()},
            }
    if state["status"] == "finished":
        view["podium"] = [row for row in view["teams"] if row["rank"] <= 3]
    return view


def team(setup: dict, state: dict, team_id: int, member: str | None) -> dict:
    """A phone's view (``member`` None: the same for every phone of the team; the page knows its own)."""
    view = public(setup, state)
    segment, question = rules.current_segment(setup, state), rules.current_question(setup, state)
    mine = next(t for t in setup["teams"] if t["id"] == team_id)
    eligible = state["eligible"] is None or team_id in state["eligible"]
    buzz_kind = segment is not None and segment["kind"] in rules.BUZZ_KINDS
    already = any(b["team_id"] == team_id for b in state["buzzes"]) or any(
        f["team_id"] == team_id for f in state["fouls"]
    )
    view["me"] = {
        "team_id": team_id,
        "team_name": mine["name"],
        "member": member,
        "score": state["scores"][team_id],
        "eligible": eligible,
        "can_buzz": bool(
            buzz_kind
            and eligible
            and state["status"] == "running"
            and state["phase"] in ("shown", "open")
            and not already
            and team_id not in state["tried"]
        ),
        "buzz": _my_buzz(state, team_id),
        "can_stake": bool(
            segment is not None
            and segment["kind"] == "risk"
            and state["phase"] == "staking"
            and question["team_id"] == team_id
            and state["status"] == "running"
        ),
        "can_answer": bool(
            question is not None
            and segment["phone_answers"]
            and question["type"] in rules.CHOICE_TYPES
            and state["phase"] == "open"
            and state["floor"] == team_id
            and state["status"] == "running"
        ),
    }
    return view


def _my_buzz(state: dict, team_id: int) -> dict | None:
    foul = next((f for f in state["fouls"] if f["team_id"] == team_id), None)
    if foul is not None:
        return {"result": "foul", "penalty": foul["penalty"]}
    for rank, buzz in enumerate(state["buzzes"], 1):
        if buzz["team_id"] == team_id:
            return {"result": "first" if rank == 1 else "late", "rank": rank, "behind_ms": buzz["behind_ms"]}
    return None


def host(setup: dict, state: dict, devices: dict[int, int] | None = None) -> dict:
    view = public(setup, state)
    question = rules.current_question(setup, state)
    if question is not None:
        view["key"] = {"text": question["answer_text"], "explanation": question["explanation"]}
        view["phone_answers"] = {str(k): v for k, v in state["answers"].items()}
    position = rules.next_position(setup, state)
    view["next"] = (
        {"segment": setup["segments"][position[0]]["title"], "question": position[1] + 1}
        if position
        else None
    )
    view["can_undo"] = state["last_host_seq"] is not None
    view["tied_at_top"] = rules.tied_at_top(setup, state)
    view["run_sheet"] = [
        {"title": s["title"], "kind_label": s["kind_label"], "questions": len(s["questions"])}
        for s in setup["segments"]
    ]
    view["devices"] = {str(k): v for k, v in (devices or {}).items()}
    return view
