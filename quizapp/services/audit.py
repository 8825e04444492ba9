"""The audit log: one append-only row per admin write."""

from __future__ import annotations

from ..extensions import db
from ..models import AuditLog


def record(action: str, target_type: str, target_id, *, actor_id: int | None,
           before: dict | None = None, after: dict | None = None) -> AuditLog:
    entry = AuditLog(action=action, target_type=target_type,
                     target_id=None if target_id is None else str(target_id),
                     actor_id=actor_id, before=before, after=after)
    db.session.add(entry)
    return entry
