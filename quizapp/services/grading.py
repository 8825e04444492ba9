"""Grading: reading a learner's answer, scoring it, and describing questions and keys for display."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import QuestionVersion
from .errors import DomainError
from .text import normalise

BLANK = "____"


class InvalidResponse(DomainError):
    code = "invalid_answer"


@dataclass(frozen=True)
class Grade:
    score: float  # fraction of the question's marks, 0..1
    correct: bool  # full marks


def parse_response(version: QuestionVersion, raw) -> object:
    """Check the shape of an answer and bring it to its stored form.

    single ``"A"``; judge ``"true"``/``"false"`` (or a JSON boolean); multiple ``["A", "C"]``
    (sorted, without repeats); fill ``["…", …]``, one string per blank.
    """
    keys = {option["key"] for option in version.options}
    if version.type == "single":
        if not isinstance(raw, str) or raw.strip().upper() not in keys:
            raise InvalidResponse(f"单选题请选择一个选项（{'、'.join(sorted(keys))}）")
        return raw.strip().upper()
    if version.type == "judge":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise InvalidResponse("判断题的答案应为 true 或 false")
    if version.type == "multiple":
        if not isinstance(raw, list) or not raw or not all(isinstance(item, str) for item in raw):
            raise InvalidResponse("多选题请至少选择一个选项")
        chosen = sorted({item.strip().upper() for item in raw})
        if not set(chosen) <= keys:
            raise InvalidResponse(f"多选题的选项只能是 {'、'.join(sorted(keys))}")
        return chosen
    blanks = len(version.answer)
    if not isinstance(raw, list) or len(raw) != blanks or not all(isinstance(item, str) for item in raw):
        raise InvalidResponse(f"填空题须填写 {blanks} 个空")
    if any(len(item) > 200 for item in raw):
        raise InvalidResponse("填空内容过长")
    return [item.strip() for item in raw]


def grade(version: QuestionVersion, response, *, multiple_partial: float = 0.5) -> Grade:
    """Score a parsed response (DESIGN §3 Grading).

    - single, judge: all or nothing.
    - multiple: full marks for exactly the key's set; ``multiple_partial`` (default half) for a
      non-empty strict subset of the key with no wrong option (少选得一半，错选不得分); else nothing.
    - fill: every blank must match one of its accepted answers after ``normalise`` (width, spaces
      and punctuation folded); all or nothing.
    """
    key = version.answer
    if version.type in ("single", "judge"):
        return Grade(1.0, True) if response == key else Grade(0.0, False)
    if version.type == "multiple":
        chosen, expected = set(response), set(key)
        if chosen == expected:
            return Grade(1.0, True)
        if chosen and chosen < expected:
            return Grade(multiple_partial, False)
        return Grade(0.0, False)
    matched = all(
        normalise(given) in {normalise(accepted) for accepted in alternatives}
        for given, alternatives in zip(response, key, strict=True)
    )
    return Grade(1.0, True) if matched else Grade(0.0, False)


def describe(qtype: str, options: list[dict], value) -> str:
    """An answer (the key or a response) as a person reads it: "C. 三十日", "A、C", "正确", "三十；六十"."""
    if value is None:
        return "未作答"
    texts = {option["key"]: option["text"] for option in options}
    if qtype == "single":
        return f"{value}. {texts.get(value, '')}"
    if qtype == "multiple":
        return "；".join(f"{key}. {texts.get(key, '')}" for key in value)
    if qtype == "judge":
        return "正确" if value in (True, "true") else "错误"
    if value and isinstance(value[0], list):  # the key: accepted spellings per blank
        return "；".join(" / ".join(alternatives) for alternatives in value)
    return "；".join(value)


def public_question(version: QuestionVersion, *, category: str | None = None) -> dict:
    """What a learner may see before answering: no key, no explanation, no source quote."""
    return {
        "id": version.question_id,
        "type": str(version.type),
        "type_label": version.type.label,
        "stem": version.stem,
        "options": [{"key": o["key"], "text": o["text"]} for o in version.options],
        "blanks": version.stem.count(BLANK) if version.type == "fill" else 0,
        "category": category,
        "difficulty": version.difficulty,
    }


def feedback(version: QuestionVersion, response, score: float, correct: bool, source_title: str) -> dict:
    """What a learner sees after answering: right or wrong, the key, the explanation and the source."""
    return {
        "correct": correct,
        "score": score,
        "partial": 0 < score < 1,
        "your_answer": response,
        "your_answer_text": describe(version.type, version.options, response),
        "correct_answer": version.answer,
        "correct_answer_text": describe(version.type, version.options, version.answer),
        "explanation": version.explanation,
        "source": {"title": source_title, "locator": version.locator, "quote": version.quote},
    }


def tabular_answer(qtype: str, answer) -> str:
    """The key as the spreadsheet and the edit form write it: B · ACD · 正确 · 三十|30；六十|60."""
    if qtype == "multiple":
        return "".join(answer)
    if qtype == "judge":
        return "正确" if answer else "错误"
    if qtype == "fill":
        return "；".join("|".join(blank) for blank in answer)
    return answer
