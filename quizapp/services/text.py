"""Text normalisation shared by duplicate detection and fill-in grading."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator


def normalise(value: str) -> str:
    """Fold width (NFKC), drop white space and punctuation, lower-case.

    "三十 日。" and "三十日" compare equal; "（A）" and "a" too. Symbols such as + stay (% is punctuation to Unicode). Digits and Chinese numerals are kept
    apart on purpose: accepted answers list both spellings where both are right.
    """
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def unstorable(value: str) -> bool:
    """Control characters other than tab and line breaks (PostgreSQL refuses NUL; nobody can see
    them) or lone surrogates (not UTF-8): text holding them is refused at the door."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r" for ch in value)


def strings_in(value) -> Iterator[str]:
    """Every string inside a parsed JSON/YAML value, mapping keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def nested_deeper_than(value, limit: int) -> bool:
    """Whether a parsed JSON/YAML value nests lists and mappings more than ``limit`` deep (iterative:
    a hostile document cannot exhaust the stack here)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def content_hash(qtype: str, stem: str, options: list[dict], *, context: str = "") -> str:
    """Identity of a question's content: type, stem and options, normalised (DESIGN §3: never stem
    alone); ``context``, the case text a sub-question belongs to, when it has one."""
    parts = [qtype, normalise(stem), [normalise(option["text"]) for option in options]]
    if context:
        parts.append(normalise(context))
    payload = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
