"""Reviewing what the integrity signals held (成绩核查): the queue of a reviewer's subtree, and
clearing (it counts again, and what was published without it is restated: the round's official
snapshot and bulletin, the month's, the day's participation) or voiding (it never counts), with a
reason, in the audit log."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ... import clock
from ...extensions import db
from ...models import (
    Attempt,
    DailySet,
    IntegrityReview,
    LearningItem,
    RankingSnapshot,
    ReviewStatus,
    Round,
    RoundStatus,
    Unit,
    User,
)
from .. import audit, certificates, period_reports, period_totals, points, rankings, reports
from ..errors import Conflict, NotFound
from ..org import unit_scope
from ..periods import month_period, round_period, week_period
from .signals import BadReport

REASON_MAX = 500


def _repay_day_points(daily_set: DailySet, rules) -> None:
    """A cleared day earns what it would have: each right answer in order, then the finish."""
    right = db.session.scalars(
        select(LearningItem.id)
        .where(LearningItem.daily_set_id == daily_set.id, LearningItem.correct.is_(True))
        .order_by(LearningItem.answered_at, LearningItem.id)
    ).all()
    for item_id in right:
        points.award(daily_set.user_id, "daily_correct", item_id, daily_set.day, rules)
    if daily_set.finished_at is not None:
        points.award(daily_set.user_id, "daily_finish", daily_set.id, daily_set.day, rules)


def reviews_in_scope(viewer: User):
    """Reviews of the units ``viewer`` manages (never their own)."""
    return (
        select(IntegrityReview)
        .join(Unit, Unit.id == IntegrityReview.unit_id)
        .where(unit_scope(viewer), IntegrityReview.user_id != viewer.id)
    )


def queue(viewer: User, status: ReviewStatus, *, page: int = 1, size: int = 50) -> tuple[list[dict], dict]:
    """One page of reviews with ``status`` in the viewer's scope, the most suspicious first, and the
    count of each status: three queries."""
    scoped = reviews_in_scope(viewer).subquery()
    counts = dict(db.session.execute(select(scoped.c.status, func.count()).group_by(scoped.c.status)).all())
    rows = db.session.execute(
        reviews_in_scope(viewer)
        .where(IntegrityReview.status == status)
        .add_columns(User.name, User.username, Unit.name.label("unit_name"), Round.title, Attempt.number)
        .join(User, User.id == IntegrityReview.user_id)
        .outerjoin(Round, Round.id == IntegrityReview.round_id)
        .outerjoin(Attempt, Attempt.id == IntegrityReview.attempt_id)
        .options(joinedload(IntegrityReview.decided_by))
        .order_by(IntegrityReview.score.desc(), IntegrityReview.assessed_at.desc(), IntegrityReview.id)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    entries = [
        {
            "review": row[0],
            "name": row.name,
            "username": row.username,
            "unit_name": row.unit_name,
            "subject": f"{row.title} 第 {row.number} 次作答"
            if row[0].attempt_id
            else f"{row[0].day:%Y-%m-%d} 日日学",
        }
        for row in rows
    ]
    return entries, {ReviewStatus(key): value for key, value in counts.items()}


DECISIONS = {"clear": ReviewStatus.CLEARED, "void": ReviewStatus.VOIDED}


def decide(
    viewer: User, review_id: int, decision: str, reason: str, *, now: datetime, rules
) -> IntegrityReview:
    """Clear (counts again) or void (never counts) a held attempt or day, with a reason, in the audit
    log; what was published with it held out is restated (the round's official snapshot and
    bulletin, the month's, the day's participation)."""
    review = db.session.scalar(reviews_in_scope(viewer).where(IntegrityReview.id == review_id))
    if review is None:
        raise NotFound("待核记录不存在或不在您的管理范围内")
    if decision not in DECISIONS:
        raise BadReport("请选择“核准计入”或“作废”")
    reason = (reason or "").strip()
    if not reason:
        raise BadReport("请填写核查结论（理由）")
    if len(reason) > REASON_MAX:
        raise BadReport(f"理由不能超过 {REASON_MAX} 字")
    if review.status != ReviewStatus.HELD:
        raise Conflict(f"该记录{review.status.label}，不能再处理")
    before = {"status": str(review.status), "score": review.score}
    review.status = DECISIONS[decision]
    review.decided_at, review.decided_by_id, review.reason = now, viewer.id, reason
    counts_again = review.status == ReviewStatus.CLEARED
    if review.attempt_id is not None:
        attempt = db.session.get(Attempt, review.attempt_id)
        attempt.held = not counts_again
        db.session.flush()
        period_totals.restate_round(attempt.round_id, now=now)  # the live refresh's totals
        period_totals.restate_people([attempt.user_id], now=now)
        _restate_attempt(attempt, now=now)
        target = ("attempt", review.attempt_id)
    else:
        daily_set = db.session.get(DailySet, review.daily_set_id)
        daily_set.held = not counts_again
        if counts_again:
            _repay_day_points(daily_set, rules)
        db.session.flush()
        period_totals.restate_people([daily_set.user_id], now=now)  # the live refresh's totals
        _restate_day(daily_set.day, now=now)
        target = ("daily_set", review.daily_set_id)
    audit.record(
        f"integrity.{decision}",
        *target,
        actor_id=viewer.id,
        before=before,
        after={"status": str(review.status), "reason": reason},
    )
    return review


def _restate_attempt(attempt: Attempt, *, now: datetime) -> None:
    from ..rounds.marking import rank_round  # rounds imports this module

    round_ = db.session.get(Round, attempt.round_id)
    if round_.status != RoundStatus.CLOSED:
        return  # the close ranks what stands then
    rank_round(round_.id)
    # cleared: issued if it passed; voided: revoked
    certificates.reconcile(round_.id, now=now, user_ids=[attempt.user_id])
    tz = current_app.config["TZINFO"]
    _restate_period(round_period(round_, tz), now=now)
    days = {clock.business_date(round_.closes_at, tz)}
    if attempt.submitted_at is not None:
        days.add(clock.business_date(attempt.submitted_at, tz))
    # Settled weeks too: a closed week's official snapshot is written when it is first read.
    for period in {month_period(day.replace(day=1)) for day in days} | {week_period(day) for day in days}:
        _restate_period(period, now=now)
    for period in {span for day in days for span in period_reports.spans_touching(day)}:
        _restate_period(period, now=now)  # a stored 季度汇报 or 半年总结


def _restate_day(day: date, *, now: datetime) -> None:
    from ..sweeps import reroll_day

    reroll_day(day)
    _restate_period(month_period(day.replace(day=1)), now=now)
    _restate_period(week_period(day), now=now)
    for period in period_reports.spans_touching(day):
        _restate_period(period, now=now)


def _restate_period(period, *, now: datetime) -> None:
    """Rewrite a period's official snapshot and its bulletin, if they were published."""
    official = db.session.scalar(
        select(RankingSnapshot.id).where(
            RankingSnapshot.period_key == period.key, RankingSnapshot.official.is_(True)
        )
    )
    if official is None:
        return
    tz = current_app.config["TZINFO"]
    snapshot = rankings.write_snapshot(period, official=True, now=now, tz=tz, restate=True)
    reports.rebuild_bulletin(period, snapshot, now=now)


def standing_of(attempt: Attempt) -> dict | None:
    """What the taker is told about a held attempt: 成绩待核, or that it was voided."""
    if not attempt.held:
        return None
    status = db.session.scalar(select(IntegrityReview.status).where(IntegrityReview.attempt_id == attempt.id))
    if status == ReviewStatus.VOIDED:
        return {"status": "voided", "label": "成绩无效", "message": "本次答卷经审核不计入成绩。"}
    return {
        "status": "held",
        "label": "成绩待核",
        "message": "本次答卷的作答记录需要单位管理员核实，核实前不计入排名与通报。",
    }
