"""Accounts: creating people, signing in, passwords, and the bulk staff import."""

from __future__ import annotations

import io
import re
import secrets
import string
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Role, Unit, User
from ..models._types import utcnow
from . import audit
from .errors import Conflict, DomainError, InvalidInput, NotFound, Problem
from .text import unstorable

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
ROLE_ALIASES = {
    "staff": Role.STAFF,
    "学员": Role.STAFF,
    "unit_admin": Role.UNIT_ADMIN,
    "单位管理员": Role.UNIT_ADMIN,
    "admin": Role.ADMIN,
    "系统管理员": Role.ADMIN,
}
# Run against a missing user so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("timing-equaliser")


def random_password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def check_password_rules(password: str, username: str, min_length: int) -> None:
    if len(password) < min_length:
        raise DomainError(f"密码至少 {min_length} 位")
    if password.isdigit() or password.isalpha():
        raise DomainError("密码须同时包含字母和数字")
    if password.lower() == username.lower():
        raise DomainError("密码不能与登录名相同")


def create_user(
    username: str,
    name: str,
    password: str,
    *,
    role: Role = Role.STAFF,
    unit_code: str | None = None,
    must_change_password: bool = True,
    actor_id: int | None = None,
    password_hash: str | None = None,
    **attributes,
) -> User:
    username, name = username.strip(), name.strip()
    if not USERNAME.match(username):
        raise DomainError("登录名只能包含字母、数字和 _ . @ -，长度 2–64")
    if not name:
        raise DomainError("姓名不能为空")
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"登录名“{username}”已存在")
    unit = None
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise NotFound(f"单位编码“{unit_code}”不存在")
    elif role != Role.ADMIN:
        raise DomainError("学员和单位管理员必须属于一个单位")
    user = User(
        username=username,
        name=name,
        role=role,
        unit=unit,
        must_change_password=must_change_password,
        password_hash=password_hash or generate_password_hash(password),
        **attributes,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        "user",
        user.id,
        actor_id=actor_id,
        after={"username": username, "role": str(role), "unit": unit_code},
    )
    return user


def ensure_admin(password: str | None) -> str | None:
    """Create the ``admin`` account if missing. Returns the password when it had to make one up."""
    if db.session.scalar(select(User.id).where(User.username == "admin")) is not None:
        return None
    generated = None if password else random_password(16)
    create_user("admin", "系统管理员", password or generated, role=Role.ADMIN, must_change_password=False)
    return generated


def get_user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户“{username}”不存在")
    return user


def authenticate(username: str, password: str) -> User | None:
    """The active user with this name and password, or None. Takes as long for a missing user."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _apply_password(user: User, password: str, *, must_change: bool, min_length: int) -> None:
    """Set a new password and end every other session of the user (their session version moves on)."""
    check_password_rules(password, user.username, min_length)
    user.set_password(password)
    user.must_change_password = must_change
    user.session_version += 1
    db.session.flush()


def reset_password(
    user: User, password: str, *, must_change: bool, min_length: int, actor_id: int | None = None
) -> None:
    """An administrator sets someone's password (audited)."""
    _apply_password(user, password, must_change=must_change, min_length=min_length)
    audit.record(
        "user.reset_password", "user", user.id, actor_id=actor_id, after={"must_change_password": must_change}
    )


def change_own_password(user: User, current: str, new: str, *, min_length: int) -> None:
    if not user.check_password(current):
        raise DomainError("当前密码不正确")
    if current == new:
        raise DomainError("新密码不能与当前密码相同")
    _apply_password(user, new, must_change=False, min_length=min_length)


def set_role(user: User, role: Role, *, actor_id: int | None) -> None:
    """Make a person a unit admin of their unit (or back to staff)."""
    if user.role == role:
        return
    before = str(user.role)
    user.role = role
    user.session_version += 1  # their sessions pick up the new rights at the next sign-in
    db.session.flush()
    audit.record(
        "user.role", "user", user.id, actor_id=actor_id, before={"role": before}, after={"role": str(role)}
    )


def deactivate(user: User, *, actor_id: int | None = None) -> None:
    if not user.active:
        return
    user.active = False
    user.session_version += 1
    db.session.flush()
    audit.record(
        "user.deactivate",
        "user",
        user.id,
        actor_id=actor_id,
        before={"active": True},
        after={"active": False},
    )


def reactivate(user: User, *, actor_id: int | None = None) -> None:
    if user.active:
        return
    user.active = True
    db.session.flush()
    audit.record(
        "user.reactivate",
        "user",
        user.id,
        actor_id=actor_id,
        before={"active": False},
        after={"active": True},
    )


def list_users(*, role: str | None = None, unit_code: str | None = None) -> list[User]:
    stmt = select(User).outerjoin(Unit, User.unit_id == Unit.id).order_by(User.username)
    if role:
        stmt = stmt.where(User.role == ROLE_ALIASES.get(role, role))
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise NotFound(f"单位编码“{unit_code}”不存在")
        stmt = stmt.where(Unit.path.startswith(unit.path, autoescape=True))
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Bulk staff import from .xlsx

STAFF_COLUMNS = {
    "登录名": "username",
    "姓名": "name",
    "单位编码": "unit_code",
    "角色": "role",
    "手机": "phone",
    "岗位": "job_section",
    "性别": "gender",
    "出生年份": "birth_year",
    "职级": "level",
    "状态": "status",
}
STAFF_REQUIRED = {"username", "name", "unit_code"}
STAFF_LIMITS = {"name": ("姓名", 64), "job_section": ("岗位", 64), "level": ("职级", 32)}  # column widths


@dataclass
class StaffImportResult:
    created: int
    updated: int
    deactivated: int
    initial_passwords: list[tuple[str, str, str]]  # (username, name, password) of the new accounts


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check_staff_import(data: bytes, *, file_name: str = "", within: Unit | None = None) -> list[tuple]:
    """Read and validate a staff workbook (one row a person, keyed by 登录名) without writing.

    Returns the parsed rows, or raises InvalidInput with every bad row. ``within``: a unit admin's
    unit — every row's unit and every existing account touched must be inside its subtree.
    """
    problems: list[Problem] = []
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInput([Problem(file_name, "", "文件", "无法读取 .xlsx 文件")]) from None
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    if not rows:
        raise InvalidInput([Problem(file_name, "", "文件", "文件为空")])
    header = [STAFF_COLUMNS.get(_cell(title)) for title in rows[0]]
    missing = STAFF_REQUIRED - set(header)
    if missing:
        labels = [k for k, v in STAFF_COLUMNS.items() if v in missing]
        raise InvalidInput([Problem(file_name, "第1行", None, f"缺少必需的列：{'、'.join(labels)}")])

    unit_query = select(Unit.code, Unit.id)
    if within is not None:
        unit_query = unit_query.where(Unit.path.startswith(within.path, autoescape=True))
    units = dict(db.session.execute(unit_query).all())
    paths = dict(db.session.execute(select(Unit.id, Unit.path)).all())
    existing = {u.username: u for u in db.session.scalars(select(User))}
    seen: dict[str, int] = {}
    parsed = []
    this_year = date.today().year
    for number, cells in enumerate(rows[1:], 2):
        values = {field: _cell(cell) for field, cell in zip(header, cells, strict=False) if field}
        if not any(values.values()):
            continue

        def bad(label: str, message: str, row=number) -> None:
            problems.append(Problem(file_name, f"第{row}行", label, message))

        username = values.get("username", "")
        if not USERNAME.match(username):
            bad("登录名", "登录名只能包含字母、数字和 _ . @ -，长度 2–64")
        elif username in seen:
            bad("登录名", f"与第{seen[username]}行重复")
        else:
            seen[username] = number
        if not values.get("name"):
            bad("姓名", "姓名不能为空")
        for field, (label, limit) in STAFF_LIMITS.items():
            if len(values.get(field, "")) > limit:
                bad(label, f"{label}过长（上限 {limit} 字）")
        for field, value in values.items():
            if unstorable(value):
                label = next(k for k, v in STAFF_COLUMNS.items() if v == field)
                bad(label, "含有无法保存的控制字符或无效的 Unicode 字符")
        if values.get("unit_code") not in units:
            bad("单位编码", f"单位编码“{values.get('unit_code', '')}”不存在")
        role = ROLE_ALIASES.get(values.get("role") or "学员")
        if role not in (Role.STAFF, Role.UNIT_ADMIN):
            bad("角色", "角色应为 学员 或 单位管理员")
        if values.get("gender") not in ("", None, "男", "女"):
            bad("性别", "性别应为 男 或 女")
        birth_year = values.get("birth_year") or ""
        if birth_year and not (
            birth_year.isdecimal() and len(birth_year) == 4 and 1940 <= int(birth_year) <= this_year - 16
        ):
            bad("出生年份", f"出生年份“{birth_year}”无效")
        if values.get("phone") and not re.fullmatch(r"[0-9+\- ]{5,20}", values["phone"]):
            bad("手机", f"手机号码“{values['phone']}”无效")
        status = values.get("status") or "在职"
        if status not in ("在职", "启用", "停用"):
            bad("状态", "状态应为 在职 或 停用")
        existing_user = existing.get(username)
        if existing_user is not None and existing_user.role == Role.ADMIN:
            bad("登录名", "不能通过导入修改系统管理员")
        elif (
            existing_user is not None
            and within is not None
            and not paths.get(existing_user.unit_id, "").startswith(within.path)
        ):
            bad("登录名", "该账号不属于您管理的单位")
        parsed.append((values, role, status, existing_user))
    if problems:
        raise InvalidInput(problems)
    return parsed


def apply_staff_import(
    parsed: list[tuple], *, actor_id: int | None = None, hash_password=generate_password_hash
) -> StaffImportResult:
    """Write checked rows: create (random initial password, returned once; must change it at first
    sign-in), update what changed, 状态 = 停用 deactivates."""
    units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    created = updated = deactivated = 0
    passwords = []
    for values, role, status, user in parsed:
        attributes = {
            "name": values["name"],
            "unit_id": units[values["unit_code"]],
            "role": role,
            "phone": values.get("phone") or None,
            "job_section": values.get("job_section") or None,
            "gender": values.get("gender") or None,
            "birth_year": int(values["birth_year"]) if values.get("birth_year") else None,
            "level": values.get("level") or None,
        }
        if user is None:
            password = random_password()
            user = User(
                username=values["username"],
                password_hash=hash_password(password),
                must_change_password=True,
                active=status != "停用",
                **attributes,
            )
            db.session.add(user)
            passwords.append((values["username"], values["name"], password))
            created += 1
        else:
            changed = {k: v for k, v in attributes.items() if getattr(user, k) != v}
            for key, value in changed.items():
                setattr(user, key, value)
            if status == "停用" and user.active:
                user.active = False
                user.session_version += 1
                deactivated += 1
            elif status != "停用" and not user.active:
                user.active = True
                changed["active"] = True
            if changed:
                updated += 1
    db.session.flush()
    audit.record(
        "user.import",
        "user",
        None,
        actor_id=actor_id,
        after={"created": created, "updated": updated, "deactivated": deactivated},
    )
    return StaffImportResult(created, updated, deactivated, passwords)


def import_staff(
    data: bytes, *, file_name: str = "", actor_id: int | None = None, hash_password=generate_password_hash
) -> StaffImportResult:
    """Check, then write: nothing is written if any row is wrong."""
    return apply_staff_import(
        check_staff_import(data, file_name=file_name), actor_id=actor_id, hash_password=hash_password
    )


def staff_template_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "人员"
    sheet.append(list(STAFF_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def passwords_xlsx(rows: list[tuple[str, str, str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "初始密码"
    sheet.append(["登录名", "姓名", "初始密码"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
