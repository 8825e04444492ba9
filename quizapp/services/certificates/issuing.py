"""Issuing and revoking certificates (人人持证), and who may see which.

A certificate is issued to everyone whose counted attempt at a closed exam (round kind ``exam``)
reached the exam's pass mark — the official result, so an attempt held by the integrity review
gets none until a reviewer clears it. ``reconcile`` is the one rule, set-based and idempotent: the
close calls it (and the repair of closed rounds), and so does a review decision on a closed exam.
Running it again issues nothing more (one certificate per person and exam, a unique constraint).

A certificate stands until an admin revokes it (with a reason) or the attempt it was issued for is
voided by the integrity review; a revoked certificate is never issued again for that exam.

Score bands (``CERTIFICATE_BANDS``, percent of the paper's marks): 优秀 ≥ 90, 良好 ≥ 75, 合格 from
the exam's pass mark up.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import ColumnElement, case, exists, func, or_, select, update

from ... import clock
from ...database import dialect_insert, refresh_statistics
from ...extensions import db
from ...models import (
    Attempt,
    Certificate,
    IntegrityReview,
    ReviewStatus,
    Role,
    Round,
    RoundKind,
    RoundStatus,
    ScoreBand,
    Unit,
    User,
)
from .. import audit
from ..errors import Conflict, DomainError, NotFound, PermissionDenied
from ..org import in_subtree, unit_scope

# Crockford's base32: no I, L, O or U, so a serial read aloud or typed from paper is not mistaken.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_GROUPS = 4  # 4 groups of 4 characters: 80 random bits
SERIAL = re.compile(r"^\d{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$")
REASON_MAX = 500
VOIDED_REASON = "答卷经成绩核查作废，证书随之撤销"
CHUNK = 2000


def new_serial(year: int) -> str:
    """The year and 80 random bits (``secrets``), e.g. ``2026-7KQ4-M2XA-9TBC-E5WN``: guessing one
    that exists is hopeless, however many certificates there are."""
    bits = secrets.randbits(5 * 4 * SERIAL_GROUPS)
    chars = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(4 * SERIAL_GROUPS))
    return f"{year:04d}-" + "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


def normalise_serial(text: str) -> str | None:
    """A serial as typed (any case, surrounding space; O for 0 and I/L for 1, as Crockford reads
    them), or None when it cannot be one."""
    serial = (text or "").strip().upper().translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return serial if SERIAL.match(serial) else None


def bands() -> dict[str, float]:
    return current_app.config["CERTIFICATE_BANDS"]


def band_of(percent: float) -> ScoreBand:
    limits = bands()
    if percent >= limits["excellent"]:
        return ScoreBand.EXCELLENT
    if percent >= limits["good"]:
        return ScoreBand.GOOD
    return ScoreBand.PASS


def _band_sql(percent) -> ColumnElement:
    limits = bands()
    return case(
        (percent >= limits["excellent"], ScoreBand.EXCELLENT.value),
        (percent >= limits["good"], ScoreBand.GOOD.value),
        else_=ScoreBand.PASS.value,
    )


def _insert():
    """INSERT … ON CONFLICT DO NOTHING: a certificate issued meanwhile (another decision) stands."""
    return dialect_insert()(Certificate.__table__).on_conflict_do_nothing()


def reconcile(
    round_id: int, *, now: datetime, actor_id: int | None = None, user_ids: list[int] | None = None
) -> dict:
    """Bring a closed exam's certificates in line with its official results: one for each person
    whose counted attempt passed and who has none yet; revoke those whose attempt was voided (or
    move one to the person's other passing attempt, on an exam of several attempts). Returns the
    counts. Anything but a closed exam: nothing to do.

    ``user_ids``: only these takers (an integrity decision concerns one); else the whole exam (the
    close, the repair), after fresh statistics of the certificate table — with a stale "empty", the
    planner would check each passer against every certificate of the exam (minutes at 20,000)."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.kind != RoundKind.EXAM or round_.status != RoundStatus.CLOSED:
        return {"issued": 0, "revoked": 0, "moved": 0}
    if user_ids is None:
        refresh_statistics(Certificate)
    passing = (
        Attempt.round_id == round_id,
        Attempt.counted.is_(True),
        Attempt.held.is_(False),
        Attempt.percent >= round_.pass_mark,
    )
    voided = exists().where(
        IntegrityReview.attempt_id == Certificate.attempt_id, IntegrityReview.status == ReviewStatus.VOIDED
    )
    stands = select(Attempt.id).where(*passing, Attempt.user_id == Certificate.user_id)
    mine = (Certificate.round_id == round_id, Certificate.revoked_at.is_(None), voided)
    takers = ()
    if user_ids is not None:
        mine = (*mine, Certificate.user_id.in_(user_ids))
        takers = (Attempt.user_id.in_(user_ids),)
    standing = (
        select(Attempt.percent)
        .where(*passing, Attempt.user_id == Certificate.user_id)
        .limit(1)
        .scalar_subquery()
    )
    moved = db.session.execute(  # voided, but another attempt of the person passed and counts
        update(Certificate)
        .where(*mine, stands.exists())
        .values(attempt_id=stands.limit(1).scalar_subquery(), percent=standing, band=_band_sql(standing))
        .execution_options(synchronize_session=False)
    ).rowcount
    revoked = db.session.execute(
        update(Certificate)
        .where(*mine)
        .values(revoked_at=now, revoked_reason=VOIDED_REASON)
        .execution_options(synchronize_session=False)
    ).rowcount
    rows = db.session.execute(
        select(Attempt.id, Attempt.user_id, Attempt.unit_id, Attempt.percent, User.name, Unit.name)
        .join(User, User.id == Attempt.user_id)
        .join(Unit, Unit.id == Attempt.unit_id)
        .where(
            *passing,
            *takers,
            ~exists().where(Certificate.round_id == round_id, Certificate.user_id == Attempt.user_id),
        )
        .order_by(Attempt.id)
    ).all()
    day = clock.business_date(now, current_app.config["TZINFO"])
    issued = [
        {
            "serial": new_serial(day.year),
            "round_id": round_id,
            "user_id": user_id,
            "unit_id": unit_id,
            "attempt_id": attempt_id,
            "holder_name": name,
            "unit_name": unit_name,
            "title": round_.title,
            "percent": percent,
            "band": band_of(percent).value,
            "issued_on": day,
            "issued_at": now,
        }
        for attempt_id, user_id, unit_id, percent, name, unit_name in rows
    ]
    for start in range(0, len(issued), CHUNK):
        db.session.execute(_insert(), issued[start : start + CHUNK])
    outcome = {"issued": len(issued), "revoked": revoked, "moved": moved}
    if issued or revoked or moved:
        audit.record("certificate.reconcile", "round", round_id, actor_id=actor_id, after=outcome)
    return outcome


def revoke(viewer: User, serial: str, reason: str, *, now: datetime) -> Certificate:
    """An admin revokes a certificate, with a reason (audit log). It verifies as 已撤销 from then on
    and is never issued again for that exam."""
    if viewer.role != Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以撤销证书")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写撤销理由")
    if len(reason) > REASON_MAX:
        raise DomainError(f"撤销理由不能超过 {REASON_MAX} 字")
    certificate = by_serial(serial)
    if certificate is None:
        raise NotFound("证书不存在")
    if certificate.revoked_at is not None:
        raise Conflict("该证书已撤销")
    certificate.revoked_at, certificate.revoked_by_id, certificate.revoked_reason = now, viewer.id, reason
    db.session.flush()
    audit.record(
        "certificate.revoke",
        "certificate",
        certificate.id,
        actor_id=viewer.id,
        before={"serial": certificate.serial, "valid": True},
        after={"serial": certificate.serial, "valid": False, "reason": reason},
    )
    return certificate


# ---------------------------------------------------------------------------------------------
# Reading


def by_serial(serial: str) -> Certificate | None:
    normal = normalise_serial(serial)
    if normal is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.serial == normal))


def verification(serial: str) -> dict:
    """What the public verification page shows, and nothing else: the holder's name, the exam, the
    date of issue and whether it is valid (or when it was revoked)."""
    certificate = by_serial(serial)
    if certificate is None:
        raise NotFound("未找到该编号的证书，请核对证书编号。")
    return {
        "serial": certificate.serial,
        "name": certificate.holder_name,
        "title": certificate.title,
        "issued_on": certificate.issued_on,
        "valid": certificate.revoked_at is None,
        "revoked_on": None
        if certificate.revoked_at is None
        else clock.business_date(certificate.revoked_at, current_app.config["TZINFO"]),
    }


def of_user(user_id: int) -> list[Certificate]:
    """A person's certificates, the newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def visible(viewer: User, serial: str) -> Certificate:
    """A certificate the viewer may download: their own, or one of a unit they manage (404 else:
    what the viewer may not see does not exist for them)."""
    normal = normalise_serial(serial)
    certificate = None
    if normal is not None:
        certificate = db.session.scalar(
            select(Certificate)
            .join(Unit, Unit.id == Certificate.unit_id)
            .where(Certificate.serial == normal, or_(Certificate.user_id == viewer.id, unit_scope(viewer)))
        )
    if certificate is None:
        raise NotFound("证书不存在或不在您的管理范围内")
    return certificate


def scope_unit(viewer: User, unit_code: str | None) -> Unit:
    """The unit whose subtree a manager's list covers: the one named, if the viewer manages it, else
    the viewer's own unit (an admin with none: the tree's root)."""
    if unit_code:
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code.strip(), unit_scope(viewer)))
        if unit is None:
            raise NotFound(f"单位“{unit_code}”不存在或不在您的管理范围内")
        return unit
    if viewer.unit is not None and viewer.role == Role.UNIT_ADMIN:
        return viewer.unit
    unit = db.session.scalar(
        select(Unit).where(Unit.parent_id.is_(None), unit_scope(viewer)).order_by(Unit.code)
    )
    if unit is None:
        raise NotFound("还没有任何单位")
    return unit


def _exams_of(viewer: User):
    """Closed exams; for a unit admin, those with a certificate in their subtree (another subtree's
    exam, even its title, is none of theirs)."""
    stmt = select(Round).where(Round.kind == RoundKind.EXAM, Round.status == RoundStatus.CLOSED)
    if viewer.role != Role.ADMIN:
        stmt = stmt.where(
            exists()
            .where(Certificate.round_id == Round.id, Unit.id == Certificate.unit_id, unit_scope(viewer))
            .correlate(Round)
        )
    return stmt


def exams(viewer: User) -> list[Round]:
    """The exams whose certificates a manager lists, the newest first (the latest 200)."""
    return list(
        db.session.scalars(_exams_of(viewer).order_by(Round.closes_at.desc(), Round.id.desc()).limit(200))
    )


def _in_subtree(round_id: int, unit: Unit):
    return (
        select(Certificate)
        .join(Unit, Unit.id == Certificate.unit_id)
        .where(Certificate.round_id == round_id, in_subtree(unit))
    )


def subtree_counts(round_id: int, unit: Unit) -> dict:
    """How many certificates of an exam the subtree holds: valid and revoked."""
    subquery = _in_subtree(round_id, unit).subquery()
    valid, revoked = db.session.execute(
        select(
            func.count().filter(subquery.c.revoked_at.is_(None)),
            func.count().filter(subquery.c.revoked_at.is_not(None)),
        )
    ).one()
    return {"valid": valid, "revoked": revoked}


def subtree_page(
    round_id: int, unit: Unit, *, page: int, size: int, valid_only: bool = False
) -> list[Certificate]:
    """One page of an exam's certificates in a subtree (only the valid ones, for the bulk download),
    by unit code then name."""
    stmt = _in_subtree(round_id, unit)
    if valid_only:
        stmt = stmt.where(Certificate.revoked_at.is_(None))
    return list(
        db.session.scalars(
            stmt.order_by(Unit.code, Certificate.holder_name, Certificate.id)
            .limit(size)
            .offset((page - 1) * size)
        )
    )


def exam_in_scope(viewer: User, round_id: int) -> Round:
    round_ = db.session.scalar(_exams_of(viewer).where(Round.id == round_id))
    if round_ is None:
        raise NotFound("考试不存在、尚未结束或您的管理范围内没有它的证书")
    return round_


def lacking() -> ColumnElement[bool]:
    """A condition on ``Round``: a closed exam with a passing counted attempt but no certificate for
    its taker (an exam closed before certificates existed; the repair issues them)."""
    return (Round.kind == RoundKind.EXAM) & exists().where(
        Attempt.round_id == Round.id,
        Attempt.counted.is_(True),
        Attempt.held.is_(False),
        Attempt.percent >= Round.pass_mark,
        ~exists().where(Certificate.round_id == Round.id, Certificate.user_id == Attempt.user_id),
    )
