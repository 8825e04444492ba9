"""Suggestions for a marker: which of a rubric's phrases a written answer contains, exactly or nearly.

A help, never the mark: the marker gives every keypoint's points. Exact: the phrase appears in the
answer once width, spaces and punctuation are folded (``text.normalise``). Near: the best-matching
stretch of the answer is at least NEAR percent alike (rapidfuzz's ``partial_ratio``, an edit-distance
measure over characters, which suits Chinese text without word segmentation) — a typo, a character
left out, 三十日 for 30日 is *not* near (the folding keeps numerals apart, as fill answers do).
"""

from __future__ import annotations

from .text import normalise

NEAR = 75  # percent alike for a near match of a phrase of MIN_NEAR characters or more
MIN_NEAR = 3  # a one- or two-character phrase matches exactly or not at all


def suggest(answer_text: str, key: dict) -> dict:
    """Per keypoint and per deduction: the phrases found exactly, those found nearly, and a hint —
    "covered" (an exact phrase), "maybe" (only near ones) or "missing"."""
    folded = normalise(answer_text or "")
    return {
        "rubric": [_item(folded, item) for item in key["rubric"]],
        "deductions": [_item(folded, item) for item in key["deductions"]],
    }


def _item(folded: str, item: dict) -> dict:
    from rapidfuzz import fuzz  # when a marker looks, not when a server process starts

    exact, near = [], []
    for phrase in item["phrases"]:
        target = normalise(phrase)
        if not target or not folded:
            continue
        if target in folded:
            exact.append(phrase)
        elif len(target) >= MIN_NEAR and fuzz.partial_ratio(target, folded) >= NEAR:
            near.append(phrase)
    hint = "covered" if exact else ("maybe" if near else "missing")
    return {"exact": exact, "near": near, "hint": hint}
