"""Grading: reading a learner's answer, scoring it, and describing questions and keys for display."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from ..models import WRITTEN_TYPES, QuestionVersion
from .errors import DomainError
from .text import normalise

BLANK = "____"
MAX_WRITTEN = 2000  # characters of a written answer (简答, 情景应答)


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
    if version.type == "calc":
        return parse_number(raw, version.answer["unit"])
    if version.type in WRITTEN_TYPES:
        if not isinstance(raw, str):
            raise InvalidResponse("请填写文字作答")
        text = raw.strip()
        if len(text) > MAX_WRITTEN:
            raise InvalidResponse(f"作答内容过长（{len(text)} 字，上限 {MAX_WRITTEN} 字）")
        return text
    blanks = len(version.answer)
    if not isinstance(raw, list) or len(raw) != blanks or not all(isinstance(item, str) for item in raw):
        raise InvalidResponse(f"填空题须填写 {blanks} 个空")
    if any(len(item) > 200 for item in raw):
        raise InvalidResponse("填空内容过长")
    return [item.strip() for item in raw]


_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(.*)$")


def parse_number(raw, units: list[str]) -> dict:
    """A typed calculation answer: ``1,234.5``, ``1234.50元``, full-width digits, a unit or none.
    Stored as ``{"value": 1234.5, "unit": "元" | ""}``; a unit other than the accepted ones is kept
    as typed (it is wrong, not refused)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidResponse("计算题请填写一个数")
    text = unicodedata.normalize("NFKC", str(raw)).replace(",", "").replace(" ", "").strip()
    match = _NUMBER.match(text)
    if not match or len(text) > 40:
        raise InvalidResponse("计算题请填写一个数（可带单位，如 1234.5元）")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise InvalidResponse("计算题请填写一个数")
    return {"value": value, "unit": match.group(2)}


def _unit_matches(given: str, units: list[str]) -> bool:
    return not given or normalise(given) in {normalise(unit) for unit in units}


def grade(version: QuestionVersion, response, *, multiple_partial: float = 0.5) -> Grade:
    """Score a parsed response (DESIGN §3 Grading).

    - single, judge: all or nothing.
    - multiple: full marks for exactly the key's set; ``multiple_partial`` (default half) for a
      non-empty strict subset of the key with no wrong option (少选得一半，错选不得分); else nothing.
    - fill: every blank must match one of its accepted answers after ``normalise`` (width, spaces
      and punctuation folded); all or nothing.
    - calc: the number within the key's tolerance, and no unit or one of the key's units (the box
      shows the unit; a different unit is wrong); all or nothing.
    """
    key = version.answer
    if version.type in WRITTEN_TYPES:
        return Grade(0.0, False)  # marked by people (rounds) or by the learner (practice), not here
    if version.type == "calc":
        right = abs(response["value"] - key["value"]) <= key["tolerance"] + 1e-9 and _unit_matches(
            response["unit"], key["unit"]
        )
        return Grade(1.0, True) if right else Grade(0.0, False)
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
    if qtype == "calc":
        return _describe_number(value)
    if qtype in WRITTEN_TYPES:
        return value["model"] if isinstance(value, dict) else (value or "（空白）")
    if value and isinstance(value[0], list):  # the key: accepted spellings per blank
        return "；".join(" / ".join(alternatives) for alternatives in value)
    return "；".join(value)


def plain_number(number: float) -> str:
    """600.0 → "600", 1234.5 → "1234.5", 0.125 → "0.125": as a person writes it."""
    return f"{number:.6f}".rstrip("0").rstrip(".")


def _describe_number(value: dict) -> str:
    """``{"value": 600.0, "unit": ["元"], "tolerance": 0.5}`` → "600 元（允许误差 ±0.5）";
    a response ``{"value": 1234.5, "unit": "元"}`` → "1234.5 元"."""
    number = plain_number(value["value"])
    unit = value["unit"][0] if isinstance(value["unit"], list) else value["unit"]
    text = f"{number} {unit}".strip()
    if value.get("tolerance"):
        text += f"（允许误差 ±{value['tolerance']:g}）"
    return text


def public_question(version: QuestionVersion, *, category: str | None = None) -> dict:
    """What a learner may see before answering: no key, no explanation, no source quote; a case's
    text comes with each of its sub-questions, a calculation's unit with the question."""
    public = {
        "id": version.question_id,
        "type": str(version.type),
        "type_label": version.type.label,
        "stem": version.stem,
        "options": [{"key": o["key"], "text": o["text"]} for o in version.options],
        "blanks": version.stem.count(BLANK) if version.type == "fill" else 0,
        "category": category,
        "difficulty": version.difficulty,
    }
    if version.type == "calc":
        public["unit"] = version.answer["unit"][0]
    if version.type in WRITTEN_TYPES:
        public["says"] = version.says
        public["max_length"] = MAX_WRITTEN
    if version.case_id is not None:
        public["case"] = {
            "id": version.case_id,
            "title": version.case.title,
            "body": version.case.body,
            "position": version.case_position,
        }
    return public


def feedback(version: QuestionVersion, response, score: float, correct: bool, source_title: str) -> dict:
    """What a learner sees after answering: right or wrong, the key, the explanation and the source."""
    return {
        "correct": correct,
        "score": score,
        "partial": 0 < score < 1,
        "your_answer": response,
        "your_answer_text": describe(version.type, version.options, response),
        "correct_answer": version.answer["model"] if version.type in WRITTEN_TYPES else version.answer,
        "correct_answer_text": describe(version.type, version.options, version.answer),
        "explanation": version.explanation,
        "source": {
            "title": source_title,
            "locator": version.locator,
            "quote": version.quote,
            "source_id": version.source_id,  # its link to 政策原文
        },
        "note": version.note,
    } | (written_key(version.answer) if version.type in WRITTEN_TYPES else {})


def written_key(answer: dict) -> dict:
    """A written question's key as shown once the rules allow: the model answer, the keypoints and
    deductions with their points (not the phrases markers match on)."""
    return {
        "model_answer": answer["model"],
        "rubric": [{"point": item["point"], "points": item["points"]} for item in answer["rubric"]],
        "deductions": [{"point": item["point"], "points": item["points"]} for item in answer["deductions"]],
        "max_points": rubric_total(answer),
    }


def rubric_total(answer: dict) -> float:
    return sum(item["points"] for item in answer["rubric"])


def self_mark(version: QuestionVersion, covered: list) -> Grade:
    """专项练习's self-marking: the learner says which keypoints their answer covered; the score is those
    keypoints' points over the rubric's total (full marks only with every keypoint)."""
    rubric = version.answer["rubric"]
    if not isinstance(covered, list) or not all(
        isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(rubric)
        for index in covered
    ):
        raise InvalidResponse(f"请勾选答到的要点（第 1–{len(rubric)} 个）")
    points = sum(rubric[index]["points"] for index in set(covered))
    total = rubric_total(version.answer)
    return Grade(round(points / total, 4), points >= total)


def tabular_answer(qtype: str, answer) -> str:
    """The key as the spreadsheet and the edit form write it: B · ACD · 正确 · 三十|30；六十|60."""
    if qtype == "multiple":
        return "".join(answer)
    if qtype == "judge":
        return "正确" if answer else "错误"
    if qtype == "fill":
        return "；".join("|".join(blank) for blank in answer)
    if qtype == "calc":
        return plain_number(answer["value"])
    if qtype in WRITTEN_TYPES:
        return answer["model"]
    return answer
