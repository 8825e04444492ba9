"""Closing a round: one operation, whoever calls it (the sweep, the admin's 结束 button,
``quizapp round close``).

A round with written questions (简答, 情景应答) first goes to marking (``services.written``): its
results wait until every written answer has its final mark, and the next close completes it.
A round is closed completely or not at all: overdue attempts finished, every attempt graded in one
pass, integrity signals assessed (what is held for review counts for nothing), the counted attempts
ranked, the official ranking snapshot, the bulletin and the item analysis
written, and an audit entry — in the caller's transaction. Closing again, or from two places at once,
changes nothing more: the round row is locked first (PostgreSQL; SQLite's writing transaction already
runs alone), and a closed round is left as it is.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import exists, func, select, update

from ...database import bulk_work, refresh_statistics
from ...extensions import db
from ...models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Bulletin,
    Certificate,
    ItemStat,
    PaperQuestion,
    RankingSnapshot,
    Round,
    RoundStatus,
)
from .. import analysis, audit, certificates, integrity, period_totals, rankings, reports, written
from ..errors import Conflict, NotFound
from .attempts import finish_overdue
from .marking import grade_attempts, rank_round


def close_round(round_id: int, *, now: datetime, actor_id: int | None = None) -> dict:
    """Close a round whose time is up. Returns what happened: ``{"closed": True, …}``, or
    ``{"closed": False, "reason": …}`` when it was closed already or an extended attempt is still
    running (the round then waits for it, and the next sweep tries again)."""
    bulk_work()
    # FOR NO KEY UPDATE: what this close writes never changes the round's key, and a plain FOR UPDATE
    # would block every foreign-key check on the round (a concurrent auto-submit recording its
    # integrity review) while this close waits for that transaction's attempt row: a deadlock (seen
    # with two scheduler processes).
    round_ = db.session.scalar(select(Round).where(Round.id == round_id).with_for_update(key_share=True))
    if round_ is None:
        raise NotFound("本轮不存在")
    if round_.status == RoundStatus.CLOSED:
        return {"closed": False, "reason": "already closed"}
    if now < round_.closes_at:
        raise Conflict("本轮尚未到结束时间")
    refresh_statistics(Attempt)  # what follows reads every attempt of the round, set-based
    refresh_statistics(AttemptAnswer)  # and every answer (integrity: timing, the same wrong answers)
    auto = finish_overdue(now=now, round_id=round_id)
    running = db.session.scalar(
        select(func.count(Attempt.id)).where(
            Attempt.round_id == round_id, Attempt.status == AttemptStatus.IN_PROGRESS
        )
    )
    if running:
        return {"closed": False, "reason": f"{running} attempts still running", "auto_submitted": auto}
    if round_.status != RoundStatus.MARKING and db.session.scalar(select(written.has_written(round_id))):
        outcome = written.begin_marking(round_id) | {"auto_submitted": auto}
        audit.record("round.marking", "round", round_id, actor_id=actor_id, after=outcome)
    if round_.status == RoundStatus.MARKING:
        written.settle_marked(round_id)
        if not written.complete(round_id):
            return {"closed": False, "reason": "marking", "auto_submitted": auto}
        # Written answers are marked: grade every attempt again with their scores.
        db.session.execute(
            update(Attempt)
            .where(Attempt.round_id == round_id, Attempt.graded_at.is_not(None))
            .values(graded_at=None)
            .execution_options(synchronize_session=False)
        )
    graded = grade_attempts(Attempt.round_id == round_id, now=now)
    integrity.assess_attempts(Attempt.round_id == round_id, now=now)  # any not assessed yet
    integrity.check_same_answers(round_id, now=now)
    rank_round(round_id)  # what is held for review counts for nothing
    round_.status = RoundStatus.CLOSED
    round_.closed_at = now
    db.session.flush()
    # The live refresh's totals: the round's results per unit, and the attempts the close held.
    period_totals.restate_round(round_id, now=now)
    _write_results(round_, now=now)
    outcome = {"closed": True, "auto_submitted": auto, "graded": graded}
    audit.record("round.close", "round", round_id, actor_id=actor_id, after=outcome)
    return outcome


def _write_results(round_: Round, *, now: datetime) -> None:
    """The official snapshot, the bulletin, the item analysis and an exam's certificates of a closed
    round; each is written once (a second call returns what exists)."""
    tz = current_app.config["TZINFO"]
    snapshot = rankings.write_snapshot(rankings.round_period(round_, tz), official=True, now=now, tz=tz)
    reports.build_round_bulletin(round_.id, snapshot, now=now)
    if not db.session.scalar(select(exists().where(ItemStat.round_id == round_.id))):
        analysis.analyse_round(round_.id, now=now)
    certificates.reconcile(round_.id, now=now)  # an exam's: one per person who passed


def repair_closed_rounds(*, now: datetime, actor_id: int | None = None) -> list[int]:
    """Rounds closed before the close was one operation (from the admin console or the command line,
    which graded and ranked but wrote no snapshot, bulletin or item analysis): write what each lacks.
    Returns the ids repaired. Running it again finds nothing to do."""
    lacking = (
        ~exists().where(RankingSnapshot.round_id == Round.id, RankingSnapshot.official.is_(True))
        | ~exists().where(Bulletin.round_id == Round.id)
        | (
            exists().where(PaperQuestion.round_id == Round.id)
            & ~exists().where(ItemStat.round_id == Round.id)
        )
        | certificates.lacking()
    )
    refresh_statistics(Certificate)  # lacking: an anti-join on certificates, planned on fresh figures
    ids = db.session.scalars(
        select(Round.id).where(Round.status == RoundStatus.CLOSED, lacking).order_by(Round.id)
    ).all()
    for round_id in ids:
        round_ = db.session.get(Round, round_id)
        _write_results(round_, now=round_.closed_at or now)
        audit.record("round.repair", "round", round_id, actor_id=actor_id, after={"repaired": True})
    return list(ids)
