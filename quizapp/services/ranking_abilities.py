"""Accuracy by ability for unit rankings: one indicator per ability (``ability_<id>``), the
answered-weighted accuracy of a subtree's answers in a period — learning answers and the counting
answers of rounds closed in it, written answers once marked. A snapshot row keeps, per ability id,
[answers, sum of the fractions right] in ``abilities``; rows written before it have none (shown as —)."""

from __future__ import annotations

import re

from sqlalchemy import case, func, or_, select

from .. import kept
from ..extensions import db
from ..models import (
    WRITTEN_TYPES,
    Ability,
    Attempt,
    AttemptAnswer,
    DailySet,
    LearningItem,
    QuestionVersion,
    RankingSnapshot,
    Round,
    RoundStatus,
    User,
)
from .history import round_answer_counts
from .org import active_staff
from .periods import Period

# One more indicator per ability (data, table ``ability``): "ability_<id>", the answered-weighted
# accuracy of the subtree's answers in the period. A snapshot row keeps, per ability id, [answers,
# sum of the fractions right] in ``abilities``; rows written before it have none (shown as —).
ABILITY_KEY = re.compile(r"ability_(\d+)")


def add_answers(target: dict, ability_id, answered, right) -> None:
    """Add answers to a unit's totals by ability (the pair is the target's own list, added to in
    place: the roll-up of a nation makes millions of these)."""
    if answered:
        abilities, key = target["abilities"], str(ability_id)
        pair = abilities.get(key)
        if pair is None:
            abilities[key] = [int(answered), float(right or 0.0)]
        else:
            pair[0] += int(answered)
            pair[1] += float(right or 0.0)


def answers_by_ability(periods: list[Period], bounds: list[tuple]) -> tuple:
    """The two statements of answers and the sum of their fractions right, per unit, ability and
    period: learning answers (日日学, practice, review) of the period's days by the learner's unit, as
    the daily sets count (a written one is the learner's self-marking: not counted; a day held for
    review: not counted), and the answers that count of rounds closed in the period, by the unit the
    attempt was taken in, as the scores count (``ability_totals`` adds them up)."""
    first, last = min(p.starts_on for p in periods), max(p.ends_on for p in periods)
    learning_columns, round_columns = [], []
    for i, period in enumerate(periods):
        days = (LearningItem.day >= period.starts_on) & (LearningItem.day < period.ends_on)
        learning_columns += [
            func.count(LearningItem.id).filter(days).label(f"n{i}"),
            func.sum(case((LearningItem.correct.is_(True), 1.0), else_=0.0)).filter(days).label(f"r{i}"),
        ]
        start_utc, end_utc = bounds[i]
        closed_in = (Round.closes_at >= start_utc) & (Round.closes_at < end_utc)
        round_columns += [
            func.count(AttemptAnswer.id).filter(closed_in).label(f"n{i}"),
            func.sum(AttemptAnswer.score).filter(closed_in).label(f"r{i}"),
        ]
    learning = (
        select(
            User.unit_id.label("unit_id"), QuestionVersion.ability_id.label("ability_id"), *learning_columns
        )
        .select_from(LearningItem)
        .join(User, User.id == LearningItem.user_id)
        .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
        .outerjoin(DailySet, DailySet.id == LearningItem.daily_set_id)
        .where(
            active_staff(),
            LearningItem.day >= first,
            LearningItem.day < last,
            LearningItem.answered_at.is_not(None),
            QuestionVersion.type.not_in(WRITTEN_TYPES),
            or_(LearningItem.daily_set_id.is_(None), DailySet.held.is_(False)),
        )
        .group_by(User.unit_id, QuestionVersion.ability_id)
    )
    in_rounds = (
        select(
            Attempt.unit_id.label("unit_id"), QuestionVersion.ability_id.label("ability_id"), *round_columns
        )
        .select_from(AttemptAnswer)
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(Round, Round.id == Attempt.round_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
        .where(
            Round.status == RoundStatus.CLOSED,
            Round.closes_at >= min(b[0] for b in bounds),
            Round.closes_at < max(b[1] for b in bounds),
            round_answer_counts(),
        )
        .group_by(Attempt.unit_id, QuestionVersion.ability_id)
    )
    return learning, in_rounds


def ability_totals(periods: list[Period], bounds: list[tuple]) -> list[tuple]:
    """(unit, ability, answered₀, right₀, answered₁, right₁, …) over the periods: the learning side
    read every time; the rounds side — 2.5 M answers of a province's closed monthly contest, 3–4 s —
    kept per process under a stamp of what could change it (the graded, held and counted attempts of
    the rounds closed in the range, and the latest grading), so the 5-minute live refresh reads it
    again only after a round closes or an integrity decision changes what counts."""
    learning, in_rounds = answers_by_ability(periods, bounds)
    start, end = min(b[0] for b in bounds), max(b[1] for b in bounds)
    stamp = db.session.execute(
        select(
            func.count(Attempt.id),
            func.count(Attempt.id).filter(Attempt.held.is_(True)),
            func.sum(Attempt.id).filter(Attempt.held.is_(True)),  # which ones, not only how many
            func.max(Attempt.graded_at),
            func.max(Round.closed_at),
        )
        .join(Round, Round.id == Attempt.round_id)
        .where(Round.status == RoundStatus.CLOSED, Round.closes_at >= start, Round.closes_at < end)
    ).one()
    key = (tuple(bounds), tuple(stamp))
    rounds_side = _round_totals_store().get(key)
    if rounds_side is None:
        rounds_side = _round_totals_store().put(key, [tuple(row) for row in db.session.execute(in_rounds)])
    totals: dict[tuple, list[float]] = {}
    for row in [*db.session.execute(learning), *rounds_side]:
        sums = totals.setdefault((row[0], row[1]), [0.0] * (len(row) - 2))
        for i, value in enumerate(row[2:]):
            sums[i] += float(value or 0)
    return [(unit_id, ability_id, *sums) for (unit_id, ability_id), sums in totals.items()]


def _round_totals_store() -> kept.Kept:
    return kept.store("ability round totals", 16)


def ability_rates(row, ability_ids: list[int]) -> dict[str, float | None]:
    """``ability_<id>`` → the row's answered-weighted accuracy (None: no answers, or a row written
    before abilities were kept)."""
    stored = row.abilities or {}
    rates = {}
    for ability_id in ability_ids:
        answered, right = stored.get(str(ability_id)) or (0, 0.0)
        rates[f"ability_{ability_id}"] = right / answered if answered else None
    return rates


def abilities_for(snapshot: RankingSnapshot) -> list[dict]:
    """The abilities a page offers as indicators beside a snapshot: every ability, as its key, the
    choice's label and the table's header."""
    return abilities_of([snapshot])[snapshot.id]


def abilities_of(snapshots: list[RankingSnapshot]) -> dict[int, list[dict]]:
    """Per snapshot, the abilities as they were when this process first read it (kept under the
    snapshot and its ``computed_at``, as its ranked rows are): one query for all that are new."""
    store = abilities_store()
    found = {s.id: store.get((s.id, s.computed_at)) for s in snapshots}
    missing = [s for s in snapshots if found[s.id] is None]
    if missing:
        current = [
            {
                "key": f"ability_{ability_id}",
                "id": ability_id,
                "label": f"{name}正确率",
                "header": f"{name.removesuffix('能力')}正确率",
            }
            for ability_id, name in db.session.execute(
                select(Ability.id, Ability.name).order_by(Ability.sort, Ability.id)
            )
        ]
        for s in missing:
            found[s.id] = store.put((s.id, s.computed_at), current)
    return found


def abilities_store() -> kept.Kept:
    return kept.store("ranking abilities", 256)
