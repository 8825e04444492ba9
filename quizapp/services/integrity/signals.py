"""Integrity signals (DESIGN §3 Rounds; issue 16): what the server records of how an attempt or a
日日学 day was answered, an explained score, and holding what scores too high out of every official
count until a reviewer decides.

Signals, each with its figures and points (``INTEGRITY`` in the configuration):

- 秒答: answers given faster than a reading floor for their text (base + characters ÷ speed), timed
  from the previous answer to the answer's first save, by the server's clock (an attempt's answer
  keeps its time when it is first saved, so assessing needs no sort of every answer);
- intervals between answers too even to be human (coefficient of variation below a floor);
- answers saved from two sign-in sessions, or two network addresses, of one account;
- the attempt page hidden often or long (the page reports it), or never reporting at all;
- the same wrong answers as a colleague of the unit in the same round (checked at close).

The score is the sum of the points. Over ``hold_score`` the attempt or day is *held*: it counts in
no official ranking, bulletin, star or points until a unit admin of its subtree (or an admin) clears
it (it counts again, and what was published is restated) or voids it (it never counts). Timing is
aggregated set-based in SQL, so assessing the 50,000 attempts a close auto-submits is one grouped
pass.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Text, bindparam, cast, delete, func, select, update

from ...database import seconds_between
from ...extensions import db
from ...models import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    DailySet,
    IntegrityReview,
    LearningItem,
    PointsEntry,
    QuestionVersion,
    ReviewStatus,
    User,
)
from ..errors import DomainError, NotFound

MAX_CLIENTS = 8  # sessions × addresses kept per attempt or day: two already tell the story
MAX_PAGES = 20  # page loads whose visibility reports are kept per attempt
CHUNK = 2000  # ids per IN (...) list


class BadReport(DomainError):
    """A report or a decision that cannot be taken as given (400)."""


@dataclass(frozen=True)
class Thresholds:
    hold_score: int
    reading_chars_per_second: float
    reading_base_seconds: float
    fast_share: float
    fast_points: int
    regular_cv: float
    regular_min_answers: int
    regular_points: int
    sessions_points: int
    addresses_points: int
    hidden_times: int
    hidden_seconds: int
    hidden_points: int
    no_report_points: int
    same_answers_min_wrong: int
    same_answers_points: int


def thresholds() -> Thresholds:
    return Thresholds(**current_app.config["INTEGRITY"])


# ---------------------------------------------------------------------------------------------
# Recording: where answers come from, what the page reports


def client_key(session_token: str | None, address: str | None) -> str:
    """Who saved an answer, without keeping the session's secret: a digest of the sign-in session's
    token and the network address (``3f9a1c2b@10.0.0.7``)."""
    digest = hashlib.sha256((session_token or "").encode()).hexdigest()[:8]
    return f"{digest}@{address or '-'}"


def with_client(known: list | None, client: str | None) -> list | None:
    """``known`` with ``client`` added, or None when there is nothing new to write."""
    known = known or []
    if not client or client in known or len(known) >= MAX_CLIENTS:
        return None
    return [*known, client]


def record_focus(user_id: int, attempt_id: int, report: dict) -> None:
    """Keep the attempt page's visibility report: ``{"page": id of this page load, "hidden": times
    hidden, "hidden_seconds": s}``, counted by the page since it loaded (so the latest report of each
    load holds its totals; a reload starts a new load). Refused once the attempt is finished."""
    page = report.get("page")
    hidden, seconds = report.get("hidden"), report.get("hidden_seconds")
    if not isinstance(page, str) or not 0 < len(page) <= 40:
        raise BadReport("page 应为页面标识")
    for value, name in ((hidden, "hidden"), (seconds, "hidden_seconds")):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10**6:
            raise BadReport(f"{name} 应为非负数")
    attempt = db.session.scalar(
        select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == user_id).with_for_update()
    )
    if attempt is None:
        raise NotFound("答卷不存在")
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return
    pages = dict((attempt.focus or {}).get("pages", {}))
    if page not in pages and len(pages) >= MAX_PAGES:
        return
    before = pages.get(page, [0, 0])
    pages[page] = [max(before[0], int(hidden)), max(before[1], int(seconds))]
    attempt.focus = {"pages": pages}


# ---------------------------------------------------------------------------------------------
# Signals


def _signal(code: str, label: str, detail: str, points: int) -> dict:
    return {"code": code, "label": label, "detail": detail, "points": points}


def timing_signals(row, limits: Thresholds) -> list[dict]:
    """秒答 and too-regular intervals from a subject's timing aggregates (``_timing``)."""
    signals = []
    if row is None or not row.answers:
        return signals
    share = row.fast / row.answers
    if share >= limits.fast_share / 2 and row.fast >= 2:
        points = limits.fast_points if share >= limits.fast_share else limits.fast_points // 2
        signals.append(
            _signal(
                "fast",
                "秒答",
                f"{row.answers} 次作答中 {row.fast} 次快于阅读下限（{limits.reading_base_seconds:g} 秒 + 题面字数 ÷ "
                f"{limits.reading_chars_per_second:g} 字/秒），最短 {max(row.shortest or 0, 0):.1f} 秒",
                points,
            )
        )
    if row.answers >= limits.regular_min_answers - 1:
        mean = float(row.mean or 0)
        spread = math.sqrt(max(0.0, float(row.mean_sq or 0) - mean * mean))
        cv = spread / mean if mean > 0 else 0.0
        if cv < limits.regular_cv:
            signals.append(
                _signal(
                    "regular",
                    "间隔过于均匀",
                    f"{row.answers} 个作答间隔平均 {mean:.1f} 秒、标准差 {spread:.2f} 秒"
                    f"（变异系数 {cv:.2f}，低于 {limits.regular_cv:g}）",
                    limits.regular_points,
                )
            )
    return signals


def client_signals(clients: list | None, limits: Thresholds) -> list[dict]:
    clients = clients or []
    sessions = {client.partition("@")[0] for client in clients}
    addresses = sorted({client.partition("@")[2] for client in clients})
    if len(sessions) > 1:
        return [
            _signal(
                "sessions",
                "多处登录作答",
                f"同一账号在 {len(sessions)} 个登录会话中作答（地址 {'、'.join(addresses)}）",
                limits.sessions_points,
            )
        ]
    if len(addresses) > 1:
        return [
            _signal(
                "addresses",
                "多个网络地址",
                f"作答来自 {len(addresses)} 个网络地址：{'、'.join(addresses)}",
                limits.addresses_points,
            )
        ]
    return []


def focus_signals(focus: dict | None, limits: Thresholds) -> list[dict]:
    pages = (focus or {}).get("pages")
    if not pages:
        return [
            _signal(
                "no_report",
                "页面未报告",
                "答卷页面从未报告焦点与可见性（可能不是在本系统的答题页面上作答）",
                limits.no_report_points,
            )
        ]
    times = sum(hidden for hidden, _ in pages.values())
    seconds = sum(seconds for _, seconds in pages.values())
    if times >= limits.hidden_times or seconds >= limits.hidden_seconds:
        return [
            _signal(
                "hidden",
                "离开答题页面",
                f"答题页面被切走 {times} 次，共 {seconds} 秒（提示线：{limits.hidden_times} 次或 "
                f"{limits.hidden_seconds} 秒）",
                limits.hidden_points,
            )
        ]
    return []


def total(signals: list[dict]) -> int:
    return min(100, sum(signal["points"] for signal in signals))


def _timing(gaps) -> select:
    """Per subject: the answers after its first, those under the reading floor, the mean and mean
    square of their times, and the shortest. ``gaps``: a subquery of (subject, gap in seconds since
    the answer before, reading characters)."""
    limits = thresholds()
    floor = limits.reading_base_seconds + gaps.c.chars / float(limits.reading_chars_per_second)
    return select(
        gaps.c.subject,
        func.count().label("answers"),
        func.count().filter(gaps.c.gap < floor).label("fast"),
        func.avg(gaps.c.gap).label("mean"),
        func.avg(gaps.c.gap * gaps.c.gap).label("mean_sq"),
        func.min(gaps.c.gap).label("shortest"),
    ).group_by(gaps.c.subject)


# ---------------------------------------------------------------------------------------------
# Attempts


def assess_attempts(*conditions, now: datetime) -> int:
    """Assess the finished, not yet assessed attempts matching ``conditions`` (on ``Attempt``):
    set-based timing, then the score of each; those with signals get a review, those over the
    threshold are held: the reviews and the scores written by two executemany statements, the clean
    rest by one UPDATE. Returns how many were held."""
    limits = thresholds()
    scope = (Attempt.status != AttemptStatus.IN_PROGRESS, Attempt.integrity_score.is_(None), *conditions)
    gaps = (
        select(
            AttemptAnswer.attempt_id.label("subject"),
            AttemptAnswer.gap_seconds.label("gap"),
            QuestionVersion.reading_chars.label("chars"),
        )
        .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
        .where(*scope, AttemptAnswer.gap_seconds.is_not(None))
        .subquery()
    )
    timing = {row.subject: row for row in db.session.execute(_timing(gaps))}
    attempts = db.session.execute(
        select(Attempt.id, Attempt.user_id, Attempt.unit_id, Attempt.round_id, Attempt.clients, Attempt.focus)
        .where(*scope)
        .order_by(Attempt.id)
    ).all()
    flagged = []
    for attempt in attempts:
        signals = (
            timing_signals(timing.get(attempt.id), limits)
            + client_signals(attempt.clients, limits)
            + focus_signals(attempt.focus, limits)
        )
        if signals:
            flagged.append((attempt, signals))
    _keep_attempt_reviews(flagged, limits, now=now)
    db.session.execute(  # everything else assessed clean
        update(Attempt).where(*scope).values(integrity_score=0).execution_options(synchronize_session=False)
    )
    return sum(total(signals) >= limits.hold_score for _, signals in flagged)


_SCORED = (
    update(Attempt.__table__)
    .where(Attempt.__table__.c.id == bindparam("attempt"))
    .values(integrity_score=bindparam("new_score"), held=bindparam("new_held"))
)


def _keep_attempt_reviews(flagged: list, limits: Thresholds, *, now: datetime) -> None:
    rows = []
    for attempt, signals in flagged:
        score = total(signals)
        hold = score >= limits.hold_score
        rows.append(
            {
                "attempt_id": attempt.id,
                "daily_set_id": None,
                "user_id": attempt.user_id,
                "unit_id": attempt.unit_id,
                "round_id": attempt.round_id,
                "day": None,
                "score": score,
                "signals": signals,
                "status": ReviewStatus.HELD if hold else ReviewStatus.FLAGGED,
                "assessed_at": now,
            }
        )
    if rows:
        db.session.execute(IntegrityReview.__table__.insert(), rows)
        db.session.execute(
            _SCORED,
            [
                {"attempt": row["attempt_id"], "new_score": row["score"], "new_held": row["status"] == "held"}
                for row in rows
            ],
        )


def check_same_answers(round_id: int, *, now: datetime) -> int:
    """Takers of one unit in one round who gave the very same wrong answers (at least
    ``same_answers_min_wrong`` of them, and no other wrong answer): a signal on each. One grouped
    pass over the round's wrong answers gives each attempt a fingerprint (how many, the sum of their
    questions, the sum of the answers' lengths; grouped here, so no estimate of the planner's can
    turn it into a nested loop); only attempts that share a fingerprint with a colleague of their
    unit are compared answer by answer. Returns the attempts newly signalled."""
    limits = thresholds()
    wrong = (Attempt.round_id == round_id, AttemptAnswer.correct.is_(False))  # at close: all finished
    answer_text = cast(AttemptAnswer.response, Text)
    prints: dict[tuple, list[tuple[int, int]]] = {}  # fingerprint → [(attempt, user)]
    for attempt_id, unit_id, user_id, n, questions, length in db.session.execute(
        select(
            Attempt.id,
            Attempt.unit_id,
            Attempt.user_id,
            func.count(),
            func.sum(AttemptAnswer.question_id),
            func.sum(func.length(answer_text)),
        )
        .join(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
        .where(*wrong)
        .group_by(Attempt.id, Attempt.unit_id, Attempt.user_id)
        .having(func.count() >= limits.same_answers_min_wrong)
    ):
        prints.setdefault((unit_id, n, questions, length), []).append((attempt_id, user_id))
    candidates = [
        attempt_id
        for takers in prints.values()
        if len({user_id for _, user_id in takers}) > 1
        for attempt_id, _ in takers
    ]
    answers: dict[int, set] = {}
    owners: dict[int, tuple[int, int]] = {}
    for start in range(0, len(candidates), CHUNK):
        for attempt_id, unit_id, user_id, question_id, text in db.session.execute(
            select(Attempt.id, Attempt.unit_id, Attempt.user_id, AttemptAnswer.question_id, answer_text)
            .join(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
            .where(*wrong, Attempt.id.in_(candidates[start : start + CHUNK]))
        ):
            answers.setdefault(attempt_id, set()).add((question_id, text))
            owners[attempt_id] = (unit_id, user_id)
    alike: dict[tuple, list[int]] = {}
    for attempt_id, given in answers.items():
        alike.setdefault((owners[attempt_id][0], frozenset(given)), []).append(attempt_id)
    partners: dict[int, list[tuple[int, int]]] = {}
    for (_, given), attempt_ids in alike.items():
        for attempt_id in attempt_ids:
            others = [o for o in attempt_ids if owners[o][1] != owners[attempt_id][1]]
            if others:
                partners[attempt_id] = [(other, len(given)) for other in others]
    if not partners:
        return 0
    names = dict(
        db.session.execute(
            select(Attempt.id, User.name)
            .join(User, User.id == Attempt.user_id)
            .where(Attempt.id.in_(partners))
        ).all()
    )
    signalled = 0
    for attempt_id, others in partners.items():
        detail = (
            "与本单位 "
            + "、".join(f"{names[other]}（{n} 道错题）" for other, n in others)
            + " 的错误答案完全相同"
        )
        signal = _signal("same_answers", "错误答案雷同", detail, limits.same_answers_points)
        signalled += _add_signal(attempt_id, signal, limits, now=now)
    return signalled


def _add_signal(attempt_id: int, signal: dict, limits: Thresholds, *, now: datetime) -> bool:
    review = db.session.scalar(select(IntegrityReview).where(IntegrityReview.attempt_id == attempt_id))
    attempt = db.session.get(Attempt, attempt_id)
    if review is None:
        _keep_attempt_reviews([(attempt, [signal])], limits, now=now)
        return True
    if any(s["code"] == signal["code"] for s in review.signals) or review.status in (
        ReviewStatus.CLEARED,
        ReviewStatus.VOIDED,
    ):
        return False
    review.signals = [*review.signals, signal]
    review.score = total(review.signals)
    if review.score >= limits.hold_score:
        review.status = ReviewStatus.HELD
        attempt.held = True
    attempt.integrity_score = review.score
    return True


# ---------------------------------------------------------------------------------------------
# 日日学 days


def assess_day(daily_set: DailySet, *, now: datetime) -> bool:
    """Assess a day's set as its answers come in (from the ``regular_min_answers``-th on). A day over
    the threshold is held: its points leave the ledger, and it gives no participation or star,
    until a reviewer clears it. Returns whether the day is held now. A decided day stays decided."""
    limits = thresholds()
    if daily_set.answered_count < min(limits.regular_min_answers, daily_set.size):
        return daily_set.held
    review = db.session.scalar(select(IntegrityReview).where(IntegrityReview.daily_set_id == daily_set.id))
    if review is not None and review.status in (ReviewStatus.CLEARED, ReviewStatus.VOIDED):
        return daily_set.held
    answered = (
        select(
            LearningItem.daily_set_id.label("subject"),
            LearningItem.answered_at.label("at"),
            func.lag(LearningItem.answered_at).over(order_by=LearningItem.answered_at).label("previous"),
            QuestionVersion.reading_chars.label("chars"),
        )
        .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
        .where(LearningItem.daily_set_id == daily_set.id, LearningItem.answered_at.is_not(None))
        .subquery()
    )
    gaps = (
        select(
            answered.c.subject,
            seconds_between(answered.c.previous, answered.c.at).label("gap"),
            answered.c.chars,
        )
        .where(answered.c.previous.is_not(None))
        .subquery()
    )
    row = db.session.execute(_timing(gaps)).first()
    signals = timing_signals(row, limits) + client_signals(daily_set.clients, limits)
    score = total(signals)
    daily_set.integrity_score = score
    if not signals:
        return daily_set.held
    hold = score >= limits.hold_score
    status = ReviewStatus.HELD if hold or daily_set.held else ReviewStatus.FLAGGED
    if review is None:
        user = db.session.get(User, daily_set.user_id)
        review = IntegrityReview(
            daily_set_id=daily_set.id, user_id=user.id, unit_id=user.unit_id, day=daily_set.day
        )
        db.session.add(review)
    review.score, review.signals, review.status, review.assessed_at = score, signals, status, now
    if status == ReviewStatus.HELD and not daily_set.held:
        daily_set.held = True
        _withdraw_day_points(daily_set)
    db.session.flush()
    return daily_set.held


def _day_point_sources(daily_set: DailySet):
    items = select(LearningItem.id).where(LearningItem.daily_set_id == daily_set.id)
    return (
        PointsEntry.user_id == daily_set.user_id,
        ((PointsEntry.rule == "daily_correct") & PointsEntry.source_id.in_(items))
        | ((PointsEntry.rule == "daily_finish") & (PointsEntry.source_id == daily_set.id)),
    )


def _withdraw_day_points(daily_set: DailySet) -> None:
    db.session.execute(delete(PointsEntry).where(*_day_point_sources(daily_set)))
