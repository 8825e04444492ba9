"""纠错: learners report a question they think is wrong; admins fix it or dismiss it with a reply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select

from ..extensions import db
from ..models import Attempt, ErrorReport, LearningItem, PaperQuestion, QuestionVersion, User
from . import audit, seal
from .errors import Conflict, DomainError, NotFound

OPEN, FIXED, DISMISSED = "open", "fixed", "dismissed"
STATUS_LABELS = {OPEN: "待处理", FIXED: "已修正", DISMISSED: "未采纳"}


def _version_seen(user_id: int, question_id: int) -> int | None:
    """The version of the question this learner was shown (they can only report what they saw)."""
    learning = db.session.scalar(
        select(LearningItem.question_version_id)
        .where(LearningItem.user_id == user_id, LearningItem.question_id == question_id)
        .order_by(LearningItem.id.desc())
        .limit(1)
    )
    if learning is not None:
        return learning
    return db.session.scalar(
        select(PaperQuestion.question_version_id)
        .where(
            PaperQuestion.question_id == question_id,
            exists().where(  # on a paper the user sat: the round's shared one or their own
                Attempt.round_id == PaperQuestion.round_id,
                Attempt.user_id == user_id,
                or_(PaperQuestion.attempt_id.is_(None), PaperQuestion.attempt_id == Attempt.id),
            ),
        )
        .limit(1)
    )


def report(user: User, question_id: int, reason: str, *, now: datetime) -> ErrorReport:
    reason = (reason or "").strip()
    if not 2 <= len(reason) <= 1000:
        raise DomainError("请写明问题所在（2–1000 字）")
    version_id = _version_seen(user.id, question_id)
    if version_id is None:
        raise NotFound("题目不存在")
    pending = db.session.scalar(
        select(ErrorReport.id).where(
            ErrorReport.user_id == user.id, ErrorReport.question_id == question_id, ErrorReport.status == OPEN
        )
    )
    if pending is not None:
        raise Conflict("您已报告过这道题，管理员处理后会回复您")
    entry = ErrorReport(
        user_id=user.id,
        question_id=question_id,
        question_version_id=version_id,
        reason=reason,
        status=OPEN,
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def handle(report_id: int, action: str, reply: str, *, actor_id: int, now: datetime) -> ErrorReport:
    """Close a report: "fixed" (after editing the question, which makes a new version) or "dismissed".
    Every open report of the same question is closed with the same reply."""
    entry = db.session.get(ErrorReport, report_id)
    if entry is None:
        raise NotFound("纠错记录不存在")
    if action not in (FIXED, DISMISSED):
        raise DomainError("处理方式无效")
    if not (reply or "").strip():
        raise DomainError("请填写给报告人的回复")
    siblings = db.session.scalars(
        select(ErrorReport).where(ErrorReport.question_id == entry.question_id, ErrorReport.status == OPEN)
    ).all()
    for item in siblings or [entry]:
        item.status, item.reply, item.handled_by_id, item.handled_at = action, reply.strip(), actor_id, now
    db.session.flush()
    audit.record(
        f"report.{action}",
        "error_report",
        entry.id,
        actor_id=actor_id,
        after={"question_id": entry.question_id, "reply": reply.strip(), "closed": len(siblings)},
    )
    return entry


def reports_of(user_id: int) -> list:
    """我的纠错: a learner's reports, newest first, with the stem they reported and whether a running
    contest has the question sealed (a reply may name the key; it waits until the contest closes)."""
    return db.session.execute(
        select(ErrorReport, QuestionVersion.stem, seal.is_sealed(ErrorReport.question_id).label("sealed"))
        .join(QuestionVersion, QuestionVersion.id == ErrorReport.question_version_id)
        .where(ErrorReport.user_id == user_id)
        .order_by(ErrorReport.id.desc())
    ).all()
