"""Markers and marking tasks: who marks which answer."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict

from sqlalchemy import exists, func, insert, select, update

from ... import clock
from ...extensions import db
from ...models import (
    WRITTEN_TYPES,
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    MarkingTask,
    PaperQuestion,
    QuestionVersion,
    Round,
    RoundMarker,
    RoundStatus,
    Unit,
    User,
)
from .. import audit
from ..errors import Conflict, NotFound, PermissionDenied

THIRD_RULES = {"closest": "取三个分数中最接近的两个的平均分（距离相同取第三评分）", "third": "取第三评分"}


def has_written(round_id: int):
    """Whether any paper of the round (the shared one or a taker's own) holds a written question."""
    return exists().where(
        PaperQuestion.round_id == round_id,
        PaperQuestion.question_version_id == QuestionVersion.id,
        QuestionVersion.type.in_(WRITTEN_TYPES),
    )


def rubric_stamp(answer: dict) -> str:
    """What a marking form was built on: a mark sent with another stamp is refused."""
    payload = json.dumps([answer["rubric"], answer["deductions"]], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Markers and tasks


def add_markers(round_id: int, user_ids: list[int], *, own_unit_ok: bool, actor_id: int | None) -> int:
    """Choose markers for a round (unit admins or named staff). Those already chosen keep their
    setting; answers still waiting for a marker are assigned at once. Returns how many were added."""
    round_ = get_round(round_id)
    if round_.status == RoundStatus.CLOSED:
        raise Conflict("本轮成绩已公布，不能再添加阅卷人")
    known = set(db.session.scalars(select(RoundMarker.user_id).where(RoundMarker.round_id == round_id)))
    users = db.session.scalars(select(User.id).where(User.id.in_(user_ids), User.active.is_(True))).all()
    missing = set(user_ids) - set(users)
    if missing:
        raise NotFound(f"账号不存在或已停用：{'、'.join(str(one) for one in sorted(missing))}")
    added = [user_id for user_id in users if user_id not in known]
    db.session.add_all(
        RoundMarker(round_id=round_id, user_id=user_id, own_unit_ok=own_unit_ok) for user_id in added
    )
    db.session.flush()
    if round_.status == RoundStatus.MARKING:
        assign(round_id)
    audit.record("marking.markers", "round", round_id, actor_id=actor_id, after={"added": added})
    return len(added)


def begin_marking(round_id: int) -> dict:
    """Called by the close once the round's attempts are all finished: every written answer gets its
    first and second tasks, and the round waits in marking. (An emptied answer is no answer: it was
    never kept, and scores 0 like any question left blank.)"""
    round_ = get_round(round_id)
    round_.status = RoundStatus.MARKING
    db.session.flush()
    return {"marking": True, "tasks": assign(round_id)}


def written_answers(round_id: int):
    """The ids of the round's written answers, in finished attempts."""
    return (
        select(AttemptAnswer.id)
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
        .where(
            Attempt.round_id == round_id,
            Attempt.status != AttemptStatus.IN_PROGRESS,
            QuestionVersion.type.in_(WRITTEN_TYPES),
        )
    )


def assign(round_id: int, *, seed: int | None = None) -> int:
    """Give every unmarked answer the tasks it lacks (its first and second, and a third where its
    markers differ by more than the gap), each to the eligible marker with the fewest tasks, and hand
    waiting tasks (no marker yet) to markers now eligible. Eligible: not the taker, not already on the
    answer, and outside the taker's unit subtree unless allowed. Returns the tasks created or filled."""
    rng = random.Random(seed)
    markers = db.session.execute(
        select(RoundMarker.user_id, RoundMarker.own_unit_ok, Unit.path)
        .join(User, User.id == RoundMarker.user_id)
        .join(Unit, Unit.id == User.unit_id)
        .where(RoundMarker.round_id == round_id, User.active.is_(True))
    ).all()
    load = dict(
        db.session.execute(
            select(MarkingTask.marker_id, func.count())
            .where(MarkingTask.round_id == round_id, MarkingTask.marker_id.is_not(None))
            .group_by(MarkingTask.marker_id)
        ).all()
    )
    load = {marker.user_id: load.get(marker.user_id, 0) for marker in markers}
    needing = db.session.execute(
        select(
            AttemptAnswer.id,
            AttemptAnswer.question_id,
            Attempt.user_id,
            Attempt.unit_id,
            Unit.path,
        )
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(Unit, Unit.id == Attempt.unit_id)
        .where(AttemptAnswer.id.in_(written_answers(round_id)), AttemptAnswer.mark_final.is_(None))
    ).all()
    tasks = defaultdict(dict)  # answer → seq → (task id, marker)
    for answer_id, seq, task_id, marker_id, total in db.session.execute(
        select(
            MarkingTask.attempt_answer_id,
            MarkingTask.seq,
            MarkingTask.id,
            MarkingTask.marker_id,
            MarkingTask.total,
        ).where(MarkingTask.round_id == round_id)
    ):
        tasks[answer_id][seq] = (task_id, marker_id, total)
    rng.shuffle(needing)
    new_rows, filled = [], 0
    for answer in needing:
        have = tasks.get(answer.id, {})
        wanted = [1, 2] + ([3] if 3 in have else [])
        on_answer = {marker for _, marker, _ in have.values() if marker is not None}
        for seq in wanted:
            task = have.get(seq)
            if task is not None and task[1] is not None:
                continue
            marker = _pick(markers, load, answer, on_answer, rng)
            if marker is not None:
                on_answer.add(marker)
                load[marker] += 1
            if task is None:
                new_rows.append(_task_row(round_id, answer, seq, marker, rng))
            elif marker is not None:
                db.session.execute(
                    update(MarkingTask).where(MarkingTask.id == task[0]).values(marker_id=marker)
                )
                filled += 1
    if new_rows:
        db.session.execute(insert(MarkingTask), new_rows)
    db.session.flush()
    return len(new_rows) + filled


def _task_row(round_id: int, answer, seq: int, marker: int | None, rng: random.Random) -> dict:
    return {
        "round_id": round_id,
        "attempt_answer_id": answer.id,
        "question_id": answer.question_id,
        "taker_unit_id": answer.unit_id,
        "marker_id": marker,
        "seq": seq,
        "sort_key": rng.randrange(2**31 - 1),
        "created_at": clock.utcnow(),
    }


def eligible(marker, answer) -> bool:
    """Not the taker; outside the taker's unit subtree unless the admin allowed it."""
    if marker.user_id == answer.user_id:
        return False
    return marker.own_unit_ok or not answer.path.startswith(marker.path)


def _pick(markers, load: dict, answer, on_answer: set, rng: random.Random) -> int | None:
    free = [m.user_id for m in markers if m.user_id not in on_answer and eligible(m, answer)]
    if not free:
        return None
    fewest = min(load[user_id] for user_id in free)
    return rng.choice([user_id for user_id in free if load[user_id] == fewest])


def get_round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound("本轮不存在")
    return round_


def ensure_marker(round_id: int, user_id: int) -> None:
    if not db.session.scalar(
        select(exists().where(RoundMarker.round_id == round_id, RoundMarker.user_id == user_id))
    ):
        raise PermissionDenied("您不是本轮的阅卷人")
