"""The marker's queue, a mark, and the final mark of an answer."""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy import and_, exists, func, select

from ...extensions import db
from ...models import (
    Attempt,
    AttemptAnswer,
    MarkingTask,
    QuestionVersion,
    Round,
    RoundMarker,
    RoundStatus,
)
from .. import grading
from ..errors import DomainError, NotFound
from ..suggest import suggest
from .tasks import assign, get_round, rubric_stamp


def marker_rounds(user_id: int) -> list[dict]:
    """The rounds this person marks, with how many of their answers are still to mark."""
    rows = db.session.execute(
        select(
            Round.id,
            Round.title,
            Round.status,
            func.count(MarkingTask.id).filter(MarkingTask.marked_at.is_(None)).label("left"),
            func.count(MarkingTask.id).filter(MarkingTask.marked_at.is_not(None)).label("done"),
        )
        .join(RoundMarker, RoundMarker.round_id == Round.id)
        .outerjoin(MarkingTask, and_(MarkingTask.round_id == Round.id, MarkingTask.marker_id == user_id))
        .where(RoundMarker.user_id == user_id)
        .group_by(Round.id, Round.title, Round.status)
        .order_by(Round.closes_at.desc())
    ).all()
    return [{"id": r.id, "title": r.title, "status": r.status, "left": r.left, "done": r.done} for r in rows]


def next_task(round_id: int, marker_id: int) -> dict | None:
    """The marker's next answer: the lowest question first (one question at a time across takers),
    in the tasks' random order. Blind: the answer's text and the question only — no name, unit,
    username, attempt or answer id."""
    get_round(round_id)
    row = db.session.execute(
        select(MarkingTask.id, MarkingTask.question_id, AttemptAnswer.response, QuestionVersion)
        .join(AttemptAnswer, AttemptAnswer.id == MarkingTask.attempt_answer_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
        .where(
            MarkingTask.round_id == round_id,
            MarkingTask.marker_id == marker_id,
            MarkingTask.marked_at.is_(None),
        )
        .order_by(MarkingTask.question_id, MarkingTask.sort_key)
        .limit(1)
    ).first()
    if row is None:
        return None
    task_id, question_id, response, version = row
    left = db.session.execute(
        select(
            func.count().filter(MarkingTask.question_id == question_id),
            func.count(),
        ).where(
            MarkingTask.round_id == round_id,
            MarkingTask.marker_id == marker_id,
            MarkingTask.marked_at.is_(None),
        )
    ).one()
    key = version.answer
    return {
        "task": task_id,
        "question": {
            "type": str(version.type),
            "type_label": version.type.label,
            "stem": version.stem,
            "says": version.says,
            "model_answer": key["model"],
            "rubric": [{"point": i["point"], "points": i["points"]} for i in key["rubric"]],
            "deductions": [{"point": i["point"], "points": i["points"]} for i in key["deductions"]],
            "max_points": grading.rubric_total(key),
        },
        "answer": response or "",
        "suggestion": suggest(response or "", key),
        "stamp": rubric_stamp(key),
        "left_on_question": left[0],
        "left": left[1],
    }


class MarkRefused(DomainError):
    code = "mark_refused"
    status = 409


def mark(task_id: int, marker_id: int, awarded, deducted, stamp: str, *, now: datetime) -> dict:
    """Record one marker's marks for one answer, keypoint by keypoint; then settle the answer if it
    can be (``_resolve``). Refused: another's task, a task marked already, a round not in marking, a
    form built on another rubric, marks out of range."""
    task = db.session.scalar(select(MarkingTask).where(MarkingTask.id == task_id).with_for_update())
    if task is None or task.marker_id != marker_id:
        raise NotFound("这份答卷不在您的评阅任务中")
    if task.marked_at is not None:
        raise MarkRefused("这份答卷您已评过，不能重复评分")
    if db.session.scalar(select(Round.status).where(Round.id == task.round_id)) != RoundStatus.MARKING:
        raise MarkRefused("本轮不在评阅中")
    answer = db.session.get(AttemptAnswer, task.attempt_answer_id)
    version = db.session.get(QuestionVersion, answer.question_version_id)
    key = version.answer
    if stamp != rubric_stamp(key):
        raise MarkRefused("评分要点已变更，请刷新页面后按新的评分要点评分")
    task.awarded, task.deducted = _checked_marks(key, awarded, deducted)
    task.total = max(0.0, sum(task.awarded) - sum(key["deductions"][i]["points"] for i in task.deducted))
    task.marked_at = now
    db.session.flush()
    return {"total": task.total, "final": _resolve(answer.id)}


def _checked_marks(key: dict, awarded, deducted) -> tuple[list[float], list[int]]:
    rubric, deductions = key["rubric"], key["deductions"]
    if not isinstance(awarded, list) or len(awarded) != len(rubric):
        raise MarkRefused(f"请为全部 {len(rubric)} 个要点给分")
    marks = []
    for number, (value, item) in enumerate(zip(awarded, rubric, strict=True), 1):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= item["points"]:
            raise MarkRefused(f"第{number}个要点的得分应在 0 到 {item['points']:g} 之间")
        if (value * 2) % 1:
            raise MarkRefused(f"第{number}个要点的得分须以 0.5 为单位")
        marks.append(float(value))
    if not isinstance(deducted, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(deductions) for i in deducted
    ):
        raise MarkRefused("扣分项无效")
    return marks, sorted(set(deducted))


def _resolve(answer_id: int) -> float | None:
    """An answer's final mark once it can be given (see the module's rule); a third task when the first
    two differ by more than the gap. Returns the final mark, or None while it waits."""
    answer = db.session.scalar(select(AttemptAnswer).where(AttemptAnswer.id == answer_id).with_for_update())
    if answer.mark_final is not None:
        return answer.mark_final
    totals = dict(
        db.session.execute(
            select(MarkingTask.seq, MarkingTask.total).where(
                MarkingTask.attempt_answer_id == answer_id, MarkingTask.marked_at.is_not(None)
            )
        ).all()
    )
    if 1 not in totals or 2 not in totals:
        return None
    round_id, key = db.session.execute(
        select(Attempt.round_id, QuestionVersion.answer)
        .join(QuestionVersion, QuestionVersion.id == answer.question_version_id)
        .where(Attempt.id == answer.attempt_id)
    ).one()
    round_ = db.session.get(Round, round_id)
    points = grading.rubric_total(key)
    first, second = totals[1], totals[2]
    if abs(first - second) <= round_.marking_gap / 100 * points + 1e-9:
        final = (first + second) / 2
    elif 3 not in totals:
        if not db.session.scalar(
            select(exists().where(MarkingTask.attempt_answer_id == answer_id, MarkingTask.seq == 3))
        ):
            db.session.add(
                MarkingTask(
                    round_id=round_id,
                    attempt_answer_id=answer_id,
                    question_id=answer.question_id,
                    taker_unit_id=db.session.scalar(
                        select(Attempt.unit_id).where(Attempt.id == answer.attempt_id)
                    ),
                    marker_id=None,
                    seq=3,
                    sort_key=random.randrange(2**31 - 1),
                )
            )
            db.session.flush()
            assign(round_id)  # the least-loaded eligible marker not yet on this answer
        return None
    else:
        final = third_mark(first, second, totals[3], round_.third_rule)
    answer.mark_final = final
    answer.score = round(final / points, 4)
    answer.correct = final >= points
    db.session.flush()
    return final


def settle_marked(round_id: int) -> int:
    """Settle any answer whose tasks are all marked but which has no final mark (a settlement that
    failed after its mark was kept): the close sweep's reconciliation, run while a round is in
    marking. Usually finds nothing. Returns the answers settled."""
    done = (
        select(MarkingTask.attempt_answer_id)
        .where(MarkingTask.round_id == round_id, MarkingTask.marker_id.is_not(None))
        .group_by(MarkingTask.attempt_answer_id)
        .having(func.count() == func.count(MarkingTask.marked_at))
    )
    ids = db.session.scalars(
        select(AttemptAnswer.id).where(AttemptAnswer.id.in_(done), AttemptAnswer.mark_final.is_(None))
    ).all()
    return sum(_resolve(answer_id) is not None for answer_id in ids)


def third_mark(first: float, second: float, third: float, rule: str) -> float:
    """The final mark when a third marker was needed: ``third`` → the third's total; ``closest`` →
    the average of the two closest of the three totals, and on a tie the third's total."""
    if rule == "third":
        return third
    pairs = sorted(
        [
            (abs(first - third), (first + third) / 2),
            (abs(second - third), (second + third) / 2),
            (abs(first - second), (first + second) / 2),
        ],
        key=lambda pair: pair[0],
    )
    if pairs[0][0] == pairs[1][0]:
        return third
    return pairs[0][1]
