"""Item analysis (as Moodle's quiz statistics do it), computed once when a round closes.

- Facility index: the mean score on the question over the counted attempts (0–1; unanswered = 0).
- Discrimination index: the Pearson correlation between the score on the question and the score on
  the rest of the paper (total minus this question) over the counted attempts. Near 0: the question
  does not tell strong from weak takers; negative: the strong get it wrong — most often a wrong key.
- Option distribution: how many chose each option (single/multiple/judge) or wrote each answer (fill).

All sums come from GROUP BY queries; Python only combines a handful of numbers per question.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime

from sqlalchemy import String, cast, delete, func, or_, select

from ..extensions import db
from ..models import Attempt, AttemptAnswer, ItemStat, PaperQuestion, QuestionVersion
from . import grading

TOO_EASY, TOO_HARD, NEGATIVE = 0.9, 0.2, 0.0
FLAG_LABELS = {
    "too_easy": "过易",
    "too_hard": "过难",
    "negative_discrimination": "区分度为负（可能答案有误）",
    "low_discrimination": "区分度低",
}


def pearson(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float) -> float | None:
    denominator = math.sqrt(max(n * sxx - sx * sx, 0.0) * max(n * syy - sy * sy, 0.0))
    return None if denominator == 0 else (n * sxy - sx * sy) / denominator


def analyse_round(round_id: int, *, now: datetime) -> int:
    """Write (or rewrite) the round's item statistics. Returns the number of questions analysed."""
    counted = (Attempt.round_id == round_id, Attempt.counted.is_(True))
    # Per question, the counted attempts whose paper held it (every one on a shared paper; on drawn
    # papers, those that drew it), their number and their totals: facility and discrimination are
    # computed among them.
    holders = {
        question_id: (n, total, total_sq)
        for question_id, n, total, total_sq in db.session.execute(
            select(
                PaperQuestion.question_id,
                func.count(Attempt.id),
                func.coalesce(func.sum(Attempt.score), 0.0),
                func.coalesce(func.sum(Attempt.score * Attempt.score), 0.0),
            )
            .join(
                Attempt,
                (Attempt.round_id == PaperQuestion.round_id)
                & or_(PaperQuestion.attempt_id.is_(None), PaperQuestion.attempt_id == Attempt.id),
            )
            .where(*counted)
            .group_by(PaperQuestion.question_id)
        )
    }
    first = (
        select(
            PaperQuestion.question_id,
            func.min(PaperQuestion.position).label("position"),
            func.max(PaperQuestion.question_version_id).label("version_id"),
        )
        .where(PaperQuestion.round_id == round_id)
        .group_by(PaperQuestion.question_id)
        .subquery()
    )
    paper = db.session.execute(
        select(first.c.question_id, first.c.position, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == first.c.version_id)
        .order_by(first.c.position, first.c.question_id)
    ).all()
    sums = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(
                AttemptAnswer.question_id,
                func.count(AttemptAnswer.id),
                func.sum(AttemptAnswer.score),
                func.sum(AttemptAnswer.score * AttemptAnswer.score),
                func.sum(AttemptAnswer.score * Attempt.score),
            )
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .where(*counted)
            .group_by(AttemptAnswer.question_id)
        )
    }
    choices: dict[int, Counter] = {}
    for question_id, response, count in db.session.execute(
        select(AttemptAnswer.question_id, cast(AttemptAnswer.response, String), func.count())
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(*counted)
        .group_by(AttemptAnswer.question_id, cast(AttemptAnswer.response, String))
    ):
        choices.setdefault(question_id, Counter())[response] += count
    db.session.execute(delete(ItemStat).where(ItemStat.round_id == round_id))
    for question_id, position, version in paper:
        n, total, total_sq = holders.get(question_id, (0, 0.0, 0.0))
        answered, sx, sxx, sxt = sums.get(question_id, (0, 0.0, 0.0, 0.0))
        sx, sxx, sxt = float(sx or 0), float(sxx or 0), float(sxt or 0)
        facility = sx / n if n else None
        # The rest of the paper: y = T − x, so Σy = ΣT − Σx, Σy² = ΣT² − 2ΣxT + Σx², Σxy = ΣxT − Σx².
        discrimination = (
            pearson(n, sx, float(total) - sx, sxx, float(total_sq) - 2 * sxt + sxx, sxt - sxx)
            if n > 1
            else None
        )
        flags = []
        if facility is not None and facility > TOO_EASY:
            flags.append("too_easy")
        if facility is not None and facility < TOO_HARD:
            flags.append("too_hard")
        if discrimination is not None and discrimination < NEGATIVE:
            flags.append("negative_discrimination")
        db.session.add(
            ItemStat(
                round_id=round_id,
                question_id=question_id,
                question_version_id=version.id,
                position=position,
                attempts=n,
                answered=answered,
                facility=facility,
                discrimination=discrimination,
                distribution=_distribution(version, choices.get(question_id, Counter())),
                flags=flags,
                computed_at=now,
            )
        )
    db.session.flush()
    return len(paper)


def _distribution(version: QuestionVersion, responses: Counter) -> dict[str, int]:
    """Per option for choice questions (a multiple-choice response counts for each option in it),
    per answer for judge and fill (the five most common written answers)."""
    counts: Counter = Counter()
    for text, count in responses.items():
        value = json.loads(text) if text is not None else None
        if version.type in ("single", "judge"):
            counts[str(value).lower() if isinstance(value, bool) else str(value)] += count
        elif version.type == "multiple":
            for key in value or []:
                counts[key] += count
        elif version.type == "calc":
            counts[f"{grading.plain_number(value['value'])}{value['unit']}" if value else ""] += count
        else:
            counts["；".join(value or [])] += count
    if version.type in ("fill", "calc"):
        return dict(counts.most_common(5))
    if version.type in ("single", "multiple"):
        return {option["key"]: counts.get(option["key"], 0) for option in version.options}
    return {"true": counts.get("true", 0), "false": counts.get("false", 0)}
