from functools import wraps

from flask import abort, current_app, render_template, request
from flask_login import current_user, login_required

from .. import clock
from ..extensions import db
from ..models import (
    Role,
    User,
)
from ..services import dashboard, org
from ..services.errors import NotFound
from ..services.org import can_manage_user, visible_users
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
    now = clock.utcnow()
    today = clock.business_date(now, current_app.config["TZINFO"])
    return render_template("admin/home.html", **dashboard.admin_home(current_user, now=now, today=today))


@bp.route("/staff")
@managers_only
def staff():
    form = StaffFilterForm(request.args)
    page = max(request.args.get("page", 1, type=int), 1)
    try:
        users, total = org.find_people(
            current_user,
            unit_code=form.unit.data,
            text=form.q.data,
            role=form.role.data,
            page=page,
            size=PAGE_SIZE,
        )
    except NotFound:
        abort(404)
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
