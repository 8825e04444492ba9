"""Moodle's interchange formats — GIFT, Aiken and Moodle XML — in and out, for the types both sides
have: single (multichoice, one right), multiple (multichoice with partial credit), judge
(truefalse), fill (shortanswer, a blank in the stem) and calc (numerical with a unit).

简答 and 情景应答 (short, situation) go as Moodle's essay: the model answer and the rubric in the
grader information (XML) or in comments before the question (GIFT), one a line — ``参考答案：…``,
``评分要点：要点|分值|短语、短语``, ``扣分项：…`` — and a situation's words in the question text after
a line ``群众原话：``. A foreign essay without such keypoints is a problem (it names how to add them),
not a question imported without a rubric. Aiken holds single choice only.

What Moodle has and this bank cannot carry (matching, cloze, per-option feedback, answer
weights) is named on the record (``RawRecord.lost``) or, for a question that cannot be imported at
all, as a ``Skipped`` entry: the preview lists both, nothing is dropped silently. Our fields that
Moodle lacks (category, ability, difficulty, source, locator, quote, note) travel in a comment
``quizapp {json}`` before each question, which Moodle ignores and this importer reads back: our bank
→ GIFT/XML → our bank gives the same questions.

The module is long because the three formats' readers and writers share their rules for what can be
carried, and keeping each pair side by side keeps a round trip honest.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ...models.bank import TYPE_LABELS, WRITTEN_TYPES
from ..errors import Problem
from .format import BLANK, OPTION_KEYS, RawRecord
from .rubric import rubric_from_lines, rubric_lines

META_PREFIX = "quizapp "
GIFT_SPECIAL = "~=#{}:\\"
TAG = re.compile(r"<[^>]{0,2000}>")
MAX_QUESTIONS = 20_000


@dataclass(frozen=True)
class Skipped:
    """A question the file holds that this bank has no type for."""

    file: str
    row: str
    kind: str
    stem: str


def _plain(text: str, fmt: str | None) -> str:
    """Question text as plain text: HTML (Moodle's default format) loses its tags."""
    if fmt in (None, "html") and "<" in text:
        text = re.sub(r"(?i)<br\s*/?>|</p>\s*<p[^>]*>", "\n", text)
        text = TAG.sub("", text)
    return html.unescape(text).strip() if fmt in (None, "html") else text.strip()


def _meta(raw: str | None, problems: list[Problem], name: str, row: str) -> dict:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        problems.append(Problem(name, row, None, "quizapp 注释不是有效的 JSON"))
        return {}
    return value if isinstance(value, dict) else {}


def _values(meta: dict, defaults: dict) -> dict:
    values = {key: value for key, value in defaults.items() if value not in (None, "")}
    for key in (
        "category",
        "ability",
        "difficulty",
        "source",
        "locator",
        "quote",
        "note",
        "reserved",
        "unit",
    ):
        if meta.get(key) not in (None, ""):
            values[key] = meta[key]
    return values


# ---------------------------------------------------------------------------------------------
# Written questions (简答, 情景应答) in formats with no field for a rubric: labelled lines


SAYS_LINE = re.compile(r"(?m)^[ \t]*[【\[]?群众原话[】\]]?[ \t]*[:：]")
WRITTEN_LINE = re.compile(
    r"^\s*[【\[]?(?P<label>参考答案|参考应答|评分要点|扣分项)[】\]]?\s*[:：]\s*(?P<text>.*)$", re.S
)
WRITTEN_FIELDS = {"参考答案": "answer", "参考应答": "answer", "评分要点": "rubric", "扣分项": "deductions"}


def with_says(stem: str, says: str | None) -> str:
    """A situation's scene and, after a line ``群众原话：``, what the member of the public says."""
    return f"{stem}\n\n群众原话：{says}" if says else stem


def split_says(text: str) -> tuple[str, str | None]:
    match = SAYS_LINE.search(text)
    if match is None:
        return text, None
    return text[: match.start()].strip(), text[match.end() :].strip()


def grader_lines(row: dict) -> list[str]:
    """A written question's model answer, keypoints and deductions as labelled lines (the model answer
    may run over several)."""
    answer = row["answer"]
    return (
        [f"参考答案：{answer['model']}"]
        + [f"评分要点：{line}" for line in rubric_lines(answer["rubric"])]
        + [f"扣分项：{line}" for line in rubric_lines(answer["deductions"])]
    )


def read_grader_text(text: str) -> dict[str, list[str]]:
    """Labelled lines → {"answer": lines, "rubric": lines, "deductions": lines}. Lines before any label
    are the model answer (a grader's information as Moodle users write it)."""
    parts: dict[str, list[str]] = {"answer": [], "rubric": [], "deductions": []}
    current = "answer"
    for line in text.split("\n"):
        match = WRITTEN_LINE.match(line)
        if match:
            current = WRITTEN_FIELDS[match.group("label")]
            line = match.group("text")
        if current == "answer" or line.strip():
            parts[current].append(line)
    return parts


def written_values(text: str, grader: str) -> dict:
    """The values of a written question from its text and its grader lines (``rubric`` empty when they
    hold no keypoints)."""
    stem, says = split_says(text)
    parts = read_grader_text(grader)
    values = {
        "type": "situation" if says else "short",
        "stem": stem,
        "answer": "\n".join(parts["answer"]).strip(),
        "rubric": rubric_from_lines(parts["rubric"]),
        "deductions": rubric_from_lines(parts["deductions"]),
    }
    if says:
        values["says"] = says
    return values


def _no_rubric(file: str, row: str, title: str | None, qtype: str, where: str) -> Problem:
    named = f"“{title.strip()[:20]}”" if title and title.strip() else ""
    return Problem(
        file,
        row,
        "评分要点",
        f"{TYPE_LABELS[qtype]}题{named}缺少评分要点：问答题（essay）须在{where}逐行写明“评分要点：要点|分值|短语、短语”"
        "（可另写“参考答案：……”“扣分项：……”）才能导入；或从文件中删去这道题",
    )


# ---------------------------------------------------------------------------------------------
# GIFT


def _unescape_gift(text: str) -> str:
    return re.sub(r"\\([~=#{}:\\n])", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def _escape_gift(text: str) -> str:
    return "".join("\\" + ch if ch in GIFT_SPECIAL else ch for ch in text).replace("\n", "\\n")


def _split_unescaped(text: str, marks: str) -> list[tuple[str, str]]:
    """Split at unescaped characters of ``marks``: [(mark or "", piece)…]."""
    parts, current, mark, index = [], [], "", 0
    while index < len(text):
        ch = text[index]
        if ch == "\\" and index + 1 < len(text):
            current.append(text[index : index + 2])
            index += 2
            continue
        if ch in marks:
            parts.append((mark, "".join(current)))
            current, mark = [], ch
        else:
            current.append(ch)
        index += 1
    parts.append((mark, "".join(current)))
    return parts


def _find_unescaped(text: str, char: str, start: int = 0) -> int:
    index = start
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == char:
            return index
        index += 1
    return -1


def _gift_blocks(text: str) -> list[tuple[int, list[str], str | None, str | None, list[str]]]:
    """(first line, lines, quizapp meta, $CATEGORY, grader lines) per question: questions are separated
    by blank lines; ``//`` lines are comments, those labelled 参考答案/评分要点/扣分项 (before the
    question or within it) an essay's grader lines."""
    blocks, lines, first, meta, category, notes = [], [], 0, None, None, []
    pending_meta, pending_notes = None, []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if stripped.startswith("//"):
            comment = stripped[2:].strip()
            if comment.startswith(META_PREFIX):
                pending_meta = comment[len(META_PREFIX) :]
            elif WRITTEN_LINE.match(comment):
                (notes if lines else pending_notes).append(_unescape_gift(comment))
            continue
        if stripped.startswith("$CATEGORY:") and not lines:
            category = stripped[len("$CATEGORY:") :].strip()
            continue
        if not stripped:
            if lines:
                blocks.append((first, lines, meta, category, notes))
                lines, meta, notes = [], None, []
            continue
        if not lines:
            first, meta, pending_meta = number, pending_meta, None
            notes, pending_notes = pending_notes, []
        lines.append(line)
    if lines:
        blocks.append((first, lines, meta, category, notes))
    return blocks


def _gift_answers(body: str) -> list[tuple[str, float | None, str, str]]:
    """(mark, weight %, text, feedback) per answer of an answer block."""
    answers = []
    for mark, piece in _split_unescaped(body, "=~")[1:]:
        weight = None
        match = re.match(r"\s*%(-?\d+(?:\.\d+)?)%", piece)
        if match:
            weight = float(match.group(1))
            piece = piece[match.end() :]
        cut = _find_unescaped(piece, "#")
        text, feedback = (piece[:cut], piece[cut + 1 :]) if cut >= 0 else (piece, "")
        answers.append((mark, weight, _unescape_gift(text).strip(), _unescape_gift(feedback).strip()))
    return answers


def parse_gift(name: str, text: str, defaults: dict | None = None):
    """GIFT text → (records, problems, skipped). Every syntax error names its line."""
    defaults = defaults or {}
    records: list[RawRecord] = []
    problems: list[Problem] = []
    skipped: list[Skipped] = []
    blocks = _gift_blocks(text)
    if not blocks:
        problems.append(Problem(name, "", "file", "文件中没有题目"))
    if len(blocks) > MAX_QUESTIONS:
        problems.append(Problem(name, "", "file", f"文件超过 {MAX_QUESTIONS:,} 题的上限，请拆分后分批导入"))
        return [], problems, []
    for first, lines, raw_meta, moodle_category, notes in blocks:
        row = f"第{first}行"
        source = "\n".join(lines).strip()
        fmt = None
        title = ""
        if source.startswith("::"):
            end = source.find("::", 2)
            if end < 0:
                problems.append(Problem(name, row, "题目名称", "题目名称缺少结尾的 ::"))
                continue
            title, source = source[2:end].strip(), source[end + 2 :].strip()
        match = re.match(r"\[(html|moodle|plain|markdown)\]", source)
        if match:
            fmt, source = match.group(1), source[match.end() :]
        opening = _find_unescaped(source, "{")
        if opening < 0:
            if _find_unescaped(source, "}") >= 0:
                problems.append(Problem(name, row, "答案", "有 } 却没有对应的 {"))
            else:
                skipped.append(
                    Skipped(name, row, "说明文字（没有答案部分 {…}）", _unescape_gift(source)[:60])
                )
            continue
        closing = _find_unescaped(source, "}", opening + 1)
        if closing < 0:
            line = first + source[:opening].count("\n")
            problems.append(
                Problem(
                    name,
                    f"第{line}行",
                    "答案",
                    "答案部分 { 没有对应的 }（特殊字符 ~ = # { } : 须写作 \\~ 等）",
                )
            )
            continue
        if _find_unescaped(source, "{", closing + 1) >= 0:
            problems.append(
                Problem(name, row, "答案", "一道题只能有一个答案部分 {…}（完形填空类题目本平台不支持）")
            )
            continue
        before = _plain(_unescape_gift(source[:opening]), "html" if fmt in ("html", "moodle") else "plain")
        after = _plain(_unescape_gift(source[closing + 1 :]), "plain")
        body = source[opening + 1 : closing]
        general = ""
        cut = body.find("####")
        if cut >= 0:
            general, body = _unescape_gift(body[cut + 4 :]).strip(), body[:cut]
        body_stripped = body.strip()
        meta = _meta(raw_meta, problems, name, row)
        values = _values(meta, defaults)
        category = (moodle_category or "").rsplit("/", 1)[-1].strip()
        if category and "category" not in meta:
            values.setdefault("category", category)  # checked against the bank's categories
        lost: list[str] = []
        if title and not re.fullmatch(r"(Q|q|题)?\d+", title) and title != before[: len(title)]:
            lost.append(f"题目名称“{title[:20]}”")
        if body_stripped == "":  # an essay: 简答 or 情景应答, its rubric in the comments
            written = written_values(before + ((" " + after) if after else ""), "\n".join(notes))
            if not written["rubric"]:
                where = "题目前的注释中（“// ”开头的行）"
                problems.append(_no_rubric(name, row, title, written["type"], where))
                continue
            values.update(written)
        elif body_stripped.startswith("#"):
            numbers = body_stripped[1:].split("#", 1)[0].strip()
            number_match = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?", numbers)
            if not number_match:
                problems.append(
                    Problem(name, row, "答案", f"数值题的答案“{numbers[:20]}”无法识别（应为 {{#600:0.5}}）")
                )
                continue
            if not values.get("unit"):
                skipped.append(Skipped(name, row, "数值题（没有单位，本平台的计算题须有单位）", before[:60]))
                continue
            values.update(
                type="calc",
                stem=before,
                answer={
                    "value": number_match.group(1),
                    "unit": values.pop("unit"),
                    "tolerance": number_match.group(2) or 0,
                },
            )
        elif "->" in body:
            skipped.append(Skipped(name, row, "匹配题（matching）", before[:60]))
            continue
        elif re.fullmatch(r"(T|F|TRUE|FALSE)(#.*)?", body_stripped, re.S):
            values.update(type="judge", stem=before + ((" " + after) if after else ""))
            values["answer"] = body_stripped.split("#", 1)[0] in ("T", "TRUE")
            if "#" in body_stripped:
                lost.append("判断题的答题反馈")
        else:
            answers = _gift_answers(body)
            if not answers or body.strip()[0] not in "=~":
                problems.append(
                    Problem(
                        name, row, "答案", f"答案部分“{body_stripped[:30]}”无法识别：每个答案应以 = 或 ~ 开头"
                    )
                )
                continue
            rights = [a for a in answers if a[0] == "=" or (a[1] or 0) > 0]
            if any(a[0] == "=" and "->" in a[2] for a in answers):
                skipped.append(Skipped(name, row, "匹配题（matching）", before[:60]))
                continue
            if any(a[3] for a in answers):
                lost.append("选项反馈")
            if all(a[0] == "=" for a in answers):  # short answer: our 填空
                alternatives = [a[2] for a in answers if a[2]]
                if any(a[1] not in (None, 100.0) for a in answers):
                    lost.append("备选答案的部分分值（都按全对）")
                stem_text = before + BLANK + after if BLANK not in before + after else before + after
                values.update(type="fill", stem=stem_text, answer=[alternatives])
            else:
                if not rights:
                    problems.append(Problem(name, row, "答案", "选择题没有正确选项（= 或正分值的 ~%50%）"))
                    continue
                if len(answers) > len(OPTION_KEYS):
                    problems.append(Problem(name, row, "选项", f"选项超过 {len(OPTION_KEYS)} 个"))
                    continue
                options = {OPTION_KEYS[i]: a[2] for i, a in enumerate(answers)}
                keys = [OPTION_KEYS[i] for i, a in enumerate(answers) if a in rights]
                multiple = len(keys) > 1 or any(a[1] is not None and 0 < a[1] < 100 for a in answers)
                if multiple and not _even(rights):
                    lost.append("多选题的分值权重（按本平台规则：全对满分，少选得一半，错选不得分）")
                values.update(
                    type="multiple" if multiple else "single",
                    stem=before + ((" " + after) if after else ""),
                    options=options,
                    answer=keys if multiple else keys[0],
                )
        if general:
            values.setdefault("explanation", general)
        elif "explanation" not in values:
            lost.append("解析（文件中没有总体反馈 ####）")
        records.append(RawRecord(name, row, values, None, None, unsourced_ok=True, lost=lost))
    return records, problems, skipped


def _even(rights) -> bool:
    weights = {round(a[1] or 0, 1) for a in rights}
    return len(weights) == 1


def _meta_of(row: dict) -> dict:
    meta = {key: row[key] for key in ("category", "ability", "difficulty") if row.get(key) is not None}
    for key in ("source", "locator", "quote", "note"):
        if row.get(key):
            meta[key] = row[key]
    if row.get("reserved"):
        meta["reserved"] = True
    if row["type"] == "calc":
        meta["unit"] = "|".join(row["answer"]["unit"])
    return meta


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def export_gift(rows: list[dict]) -> tuple[bytes, list[str]]:
    """GIFT text and what could not be written (a fill with several blanks, a case's sub-question
    loses its case text: both named in the file's head comment and returned). 简答 and 情景应答 are
    essays (``{}``), their model answer and rubric in ``//`` lines before them."""
    out, left = [], []
    for index, row in enumerate(rows, 1):
        if row.get("case"):
            left.append(f"第{index}题：案例小题（GIFT 没有案例材料），未导出")
            continue
        stem = row["stem"]
        feedback = "####" + _escape_gift(row["explanation"]) if row.get("explanation") else ""
        qtype = row["type"]
        if qtype == "fill":
            if len(row["answer"]) != 1 or stem.count(BLANK) != 1:
                left.append(f"第{index}题：多空填空题（GIFT 一题只能有一个空），未导出")
                continue
            head, tail = stem.split(BLANK)
            answers = " ".join("=" + _escape_gift(alt) for alt in row["answer"][0])
            text = f"{_escape_gift(head)}{{{answers}{feedback}}}{_escape_gift(tail)}"
        elif qtype == "judge":
            text = f"{_escape_gift(stem)} {{{'TRUE' if row['answer'] else 'FALSE'}{feedback}}}"
        elif qtype == "single":
            answers = " ".join(
                ("=" if option["key"] == row["answer"] else "~") + _escape_gift(option["text"])
                for option in row["options"]
            )
            text = f"{_escape_gift(stem)} {{{answers}{feedback}}}"
        elif qtype == "multiple":
            right = 100 / len(row["answer"])
            answers = " ".join(
                (f"~%{_weight(right)}%" if option["key"] in row["answer"] else "~%-100%")
                + _escape_gift(option["text"])
                for option in row["options"]
            )
            text = f"{_escape_gift(stem)} {{{answers}{feedback}}}"
        elif qtype == "calc":
            answer = row["answer"]
            text = f"{_escape_gift(stem)} {{#{_number(answer['value'])}:{_number(answer['tolerance'])}{feedback}}}"
        elif qtype in WRITTEN_TYPES:  # an essay; the model answer and the rubric in comments
            text = f"{_escape_gift(with_says(stem, row.get('says')))} {{{feedback}}}"
        else:
            left.append(f"第{index}题：题型 {qtype} 无法导出为 GIFT")
            continue
        meta = json.dumps(_meta_of(row), ensure_ascii=False)
        notes = (
            "".join(f"// {_escape_gift(line)}\n" for line in grader_lines(row))
            if qtype in WRITTEN_TYPES
            else ""
        )
        out.append(f"// {META_PREFIX}{meta}\n{notes}::Q{index}:: {text}\n")
    head = "// 题库导出（GIFT 格式）\n" + "".join(f"// 未导出：{item}\n" for item in left) + "\n"
    return (head + "\n".join(out)).encode("utf-8"), left


def _weight(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------------------------------------
# Aiken: single choice only


AIKEN_OPTION = re.compile(r"^([A-Z])\s*[.)、．]\s*(.*)$")
AIKEN_ANSWER = re.compile(r"^ANSWER\s*[:：]\s*([A-Z])\s*$")


def looks_like_aiken(text: str) -> bool:
    return bool(re.search(r"(?m)^ANSWER\s*[:：]\s*[A-Z]\s*$", text)) and "{" not in text


def parse_aiken(name: str, text: str, defaults: dict | None = None):
    """Aiken: a stem line, options ``A.`` or ``A)``, then ``ANSWER: B``; questions may be separated by
    blank lines. Aiken carries no explanation: the preview says so."""
    records: list[RawRecord] = []
    problems: list[Problem] = []
    stem, options, first = None, {}, 0
    for number, raw_line in enumerate(text.split("\n"), 1):
        line = raw_line.strip()
        if not line:
            continue
        answer = AIKEN_ANSWER.match(line)
        option = AIKEN_OPTION.match(line)
        if stem is None:
            if answer or (option and not options):
                problems.append(Problem(name, f"第{number}行", "题干", "这里应是一道题的题干"))
                continue
            stem, options, first = line, {}, number
        elif answer:
            letter = answer.group(1)
            if len(options) < 2:
                problems.append(Problem(name, f"第{first}行", "选项", "Aiken 题目至少需要两个选项"))
            elif letter not in options:
                problems.append(Problem(name, f"第{number}行", "答案", f"答案 {letter} 不是这道题的选项"))
            else:
                values = {k: v for k, v in (defaults or {}).items() if v not in (None, "")}
                values.update(type="single", stem=stem, options=options, answer=letter)
                lost = []
                if "explanation" not in values:
                    lost.append("解析（Aiken 格式不含解析）")
                records.append(
                    RawRecord(name, f"第{first}行", values, None, None, unsourced_ok=True, lost=lost)
                )
            stem = None
        elif option:
            options[option.group(1)] = option.group(2).strip()
        elif options:
            problems.append(Problem(name, f"第{number}行", None, "选项之后应为“ANSWER: 字母”"))
        else:
            stem += "\n" + line
    if stem is not None:
        problems.append(Problem(name, f"第{first}行", "答案", "缺少“ANSWER: 字母”一行"))
    if not records and not problems:
        problems.append(Problem(name, "", "file", "文件中没有题目"))
    return records, problems, []


def export_aiken(rows: list[dict]) -> tuple[bytes, list[str]]:
    """Aiken text and what it cannot hold (every type but single choice, 简答 and 情景应答 too): Aiken
    has no comments, so that list is only returned."""
    out, left = [], []
    for index, row in enumerate(rows, 1):
        if row["type"] != "single" or row.get("case"):
            kind = "案例小题" if row.get("case") else f"{TYPE_LABELS.get(row['type'], row['type'])}题"
            left.append(f"第{index}题：{kind}（Aiken 只能表示单选题），未导出")
            continue
        lines = [row["stem"].replace("\n", " ")]
        lines += [f"{o['key']}. {o['text']}".replace("\n", " ") for o in row["options"]]
        lines.append(f"ANSWER: {row['answer']}")
        out.append("\n".join(lines))
    return ("\n\n".join(out) + "\n").encode("utf-8"), left


# ---------------------------------------------------------------------------------------------
# Moodle XML


def records_from_moodle_xml(name: str, questions: list[dict], defaults: dict | None = None):
    records: list[RawRecord] = []
    problems: list[Problem] = []
    skipped: list[Skipped] = []
    category = None
    for entry in questions[:MAX_QUESTIONS]:
        row = f"第{entry['line']}行"
        qtype = entry["type"]
        if qtype == "category":
            category = (entry.get("category") or "").rsplit("/", 1)[-1].strip() or None
            continue
        stem = _plain(entry.get("text") or "", entry.get("format"))
        meta = _meta(entry.get("meta"), problems, name, row)
        values = _values(meta, defaults or {})
        if category and "category" not in meta:
            values["category"] = category
        lost = [f"<{tag}>" for tag in entry.get("others", [])]
        answers = entry.get("answers") or []
        fractions = []
        for answer in answers:
            try:
                fractions.append(float(answer["fraction"]))
            except ValueError:
                fractions.append(None)
        if None in fractions:
            problems.append(Problem(name, row, "答案", "answer 的 fraction 应为数字"))
            continue
        texts = [_plain(a["text"], a.get("format")) for a in answers]
        if any(a.get("feedback") for a in answers):
            lost.append("选项反馈")
        if qtype == "multichoice":
            if len(answers) > len(OPTION_KEYS) or len(answers) < 2:
                problems.append(Problem(name, row, "选项", f"选项应为 2–{len(OPTION_KEYS)} 个"))
                continue
            keys = [OPTION_KEYS[i] for i, f in enumerate(fractions) if f > 0]
            single = (entry.get("single") or "true").strip().lower() in ("true", "1")
            options = {OPTION_KEYS[i]: text for i, text in enumerate(texts)}
            if not keys:
                problems.append(Problem(name, row, "答案", "没有正确选项（fraction 大于 0 的 answer）"))
                continue
            if not single and len({round(f, 1) for f in fractions if f > 0}) > 1:
                lost.append("多选题的分值权重（按本平台规则：全对满分，少选得一半，错选不得分）")
            values.update(
                type="single" if single else "multiple",
                stem=stem,
                options=options,
                answer=keys[0] if single else keys,
            )
            if single and len(keys) > 1:
                problems.append(Problem(name, row, "答案", "单选题有多个正确选项"))
                continue
        elif qtype == "truefalse":
            truth = next((text.lower() for text, f in zip(texts, fractions, strict=True) if f >= 100), None)
            if truth not in ("true", "false", "正确", "错误", "对", "错"):
                problems.append(Problem(name, row, "答案", "判断题的正确答案应为 true 或 false"))
                continue
            values.update(type="judge", stem=stem, answer=truth in ("true", "正确", "对"))
        elif qtype == "shortanswer":
            alternatives = [t for t, f in zip(texts, fractions, strict=True) if f > 0 and t]
            if any(0 < f < 100 for f in fractions):
                lost.append("备选答案的部分分值（都按全对）")
            stem_text = stem if BLANK in stem else stem + BLANK
            values.update(type="fill", stem=stem_text, answer=[alternatives])
        elif qtype == "numerical":
            unit = values.pop("unit", None) or next((u for u in entry.get("units") or [] if u), None)
            right = next((a for a, f in zip(answers, fractions, strict=True) if f >= 100), None)
            if right is None or not unit:
                skipped.append(
                    Skipped(name, row, "数值题（没有单位或正确答案，本平台的计算题须有单位）", stem[:60])
                )
                continue
            values.update(
                type="calc",
                stem=stem,
                answer={"value": right["text"], "unit": unit, "tolerance": right.get("tolerance") or 0},
            )
        elif qtype == "essay":  # 简答 or 情景应答: the rubric in the grader information
            grader = _plain(entry.get("graderinfo") or "", entry.get("graderinfo_format"))
            written = written_values(stem, grader)
            if not written["rubric"]:
                where = "评分说明（graderinfo）中"
                problems.append(_no_rubric(name, row, entry.get("name"), written["type"], where))
                continue
            values.update(written)
        elif qtype in (
            "matching",
            "cloze",
            "multianswer",
            "description",
            "ddwtos",
            "gapselect",
            "ddmatch",
            "randomsamatch",
            "calculated",
            "calculatedsimple",
            "calculatedmulti",
            "ordering",
        ):
            labels = {
                "matching": "匹配题（matching）",
                "description": "说明文字（description）",
            }
            skipped.append(Skipped(name, row, labels.get(qtype, f"{qtype} 题"), stem[:60]))
            continue
        else:
            problems.append(Problem(name, row, "题型", f"无法识别的 Moodle 题型“{qtype[:30]}”"))
            continue
        feedback = _plain(entry.get("feedback") or "", "html")
        if feedback:
            values.setdefault("explanation", feedback)
        elif "explanation" not in values:
            lost.append("解析（文件中没有 generalfeedback）")
        records.append(RawRecord(name, row, values, None, None, unsourced_ok=True, lost=lost))
    if len(questions) > MAX_QUESTIONS:
        problems.append(Problem(name, "", "file", f"文件超过 {MAX_QUESTIONS:,} 题的上限，请拆分后分批导入"))
    if not records and not problems and not skipped:
        problems.append(Problem(name, "", "file", "文件中没有题目"))
    return records, problems, skipped


def _xml_text(tag: str, text: str, fmt: str | None = None) -> str:
    attr = f' format="{fmt}"' if fmt else ""
    return f"<{tag}{attr}><text>{escape(text)}</text></{tag}>"


def export_moodle_xml(rows: list[dict]) -> tuple[bytes, list[str]]:
    """Moodle XML and what it cannot hold (a case's sub-question, a fill with several blanks). 简答 and
    情景应答 are essays worth their keypoints' total, the model answer and rubric in ``graderinfo``."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    left: list[str] = []
    category = None
    for index, row in enumerate(rows, 1):
        if row.get("case"):
            left.append(f"第{index}题：案例小题（Moodle XML 没有案例材料），未导出")
            continue
        if row["type"] == "fill" and (len(row["answer"]) != 1 or row["stem"].count(BLANK) != 1):
            left.append(f"第{index}题：多空填空题（shortanswer 只有一个空），未导出")
            continue
        if row.get("category") != category:
            category = row.get("category")
            out.append(
                f'<question type="category"><category><text>$course$/题库/{escape(category or "")}</text></category></question>'
            )
        meta = json.dumps(_meta_of(row), ensure_ascii=False).replace("--", "\\u002d\\u002d")
        qtype = {
            "single": "multichoice",
            "multiple": "multichoice",
            "judge": "truefalse",
            "fill": "shortanswer",
            "calc": "numerical",
            "short": "essay",
            "situation": "essay",
        }[row["type"]]
        written = row["type"] in WRITTEN_TYPES
        grade = sum(item["points"] for item in row["answer"]["rubric"]) if written else 1
        parts = [
            f'<question type="{qtype}">',
            f"<!-- {META_PREFIX}{meta} -->",
            _xml_text("name", f"Q{index}"),
            _xml_text("questiontext", with_says(row["stem"], row.get("says")), "plain_text"),
            _xml_text("generalfeedback", row.get("explanation") or "", "plain_text"),
            f"<defaultgrade>{_number(grade)}</defaultgrade>",
        ]
        if written:  # the model answer and the rubric for Moodle's graders, and for our reader
            parts.append(
                "<responseformat>plain</responseformat><responserequired>1</responserequired>"
                "<responsefieldlines>15</responsefieldlines><attachments>0</attachments>"
            )
            parts.append(_xml_text("graderinfo", "\n".join(grader_lines(row)), "plain_text"))
        elif row["type"] in ("single", "multiple"):
            parts.append(f"<single>{'true' if row['type'] == 'single' else 'false'}</single>")
            parts.append("<shuffleanswers>true</shuffleanswers><answernumbering>ABCD</answernumbering>")
            right = 100 / (1 if row["type"] == "single" else len(row["answer"]))
            for option in row["options"]:
                correct = option["key"] in (row["answer"] if row["type"] == "multiple" else [row["answer"]])
                fraction = _weight(right) if correct else ("0" if row["type"] == "single" else "-100")
                parts.append(
                    f'<answer fraction="{fraction}" format="plain_text"><text>{escape(option["text"])}</text></answer>'
                )
        elif row["type"] == "judge":
            parts.append(f'<answer fraction="{100 if row["answer"] else 0}"><text>true</text></answer>')
            parts.append(f'<answer fraction="{0 if row["answer"] else 100}"><text>false</text></answer>')
        elif row["type"] == "fill":
            for alternative in row["answer"][0]:
                parts.append(f'<answer fraction="100"><text>{escape(alternative)}</text></answer>')
        elif row["type"] == "calc":
            answer = row["answer"]
            parts.append(
                f'<answer fraction="100"><text>{_number(answer["value"])}</text>'
                f"<tolerance>{_number(answer['tolerance'])}</tolerance></answer>"
            )
            parts.append(
                "<units>"
                + "".join(
                    f"<unit><multiplier>1</multiplier><unit_name>{escape(unit)}</unit_name></unit>"
                    for unit in answer["unit"]
                )
                + "</units>"
            )
        parts.append("</question>")
        out.append("\n".join(parts))
    out.append("</quiz>")
    return ("\n".join(out) + "\n").encode("utf-8"), left
