"""Grading every question type, including partial credit and answer formats."""

from __future__ import annotations

import pytest

from quizapp.models import QuestionVersion
from quizapp.services.grading import InvalidResponse, describe, grade, parse_response

OPTIONS = [{"key": k, "text": t} for k, t in zip("ABCD", ["十日", "十五日", "三十日", "六十日"], strict=True)]


def version(qtype: str, answer, options=None, stem="题干") -> QuestionVersion:
    return QuestionVersion(
        type=qtype, answer=answer, options=OPTIONS if options is None else options, stem=stem
    )


def score(qtype, key, raw, **kwargs):
    v = version(qtype, key, [] if qtype in ("judge", "fill") else None)
    result = grade(v, parse_response(v, raw), **kwargs)
    return result.score, result.correct


@pytest.mark.parametrize(("raw", "expected"), [("C", (1.0, True)), ("c", (1.0, True)), ("A", (0.0, False))])
def test_single_is_all_or_nothing(raw, expected):
    assert score("single", "C", raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", (1.0, True)),
        (True, (1.0, True)),
        ("false", (0.0, False)),
        (False, (0.0, False)),
    ],
)
def test_judge(raw, expected):
    assert score("judge", True, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["A", "C", "D"], (1.0, True)),
        (["D", "A", "C", "C"], (1.0, True)),  # order and repeats do not matter
        (["A", "C"], (0.5, False)),  # 少选得一半
        (["A"], (0.5, False)),
        (["A", "B"], (0.0, False)),  # 错选不得分
        (["A", "B", "C", "D"], (0.0, False)),
    ],
)
def test_multiple_with_partial_credit(raw, expected):
    assert score("multiple", ["A", "C", "D"], raw) == expected


def test_partial_credit_is_configurable():
    assert score("multiple", ["A", "C"], ["A"], multiple_partial=0.0) == (0.0, False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["三十"], (1.0, True)),
        (["30"], (1.0, True)),
        ([" 三 十 。"], (1.0, True)),  # spaces and punctuation folded
        (["３０"], (1.0, True)),  # full-width digits folded
        (["六十"], (0.0, False)),
    ],
)
def test_fill_matches_after_normalising(raw, expected):
    assert score("fill", [["三十", "30"]], raw) == expected


def test_fill_needs_every_blank():
    key = [["劳动行政部门"], ["十五", "15"]]
    assert score("fill", key, ["劳动行政部门", "15"]) == (1.0, True)
    assert score("fill", key, ["劳动行政部门", "30"]) == (0.0, False)


@pytest.mark.parametrize(
    ("qtype", "raw", "message"),
    [
        ("single", "E", "单选题"),
        ("single", ["A"], "单选题"),
        ("single", None, "单选题"),
        ("judge", "maybe", "判断题"),
        ("multiple", [], "多选题"),
        ("multiple", "AC", "多选题"),
        ("multiple", ["A", "Z"], "多选题"),
        ("fill", ["一", "二"], "1 个空"),
        ("fill", "三十", "1 个空"),
        ("fill", [3], "1 个空"),
    ],
)
def test_malformed_answers_are_refused(qtype, raw, message):
    key = {"single": "A", "judge": True, "multiple": ["A", "B"], "fill": [["三十"]]}[qtype]
    v = version(qtype, key, [] if qtype in ("judge", "fill") else None)
    with pytest.raises(InvalidResponse, match=message):
        parse_response(v, raw)


def test_answers_are_described_for_people():
    assert describe("single", OPTIONS, "C") == "C. 三十日"
    assert describe("multiple", OPTIONS, ["A", "C"]) == "A. 十日；C. 三十日"
    assert describe("judge", [], False) == "错误"
    assert describe("fill", [], [["三十", "30"]]) == "三十 / 30"
    assert describe("fill", [], ["四十"]) == "四十"
    assert describe("single", OPTIONS, None) == "未作答"


# --- 计算题 -----------------------------------------------------------------------------------

WAGE = {"value": 1234.5, "unit": ["元"], "tolerance": 0.5}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.5", (1.0, True)),
        ("1,234.5", (1.0, True)),
        ("1234.50元", (1.0, True)),
        ("１２３４．５元", (1.0, True)),  # full-width digits, point and unit
        (" 1 234.9 元 ", (1.0, True)),  # spaces, within the ±0.5 tolerance
        (1234.5, (1.0, True)),
        ("1235.1", (0.0, False)),  # outside the tolerance
        ("1234.5天", (0.0, False)),  # a wrong unit is wrong, not refused
        ("-1234.5", (0.0, False)),
    ],
)
def test_calculations_read_numbers_as_people_type_them(raw, expected):
    assert score("calc", WAGE, raw) == expected


def test_calculation_units_accept_every_listed_spelling_and_a_zero_tolerance_is_exact():
    days = {"value": 261, "unit": ["天", "日"], "tolerance": 0}
    assert score("calc", days, "261日") == (1.0, True)
    assert score("calc", days, "261天") == (1.0, True)
    assert score("calc", days, "261.0") == (1.0, True)
    assert score("calc", days, "261.01") == (0.0, False)


@pytest.mark.parametrize("raw", ["", "元", "abc", "一千二百", None, True, ["1234.5"], "1" * 41])
def test_a_calculation_answer_that_is_not_a_number_is_refused(raw):
    with pytest.raises(InvalidResponse, match="计算题"):
        parse_response(version("calc", WAGE, []), raw)


def test_calculations_are_described_with_their_unit_and_tolerance():
    assert describe("calc", [], WAGE) == "1234.5 元（允许误差 ±0.5）"
    assert describe("calc", [], {"value": 300.0, "unit": "元"}) == "300 元"
    assert describe("calc", [], {"value": 0.125, "unit": ""}) == "0.125"
