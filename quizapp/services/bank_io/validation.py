"""Validating raw records into drafts: the fields every question has, then one validator per question
type for its options and answer, then its source (the locator exists, the quote is verbatim).

Every problem is collected, with its file, row and field; a record with any problem yields no draft.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from pathlib import Path

from ..errors import Problem
from ..sources import SourceText, parse_source, read_source_file
from ..text import strings_in, unstorable
from .format import (
    BLANK,
    FIELD_LABELS,
    JUDGE_ALIASES,
    MAX_DEDUCTIONS,
    MAX_KEYPOINT_POINTS,
    MAX_LOCATOR,
    MAX_MODEL_ANSWER,
    MAX_NOTE,
    MAX_OPTION,
    MAX_PHRASE,
    MAX_PHRASES,
    MAX_POINT_TEXT,
    MAX_SAYS,
    MAX_STEM,
    OPTION_KEYS,
    RUBRIC_POINTS,
    SOURCE_CODE,
    SOURCE_LIMITS,
    TYPE_ALIASES,
    Draft,
    RawRecord,
)
from .rubric import rubric_from_lines

Bad = Callable[[str, str], None]  # bad(field, message): report a problem with one field


class SourceResolver:
    """Finds a source text by code: inline text, then the database, then ``sources/`` beside the file,
    then the shipped bank's ``sources/``."""

    def __init__(self, bank_path: Path | None, known: dict[str, SourceText] | None = None):
        self.bank_path = bank_path
        self.known = dict(known or {})
        self.vetted: set[str] = set()  # codes whose text was checked (once per batch is enough)

    def learn(self, hint: dict | None) -> None:
        """A file's ``source:`` block that carries its text (an export does): known from now on, also
        to a question of another file's document that quotes it."""
        code = str((hint or {}).get("id", "")).strip()
        if code and hint.get("text") and code not in self.known:
            self.resolve(code, hint, None)

    def resolve(self, code: str, hint: dict | None, base_dir: Path | None) -> SourceText | None:
        if code in self.known:
            return self.known[code]
        if hint and str(hint.get("id", "")).strip() != code:
            hint = None  # a question citing another document than its file's: the file's block is not its
        found = None
        if hint and hint.get("text"):
            found = parse_source(code, str(hint["text"]))
        else:
            for folder in filter(None, [base_dir, self.bank_path]):
                candidate = folder / "sources" / f"{code}.txt"
                if candidate.is_file():
                    found = read_source_file(candidate)
                    break
        if found is not None:
            if hint and hint.get("title"):
                found.title = str(hint["title"]).strip()
            self.known[code] = found
        return found


def _text(values: dict, key: str) -> str:
    value = values.get(key)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _difficulty(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdecimal() and len(text) <= 3 else None  # "²" is a digit, not a number


def _options(raw) -> list[tuple[str, str]] | None:
    if isinstance(raw, dict):
        return [
            (str(key).strip().upper(), "" if text is None else str(text).strip()) for key, text in raw.items()
        ]
    if isinstance(raw, list):
        return [
            (OPTION_KEYS[i] if i < len(OPTION_KEYS) else "?", str(text).strip()) for i, text in enumerate(raw)
        ]
    return None


def _letters(raw) -> list[str]:
    if isinstance(raw, list):
        parts = [str(item).strip().upper() for item in raw]
    else:
        text = str(raw).upper()
        for separator in ",，、;； ":
            text = text.replace(separator, "")
        parts = list(text)
    return parts


def _fill_answer(raw) -> list[list[str]] | None:
    """Tabular form: blanks separated by ；/;, alternatives by |. Structured form: a list per blank."""
    if isinstance(raw, str):
        blanks = [part for part in raw.replace("；", ";").split(";")]
        raw = [[alt for alt in blank.split("|")] for blank in blanks]
    if not isinstance(raw, list):
        return None
    answer = []
    for blank in raw:
        alternatives = blank if isinstance(blank, list) else [blank]
        cleaned = [str(alt).strip() for alt in alternatives if str(alt).strip()]
        if not cleaned:
            return None
        answer.append(cleaned)
    return answer


def _source_problems(source: SourceText) -> list[str]:
    """What would not fit the source table: over-long header fields, unstorable characters."""
    problems = [
        f"来源文件的{label}过长（上限 {limit} 字）"
        for name, (label, limit) in SOURCE_LIMITS.items()
        if len(getattr(source, name) or "") > limit
    ]
    if any(unstorable(text or "") for text in (source.title, source.body, source.issuer, source.effective)):
        problems.append("来源文件含有无法保存的控制字符")
    return problems


# ---------------------------------------------------------------------------------------------
# One validator per question type: (values, stem, bad) → (options, answer)


def _choice_options(values: dict, bad: Bad) -> list[dict]:
    pairs = _options(values.get("options"))
    if not pairs or len(pairs) < 2:
        bad("options", "单选题和多选题至少需要两个选项")
        return []
    keys = [key for key, _ in pairs]
    if keys != list(OPTION_KEYS[: len(keys)]):
        bad("options", f"选项应依次为 {'、'.join(OPTION_KEYS[: len(keys)])}，实际为 {'、'.join(keys)}")
    for key, text in pairs:
        if not text:
            bad("options", f"选项{key}不能为空")
        elif len(text) > MAX_OPTION:
            bad("options", f"选项{key}过长")
    texts = [text for _, text in pairs]
    if len(set(texts)) != len(texts):
        bad("options", "存在内容相同的选项")
    return [{"key": key, "text": text} for key, text in pairs]


def _given_letters(values: dict) -> list[str]:
    raw = values.get("answer")
    return _letters(raw) if raw not in (None, "") else []


def validate_single(values: dict, stem: str, bad: Bad) -> tuple[list[dict], object]:
    options = _choice_options(values, bad)
    letters = _given_letters(values)
    if len(letters) != 1 or letters[0] not in {option["key"] for option in options}:
        bad("answer", f"单选题答案应为一个选项字母，实际为“{_text(values, 'answer')}”")
        return options, None
    return options, letters[0]


def validate_multiple(values: dict, stem: str, bad: Bad) -> tuple[list[dict], object]:
    options = _choice_options(values, bad)
    letters = _given_letters(values)
    keys = {option["key"] for option in options}
    if len(letters) < 2 or len(set(letters)) != len(letters) or not set(letters) <= keys:
        bad("answer", f"多选题答案应为至少两个不重复的选项字母，实际为“{_text(values, 'answer')}”")
        return options, None
    return options, sorted(letters)


def _no_options(values: dict, bad: Bad) -> None:
    if values.get("options"):
        bad("options", "判断题和填空题不应有选项")


def validate_judge(values: dict, stem: str, bad: Bad) -> tuple[list[dict], object]:
    _no_options(values, bad)
    raw = values.get("answer")
    answer = raw if isinstance(raw, bool) else JUDGE_ALIASES.get(_text(values, "answer").lower())
    if answer is None:
        bad("answer", f"判断题答案应为 正确/错误，实际为“{_text(values, 'answer')}”")
    return [], answer


def validate_fill(values: dict, stem: str, bad: Bad) -> tuple[list[dict], object]:
    _no_options(values, bad)
    answer = _fill_answer(values.get("answer"))
    blanks = stem.count(BLANK)
    if answer is None:
        bad("answer", "填空题答案不能为空（每个空一项，多个空用“；”分隔，同一空的多种写法用“|”分隔）")
    elif blanks == 0:
        bad("stem", f"填空题题干中没有空位（用 {BLANK} 表示）")
    elif blanks != len(answer):
        bad("answer", f"题干有 {blanks} 个空，答案却有 {len(answer)} 项")
    return [], answer


def _number(raw) -> float | None:
    """A finite number from a YAML/JSON number or a typed one ("1,234.5", full-width digits)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = unicodedata.normalize("NFKC", str(raw or "")).replace(",", "").strip()
        try:
            value = float(text)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def _units(raw) -> list[str]:
    """Accepted spellings of a unit: a string, "天|日", or a list."""
    if raw is None:
        return []
    parts = raw if isinstance(raw, list) else str(raw).split("|")
    return [text for text in (unicodedata.normalize("NFKC", str(part)).strip() for part in parts) if text]


def validate_calc(values: dict, stem: str, bad: Bad) -> tuple[list[dict], object]:
    """计算题: ``answer: {value, unit, tolerance}`` (YAML/JSON), or the 答案, 单位 and 误差 columns.
    The unit may list its spellings (``[天, 日]``, "天|日"); the tolerance is at least 0."""
    _no_options(values, bad)
    raw = values.get("answer")
    given = (
        raw
        if isinstance(raw, dict)
        else {"value": raw, "unit": values.get("unit"), "tolerance": values.get("tolerance")}
    )
    value = _number(given.get("value"))
    units = _units(given.get("unit"))
    tolerance = _number(given.get("tolerance")) if given.get("tolerance") not in (None, "") else 0.0
    if value is None:
        bad("answer", f"计算题答案应为一个数，实际为“{_text(values, 'answer')}”")
    if not units or any(len(unit) > 10 or any(ch.isdigit() for ch in unit) for unit in units):
        bad("unit", "计算题须写明单位（如 元、天|日），单位中不能有数字")
    if tolerance is None or tolerance < 0:
        bad("tolerance", "误差应为不小于 0 的数（如 0.5；天数、人数写 0）")
    if value is None or not units or tolerance is None or tolerance < 0:
        return [], None
    return [], {"value": value, "unit": units, "tolerance": tolerance}


def _rubric_items(raw) -> list[dict] | None:
    """Keypoints or deductions: a list of ``{point, points, phrases}`` (YAML/JSON), or the spreadsheet's
    text, one a line (or separated by ；): ``要点|分值|短语、短语``. None when the shape is wrong."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = rubric_from_lines(raw.splitlines())
        if isinstance(raw, str):
            return None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        return None
    items = []
    for item in raw:
        phrases = item.get("phrases")
        if isinstance(phrases, str):
            phrases = phrases.replace("/", "、").split("、")
        if not isinstance(phrases, list):
            return None
        items.append(
            {
                "point": str(item.get("point") or "").strip(),
                "points": _number(item.get("points")),
                "phrases": [str(phrase).strip() for phrase in phrases if str(phrase).strip()],
            }
        )
    return items


def _check_rubric_items(items: list[dict], field: str, what: str, bad: Bad) -> None:
    for number, item in enumerate(items, 1):
        if not item["point"] or len(item["point"]) > MAX_POINT_TEXT:
            bad(field, f"第{number}个{what}的说明不能为空，且不超过 {MAX_POINT_TEXT} 字")
        points = item["points"]
        if points is None or not 0 < points <= MAX_KEYPOINT_POINTS or (points * 2) % 1:
            bad(field, f"第{number}个{what}的分值应为 0.5–{MAX_KEYPOINT_POINTS} 之间、以 0.5 为单位的数")
        if not 1 <= len(item["phrases"]) <= MAX_PHRASES or any(len(p) > MAX_PHRASE for p in item["phrases"]):
            bad(
                field,
                f"第{number}个{what}须有 1–{MAX_PHRASES} 个体现它的短语（每个不超过 {MAX_PHRASE} 字，用“、”分隔）",
            )


def validate_written(values: dict, stem: str, bad: Bad) -> tuple[list[dict], object]:
    """简答 and 情景应答: ``answer`` is the model answer; ``rubric`` the keypoints a marker awards (each
    with its points and the phrases that show it); ``deductions`` optional (a wrong policy statement,
    a rude phrase). Stored as ``{"model", "rubric", "deductions"}``."""
    _no_options(values, bad)
    model = _text(values, "answer")
    if not model:
        bad("answer", "简答题和情景应答题须有参考答案（写在“答案”中）")
    elif len(model) > MAX_MODEL_ANSWER:
        bad("answer", f"参考答案过长（{len(model)} 字，上限 {MAX_MODEL_ANSWER}）")
    rubric = _rubric_items(values.get("rubric"))
    deductions = _rubric_items(values.get("deductions"))
    low, high = RUBRIC_POINTS
    if rubric is None:
        bad("rubric", "评分要点格式有误：每行一个要点，写作“要点|分值|短语、短语”")
    elif not low <= len(rubric) <= high:
        bad("rubric", f"须有 {low}–{high} 个评分要点，实际 {len(rubric)} 个")
    else:
        _check_rubric_items(rubric, "rubric", "评分要点", bad)
    if deductions is None:
        bad("deductions", "扣分项格式有误：每行一项，写作“说明|扣分|短语、短语”")
    elif len(deductions) > MAX_DEDUCTIONS:
        bad("deductions", f"扣分项最多 {MAX_DEDUCTIONS} 个")
    else:
        _check_rubric_items(deductions, "deductions", "扣分项", bad)
    if not model or rubric is None or deductions is None:
        return [], None
    return [], {"model": model, "rubric": rubric, "deductions": deductions}


TYPE_VALIDATORS = {
    "single": validate_single,
    "multiple": validate_multiple,
    "judge": validate_judge,
    "fill": validate_fill,
    "calc": validate_calc,
    "short": validate_written,
    "situation": validate_written,
}


# ---------------------------------------------------------------------------------------------
# The record: common fields, its type's validator, its source


def _check_source(values: dict, raw: RawRecord, resolver: SourceResolver, bad: Bad) -> SourceText | None:
    """The source document exists and is storable, the locator names a passage of it, and the quote
    stands in that passage word for word."""
    code, locator, quote = _text(values, "source"), _text(values, "locator"), _text(values, "quote")
    source = None
    if raw.unsourced_ok and not code:
        if locator or quote:  # a quote that is given is verified: it needs its document
            bad("source", "写了条款位置或原文引用，就须写明来源文件编码（否则三项都不写，作为“无出处”导入）")
        return None
    if not code:
        bad("source", "来源文件编码不能为空")
    elif not SOURCE_CODE.match(code):
        bad("source", "来源文件编码只能包含字母、数字和 _ . -，长度不超过 64")
    else:
        source = resolver.resolve(code, raw.source_hint, raw.base_dir)
        if source is None:
            bad("source", f"来源文件“{code}”不存在（既不在题库中，也没有 sources/{code}.txt）")
        elif source.code not in resolver.vetted:
            resolver.vetted.add(source.code)
            for message in _source_problems(source):
                bad("source", message)
    if not locator:
        bad("locator", "条款位置不能为空（如 第十四条 或 第3段）")
    elif len(locator) > MAX_LOCATOR:
        bad("locator", f"条款位置过长（上限 {MAX_LOCATOR} 字）")
    if not quote:
        bad("quote", "原文引用不能为空")
    if source is not None and locator and quote:
        passage = source.passage(locator)
        if passage is None:
            bad("locator", f"《{source.title}》中没有“{locator}”")
        elif quote not in passage:
            bad("quote", f"原文引用与《{source.title}》{locator}的原文不一致（须逐字摘录）")
    return source


def validate_record(
    raw: RawRecord,
    resolver: SourceResolver,
    categories: set[str],
    abilities: set[str],
) -> tuple[Draft | None, list[Problem], SourceText | None]:
    values = raw.values
    problems: list[Problem] = []

    def bad(field_name: str, message: str) -> None:
        problems.append(Problem(raw.file, raw.row, FIELD_LABELS.get(field_name, field_name), message))

    for key, value in values.items():
        if any(unstorable(text) for text in strings_in(value)):
            bad(str(key), "含有无法保存的控制字符（如 NUL）或无效的 Unicode 字符")
    qtype = TYPE_ALIASES.get(_text(values, "type").lower())
    if qtype is None:
        bad(
            "type",
            f"题型“{_text(values, 'type')}”无效，应为 单选/多选/判断/填空/计算/简答/情景应答（案例分析写作 case）",
        )
    stem = _text(values, "stem")
    if not stem:
        bad("stem", "题干不能为空")
    elif len(stem) > MAX_STEM:
        bad("stem", f"题干过长（{len(stem)} 字，上限 {MAX_STEM}）")
    category = _text(values, "category")
    if category not in categories:
        bad("category", f"业务类别“{category}”不存在，可选：{'、'.join(sorted(categories))}")
    ability = _text(values, "ability")
    if ability not in abilities:
        bad("ability", f"能力“{ability}”不存在，可选：{'、'.join(sorted(abilities))}")
    difficulty = _difficulty(values.get("difficulty"))
    if difficulty not in (1, 2, 3):
        bad("difficulty", f"难度“{_text(values, 'difficulty')}”无效，应为 1、2 或 3")
    explanation = _text(values, "explanation")
    if not explanation:
        bad("explanation", "解析不能为空")
    options, answer = TYPE_VALIDATORS[qtype](values, stem, bad) if qtype else ([], None)
    note = _text(values, "note") or None
    if note and len(note) > MAX_NOTE:
        bad("note", f"备注过长（上限 {MAX_NOTE} 字）")
    reserved = values.get("reserved")
    if isinstance(reserved, str):
        reserved = JUDGE_ALIASES.get(reserved.strip().lower(), reserved) if reserved.strip() else False
    if reserved is None:
        reserved = False
    if not isinstance(reserved, bool):
        bad("reserved", "考试专用应填 是 或 否（留空为否）")
    says = _text(values, "says") or None
    if qtype == "situation" and not says:
        bad("says", "情景应答题须写明群众原话（群众说了什么）")
    elif says and qtype != "situation":
        bad("says", "只有情景应答题有群众原话")
    elif says and len(says) > MAX_SAYS:
        bad("says", f"群众原话过长（上限 {MAX_SAYS} 字）")
    if qtype in ("short", "situation") and raw.case is not None:
        bad("type", "案例分析的小题不能是简答题或情景应答题")
    elif qtype not in ("short", "situation") and (values.get("rubric") or values.get("deductions")):
        bad("rubric", "只有简答题和情景应答题有评分要点和扣分项")
    source = _check_source(values, raw, resolver, bad)
    if problems:
        return None, problems, source
    draft = Draft(
        file=raw.file,
        row=raw.row,
        source=source.code if source else None,
        type=qtype,
        stem=stem,
        options=options,
        answer=answer,
        explanation=explanation,
        category=category,
        ability=ability,
        difficulty=difficulty,
        locator=_text(values, "locator"),
        quote=_text(values, "quote"),
        note=note,
        reserved=reserved,
        says=says,
        case=raw.case,
        case_position=raw.case_position,
        lost=list(raw.lost),
    )
    return draft, [], source
