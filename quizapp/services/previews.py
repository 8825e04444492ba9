"""Import previews: an uploaded file waits here, bound to its uploader, between the preview of what
it would change and the confirmation; stale ones are removed by the housekeeping sweep."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from ..extensions import db
from ..models import UploadPreview


def keep(kind: str, user_id: int, name: str, data: bytes, *, now: datetime) -> str:
    """Store a previewed file; the token its confirmation form carries."""
    token = secrets.token_hex(16)
    db.session.add(
        UploadPreview(token=token, kind=kind, user_id=user_id, name=name[:255], data=data, created_at=now)
    )
    db.session.flush()
    return token


def find(kind: str, user_id: int, token: str) -> UploadPreview | None:
    """The uploader's own preview of that kind (another person's token finds nothing)."""
    return db.session.scalar(
        select(UploadPreview).where(
            UploadPreview.token == token, UploadPreview.kind == kind, UploadPreview.user_id == user_id
        )
    )


def discard(preview: UploadPreview) -> None:
    db.session.delete(preview)
    db.session.flush()


def remove_expired(*, now: datetime, hours: float) -> int:
    """Previews never confirmed within ``hours``."""
    cutoff = now - timedelta(hours=hours)
    return db.session.execute(delete(UploadPreview).where(UploadPreview.created_at < cutoff)).rowcount
