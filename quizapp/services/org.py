"""The unit tree and the one scope rule: who may see which units and people."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select, true, update

from ..extensions import db
from ..models import Role, Unit, User
from . import audit
from .errors import Conflict, DomainError, NotFound

UNIT_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")  # the column's width
UNIT_NAME_LIMIT = 100


def _check_unit_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise DomainError("单位名称不能为空")
    if len(name) > UNIT_NAME_LIMIT:
        raise DomainError(f"单位名称过长（{len(name)} 字，上限 {UNIT_NAME_LIMIT} 字）")
    return name


def create_unit(code: str, name: str, parent_code: str | None = None, *, actor_id: int | None = None) -> Unit:
    code = code.strip()
    if not code:
        raise DomainError("单位编码不能为空")
    if not UNIT_CODE.match(code):
        raise DomainError("单位编码只能包含字母、数字和 _ . -，长度不超过 32")
    name = _check_unit_name(name)
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


def in_subtree(unit: Unit) -> ColumnElement[bool]:
    """A condition on ``Unit``: the unit itself and every unit below it (one prefix match on the
    materialised path, served by the path index)."""
    return Unit.path.startswith(unit.path, autoescape=True)


def active_staff() -> ColumnElement[bool]:
    """A condition on ``User``: the people who count in a unit's headcount — active accounts of
    staff and unit admins that belong to a unit (system admins stand outside the tree)."""
    return and_(User.active.is_(True), User.role != Role.ADMIN, User.unit_id.is_not(None))


def unit_scope(viewer: User) -> ColumnElement[bool]:
    """THE scope rule (DESIGN §3 Access): a SQL condition on ``Unit`` for the units ``viewer`` manages.

    Admins: every unit. Unit admins: their unit's subtree, taken from their own record on the
    server, never from a request. Staff: none (they see only themselves).
    """
    if viewer.role == Role.ADMIN:
        return true()
    if viewer.role == Role.UNIT_ADMIN and viewer.unit is not None:
        return in_subtree(viewer.unit)
    return false()


def visible_units(viewer: User) -> Select[tuple[Unit]]:
    return select(Unit).where(unit_scope(viewer))


def visible_users(viewer: User) -> Select[tuple[User]]:
    """Users ``viewer`` may see and manage: the people of the units in scope (admins see admins too)."""
    stmt = select(User).outerjoin(Unit, User.unit_id == Unit.id)
    if viewer.role == Role.ADMIN:
        return stmt
    return stmt.where(unit_scope(viewer), User.role != Role.ADMIN)


def find_people(
    viewer: User, *, unit_code: str | None, text: str | None, role: str | None, page: int, size: int
) -> tuple[list, int]:
    """One page of the people ``viewer`` may see, filtered by a unit's subtree, a name or login
    fragment and a role, as (rows of (user, unit name, unit code), total)."""
    stmt = visible_users(viewer)
    if unit_code:
        unit = db.session.scalar(visible_units(viewer).where(Unit.code == unit_code.strip()))
        if unit is None:
            raise NotFound(f"单位“{unit_code}”不存在或不在您的管理范围内")
        stmt = stmt.where(in_subtree(unit))
    if text:
        pattern = f"%{text.strip()}%"
        stmt = stmt.where(or_(User.name.like(pattern), User.username.like(pattern)))
    if role:
        stmt = stmt.where(User.role == role)
    total = db.session.scalar(stmt.with_only_columns(func.count(User.id)).order_by(None))
    rows = db.session.execute(
        stmt.add_columns(Unit.name, Unit.code)
        .order_by(Unit.code, User.username)
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return rows, total


def managed_users(viewer: User) -> Select[tuple[User]]:
    """Users ``viewer`` may change (reset a password, deactivate, import over): admins, everyone;
    unit admins, the staff of their subtree and the unit admins of units *below* their own — never
    a peer at their own level or anyone above (DESIGN §3 Access; only admins change roles)."""
    stmt = visible_users(viewer)
    if viewer.role == Role.ADMIN:
        return stmt
    return stmt.where(or_(User.role == Role.STAFF, Unit.level > viewer.unit.level))


def may_manage(viewer: User, role: Role, unit_level: int | None) -> bool:
    """``managed_users`` for one account already known to be in the viewer's subtree."""
    if viewer.role == Role.ADMIN:
        return True
    return role == Role.STAFF or (unit_level is not None and unit_level > viewer.unit.level)


def can_manage_user(viewer: User, user_id: int) -> bool:
    return (
        db.session.scalar(managed_users(viewer).where(User.id == user_id).with_only_columns(User.id))
        is not None
    )


def unit_trail(unit: Unit) -> list[Unit]:
    """The unit's ancestors from the root down to the unit itself, in one query."""
    ids = unit.path_ids()
    by_id = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def rename_unit(unit: Unit, name: str, *, actor_id: int | None) -> None:
    name = _check_unit_name(name)
    before = unit.name
    unit.name = name
    db.session.flush()
    audit.record(
        "unit.rename", "unit", unit.id, actor_id=actor_id, before={"name": before}, after={"name": name}
    )


def move_unit(unit: Unit, new_parent: Unit, *, actor_id: int | None) -> int:
    """Move a unit (with its whole subtree) under another parent, set-based: one UPDATE rewrites the
    paths and levels. Past results stay where they were: attempts keep the unit they were sat in and
    official snapshots keep the tree as it was."""
    if new_parent.path.startswith(unit.path):
        raise DomainError("不能把单位移到它自己或它的下级单位之下")
    if unit.parent_id == new_parent.id:
        return 0
    old_path, new_path = unit.path, f"{new_parent.path}{unit.id}/"
    delta = new_parent.level + 1 - unit.level
    before = {"parent_id": unit.parent_id}
    moved = db.session.execute(
        update(Unit)
        .where(Unit.path.startswith(old_path, autoescape=True))
        .values(path=literal(new_path) + func.substr(Unit.path, len(old_path) + 1), level=Unit.level + delta)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        update(Unit)
        .where(Unit.id == unit.id)
        .values(parent_id=new_parent.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    audit.record(
        "unit.move",
        "unit",
        unit.id,
        actor_id=actor_id,
        before=before,
        after={"parent_id": new_parent.id, "units_moved": moved},
    )
    return moved


def deactivate_unit(unit: Unit, *, actor_id: int | None) -> None:
    """Stop using a unit. Its staff must be moved or deactivated first, so nobody is lost."""
    staff = db.session.scalar(
        select(func.count(User.id))
        .join(Unit, Unit.id == User.unit_id)
        .where(in_subtree(unit), active_staff())
    )
    if staff:
        raise Conflict(f"该单位及下级单位还有 {staff} 名在职人员，请先调出或停用")
    db.session.execute(
        update(Unit).where(in_subtree(unit)).values(active=False).execution_options(synchronize_session=False)
    )
    db.session.expire_all()
    audit.record("unit.deactivate", "unit", unit.id, actor_id=actor_id, after={"active": False})
