"""Integrity signals (issue 16): recorded and scored in ``signals``, reviewed in ``review``."""

from .review import decide, queue, standing_of
from .signals import (
    BadReport,
    assess_attempts,
    assess_day,
    check_same_answers,
    client_key,
    client_signals,
    focus_signals,
    record_focus,
    thresholds,
    total,
    with_client,
)

__all__ = [
    "BadReport",
    "assess_attempts",
    "assess_day",
    "check_same_answers",
    "client_key",
    "client_signals",
    "decide",
    "focus_signals",
    "queue",
    "record_focus",
    "standing_of",
    "thresholds",
    "total",
    "with_client",
]
