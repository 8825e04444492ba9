"""The organisation: a tree of units (materialised path) and the people in it."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ._types import UTCDateTime, utcnow

LEVEL_NAMES = {1: "省", 2: "市", 3: "县（区）", 4: "窗口"}


class Unit(db.Model):
    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint("level >= 1", name="level_positive"),
        # text_pattern_ops: PostgreSQL uses the index for `path LIKE '/1/7/%'` whatever the collation.
        Index("ix_unit_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # "/1/7/23/": the ids from the root down to this unit, so a subtree is one prefix match.
    path: Mapped[str] = mapped_column(String(400), default="")
    level: Mapped[int] = mapped_column(Integer)  # depth: 1 province, 2 city, 3 county, 4 window
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES.get(self.level, f"{self.level}级")

    def path_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class Role(enum.StrEnum):
    STAFF = "staff"
    UNIT_ADMIN = "unit_admin"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {"staff": "学员", "unit_admin": "单位管理员", "admin": "系统管理员"}[self.value]


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("gender IN ('男', '女') OR gender IS NULL", name="gender_known"),
        CheckConstraint("role = 'admin' OR unit_id IS NOT NULL", name="unit_required"),
        Index("ix_user_unit_id_active", "unit_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
            create_constraint=True,
            name="role",
        ),
        default=Role.STAFF,
    )
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    phone: Mapped[str | None] = mapped_column(String(32))
    job_section: Mapped[str | None] = mapped_column(String(64))  # 岗位/业务条线
    gender: Mapped[str | None] = mapped_column(String(2))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str | None] = mapped_column(String(32))  # 职级
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the session identity: bumping it signs the user out everywhere (password change).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_unit_admin(self) -> bool:
        return self.role == Role.UNIT_ADMIN

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserSession(db.Model):
    """One sign-in. The session cookie carries its token; signing out ends it here, on the server,
    so a copied cookie is worth nothing afterwards. It also ends at ``expires_at`` whatever the
    cookie says, and with a password change, a role change or deactivation (``session_version``)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))  # the client's, behind trusted proxies
    agent: Mapped[str | None] = mapped_column(String(200))
