"""The figures of the admin home page and of the office big screen, each in a fixed number of queries."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, literal, or_, select, true
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    Attempt,
    AuditLog,
    Category,
    DailySet,
    ErrorReport,
    JobRun,
    QuestionVersion,
    Round,
    RoundStatus,
    RoundTarget,
    ScreenLink,
    Source,
    Unit,
    UnitDayStat,
    User,
)
from . import audit
from .errors import NotFound
from .org import active_staff, in_subtree, unit_scope


def admin_home(viewer: User, *, now: datetime, today: date) -> dict:
    """Staff and units in the viewer's scope, today's 日日学 participation of the units under them,
    the open rounds with their progress; for admins also the bank at a glance, the scheduler's
    recent runs, open error reports and the latest audit entries."""
    scope = unit_scope(viewer)
    figures = {
        "today": today,
        "staff_count": db.session.scalar(
            select(func.count(User.id)).join(Unit, User.unit_id == Unit.id).where(scope, active_staff())
        ),
        "unit_count": db.session.scalar(select(func.count(Unit.id)).where(scope, Unit.active)),
        "participation": _participation_today(viewer, today),
        "open_rounds": _open_rounds(viewer, now),
        "bank": None,
        "recent": [],
        "runs": [],
        "failures": 0,
        "pending_reports": 0,
    }
    if viewer.is_admin:
        figures.update(
            bank=_bank_at_a_glance(),
            recent=list(
                db.session.scalars(
                    select(AuditLog)
                    .options(joinedload(AuditLog.actor))
                    .order_by(AuditLog.id.desc())
                    .limit(10)
                )
            ),
            runs=list(db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(8))),
            failures=db.session.scalar(
                select(func.count(JobRun.id)).where(
                    JobRun.outcome == "error", JobRun.started_at >= now - timedelta(days=1)
                )
            ),
            pending_reports=db.session.scalar(
                select(func.count(ErrorReport.id)).where(ErrorReport.status == "open")
            ),
        )
    return figures


def _bank_at_a_glance() -> dict:
    by_type = dict(
        db.session.execute(
            select(QuestionVersion.type, func.count())
            .where(QuestionVersion.is_current)
            .group_by(QuestionVersion.type)
        ).all()
    )
    by_category = db.session.execute(
        select(Category.name, func.count(QuestionVersion.id))
        .outerjoin(QuestionVersion, (QuestionVersion.category_id == Category.id) & QuestionVersion.is_current)
        .group_by(Category.id, Category.name)
        .order_by(Category.sort)
    ).all()
    sources = db.session.execute(
        select(Source.code, Source.title, func.count(QuestionVersion.id))
        .outerjoin(QuestionVersion, (QuestionVersion.source_id == Source.id) & QuestionVersion.is_current)
        .group_by(Source.id, Source.code, Source.title)
        .order_by(Source.code)
    ).all()
    return {
        "by_type": by_type,
        "total": sum(by_type.values()),
        "by_category": by_category,
        "sources": sources,
    }


def _participation_today(viewer: User, today: date) -> list[dict]:
    """Per unit directly under the viewer's unit (the top units for an admin): headcount and how
    many finished today's set."""
    if viewer.unit is not None:
        parents = [viewer.unit.id]
    else:
        parents = list(db.session.scalars(select(Unit.id).where(Unit.parent_id.is_(None))))
    children = list(db.session.scalars(select(Unit).where(Unit.parent_id.in_(parents)).order_by(Unit.code)))
    if not children and viewer.unit is not None:
        children = [viewer.unit]
    child = Unit.__table__.alias("child")
    rows = db.session.execute(
        select(child.c.id, func.count(User.id), func.count(DailySet.id))
        .select_from(child)
        .join(Unit, Unit.path.startswith(child.c.path))
        .join(User, (User.unit_id == Unit.id) & active_staff())
        .outerjoin(
            DailySet,
            (DailySet.user_id == User.id) & (DailySet.day == today) & DailySet.counts(),
        )
        .where(child.c.id.in_([c.id for c in children]))
        .group_by(child.c.id)
    ).all()
    counts = {unit_id: (heads, done) for unit_id, heads, done in rows}
    return [
        {"name": c.name, "headcount": counts.get(c.id, (0, 0))[0], "done": counts.get(c.id, (0, 0))[1]}
        for c in children
    ]


def _open_rounds(viewer: User, now: datetime) -> list:
    """The rounds open now with their started and finished attempts. A unit admin sees the rounds
    their subtree takes part in, counted over their subtree only."""
    attempts_in_scope = Attempt.round_id == Round.id
    rounds_in_scope = true()
    if not viewer.is_admin:
        attempts_in_scope &= Attempt.unit_id.in_(select(Unit.id).where(unit_scope(viewer)))
        target = Unit.__table__.alias("target")
        own_path = literal(viewer.unit.path if viewer.unit else "/none/")
        rounds_in_scope = exists().where(
            RoundTarget.round_id == Round.id,
            RoundTarget.unit_id == target.c.id,
            or_(own_path.startswith(target.c.path), target.c.path.startswith(own_path)),
        )
    return db.session.execute(
        select(Round, func.count(Attempt.id), func.count(Attempt.submitted_at))
        .outerjoin(Attempt, attempts_in_scope)
        .where(Round.status != RoundStatus.CLOSED, Round.opens_at <= now, rounds_in_scope)
        .group_by(Round.id)
        .order_by(Round.closes_at)
    ).all()


def screen_figures(unit: Unit, *, today: date) -> dict:
    """The big screen's counters for a unit's subtree: headcount, sets finished today, and the
    daily participation of the last two weeks."""
    inside = in_subtree(unit)
    return {
        "headcount": db.session.scalar(
            select(func.count(User.id)).join(Unit, Unit.id == User.unit_id).where(inside, active_staff())
        ),
        "done_today": db.session.scalar(
            select(func.count(DailySet.id))
            .join(User, User.id == DailySet.user_id)
            .join(Unit, Unit.id == User.unit_id)
            .where(inside, DailySet.day == today, DailySet.counts())
        ),
        "history": db.session.execute(
            select(UnitDayStat.day, func.sum(UnitDayStat.participants), func.sum(UnitDayStat.headcount))
            .join(Unit, Unit.id == UnitDayStat.unit_id)
            .where(inside, UnitDayStat.day >= today - timedelta(days=14))
            .group_by(UnitDayStat.day)
            .order_by(UnitDayStat.day)
        ).all(),
    }


def create_screen_link(unit_code: str, label: str, *, viewer: User) -> ScreenLink:
    """A revocable no-sign-in link showing a unit's big screen (the unit within the viewer's scope)."""
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code.strip(), unit_scope(viewer)))
    if unit is None:
        raise NotFound(f"单位编码“{unit_code}”不存在")
    link = ScreenLink(
        token=secrets.token_urlsafe(24), unit_id=unit.id, label=label.strip(), created_by_id=viewer.id
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "screen.create",
        "screen_link",
        link.id,
        actor_id=viewer.id,
        after={"unit": unit.code, "label": link.label},
    )
    return link


def revoke_screen_link(link_id: int, *, actor_id: int, now: datetime) -> None:
    link = db.session.get(ScreenLink, link_id)
    if link is None:
        raise NotFound("链接不存在")
    if link.revoked_at is None:
        link.revoked_at = now
        audit.record("screen.revoke", "screen_link", link.id, actor_id=actor_id, after={"label": link.label})
