"""Integrity signals (issue 16): recorded and scored in ``signals``, reviewed in ``review``."""

from .review import DECISIONS, decide, queue, reviews_in_scope, standing_of
from .signals import (
    BadReport,
    Thresholds,
    assess_attempts,
    assess_day,
    check_same_answers,
    client_key,
    client_signals,
    focus_signals,
    record_focus,
    thresholds,
    timing_signals,
    total,
    with_client,
)

__all__ = [
    "DECISIONS",
    "BadReport",
    "Thresholds",
    "assess_attempts",
    "assess_day",
    "check_same_answers",
    "client_key",
    "client_signals",
    "decide",
    "focus_signals",
    "queue",
    "record_focus",
    "reviews_in_scope",
    "standing_of",
    "thresholds",
    "timing_signals",
    "total",
    "with_client",
]
