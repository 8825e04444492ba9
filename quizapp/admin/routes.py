from datetime import timedelta
from functools import wraps

from flask import abort, current_app, flash, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import exists, func, literal, or_, select, true
from sqlalchemy.orm import joinedload

from .. import clock
from ..extensions import db
from ..models import (
    Attempt,
    AuditLog,
    Category,
    DailySet,
    ErrorReport,
    JobRun,
    QuestionVersion,
    Role,
    Round,
    RoundStatus,
    RoundTarget,
    Source,
    Unit,
    User,
)
from ..services.errors import DomainError
from ..services.org import can_manage_user, unit_scope, visible_units, visible_users
from . import bp
from .forms import StaffFilterForm

PAGE_SIZE = 50


def managers_only(view):
    """Admins and unit admins; what each sees is narrowed by ``unit_scope`` inside the view."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role not in (Role.ADMIN, Role.UNIT_ADMIN):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def commit_or_flash(action, success: str) -> bool:
    """Run a write; commit and say so, or roll back and show the rule that refused it."""
    try:
        action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return False
    db.session.commit()
    flash(success, "success")
    return True


def admins_only(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.route("/")
@managers_only
def home():
    scope = unit_scope(current_user)
    staff_count = db.session.scalar(
        select(func.count(User.id))
        .join(Unit, User.unit_id == Unit.id)
        .where(scope, User.active, User.role != Role.ADMIN)
    )
    unit_count = db.session.scalar(select(func.count(Unit.id)).where(scope, Unit.active))
    bank = None
    if current_user.is_admin:
        by_type = dict(
            db.session.execute(
                select(QuestionVersion.type, func.count())
                .where(QuestionVersion.is_current)
                .group_by(QuestionVersion.type)
            ).all()
        )
        by_category = db.session.execute(
            select(Category.name, func.count(QuestionVersion.id))
            .outerjoin(
                QuestionVersion, (QuestionVersion.category_id == Category.id) & QuestionVersion.is_current
            )
            .group_by(Category.id, Category.name)
            .order_by(Category.sort)
        ).all()
        sources = db.session.execute(
            select(Source.code, Source.title, func.count(QuestionVersion.id))
            .outerjoin(QuestionVersion, (QuestionVersion.source_id == Source.id) & QuestionVersion.is_current)
            .group_by(Source.id, Source.code, Source.title)
            .order_by(Source.code)
        ).all()
        bank = {
            "by_type": by_type,
            "total": sum(by_type.values()),
            "by_category": by_category,
            "sources": sources,
        }
    recent = (
        db.session.scalars(
            select(AuditLog).options(joinedload(AuditLog.actor)).order_by(AuditLog.id.desc()).limit(10)
        )
        if current_user.is_admin
        else []
    )
    return render_template(
        "admin/home.html",
        staff_count=staff_count,
        unit_count=unit_count,
        bank=bank,
        recent=list(recent),
        **_dashboard(),
    )


def _dashboard() -> dict:
    """Today's 日日学 participation of the units under the viewer, the open rounds with their
    progress, and the scheduler's recent runs (admins) — a fixed number of queries."""
    now = clock.utcnow()
    today = clock.business_date(now, current_app.config["TZINFO"])
    if current_user.unit is not None:
        parents = [current_user.unit.id]
    else:
        parents = list(db.session.scalars(select(Unit.id).where(Unit.parent_id.is_(None))))
    children = list(db.session.scalars(select(Unit).where(Unit.parent_id.in_(parents)).order_by(Unit.code)))
    if not children and current_user.unit is not None:
        children = [current_user.unit]
    child = Unit.__table__.alias("child")
    rows = db.session.execute(
        select(child.c.id, func.count(User.id), func.count(DailySet.id))
        .select_from(child)
        .join(Unit, Unit.path.startswith(child.c.path))
        .join(User, (User.unit_id == Unit.id) & User.active.is_(True) & (User.role != Role.ADMIN))
        .outerjoin(
            DailySet,
            (DailySet.user_id == User.id) & (DailySet.day == today) & DailySet.finished_at.is_not(None),
        )
        .where(child.c.id.in_([c.id for c in children]))
        .group_by(child.c.id)
    ).all()
    counts = {unit_id: (heads, done) for unit_id, heads, done in rows}
    participation = [
        {"name": c.name, "headcount": counts.get(c.id, (0, 0))[0], "done": counts.get(c.id, (0, 0))[1]}
        for c in children
    ]
    attempts_in_scope = Attempt.round_id == Round.id
    rounds_in_scope = true()
    if not current_user.is_admin:
        # A unit admin sees the rounds their subtree takes part in, counted over their subtree only.
        scope = unit_scope(current_user)
        attempts_in_scope &= Attempt.unit_id.in_(select(Unit.id).where(scope))
        target = Unit.__table__.alias("target")
        own_path = literal(current_user.unit.path if current_user.unit else "/none/")
        rounds_in_scope = exists().where(
            RoundTarget.round_id == Round.id,
            RoundTarget.unit_id == target.c.id,
            or_(own_path.startswith(target.c.path), target.c.path.startswith(own_path)),
        )
    open_rounds = db.session.execute(
        select(Round, func.count(Attempt.id), func.count(Attempt.submitted_at))
        .outerjoin(Attempt, attempts_in_scope)
        .where(Round.status != RoundStatus.CLOSED, Round.opens_at <= now, rounds_in_scope)
        .group_by(Round.id)
        .order_by(Round.closes_at)
    ).all()
    runs, failures = [], 0
    if current_user.is_admin:
        runs = list(db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(8)))
        failures = db.session.scalar(
            select(func.count(JobRun.id)).where(
                JobRun.outcome == "error", JobRun.started_at >= now - timedelta(days=1)
            )
        )
    pending_reports = (
        db.session.scalar(select(func.count(ErrorReport.id)).where(ErrorReport.status == "open"))
        if current_user.is_admin
        else 0
    )
    return {
        "participation": participation,
        "open_rounds": open_rounds,
        "runs": runs,
        "failures": failures,
        "today": today,
        "pending_reports": pending_reports,
    }


@bp.route("/staff")
@managers_only
def staff():
    form = StaffFilterForm(request.args)
    stmt = visible_users(current_user)
    if form.unit.data:
        unit = db.session.scalar(visible_units(current_user).where(Unit.code == form.unit.data.strip()))
        if unit is None:
            abort(404)
        stmt = stmt.where(Unit.path.startswith(unit.path, autoescape=True))
    if form.q.data:
        pattern = f"%{form.q.data.strip()}%"
        stmt = stmt.where(or_(User.name.like(pattern), User.username.like(pattern)))
    if form.role.data:
        stmt = stmt.where(User.role == form.role.data)
    page = max(request.args.get("page", 1, type=int), 1)
    total = db.session.scalar(stmt.with_only_columns(func.count(User.id)).order_by(None))
    users = db.session.execute(
        stmt.add_columns(Unit.name, Unit.code)
        .order_by(Unit.code, User.username)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "admin/staff.html",
        form=form,
        users=users,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
    )


@bp.route("/staff/<int:user_id>")
@managers_only
def staff_detail(user_id: int):
    user = db.session.scalar(visible_users(current_user).where(User.id == user_id))
    if user is None:
        abort(404)  # out of scope looks exactly like missing
    return render_template(
        "admin/staff_detail.html", user=user, manageable=can_manage_user(current_user, user.id)
    )
