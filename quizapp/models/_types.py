from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, TypeDecorator, text

from .. import clock

MAX_ID = 2**31 - 1  # primary keys are 32-bit integers on PostgreSQL: no row has a larger id


def utcnow() -> datetime:
    return clock.utcnow()  # looked up at call time, so tests can replace clock.utcnow


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def partial_unique(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows matching ``where``, on both databases."""
    return Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))
