"""``quizapp bank stats``: the bank's size and spread, and its quality checks as far as a program can
tell — each with the limit the shipped bank is held to (issue 17), so CI fails when a limit breaks.

The checks are heuristics over text, not judgements of the law; what they flag is a place to look.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .format import DEFAULT_ABILITIES, DEFAULT_CATEGORIES, Draft
from .readers import read_paths
from .validation import SourceResolver

# The limits of issue 17 §1 for the shipped bank.
LIMITS = {
    "questions": 2000,  # at least
    "documents": 28,  # at least
    "cases": 80,  # at least
    "calculations": 100,  # at least
    "short answers": 60,  # 简答, at least (issue 20)
    "situations": 60,  # 情景应答, at least
    "largest category share": 0.40,  # at most
    "category minimums": {"就业创业": 250, "综合服务与行风": 250, "人才人事": 150},
    "ability minimum": 250,  # every ability
    "quote with a blank share": 0.10,  # at most
    "speech wording share": 0.05,  # at most
}
SPEECH_SOURCES = ("speech_", "article_")  # campaign speeches and news: wording, not window business
# Rules that change on a known date: such a question must carry a note (issue 17 §1).
DATED_RULES = [
    (
        "15-year minimum contribution (from 2030)",
        re.compile(r"累计缴费(?:满|不足)?十五年|缴费满十五年|十五年"),
    ),
    (
        "medical and maternity insurance (医保 since 2018)",
        re.compile(r"生育保险|生育津贴|基本医疗保险|职工医疗保险"),
    ),
]
CHINESE_NUMERAL = re.compile(r"[零一二三四五六七八九十百千万两]")
# A blank that is a number written in Chinese numerals, with at most an ordinal 第 and a unit
# (三十日, 第二级, 六十二点五天); words that merely contain a numeral (统一, 第三方, 一口清) are not numbers.
CHINESE_NUMBER = re.compile(
    r"^第?[零一二三四五六七八九十百千万两点]+"
    r"(?:日|天|个?月|年|周|周岁|岁|倍|个?小时|级|档|人|名|元|万元|项|次|类|种|个工作日|个百分点|成)?$"
)


def _norm(text) -> str:
    return re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", str(text)))


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def coverage(option: str, quote: str) -> float:
    """How much of a keyed option's wording stands in the quote (character pairs)."""
    o, q = _norm(option), _norm(quote)
    if not o or o in q:
        return 1.0
    grams = _bigrams(o)
    return sum(gram in q for gram in grams) / len(grams)


def is_quote_with_a_blank(draft: Draft) -> bool:
    """A stem that is its quote with a gap: what stands around the gap is the quote's own words."""
    parts = [_norm(part) for part in re.split(r"_{2,}|（\s*）|\(\s*\)", draft.stem)]
    parts = [part for part in parts if part]
    total = sum(len(part) for part in parts)
    if total < 8 or (BLANK_MARKS.search(draft.stem) is None):
        return False
    quote = _norm(draft.quote)
    return sum(len(part) for part in parts if part in quote) >= 0.7 * total


BLANK_MARKS = re.compile(r"_{2,}|（\s*）|\(\s*\)")


def _undecided_keys(draft: Draft) -> list[str]:
    """Keyed options or fill answers whose words the quote does not hold (coverage under a half)."""
    if draft.type in ("single", "multiple"):
        keys = draft.answer if isinstance(draft.answer, list) else [draft.answer]
        texts = {option["key"]: option["text"] for option in draft.options}
        return [key for key in keys if coverage(texts[key], draft.quote) < 0.5]
    if draft.type == "fill":
        quote = _norm(draft.quote)
        return [
            "/".join(blank)
            for blank in draft.answer
            if not any(_norm(spelling) in quote for spelling in blank)
        ]
    if draft.type == "calc" and not re.search(r"\d|" + CHINESE_NUMERAL.pattern, draft.quote):
        return ["(no number in the quote)"]
    return []


def _lonely_numerals(draft: Draft) -> bool:
    """A fill blank that is a number in Chinese numerals with no digits spelling, or in digits only."""
    if draft.type != "fill":
        return False
    for blank in draft.answer:
        digits = any(any(ch.isdigit() for ch in spelling) for spelling in blank)
        numerals = any(CHINESE_NUMERAL.search(spelling) for spelling in blank)
        number = any(CHINESE_NUMBER.match(spelling.strip()) for spelling in blank)
        if (digits and not numerals) or (number and not digits):
            return True
    return False


@dataclass
class BankStats:
    figures: dict = field(default_factory=dict)
    findings: dict[str, list[str]] = field(default_factory=dict)  # check → where
    breaches: list[str] = field(default_factory=list)  # limits broken (the shipped bank has none)
    errors: list[str] = field(default_factory=list)  # verify's own errors

    def as_dict(self) -> dict:
        return {
            "figures": self.figures,
            "findings": {
                name: {"count": len(where), "examples": where[:10]} for name, where in self.findings.items()
            },
            "breaches": self.breaches,
            "errors": self.errors,
        }


def bank_stats(paths: list[Path], bank_path: Path | None) -> BankStats:
    batch = read_paths(
        paths, resolver=SourceResolver(bank_path), categories=DEFAULT_CATEGORIES, abilities=DEFAULT_ABILITIES
    )
    drafts = batch.drafts
    stats = BankStats(errors=[str(problem) for problem in batch.problems])
    n = len(drafts) or 1
    where = {id(d): f"{Path(d.file).name} {d.row}" for d in drafts}
    by_category = Counter(d.category for d in drafts)
    by_ability = Counter(d.ability for d in drafts)
    multiples = [d for d in drafts if d.type == "multiple"]
    key_sizes = Counter("all" if len(d.answer) == len(d.options) else str(len(d.answer)) for d in multiples)
    stats.figures = {
        "questions": len(drafts),
        "documents": len({d.source for d in drafts}),
        "cases": len({d.case.content_hash for d in drafts if d.case}),
        "calculations": sum(d.type == "calc" for d in drafts),
        "short answers": sum(d.type == "short" for d in drafts),
        "situations": sum(d.type == "situation" for d in drafts),
        "by type": dict(sorted(Counter(d.type for d in drafts).items())),
        "by category": dict(by_category.most_common()),
        "by ability": dict(by_ability.most_common()),
        "by difficulty": dict(sorted(Counter(str(d.difficulty) for d in drafts).items())),
        "by document": dict(Counter(d.source for d in drafts).most_common()),
        "multiple-choice keys": dict(sorted(key_sizes.items())),
        "notes": sum(bool(d.note) for d in drafts),
    }
    blanks = [d for d in drafts if is_quote_with_a_blank(d)]
    speech = [d for d in drafts if d.source.startswith(SPEECH_SOURCES)]
    stats.figures["quote with a blank share"] = round(len(blanks) / n, 3)
    stats.figures["speech wording share"] = round(len(speech) / n, 3)

    seen: dict[tuple, Draft] = {}
    near, same_stem = [], []
    stems: dict[str, Draft] = {}
    for d in drafts:
        stem = _norm(d.stem) + (_norm(d.case.body) if d.case else "")
        if stem in stems:
            same_stem.append(f"{where[id(d)]} = {where[id(stems[stem])]}")
        stems.setdefault(stem, d)
        key = (_norm(d.stem), repr(d.answer))
        if key in seen and seen[key] is not d and not d.case:
            near.append(f"{where[id(d)]} ~ {where[id(seen[key])]}")
        seen.setdefault(key, d)
    stats.findings = {
        "quote with a blank": [where[id(d)] for d in blanks],
        "same stem": same_stem,
        "near-duplicate (same stem and answer)": near,
        "option shorter than 2 characters": [
            where[id(d)] for d in drafts if any(len(_norm(o["text"])) < 2 for o in d.options)
        ],
        "repeated option": [
            where[id(d)] for d in drafts if len({_norm(o["text"]) for o in d.options}) < len(d.options)
        ],
        "quote lacks a key's deciding words": [
            f"{where[id(d)]}: {', '.join(keys)}" for d in drafts if (keys := _undecided_keys(d))
        ],
        "fill numerals without the other spelling": [where[id(d)] for d in drafts if _lonely_numerals(d)],
        "dated rule without a note": [
            f"{where[id(d)]}: {label}"
            for d in drafts
            for label, pattern in DATED_RULES
            if not d.note and (pattern.search(d.stem) or pattern.search(d.quote))
        ],
    }
    stats.breaches = _breaches(stats, by_category, by_ability, key_sizes, n)
    return stats


def _breaches(
    stats: BankStats, by_category: Counter, by_ability: Counter, key_sizes: Counter, n: int
) -> list[str]:
    figures, found, broken = stats.figures, stats.findings, []
    for name in ("questions", "documents", "cases", "calculations", "short answers", "situations"):
        if figures[name] < LIMITS[name]:
            broken.append(f"{name}: {figures[name]} < {LIMITS[name]}")
    largest = max(by_category.values(), default=0) / n
    if largest > LIMITS["largest category share"]:
        broken.append(f"largest category share {largest:.2f} > {LIMITS['largest category share']}")
    for category, minimum in LIMITS["category minimums"].items():
        if by_category[category] < minimum:
            broken.append(f"category {category}: {by_category[category]} < {minimum}")
    for ability in DEFAULT_ABILITIES:
        if by_ability[ability] < LIMITS["ability minimum"]:
            broken.append(f"ability {ability}: {by_ability[ability]} < {LIMITS['ability minimum']}")
    for share in ("quote with a blank share", "speech wording share"):
        if figures[share] > LIMITS[share]:
            broken.append(f"{share} {figures[share]} > {LIMITS[share]}")
    if not {"2", "all"} <= set(key_sizes):
        broken.append(f"multiple-choice keys do not spread from 2 to all options: {dict(key_sizes)}")
    for check in (
        "same stem",
        "near-duplicate (same stem and answer)",
        "option shorter than 2 characters",
        "repeated option",
        "quote lacks a key's deciding words",
        "fill numerals without the other spelling",
        "dated rule without a note",
    ):
        if found[check]:
            broken.append(f"{check}: {len(found[check])}")
    if stats.errors:
        broken.append(f"verify errors: {len(stats.errors)}")
    return broken
