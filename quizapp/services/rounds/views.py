"""What a taker sees of rounds: the listing, an attempt, and its result and review when the rules
allow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ...extensions import db
from ...models import (
    WRITTEN_TYPES,
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    PaperMode,
    QuestionVersion,
    RoundStatus,
    ShowAnswers,
    User,
)
from .. import grading, integrity, seal
from .attempts import as_typed, displayed_options, grace_period, to_display
from .eligibility import visible_rounds
from .papers import attempt_paper, attempt_paper_rows


def results_visible(attempt: Attempt, finished_attempts: int | None = None) -> bool:
    """DESIGN §3: weekly rounds show score and answers after each attempt; monthly rounds and exams
    only once the round has closed. A weekly round that keeps one paper for every attempt waits for
    the taker's last attempt (its answers would pass the next one). ``finished_attempts``: the
    taker's finished attempts at the round, when the caller has them (else counted here).

    A round with written questions (简答, 情景应答) shows nothing before its results are out: its
    written answers are marked by people after it closes (评阅中), so any score before would be short
    of them."""
    if not attempt.finished:
        return False
    round_ = attempt.round
    if round_.status == RoundStatus.CLOSED:
        return True
    if round_.status == RoundStatus.MARKING or has_written_rows(round_):
        return False
    if round_.show_answers != ShowAnswers.AFTER_ATTEMPT or attempt.graded_at is None:
        return False
    if round_.paper_mode == PaperMode.DRAWN or attempt.max_attempts == 1:
        return True
    if finished_attempts is None:
        finished_attempts = db.session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.round_id == attempt.round_id,
                Attempt.user_id == attempt.user_id,
                Attempt.status != AttemptStatus.IN_PROGRESS,
            )
        )
    return finished_attempts >= attempt.max_attempts


def has_written_rows(round_) -> bool:
    """Whether the round's blueprint draws written questions (only a row of their type does: a row of
    any type never holds one)."""
    return any((row.get("type") or None) in WRITTEN_TYPES for row in round_.blueprint or [])


def attempt_view(attempt: Attempt, *, now: datetime, fresh: bool = False) -> dict:
    """The attempt as its taker sees it: questions in this attempt's order with shuffled options,
    saved answers, the server's deadline — and results and the review only when the rules allow.
    ``fresh``: the attempt was just started, so it has no answers to read."""
    round_ = attempt.round
    paper = {item.question_id: item for item in attempt_paper(attempt)}
    answers = (
        {}
        if fresh
        else {
            a.question_id: a
            for a in db.session.scalars(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
        }
    )
    questions = []
    for position, question_id in enumerate(attempt.question_order, 1):
        item = paper[question_id]
        questions.append({**item.public, "options": displayed_options(attempt, item), "position": position})
    view = {
        "id": attempt.id,
        "round": {
            "id": round_.id,
            "title": round_.title,
            "kind": str(round_.kind),
            "kind_label": round_.kind.label,
            "show_answers": str(round_.show_answers),
            "pass_mark": round_.pass_mark,
        },
        "number": attempt.number,
        "attempts_allowed": attempt.max_attempts,
        "status": str(attempt.status),
        "status_label": attempt.status.label,
        "started_at": attempt.started_at.isoformat(),
        "deadline_at": attempt.deadline_at.isoformat(),
        "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
        "server_now": now.isoformat(),
        "remaining_seconds": max(0, int((attempt.deadline_at - now).total_seconds()))
        if attempt.status == AttemptStatus.IN_PROGRESS
        else 0,
        "grace_seconds": round_.grace_seconds,
        "questions": questions,
        "answers": {
            str(qid): {
                "answer": as_typed(attempt, paper[qid], answer.response),
                "saved_at": answer.saved_at.isoformat(),
            }
            for qid, answer in answers.items()
            if qid in paper
        },
        "standing": integrity.standing_of(attempt),
        "marking": round_.status == RoundStatus.MARKING,  # 评阅中: results wait for the marks
        "result": None,
        "review": None,
    }
    if results_visible(attempt) and view["standing"] is None:  # held: 成绩待核, no verdict yet
        rows = {row[0].question_id: row for row in attempt_paper_rows(attempt)}
        sealed = seal.sealed_among(attempt.question_order)  # by another contest still running
        view["result"] = result_of(attempt)
        view["review"] = []
        for question_id in attempt.question_order:
            _, version, _, source_title = rows[question_id]
            answer = answers.get(question_id)
            view["review"].append(
                _sealed_review_item(attempt, version, answer)
                if question_id in sealed
                else review_item(attempt, version, answer, source_title)
            )
    return view


def category_summary(view: dict) -> list[dict]:
    """Per 业务类别 of a result's review: questions, right answers and marks, in the paper's order of
    first appearance. Only what the review already tells: a question another running contest has
    sealed counts as ``sealed``, never as right or wrong. Empty when the review is not shown."""
    if not view.get("review"):
        return []
    categories = {question["id"]: question.get("category") or "其他" for question in view["questions"]}
    summary: dict[str, dict] = {}
    for item in view["review"]:
        row = summary.setdefault(
            categories.get(item["question_id"], "其他"),
            {"total": 0, "correct": 0, "score": 0.0, "sealed": 0},
        )
        row["total"] += 1
        if item.get("sealed"):
            row["sealed"] += 1
            continue
        row["correct"] += 1 if item["correct"] else 0
        row["score"] += item["score"]
    return [{"category": name, **row} for name, row in summary.items()]


def wrong_numbers(view: dict) -> list[int]:
    """The numbers (1-based, in the attempt's order) of the reviewed questions not fully right."""
    return [
        number
        for number, item in enumerate(view.get("review") or [], 1)
        if not item.get("sealed") and not item["correct"]
    ]


def result_of(attempt: Attempt) -> dict:
    round_ = attempt.round
    result = {
        "score": attempt.score,
        "percent": attempt.percent,
        "correct_count": attempt.correct_count,
        "total": len(attempt.question_order),
        "time_used_seconds": attempt.time_used_seconds,
        "passed": attempt.percent is not None and attempt.percent >= round_.pass_mark,
        "counted": attempt.counted,
        "rank_in_round": attempt.rank_in_round,
        "rank_in_unit": attempt.rank_in_unit,
    }
    if round_.status == RoundStatus.CLOSED:
        result["participants"] = db.session.scalar(
            select(func.count(Attempt.id)).where(Attempt.round_id == round_.id, Attempt.counted.is_(True))
        )
        result["unit_participants"] = db.session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.round_id == round_.id, Attempt.counted.is_(True), Attempt.unit_id == attempt.unit_id
            )
        )
    return result


def review_item(
    attempt: Attempt, version: QuestionVersion, answer: AttemptAnswer | None, source_title: str
) -> dict:
    response = answer.response if answer else None
    shown_key = to_display(attempt, version, version.answer)
    shown_response = to_display(attempt, version, response)
    options = displayed_options(attempt, version) or version.options
    item = {
        "question_id": version.question_id,
        "score": answer.score if answer else 0.0,
        "correct": bool(answer and answer.correct),
        "your_answer": shown_response,
        "your_answer_text": grading.describe(version.type, options, shown_response),
        "correct_answer": shown_key,
        "correct_answer_text": grading.describe(version.type, options, shown_key),
        "explanation": version.explanation,
        "source": {
            "title": source_title,
            "locator": version.locator,
            "quote": version.quote,
            "source_id": version.source_id,  # its link to 政策原文
        },
    }
    if version.type in WRITTEN_TYPES:
        # The taker's text, the model answer and the keypoints; the marked points once marked (an
        # answer left empty has nothing to mark: 0).
        key = grading.written_key(version.answer)
        item |= key | {
            "written": True,
            "correct_answer": key["model_answer"],
            "your_answer_text": response or "未作答",
            "marked": answer.mark_final if answer else 0.0,
        }
    return item


def _sealed_review_item(attempt: Attempt, version: QuestionVersion, answer: AttemptAnswer | None) -> dict:
    """A question another running contest has sealed: the taker's own answer, nothing that tells
    whether it was right."""
    shown_response = to_display(attempt, version, answer.response if answer else None)
    options = displayed_options(attempt, version) or version.options
    return {
        "question_id": version.question_id,
        "your_answer": shown_response,
        "your_answer_text": grading.describe(version.type, options, shown_response),
        **seal.withheld_feedback(),
    }


def rounds_for_user(user: User, *, now: datetime) -> list[dict]:
    """Rounds open to the user with their attempts and what they may still do: one query for the
    rounds, one for the attempts."""
    rounds = visible_rounds(user, now)
    attempts: dict[int, list[Attempt]] = {}
    mine_in_rounds = (
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.round_id.in_([r.id for r in rounds]))
        .order_by(Attempt.number)
    )
    for attempt in db.session.scalars(mine_in_rounds) if rounds else []:
        attempts.setdefault(attempt.round_id, []).append(attempt)
    listing = []
    for round_ in rounds:
        mine = attempts.get(round_.id, [])
        running = next(
            (
                a
                for a in mine
                if a.status == AttemptStatus.IN_PROGRESS and now <= a.deadline_at + grace_period(round_)
            ),
            None,
        )
        state = (
            "closed"
            if round_.status == RoundStatus.CLOSED or now >= round_.closes_at
            else "upcoming"
            if now < round_.opens_at
            else "open"
        )
        finished = sum(1 for a in mine if a.finished)
        visible = [a for a in mine if results_visible(a, finished) and not a.held]
        best = max((a.percent for a in visible if a.percent is not None), default=None)
        listing.append(
            {
                "id": round_.id,
                "title": round_.title,
                "kind": str(round_.kind),
                "kind_label": round_.kind.label,
                "state": state,
                "opens_at": round_.opens_at.isoformat(),
                "closes_at": round_.closes_at.isoformat(),
                "time_limit_minutes": round_.time_limit_seconds // 60,
                "question_count": round_.question_count,
                "attempts_allowed": round_.attempts_allowed,
                "attempts_used": len(mine),
                "in_progress_attempt_id": running.id if running else None,
                "can_start": state == "open" and running is None and len(mine) < round_.attempts_allowed,
                "best_percent": best,
                "attempts": [
                    {
                        "id": a.id,
                        "number": a.number,
                        "status": str(a.status),
                        "status_label": a.status.label,
                        "percent": a.percent if results_visible(a, finished) and not a.held else None,
                        "held": a.held,
                    }
                    for a in mine
                ],
            }
        )
    return listing
