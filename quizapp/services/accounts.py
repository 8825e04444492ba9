"""Accounts: creating people, signing in, passwords, and the bulk staff import."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Role, Unit, User, UserSession
from ..models._types import utcnow
from . import audit, exports, org, uploads
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


PASSWORD_ALPHABET = string.ascii_letters + string.digits
INITIAL_PASSWORD_LENGTH = 12
# log2 of how many passwords random_password(12) can return (it refuses all-letter and all-digit
# ones): about 71.3 bits, drawn from the OS's CSPRNG.
INITIAL_PASSWORD_BITS = math.log2(
    62**INITIAL_PASSWORD_LENGTH - 52**INITIAL_PASSWORD_LENGTH - 10**INITIAL_PASSWORD_LENGTH
)

# Why generated initial passwords get a cheap hash. A slow hash (Werkzeug's default scrypt, 100 ms or
# more a call by design) exists to make each guess at a password *a person chose* expensive, because
# such passwords are few enough to enumerate. A generated initial password has >= 64 bits of entropy
# (INITIAL_PASSWORD_BITS, 71 in fact): even at 10^10 guesses a second against a one-round hash,
# finding one takes 2^63 / 10^10 s = 29 years on average at the 64-bit floor (over 4,000 years at 71
# bits), and the 100 PBKDF2 rounds below multiply that by 100. Its entropy, not the hash cost, defeats
# guessing; the random salt rules out precomputed tables. It also lives only until the first sign-in,
# which forces a change (``must_change_password``; every page redirects until it is done), and the
# chosen password gets the strong default (``User.set_password``). The slow hash made a 100,000-person
# import take hours; this one takes seconds. Passwords people choose or admins type never use it.
INITIAL_PASSWORD_HASH = "pbkdf2:sha256:100"


def random_password(length: int = INITIAL_PASSWORD_LENGTH) -> str:
    """Letters and digits, uniform from the OS's CSPRNG; one system call per password (bytes >= 248
    are dropped so that ``byte % 62`` stays uniform), as an import makes 100,000 of them."""
    while True:
        raw = secrets.token_bytes(2 * length)
        password = "".join(PASSWORD_ALPHABET[byte % 62] for byte in raw if byte < 248)[:length]
        if len(password) == length and not password.isalpha() and not password.isdigit():
            return password


def initial_password_hash(password: str) -> str:
    """The cheap salted hash for a generated initial password only (see INITIAL_PASSWORD_HASH), in
    Werkzeug's format so that ``check_password_hash`` verifies it. Built here rather than by
    ``generate_password_hash``, whose salt costs 16 CSPRNG calls, more than these 100 rounds."""
    salt = secrets.token_hex(8)
    _, digest, rounds = INITIAL_PASSWORD_HASH.split(":")
    key = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), int(rounds)).hex()
    return f"{INITIAL_PASSWORD_HASH}${salt}${key}"


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
    """The active user with this name and password, or None.

    Every path costs one slow (scrypt) hash check: a missing user checks a dummy hash, and an
    account still on its cheap generated initial hash (INITIAL_PASSWORD_HASH) checks the dummy as
    well, so the answer's timing tells neither who exists nor who has not yet changed the initial
    password."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if user.password_hash.startswith(INITIAL_PASSWORD_HASH + "$"):
        check_password_hash(_DUMMY_HASH, password)
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def open_session(
    user_id: int, *, now: datetime, hours: float, address: str | None = None, agent: str | None = None
) -> str:
    """Start a sign-in: a server-side session row, its random token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token=token,
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            address=(address or "")[:64] or None,
            agent=(agent or "")[:200] or None,
        )
    )
    db.session.flush()
    return token


def end_session(token: str | None, *, now: datetime) -> None:
    """Sign out: the session is over on the server, whatever copies of its cookie exist."""
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token == token, UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def signed_in_user(user_id: int, version: int, token: str, *, now: datetime) -> User | None:
    """The user a session cookie names, if its server-side session is still live: one query."""
    return db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.active,
            User.session_version == version,
            UserSession.token == token,
            UserSession.ended_at.is_(None),
            UserSession.expires_at > now,
        )
    )


def remove_old_sessions(*, now: datetime, keep_days: int = 7) -> int:
    """Housekeeping: sessions that ended or expired over ``keep_days`` ago."""
    cutoff = now - timedelta(days=keep_days)
    return db.session.execute(
        delete(UserSession).where((UserSession.expires_at < cutoff) | (UserSession.ended_at < cutoff))
    ).rowcount


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
        stmt = stmt.where(org.in_subtree(unit))
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


STAFF_SUFFIXES = (".xlsx", ".csv")
CHUNK = 2000  # rows per IN (...) lookup and per multi-row write: well inside every driver's limits
# What an import may change on an existing account, and what it reads to tell whether it changed.
_STAFF_ATTRIBUTES = ("name", "unit_id", "role", "phone", "job_section", "gender", "birth_year", "level")
_EXISTING_COLUMNS = (User.id, User.username, *(getattr(User, a) for a in _STAFF_ATTRIBUTES), User.active)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _chunks(items: list):
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _read_staff_rows(data: bytes, file_name: str) -> list[tuple]:
    """Every row of the file's first sheet (.xlsx) or of the CSV (UTF-8 or GBK, as Excel saves it),
    read in the upload parser's child process."""
    kind = "csv" if file_name.lower().endswith(".csv") else "xlsx"
    try:
        return [tuple(cells) for _, cells in uploads.parse_one(kind, data)]
    except uploads.UploadRefused as refusal:
        raise InvalidInput([Problem(file_name, refusal.row, "文件", refusal.message)]) from None


def _existing_accounts(usernames: list[str]) -> dict:
    """The accounts with these names (with their unit's path), a few thousand names a query."""
    found = {}
    for part in _chunks(usernames):
        for row in db.session.execute(
            select(*_EXISTING_COLUMNS, Unit.path, Unit.level.label("unit_level"))
            .outerjoin(Unit, Unit.id == User.unit_id)
            .where(User.username.in_(part))
        ):
            found[row.username] = row
    return found


def check_staff_import(data: bytes, *, file_name: str = "", manager: User | None = None) -> list[tuple]:
    """Read and validate a staff file (.xlsx or .csv; one row a person, keyed by 登录名) without writing.

    Returns the parsed rows ``(values, role, status, existing account row or None)``, or raises
    InvalidInput with every bad row. A blank 角色 keeps an existing account's role (学员 for a new
    one). ``manager``: the unit admin importing (None: an admin or the command line) — every row's
    unit must be inside their subtree, every existing account touched one they may manage
    (``org.may_manage``: staff, or unit admins of units below their own), and the role of nobody may
    be set or changed: only admins change roles. Set-based: one query for the units and one per few
    thousand rows for the existing accounts, whatever the size of the file.
    """
    within = manager.unit if manager is not None and manager.role != Role.ADMIN else None
    problems: list[Problem] = []
    rows = _read_staff_rows(data, file_name)
    if not rows:
        raise InvalidInput([Problem(file_name, "", "文件", "文件为空")])
    header = [STAFF_COLUMNS.get(_cell(title)) for title in rows[0]]
    missing = STAFF_REQUIRED - set(header)
    if missing:
        labels = [k for k, v in STAFF_COLUMNS.items() if v in missing]
        raise InvalidInput([Problem(file_name, "第1行", None, f"缺少必需的列：{'、'.join(labels)}")])

    unit_query = select(Unit.code, Unit.id)
    if within is not None:
        unit_query = unit_query.where(org.in_subtree(within))
    units = dict(db.session.execute(unit_query).all())
    records = []
    for number, cells in enumerate(rows[1:], 2):
        values = {field: _cell(cell) for field, cell in zip(header, cells, strict=False) if field}
        if any(values.values()):
            records.append((number, values))
    existing = _existing_accounts(sorted({values.get("username", "") for _, values in records}))
    seen: dict[str, int] = {}
    parsed = []
    this_year = date.today().year
    for number, values in records:

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
        account = existing.get(username)
        given_role = ROLE_ALIASES.get(values.get("role")) if values.get("role") else None
        role = given_role or (account.role if account is not None else Role.STAFF)
        if values.get("role") and given_role not in (Role.STAFF, Role.UNIT_ADMIN):
            bad("角色", "角色应为 学员 或 单位管理员")
        elif (
            within is not None
            and given_role is not None
            and given_role != (account.role if account is not None else Role.STAFF)
        ):
            bad("角色", "只有系统管理员可以设置或更改角色（单位管理员导入时角色列请留空或填“学员”）")
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
        if account is not None and account.role == Role.ADMIN:
            bad("登录名", "不能通过导入修改系统管理员")
        elif account is not None and within is not None and not (account.path or "").startswith(within.path):
            bad("登录名", "该账号不属于您管理的单位")
        elif (
            account is not None
            and within is not None
            and not org.may_manage(manager, account.role, account.unit_level)
        ):
            bad("登录名", "该账号是本级或上级单位的管理员，只能由上级管理员或系统管理员修改")
        parsed.append((values, role, status, account))
    if problems:
        raise InvalidInput(problems)
    return parsed


def apply_staff_import(parsed: list[tuple], *, actor_id: int | None = None) -> StaffImportResult:
    """Write checked rows: create (random initial password, returned once, stored with the cheap
    initial hash; must change it at first sign-in), update what changed, 状态 = 停用 deactivates.
    Multi-row INSERTs and executemany UPDATEs of a few thousand rows each: no per-row queries."""
    units = dict(db.session.execute(select(Unit.code, Unit.id)).all())
    now = utcnow()
    created = updated = deactivated = 0
    new_rows, changed_rows, passwords = [], [], []
    for values, role, status, account in parsed:
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
        if account is None:
            password = random_password()
            new_rows.append(
                {
                    "username": values["username"],
                    "password_hash": initial_password_hash(password),
                    "must_change_password": True,
                    "active": status != "停用",
                    "session_version": 1,
                    "created_at": now,
                    **attributes,
                }
            )
            passwords.append((values["username"], values["name"], password))
            created += 1
            continue
        changed = any(getattr(account, key) != value for key, value in attributes.items())
        active, signed_out = account.active, 0
        if status == "停用" and account.active:
            active, signed_out = False, 1  # deactivating signs the person out everywhere
            deactivated += 1
        elif status != "停用" and not account.active:
            active, changed = True, True
        if changed:
            updated += 1
        if changed or signed_out:
            changed_rows.append({"id": account.id, "active": active, "signed_out": signed_out, **attributes})
    for part in _chunks(new_rows):
        db.session.execute(insert(User.__table__), part)  # Core executemany: no ORM work per row
    table = User.__table__
    changes = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            {key: bindparam(f"b_{key}") for key in ("active", *_STAFF_ATTRIBUTES)}
            | {"session_version": table.c.session_version + bindparam("b_signed_out")}
        )
    )
    for part in _chunks(changed_rows):
        db.session.execute(changes, [{f"b_{key}": value for key, value in row.items()} for row in part])
    audit.record(
        "user.import",
        "user",
        None,
        actor_id=actor_id,
        after={"created": created, "updated": updated, "deactivated": deactivated},
    )
    db.session.flush()
    return StaffImportResult(created, updated, deactivated, passwords)


def import_staff(data: bytes, *, file_name: str = "", actor_id: int | None = None) -> StaffImportResult:
    """Check, then write: nothing is written if any row is wrong."""
    return apply_staff_import(check_staff_import(data, file_name=file_name), actor_id=actor_id)


def staff_template_xlsx() -> bytes:
    workbook = exports.workbook()
    sheet = workbook.active
    sheet.title = "人员"
    exports.header(sheet, list(STAFF_COLUMNS))
    return exports.save(workbook)


def passwords_xlsx(rows: list[tuple[str, str, str]]) -> bytes:
    workbook = exports.workbook(write_only=True)  # streams: an import can create 100,000 accounts
    sheet = workbook.create_sheet("初始密码")
    exports.append(sheet, ["登录名", "姓名", "初始密码"])
    for row in rows:
        exports.append(sheet, row)
    return exports.save(workbook)
