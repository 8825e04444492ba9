"""The unit tree and the one scope rule: who may see which units and people."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select, true

from ..extensions import db
from ..models import Role, Unit, User
from . import audit
from .errors import Conflict, NotFound


def create_unit(code: str, name: str, parent_code: str | None = None, *, actor_id: int | None = None) -> Unit:
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise Conflict("单位编码和名称不能为空")
    if db.session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict(f"单位编码“{code}”已存在")
    parent = None
    if parent_code:
        parent = db.session.scalar(select(Unit).where(Unit.code == parent_code))
        if parent is None:
            raise NotFound(f"上级单位“{parent_code}”不存在")
    unit = Unit(code=code, name=name, parent=parent, level=parent.level + 1 if parent else 1)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    db.session.flush()
    audit.record(
        "unit.create",
        "unit",
        unit.id,
        actor_id=actor_id,
        after={"code": code, "name": name, "parent": parent_code},
    )
    return unit


def get_unit_by_code(code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"单位编码“{code}”不存在")
    return unit


def unit_scope(viewer: User) -> ColumnElement[bool]:
    """THE scope rule (DESIGN §3 Access): a SQL condition on ``Unit`` for the units ``viewer`` manages.

    Admins: every unit. Unit admins: their unit's subtree, taken from their own record on the
    server, never from a request. Staff: none (they see only themselves).
    """
    if viewer.role == Role.ADMIN:
        return true()
    if viewer.role == Role.UNIT_ADMIN and viewer.unit is not None:
        return Unit.path.startswith(viewer.unit.path, autoescape=True)
    return false()


def visible_units(viewer: User) -> Select[tuple[Unit]]:
    return select(Unit).where(unit_scope(viewer))


def visible_users(viewer: User) -> Select[tuple[User]]:
    """Users ``viewer`` may see and manage: the people of the units in scope (admins see admins too)."""
    stmt = select(User).outerjoin(Unit, User.unit_id == Unit.id)
    if viewer.role == Role.ADMIN:
        return stmt
    return stmt.where(unit_scope(viewer), User.role != Role.ADMIN)


def can_manage_user(viewer: User, user_id: int) -> bool:
    return (
        db.session.scalar(visible_users(viewer).where(User.id == user_id).with_only_columns(User.id))
        is not None
    )


def unit_trail(unit: Unit) -> list[Unit]:
    """The unit's ancestors from the root down to the unit itself, in one query."""
    ids = unit.path_ids()
    by_id = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]
