"""A written question's keypoints (or deductions) as text, one a line: ``要点|分值|短语、短语`` — the
spreadsheet's 评分要点 and 扣分项 columns, and the lines the Word and Moodle formats carry. A phrase
that holds 、 or / (“省、自治区、直辖市人民政府”) is written in 「」, and a keypoint that holds | too,
so that every line reads back exactly."""

from __future__ import annotations

from .. import grading

QUOTE_OPEN, QUOTE_CLOSE = "「", "」"  # a phrase (or keypoint) that holds a separator is written in them
PHRASE_SEPARATORS = "、/"


def _quoted(text: str, separators: str) -> str:
    if any(ch in text for ch in separators) or text.startswith(QUOTE_OPEN):
        return QUOTE_OPEN + text + QUOTE_CLOSE
    return text


def _split_outside(text: str, separators: str) -> list[str]:
    """``text`` split at the separators that stand outside 「…」, each piece stripped and unquoted."""
    pieces, current, depth = [], [], 0
    for ch in text:
        if ch == QUOTE_OPEN:
            depth += 1
        elif ch == QUOTE_CLOSE and depth:
            depth -= 1
        elif ch in separators and not depth:
            pieces.append("".join(current))
            current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    return [_unquoted(piece.strip()) for piece in pieces]


def _unquoted(piece: str) -> str:
    """「…」 → …, when the opening bracket closes at the piece's end (not 「甲」、「乙」)."""
    if not piece.startswith(QUOTE_OPEN):
        return piece
    depth = 0
    for index, ch in enumerate(piece):
        depth += ch == QUOTE_OPEN
        depth -= ch == QUOTE_CLOSE and depth > 0
        if depth == 0:
            return piece[1:-1] if index == len(piece) - 1 else piece
    return piece


def rubric_lines(items: list[dict]) -> list[str]:
    """Keypoints (or deductions) one a line, as the spreadsheet writes them — ``要点|分值|短语、短语`` —
    except that a phrase holding 、 or / (“省、自治区、直辖市人民政府”) is written in 「」, and a
    keypoint holding | too, so that the line reads back exactly."""
    return [
        f"{_quoted(item['point'], '|')}|{grading.plain_number(item['points'])}|"
        + "、".join(_quoted(phrase, PHRASE_SEPARATORS + "|") for phrase in item["phrases"])
        for item in items
    ]


def rubric_from_lines(lines: list[str]) -> list[dict] | str:
    """Keypoints (or deductions) from lines ``要点|分值|短语、短语`` (「」 around a phrase that holds
    、; a line may hold several items separated by ；, as in the spreadsheet): the list the validator
    takes, so a keypoint's text may hold ；. When a line is not of that shape, the lines as the
    spreadsheet's text, for the validator to name the problem."""
    items = []
    for line in filter(None, (line.strip() for line in lines)):
        pieces = [line] if len(_split_outside(line, "|")) == 3 else _split_outside(line, "；;")
        for piece in filter(None, pieces):
            parts = _split_outside(piece, "|")
            if len(parts) != 3:
                return "\n".join(lines)
            items.append(
                {
                    "point": parts[0],
                    "points": parts[1],
                    "phrases": _split_outside(parts[2], PHRASE_SEPARATORS),
                }
            )
    return items
