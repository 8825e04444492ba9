"""Playing a battle: starting one, answering, what a player sees, and the finish."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ... import kept
from ...extensions import db
from ...models import WRITTEN_TYPES, Battle, BattleAnswer, BattlePlayer, QuestionVersion, Unit, User
from .. import draws, grading, integrity
from ..errors import DomainError, NotFound
from . import machine, push
from .timeline import GONE_SECONDS, REPORT_SLACK, phases, speed_points

BATTLE_TYPES = ("single", "judge", "multiple")  # answered in seconds on a phone
MACHINE_NAME = "智能对手"


class BattleError(DomainError):
    code = "battle"
    status = 409


def draw_questions(count: int) -> list[QuestionVersion]:
    """``count`` questions at random: objective, standalone, not reserved, not on a sealed paper."""
    candidates = (
        draws.available()
        .where(
            QuestionVersion.type.in_(BATTLE_TYPES),
            QuestionVersion.type.not_in(WRITTEN_TYPES),
            QuestionVersion.case_id.is_(None),
        )
        .with_only_columns(QuestionVersion.id)
    )
    ids = db.session.scalars(candidates.order_by(func.random()).limit(count)).all()
    if len(ids) < count:
        raise BattleError("题库中可用于对战的题目不足")
    versions = {
        v.id: v for v in db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(ids)))
    }
    return [versions[version_id] for version_id in ids]


def start_battle(mode: str, user_ids: list[int], *, now: datetime, challenge: bool = False) -> Battle:
    """A battle between these people (in seat order), with the machine in the last seat for
    ``machine``. A challenge starts ``invited``: the others' seats wait for their acceptance."""
    config = current_app.config
    if len(set(user_ids)) != len(user_ids):
        raise BattleError("同一账号不能与自己对战")
    versions = draw_questions(config["BATTLE_QUESTIONS"])
    limit = config["BATTLE_QUESTION_SECONDS"]
    battle = Battle(
        mode=mode,
        status="invited" if challenge else "running",
        challenge=challenge,
        question_version_ids=[v.id for v in versions],
        question_seconds=limit,
        reveal_seconds=config["BATTLE_REVEAL_SECONDS"],
        lead_seconds=config["BATTLE_LEAD_SECONDS"],
        machine_plan=machine.plan(versions, limit, random.Random(secrets.randbits(64)))
        if mode == "machine"
        else None,
        started_at=None if challenge else now,
    )
    db.session.add(battle)
    db.session.flush()
    units = dict(db.session.execute(select(User.id, User.unit_id).where(User.id.in_(user_ids))).all())
    for seat, user_id in enumerate(user_ids, 1):
        db.session.add(
            BattlePlayer(
                battle_id=battle.id,
                seat=seat,
                user_id=user_id,
                unit_id=units.get(user_id),
                accepted=not challenge or seat == 1,
                last_seen_at=now,
            )
        )
    if mode == "machine":
        db.session.add(BattlePlayer(battle_id=battle.id, seat=len(user_ids) + 1, user_id=None, accepted=True))
    db.session.flush()
    push.changed(battle.id)
    return battle


def _load(battle_id: int, *, lock: bool = False) -> tuple[Battle, list[BattlePlayer]]:
    if lock:  # the row as the lock found it (another transaction may have finished it meanwhile)
        battle = db.session.scalar(
            select(Battle)
            .where(Battle.id == battle_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if battle is None:
            raise NotFound("对战不存在")
        players = db.session.scalars(
            select(BattlePlayer).where(BattlePlayer.battle_id == battle_id).order_by(BattlePlayer.seat)
        )
        return battle, list(players)
    rows = db.session.execute(  # the battle with its seats: one round trip (every battle has seats)
        select(Battle, BattlePlayer)
        .join(BattlePlayer, BattlePlayer.battle_id == Battle.id)
        .where(Battle.id == battle_id)
        .order_by(BattlePlayer.seat)
    ).all()
    if not rows:
        raise NotFound("对战不存在")
    return rows[0][0], [player for _, player in rows]


def _seat(players: list[BattlePlayer], user_id: int) -> BattlePlayer:
    for player in players:
        if player.user_id == user_id:
            return player
    raise NotFound("您不在这场对战中")


def _answers(battle_id: int) -> list[BattleAnswer]:
    return list(db.session.scalars(select(BattleAnswer).where(BattleAnswer.battle_id == battle_id)))


def _times(answers: list[BattleAnswer]) -> dict[int, list[datetime]]:
    times: dict[int, list[datetime]] = {}
    for answer in answers:
        times.setdefault(answer.position, []).append(answer.answered_at)
    return times


def mark_gone(
    battle: Battle,
    players: list[BattlePlayer],
    answers: list[BattleAnswer],
    now: datetime,
    *,
    waiting_for: BattlePlayer | None = None,
    wait: bool = True,
) -> bool:
    """Record a forfeit for each person unseen for more than GONE_SECONDS while the battle ran: the
    questions from then on count nothing for them (leaving after the last question is no forfeit).
    Returns whether any was recorded.

    ``wait=False`` (an answer, a look: many of a battle's transactions find the same person gone at
    once): another person's seat row that another transaction holds is skipped, not waited for —
    that one is recording the forfeit, or marking the person seen; the finish, holding the battle,
    records every forfeit. ``waiting_for``'s own seat is always written."""
    phase, ended = phases(battle, _times(answers), players, now)
    over = ended[-1][1] if phase.kind == "finished" else None
    gone = False
    for player in players:
        if player.user_id is None or player.forfeited_at is not None or player.last_seen_at is None:
            continue
        left = last_contact(player, answers) + timedelta(seconds=GONE_SECONDS)
        if not (left + timedelta(seconds=REPORT_SLACK) < now and (over is None or left < over)):
            continue
        if wait or player is waiting_for:
            player.forfeited_at = left
            gone = True
        elif _forfeit_if_free(player, left):
            gone = True
    if gone:
        db.session.flush()
    return gone


def last_contact(player: BattlePlayer, answers: list[BattleAnswer]) -> datetime:
    """When the player's page was last there: its last report, or its last answer if later (an
    answer is contact; it writes no report of its own)."""
    return max([player.last_seen_at, *(a.answered_at for a in answers if a.player_id == player.id)])


def _forfeit_if_free(player: BattlePlayer, left: datetime) -> bool:
    return _write_seat_if_free(
        player,
        "forfeited_at",
        left,
        BattlePlayer.forfeited_at.is_(None),
        BattlePlayer.last_seen_at == player.last_seen_at,  # not seen since it was read
    )


def _write_seat_if_free(player: BattlePlayer, column: str, value, *still) -> bool:
    """One UPDATE of ``column`` on the player's seat if its row is free (and ``still`` holds) —
    never waiting for another transaction that holds it. FOR NO KEY UPDATE: an answer's insert (its
    foreign key takes KEY SHARE on the seat) is never blocked by it. The loaded row takes the value
    as written."""
    free = (
        select(BattlePlayer.id)
        .where(BattlePlayer.id == player.id, *still)
        .with_for_update(skip_locked=True, key_share=True)
        .scalar_subquery()
    )
    written = db.session.execute(
        update(BattlePlayer)
        .where(BattlePlayer.id == free)
        .values({column: value})
        .execution_options(synchronize_session=False)
    )
    if written.rowcount:
        set_committed_value(player, column, value)
    return bool(written.rowcount)


def seen(battle_id: int, user_id: int, *, now: datetime, client: str | None = None) -> None:
    """The player's page is there (its event stream or an answer): within GONE_SECONDS of the last
    time, the player is still in — leaving and coming back in time resumes."""
    battle, players = _load(battle_id)
    player = _seat(players, user_id)
    if player.forfeited_at is None and battle.status == "running":
        _mark_seen(player, client, now)


def answer(
    battle_id: int, user_id: int, position: int, raw, *, now: datetime, client: str | None = None
) -> dict:
    """A player's answer to question ``position``: refused (void) unless that question is open now
    by the server's clock; one answer per question. Returns whether it was right and its points."""
    battle, players = _load(battle_id)
    player = _seat(players, user_id)
    if battle.status != "running":
        raise BattleError("对战未在进行中")
    answers = _answers(battle_id)
    mark_gone(battle, players, answers, now, waiting_for=player, wait=False)
    if player.forfeited_at is not None:
        raise BattleError("您已离开超过 10 秒，本场剩余题目作废")
    phase, _ = phases(battle, _times(answers), players, now)
    if phase.kind != "question" or phase.index != position:
        raise BattleError("本题已结束，作答无效")
    version = _grading_form(battle.question_version_ids[position])
    response = grading.parse_response(version, raw)
    grade = grading.grade(version, response, multiple_partial=0.0)
    seconds = (now - phase.opens_at).total_seconds()
    points = speed_points(grade.correct, seconds, battle.question_seconds)
    if any(a.player_id == player.id and a.position == position for a in answers):
        raise BattleError("本题已作答")
    given = BattleAnswer(
        battle_id=battle_id,
        player_id=player.id,
        position=position,
        response=response,
        correct=grade.correct,
        points=points,
        seconds=round(seconds, 3),
        answered_at=now,
    )
    db.session.add(given)
    try:
        db.session.flush()
    except IntegrityError:  # the same question answered at the same moment from another page
        raise BattleError("本题已作答") from None
    _record_client(player, client, now)
    push.changed(battle_id, answer_note(given))
    return {"correct": grade.correct, "points": points}


def _grading_form(version_id: int):
    """What grading reads of a question version (its type, options and key), kept per process: a
    version's content never changes (an edit makes a new version)."""
    return kept.store("battle_keys", 5000).get_or_make(
        version_id,
        lambda: db.session.execute(
            select(QuestionVersion.type, QuestionVersion.options, QuestionVersion.answer).where(
                QuestionVersion.id == version_id
            )
        ).one(),
    )


def _record_client(player: BattlePlayer, client: str | None, now: datetime) -> bool:
    """A new client (rarely: once per device) is written with the seat, dated seen."""
    clients = integrity.with_client(player.clients, client)
    if clients is None:
        return False
    player.clients, player.last_seen_at = clients, now
    db.session.flush()
    return True


def _mark_seen(player: BattlePlayer, client: str | None, now: datetime) -> None:
    """Mark the player seen by a look, if the seat's row is free — never waiting behind the reports'
    writes (``presence``) or the finish, which hold seat rows for a moment and date the player as
    recently. An answer writes no report (``last_contact``)."""
    if not _record_client(player, client, now):
        _write_seat_if_free(player, "last_seen_at", now)


def view(battle_id: int, user_id: int, *, now: datetime) -> dict:
    """What a player sees now: the phase and its times (the server's), the question while it is
    open (no key), its key and explanation once it has ended, and every player's progress —
    answered, right, score — never the option another chose before the question ends. Finishes the
    battle when its time is over."""
    battle, players = _load(battle_id)
    me = _seat(players, user_id)
    answers = _answers(battle_id)
    if battle.status == "running" and mark_gone(battle, players, answers, now, waiting_for=me, wait=False):
        push.changed(battle_id)
    if battle.status in ("invited", "declined"):  # a challenge: not started (or never will be)
        return _invited_view(battle, players, me, now)
    phase, ended = phases(battle, _times(answers), players, now)
    if phase.kind == "finished" and battle.status == "running" and finish(battle.id, now=now, wait=False):
        battle, players = _load(battle_id)
    names = _names(players)
    return _compose(battle, players, answers, _questions(battle), names, me, phase, ended, now)


def _questions(battle: Battle) -> list[dict]:
    """The battle's questions as a view shows them, by position (what never changes in a battle)."""
    versions = {
        v.id: v
        for v in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_(battle.question_version_ids))
        )
    }
    questions = []
    for version_id in battle.question_version_ids:
        version = versions[version_id]
        questions.append(
            {
                "public": grading.public_question(version),
                "type": version.type,
                "options": version.options,
                "key": grading.describe(version.type, version.options, version.answer),
                "answer": version.answer,
                "explanation": version.explanation,
            }
        )
    return questions


def _compose(battle, players, answers, questions, names, me, phase, ended, now) -> dict:
    progress = _progress(battle, players, answers, ended, phase, now)
    current = None
    if phase.kind in ("question", "reveal") or (phase.kind == "finished"):
        question = questions[phase.index]
        current = {"index": phase.index, "question": question["public"]}
        mine = next((a for a in answers if a.player_id == me.id and a.position == phase.index), None)
        current["mine"] = (
            None
            if mine is None
            else {"response": mine.response, "correct": mine.correct, "points": mine.points}
        )
        if phase.kind != "question":
            current["key"] = question["key"]
            current["answer"] = question["answer"]
            current["explanation"] = question["explanation"]
            seat_of = {p.id: p.seat for p in players}
            current["chosen"] = {  # by seat, as the players are listed
                seat_of[a.player_id]: grading.describe(question["type"], question["options"], a.response)
                for a in answers
                if a.position == phase.index
            }
    return {
        "id": battle.id,
        "mode": battle.mode,
        "status": battle.status,
        "now": now.isoformat(),
        "count": len(battle.question_version_ids),
        "question_seconds": battle.question_seconds,
        "phase": {
            "kind": phase.kind,
            "index": phase.index,
            "opens_at": phase.opens_at.isoformat(),
            "deadline": phase.deadline.isoformat(),
            "next_at": phase.next_at.isoformat() if phase.next_at else None,
        },
        "current": current,
        "me": me.seat,
        "players": [
            {
                "seat": p.seat,
                "name": names[p.id],
                "machine": p.user_id is None,
                "forfeited": p.forfeited_at is not None,
                **progress[p.id],
                **({"place": p.place, "outcome": p.outcome} if battle.status == "finished" else {}),
            }
            for p in players
        ],
    }


def answer_note(answer: BattleAnswer) -> dict:
    """What every process's streams need of a new answer (it travels with the change, as JSON)."""
    return {
        "id": answer.id,
        "player_id": answer.player_id,
        "position": answer.position,
        "response": answer.response,
        "correct": answer.correct,
        "points": answer.points,
        "answered_at": answer.answered_at.isoformat(),
    }


def _invited_view(battle, players, me, now) -> dict:
    names = _names(players)
    return {
        "id": battle.id,
        "mode": battle.mode,
        "status": battle.status,
        "now": now.isoformat(),
        "me": me.seat,
        "phase": {"kind": battle.status},
        "players": [{"seat": p.seat, "name": names[p.id], "accepted": p.accepted} for p in players],
    }


def _names(players: list[BattlePlayer]) -> dict[int, str]:
    ids = [p.user_id for p in players if p.user_id is not None]
    rows = dict(
        (user_id, f"{name}（{unit}）")
        for user_id, name, unit in db.session.execute(
            select(User.id, User.name, Unit.name)
            .join(Unit, Unit.id == User.unit_id, isouter=True)
            .where(User.id.in_(ids))
        )
    )
    return {p.id: rows.get(p.user_id, MACHINE_NAME) if p.user_id else MACHINE_NAME for p in players}


def _machine_answers(
    battle: Battle, ended: list, phase, now: datetime
) -> list[tuple[int, bool, float, datetime]]:
    """The machine's answers given by ``now``: (position, correct, points, at)."""
    if not battle.machine_plan:
        return []
    given = []
    opens_of = [opens for opens, _ in ended]
    if phase.kind == "question":
        opens_of.append(phase.opens_at)
    for position, opens in enumerate(opens_of):
        step = battle.machine_plan[position]
        at = opens + timedelta(seconds=step["seconds"])
        if step["seconds"] < battle.question_seconds and at <= now:
            points = speed_points(step["correct"], step["seconds"], battle.question_seconds)
            given.append((position, step["correct"], points, at))
    return given


def _progress(battle, players, answers, ended, phase, now) -> dict[int, dict]:
    progress = {p.id: {"answered": 0, "right": 0, "score": 0.0, "answered_current": False} for p in players}
    current = phase.index if phase.kind == "question" else None
    for a in answers:
        row = progress[a.player_id]
        row["answered"] += 1
        row["right"] += int(a.correct)
        row["score"] = round(row["score"] + a.points, 1)
        row["answered_current"] |= a.position == current
    machine_seat = next((p for p in players if p.user_id is None), None)
    if machine_seat is not None:
        row = progress[machine_seat.id]
        for position, correct, points, _ in _machine_answers(battle, ended, phase, now):
            row["answered"] += 1
            row["right"] += int(correct)
            row["score"] = round(row["score"] + points, 1)
            row["answered_current"] |= position == current
    return progress


def finish(battle_id: int, *, now: datetime, wait: bool = True) -> bool:
    """Write the result once the battle's time is over (or every person has gone): each seat's
    score, right answers and place (equal scores share a place); win for a sole first place, draw
    for a shared one, loss otherwise; then points and integrity (``counting``). Idempotent.

    ``wait=False`` (a look, whose transaction may already hold its own seat's row: ``seen``): if
    another transaction is finishing the battle, leave it to that one instead of waiting for its
    lock — the finisher waits for this transaction's seat row, so waiting here would deadlock; its
    commit wakes the streams with the result."""
    from . import counting

    if not wait:
        free = db.session.scalar(
            select(Battle.id).where(Battle.id == battle_id).with_for_update(skip_locked=True)
        )
        if free is None:
            return False
    battle, players = _load(battle_id, lock=True)
    if battle.status != "running":
        return False
    answers = _answers(battle_id)
    mark_gone(battle, players, answers, now)
    phase, ended = phases(battle, _times(answers), players, now)
    everyone_gone = all(p.forfeited_at is not None for p in players if p.user_id is not None)
    if phase.kind != "finished" and not everyone_gone:
        return False
    if phase.kind != "finished":  # all gone: the machine's plan plays out to the end regardless
        phase, ended = phases(battle, _times(answers), players, now + timedelta(days=1))
    progress = _progress(battle, players, answers, ended, phase, now + timedelta(days=1))
    scores = sorted((progress[p.id]["score"] for p in players), reverse=True)
    best = scores[0]
    sharing = scores.count(best)
    for player in players:
        row = progress[player.id]
        player.score, player.right = row["score"], row["right"]
        player.place = 1 + sum(1 for score in scores if score > row["score"])
        player.outcome = ("win" if sharing == 1 else "draw") if row["score"] == best else "loss"
    battle.status = "finished"
    battle.finished_at = now
    db.session.flush()
    counting.settle(battle, players, answers, now=now)
    push.changed(battle_id)
    return True


def current_battle(user_id: int) -> int | None:
    """The person's running or invited battle, if any (a second one is not started meanwhile)."""
    return db.session.scalar(
        select(Battle.id)
        .join(BattlePlayer, BattlePlayer.battle_id == Battle.id)
        .where(
            BattlePlayer.user_id == user_id,
            Battle.status.in_(["running", "invited"]),
            BattlePlayer.forfeited_at.is_(None),
        )
        .order_by(Battle.id.desc())
        .limit(1)
    )


def finish_due(now: datetime) -> int:
    """The sweep's part: finish every running battle whose time is over or whose people are gone
    (nobody may be looking at it any more); drop challenges unanswered for ten minutes."""
    done = 0
    for battle_id in db.session.scalars(select(Battle.id).where(Battle.status == "running")).all():
        with db.session.begin_nested():
            done += finish(battle_id, now=now)
    stale = now - timedelta(minutes=10)
    for battle in db.session.scalars(
        select(Battle).where(Battle.status == "invited", Battle.created_at < stale)
    ):
        battle.status = "declined"
    return done
