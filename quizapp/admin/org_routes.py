"""Admin: the unit tree (create, rename, move, deactivate) and staff (import wizard, password reset,
unit-admin assignment). Unit admins manage their own subtree only; admins everything."""

from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import clock
from ..extensions import db
from ..models import Role, Unit, User
from ..services import accounts, exports, org, previews
from ..services.errors import DomainError, InvalidInput
from ..web import transaction
from . import bp
from .routes import admins_only, managers_only


def _unit_in_scope(code: str | None) -> Unit:
    unit = db.session.scalar(org.visible_units(current_user).where(Unit.code == (code or "").strip()))
    if unit is None:
        abort(404)
    return unit


@bp.route("/units")
@managers_only
def units():
    parent = _unit_in_scope(request.args["parent"]) if request.args.get("parent") else None
    if parent is None and current_user.unit is not None and not current_user.is_admin:
        parent = current_user.unit
    children = db.session.scalars(
        org.visible_units(current_user)
        .where(Unit.parent_id == parent.id if parent else Unit.parent_id.is_(None))
        .order_by(Unit.code)
    ).all()
    trail = org.unit_trail(parent) if parent else []
    return render_template("admin/units.html", parent=parent, children=children, trail=trail)


def _back(parent_code: str | None):
    return redirect(url_for("admin.units", parent=parent_code) if parent_code else url_for("admin.units"))


@bp.route("/units/create", methods=["POST"])
@managers_only
def unit_create():
    parent_code = request.form.get("parent") or None
    if parent_code:
        _unit_in_scope(parent_code)
    elif not current_user.is_admin:
        abort(403)
    with transaction("已新建单位"):
        org.create_unit(
            request.form.get("code", ""), request.form.get("name", ""), parent_code, actor_id=current_user.id
        )
    return _back(parent_code)


@bp.route("/units/<code>/change", methods=["POST"])
@managers_only
def unit_change(code: str):
    unit = _unit_in_scope(code)
    if current_user.unit is not None and unit.id == current_user.unit_id and not current_user.is_admin:
        abort(403)  # a unit admin manages below their unit, not the unit itself
    parent_code = unit.parent.code if unit.parent else None
    action = request.form.get("action")
    if action not in ("rename", "move", "deactivate"):
        abort(400)
    with transaction("已保存"):
        if action == "rename":
            org.rename_unit(unit, request.form.get("name", ""), actor_id=current_user.id)
        elif action == "move":
            target = db.session.scalar(
                org.visible_units(current_user).where(Unit.code == request.form.get("parent", "").strip())
            )
            if target is None:
                raise DomainError(f"上级单位“{request.form.get('parent', '')}”不存在或不在您的管理范围内")
            org.move_unit(unit, target, actor_id=current_user.id)
        else:
            org.deactivate_unit(unit, actor_id=current_user.id)
    return _back(parent_code)


# ---------------------------------------------------------------------------------------------
# Staff


@bp.route("/staff/<int:user_id>/password", methods=["POST"])
@managers_only
def staff_reset_password(user_id: int):
    user = db.session.scalar(org.managed_users(current_user).where(User.id == user_id))
    if user is None:
        abort(404)
    password = accounts.random_password()
    notice = f"已重置 {user.name}（{user.username}）的密码为：{password}（只显示这一次，首次登录须修改）"
    with transaction(notice):
        accounts.reset_password(
            user,
            password,
            must_change=True,
            min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            actor_id=current_user.id,
        )
    return redirect(url_for("admin.staff_detail", user_id=user_id))


@bp.route("/staff/<int:user_id>/role", methods=["POST"])
@admins_only
def staff_role(user_id: int):
    user = db.session.get(User, user_id)
    if user is None or user.role == Role.ADMIN:
        abort(404)
    role = {"staff": Role.STAFF, "unit_admin": Role.UNIT_ADMIN}.get(request.form.get("role", "staff"))
    if role is None:
        abort(400)
    with transaction(f"{user.name} 现在是{role.label}"):
        accounts.set_role(user, role, actor_id=current_user.id)
    return redirect(url_for("admin.staff_detail", user_id=user_id))


@bp.route("/staff/import", methods=["GET", "POST"])
@managers_only
def staff_import():
    """Upload → preview (creates, updates, deactivations, or every bad row) → confirm."""
    if request.method == "GET":
        return render_template("admin/staff_import.html", preview=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename.lower().endswith(accounts.STAFF_SUFFIXES):
        flash("请选择 .xlsx 或 .csv 文件", "danger")
        return redirect(url_for("admin.staff_import"))
    data = upload.read()
    try:
        parsed = accounts.check_staff_import(data, file_name=upload.filename, manager=current_user)
    except InvalidInput as error:  # the preview shows every bad row
        return render_template(
            "admin/staff_import.html", preview={"problems": error.problems, "name": upload.filename}
        )
    summary = {
        "create": [v for v, _, s, u in parsed if u is None],
        "update": [v for v, _, s, u in parsed if u is not None and s != "停用"],
        "deactivate": [v for v, _, s, u in parsed if u is not None and s == "停用"],
    }
    with transaction():
        token = previews.keep("staff", current_user.id, upload.filename, data, now=clock.utcnow())
    return render_template(
        "admin/staff_import.html", preview={"token": token, "name": upload.filename, **summary}
    )


@bp.route("/staff/import/<token>", methods=["POST"])
@managers_only
def staff_import_confirm(token: str):
    preview = previews.find("staff", current_user.id, token)
    if preview is None:
        flash("预览已过期或不存在，请重新上传文件", "danger")
        return redirect(url_for("admin.staff_import"))
    with transaction() as done:
        parsed = accounts.check_staff_import(preview.data, file_name=preview.name, manager=current_user)
        result = accounts.apply_staff_import(parsed, actor_id=current_user.id)
        previews.discard(preview)
    if not done.ok:
        return redirect(url_for("admin.staff_import"))
    flash(f"新增 {result.created} 人，更新 {result.updated} 人，停用 {result.deactivated} 人", "success")
    if not result.initial_passwords:
        return redirect(url_for("admin.staff"))
    # The initial passwords, once: this download is the only place they are ever shown.
    data = accounts.passwords_xlsx(result.initial_passwords)
    return Response(
        data,
        mimetype=exports.XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote('初始密码.xlsx')}"},
    )


@bp.route("/staff/template.xlsx")
@managers_only
def staff_template():
    return Response(
        accounts.staff_template_xlsx(),
        mimetype=exports.XLSX_MIMETYPE,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote('人员导入模板.xlsx')}"},
    )


@bp.route("/staff/<int:user_id>/active", methods=["POST"])
@managers_only
def staff_active(user_id: int):
    """Deactivate (signs the person out everywhere) or reactivate an account the viewer manages."""
    user = db.session.scalar(org.managed_users(current_user).where(User.id == user_id))
    if user is None or user.id == current_user.id:
        abort(404)
    restore = request.form.get("active") == "1"
    with transaction(f"已{'恢复' if restore else '停用'} {user.name} 的账号"):
        (accounts.reactivate if restore else accounts.deactivate)(user, actor_id=current_user.id)
    return redirect(url_for("admin.staff_detail", user_id=user_id))
