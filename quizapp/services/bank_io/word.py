"""Word banks: the layouts units keep their questions in, read from a .docx's paragraphs.

The child process (``upload_child.read_docx``) hands over the document's paragraphs, table cells
included, in reading order; this module turns them into raw records, naming every paragraph it
cannot read (第N段) and why. What it reads:

- headings per type: 一、单选题 / 单项选择题 / 多选题 / 判断题 / 填空题 / 简答题 / 情景应答题
  (论述题, 案例分析题 and the like are named as not supported, question by question);
- numbered questions ``1.`` ``1、`` ``1．`` ``（1）``, a stem over one or more paragraphs;
- options ``A.`` ``A、`` ``A．`` ``A:`` ``(A)`` ``（A）``, one a paragraph or several on one line;
- ``答案：B`` and ``解析：…`` (over several paragraphs) under the question, or the key in the stem's
  brackets (``……（B）``, ``……（√）``), or a trailing answer section (``参考答案`` then ``1.B 2.ACD
  3.√`` or ``1-5 BCADA``, per type heading when numbering restarts);
- 判断 as √ × 对 错 正确 错误; blanks as ____ or empty brackets （ ）;
- 简答 and 情景应答: ``参考答案：…``, one ``评分要点：要点|分值|短语、短语`` a keypoint (or the lines
  under one ``评分要点：``), optional ``扣分项：…`` the same way, and for a situation ``群众原话：…``;
- optional lines 类别： 能力： 难度： 来源： 条款： 原文： 备注： 考试专用： per question.

A paragraph with line breaks (Shift+Enter) is one paragraph: its first line says what it is (a
numbered stem, a labelled line), the rest continues it. ``export_docx`` writes this layout, so a
bank exported to Word reads back as the same questions.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from ...models.bank import TYPE_LABELS, WRITTEN_TYPES
from .. import grading
from ..errors import Problem
from .format import BLANK, RawRecord
from .rubric import rubric_from_lines, rubric_lines

TYPE_HEADINGS = [
    (re.compile(r"多项选择|多选"), "multiple"),
    (re.compile(r"单项选择|单选|选择题"), "single"),
    (re.compile(r"判断"), "judge"),
    (re.compile(r"填空"), "fill"),
    (re.compile(r"情景应答|情景模拟|情景"), "situation"),
    (re.compile(r"简答|问答"), "short"),
    (re.compile(r"论述|案例|计算|名词解释|综合|材料分析"), None),  # not carried
]
UNSUPPORTED = (
    "本平台的题型为单选、多选、判断、填空、简答、情景应答：这一部分的题目无法导入（请删去，或改写为以上题型）"
)
HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]\s*|第[一二三四五六七八九十]+部分\s*)?(?P<title>.{2,24})$"
)
QUESTION = re.compile(r"^\s*(?:(?P<n>\d{1,4})\s*[.．、。)）]|[(（](?P<m>\d{1,4})[)）])\s*(?P<text>.*)$")
OPTION_START = re.compile(r"^\s*[(（]?(?P<key>[A-Fa-f])(?:[)）]\s*[.．、:：]?|\s*[.．、:：])\s*(?P<text>.*)$")
INLINE_OPTION = re.compile(
    r"(?:^|\s+|(?<=[。；;]))[(（]?(?P<key>[A-F])(?:[)）]\s*[.．、:：]?|\s*[.．、:：])\s*"
)
LABEL = re.compile(
    r"^\s*[【\[]?(?P<label>参考答案|参考应答|正确答案|答案|答案解析|试题解析|解析|类别|业务类别|能力|难度|来源|来源文件|条款|条款位置|原文|原文引用|备注|考试专用|群众原话|评分要点|扣分项)[】\]]?\s*[:：]?\s*(?P<text>.*)$"
)
LABEL_FIELDS = {
    "参考答案": "answer",
    "参考应答": "answer",
    "正确答案": "answer",
    "答案": "answer",
    "答案解析": "explanation",
    "试题解析": "explanation",
    "解析": "explanation",
    "类别": "category",
    "业务类别": "category",
    "能力": "ability",
    "难度": "difficulty",
    "来源": "source",
    "来源文件": "source",
    "条款": "locator",
    "条款位置": "locator",
    "原文": "quote",
    "原文引用": "quote",
    "备注": "note",
    "考试专用": "reserved",
    "群众原话": "says",
    "评分要点": "rubric",
    "扣分项": "deductions",
}
LINE_FIELDS = ("rubric", "deductions")  # one item a line, the label repeated or the lines under it
PART_LABELS = {
    "options": "选项",
    "answer": "答案",
    "category": "类别",
    "ability": "能力",
    "difficulty": "难度",
    "source": "来源",
    "locator": "条款",
    "reserved": "考试专用",
    "says": "群众原话",
    "rubric": "评分要点",
    "deductions": "扣分项",
}
ANSWER_SECTION = re.compile(
    r"^\s*[【\[]?(?:参考答案|答案|标准答案|答案及解析|参考答案及解析)[】\]]?\s*[:：]?\s*$"
)
KEY_TOKEN = re.compile(
    r"(?P<n>\d{1,4})\s*[.．、:：)）]?\s*(?P<key>[A-Fa-f]{1,6}|√|×|✓|✗|对|错|正确|错误)(?![A-Za-z\u4e00-\u9fff])"
)
KEY_RANGE = re.compile(
    r"(?P<a>\d{1,4})\s*[-—–~～]\s*(?P<b>\d{1,4})\s*[.．、:：]?\s*(?P<keys>[A-Fa-f√×对错]{2,})"
)
BRACKET = re.compile(r"[(（]\s*(?P<inner>[^()（）]{0,12}?)\s*[)）]")
CHOICE_KEY = re.compile(r"^[A-Fa-f]{1,6}$")
JUDGE_KEY = {"√", "×", "✓", "✗", "对", "错", "正确", "错误"}
BLANK_RUN = re.compile(r"_{2,}|＿{2,}|[(（][\s\u3000]*[)）]")


@dataclass
class _Question:
    paragraph: int
    number: int
    type: str | None
    section: int  # which type heading it sits under (numbering may restart per heading)
    stem: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)  # 评分要点, 扣分项: one item a line
    last: str = "stem"  # the part a continuation paragraph belongs to

    @property
    def written(self) -> bool:
        return self.type in WRITTEN_TYPES


def _heading_type(text: str):
    """(True, type or None) when the paragraph is a type heading, else (False, None)."""
    match = HEADING.match(text.strip())
    if not match or QUESTION.match(text) or len(text.strip()) > 30:
        return False, None
    title = match.group("title")
    if not title.rstrip("（）()0-9分每题共，, ：:").endswith("题") and "题" not in title[:8]:
        return False, None
    for pattern, qtype in TYPE_HEADINGS:
        if pattern.search(title):
            return True, qtype
    return False, None


def _split_options(text: str) -> list[tuple[str, str]] | None:
    """``A.十日 B.十五日 C.三十日`` → pairs, when the letters run A, B, C… from the start."""
    marks = list(INLINE_OPTION.finditer(text))
    if not marks or marks[0].start() != 0:
        return None
    pairs = []
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        pairs.append((mark.group("key"), text[mark.end() : end].strip()))
    keys = [key for key, _ in pairs]
    if keys != list("ABCDEF"[: len(keys)]) and len(pairs) > 1:
        # one option whose text holds "B." (rare): keep it whole
        match = OPTION_START.match(text)
        return [(match.group("key").upper(), match.group("text").strip())] if match else None
    return pairs


def _bracket_key(stem: str, qtype: str | None) -> tuple[str, str | None]:
    """A key written in the stem's brackets (……（B）。 ……（√）): the stem with empty brackets, the key."""
    found = None
    for match in BRACKET.finditer(stem):
        inner = match.group("inner").strip()
        if (
            qtype in ("single", "multiple", None)
            and CHOICE_KEY.match(inner)
            or qtype in ("judge", None)
            and inner in JUDGE_KEY
        ):
            found = match
    if found is None:
        return stem, None
    return stem[: found.start()] + "（ ）" + stem[found.end() :], found.group("inner").strip()


def _keys_in_section(lines: list[tuple[int, str]], problems: list[Problem], name: str) -> dict:
    """The trailing answer section: (type heading or None, number) → key text, and 解析 by number."""
    keys: dict = {}
    section = None
    current = None
    for paragraph, text in lines:
        is_heading, heading_type = _heading_type(text)
        if is_heading:
            section = heading_type or "?"
            current = None
            continue
        label = LABEL.match(text)
        if label and LABEL_FIELDS[label.group("label")] == "explanation" and current is not None:
            keys.setdefault(current, {})["explanation"] = label.group("text").strip()
            continue
        ranged = KEY_RANGE.fullmatch(text.strip())
        if ranged:
            start, end, letters = int(ranged.group("a")), int(ranged.group("b")), ranged.group("keys")
            if end - start + 1 == len(letters):
                for offset, key in enumerate(letters):
                    keys.setdefault((section, start + offset), {})["answer"] = key
                continue
        tokens = list(KEY_TOKEN.finditer(text))
        rest = KEY_TOKEN.sub("", text).strip(" \t\u3000;；,，。")
        if tokens and not rest:
            for token in tokens:
                current = (section, int(token.group("n")))
                keys.setdefault(current, {})["answer"] = token.group("key")
            continue
        numbered = QUESTION.match(text)
        if numbered and (numbered.group("text") or "").strip():
            number = int(numbered.group("n") or numbered.group("m"))
            current = (section, number)
            answer, _, explanation = numbered.group("text").partition("解析")
            keys.setdefault(current, {})["answer"] = answer.strip().strip("；;。").strip()
            if explanation:
                keys[current]["explanation"] = explanation.lstrip("：: ").strip()
            continue
        if current is not None and keys.get(current, {}).get("explanation"):
            keys[current]["explanation"] += "\n" + text.strip()
            continue
        problems.append(Problem(name, f"第{paragraph}段", None, f"答案部分无法识别这一行：“{_short(text)}”"))
    return keys


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 40 else text[:40] + "…"


def _joined(first: str | None, rest: str) -> str:
    return (first or "") + ("\n" + rest if rest else "")


def _fill_stem(stem: str) -> str:
    return BLANK_RUN.sub(BLANK, stem)


def records_from_paragraphs(
    name: str, paragraphs: list[str], defaults: dict | None = None
) -> tuple[list[RawRecord], list[Problem]]:
    """Raw records (row: 第N题（第M段）) and the paragraphs that could not be read."""
    defaults = {key: value for key, value in (defaults or {}).items() if value not in (None, "")}
    problems: list[Problem] = []
    questions: list[_Question] = []
    qtype: str | None = None
    section = 0
    unsupported = False
    current: _Question | None = None
    answer_lines: list[tuple[int, str]] | None = None
    for paragraph, raw in enumerate(paragraphs, 1):
        text = (raw or "").replace("\u3000", " ").strip()
        if not text:
            continue
        if answer_lines is not None:
            answer_lines.append((paragraph, text))
            continue
        if ANSWER_SECTION.match(text) and questions:
            answer_lines = []
            current = None
            continue
        is_heading, heading_type = _heading_type(text)
        if is_heading:
            section += 1
            qtype, unsupported, current = heading_type, heading_type is None, None
            continue
        head, _, tail = text.partition("\n")  # line breaks within a paragraph continue its first line
        numbered = QUESTION.match(head)
        if numbered and (current is None or current.last != "explanation" or numbered.group("text")):
            if unsupported:
                problems.append(Problem(name, f"第{paragraph}段", "题型", UNSUPPORTED))
                current = None
                continue
            current = _Question(paragraph, int(numbered.group("n") or numbered.group("m")), qtype, section)
            stem = _joined(numbered.group("text"), tail).strip()
            if stem:
                current.stem.append(stem)
            questions.append(current)
            continue
        if current is None:
            if unsupported:
                continue  # the text of a question we already named as not supported
            if not questions:
                continue  # the document's title and instructions before the first question
            problems.append(
                Problem(name, f"第{paragraph}段", None, f"不在任何题目之下，无法识别：“{_short(text)}”")
            )
            continue
        label = LABEL.match(head)
        if label:
            field_name = LABEL_FIELDS[label.group("label")]
            value = _joined(label.group("text"), tail).strip()
            if field_name in LINE_FIELDS:
                current.lines.setdefault(field_name, []).extend(value.split("\n"))
                current.last = field_name
                continue
            if field_name == "answer" and "解析" in value and not current.written:  # 答案：B 解析：……
                value, _, rest = value.partition("解析")
                current.values["explanation"] = rest.lstrip("：: ").strip()
                value = value.strip()
            current.values[field_name] = value
            current.last = field_name
            continue
        options = (
            _split_options(text) if current.last in ("stem", "options") and not current.written else None
        )
        if options:
            for key, option_text in options:
                key = key.upper()
                if key in current.options:
                    problems.append(Problem(name, f"第{paragraph}段", "选项", f"选项{key}重复出现"))
                current.options[key] = option_text
            current.last = "options"
            continue
        if current.last == "stem":
            current.stem.append(text)
        elif current.last in ("explanation", "quote", "note") or (
            current.written and current.last in ("answer", "says")
        ):
            current.values[current.last] += "\n" + text
        elif current.last in LINE_FIELDS and "|" in text:  # the keypoints under one 评分要点：
            current.lines[current.last].append(text)
        else:
            problems.append(
                Problem(
                    name,
                    f"第{paragraph}段",
                    None,
                    f"第{current.number}题的{PART_LABELS.get(current.last, '这一部分')}之后无法识别：“{_short(text)}”"
                    "（选项应以 A. A、 (A) 开头，答案写作“答案：B”）",
                )
            )
    keys = _keys_in_section(answer_lines, problems, name) if answer_lines is not None else {}
    # An answer section without its own headings numbers the questions as the body does (once).
    by_number = {number: value for (heading, number), value in keys.items() if heading is None}
    by_heading = {key: value for key, value in keys.items() if key[0] is not None}
    records = []
    for question in questions:
        values = dict(defaults) | question.values
        stem = (
            "".join(question.stem)
            if all(len(line) < 2 for line in question.stem)
            else "\n".join(question.stem)
        )
        stem, bracket = _bracket_key(stem, question.type)
        qtype = question.type or _guess_type(question, bracket)
        if "answer" not in values:
            from_section = by_heading.get((question.type, question.number)) or by_number.get(question.number)
            if from_section:
                values["answer"] = from_section.get("answer", "")
                values.setdefault("explanation", from_section.get("explanation", ""))
            elif bracket:
                values["answer"] = bracket
        if qtype == "fill":
            stem = _fill_stem(stem)
        elif qtype in ("judge",):
            stem = re.sub(r"[(（][\s\u3000]*[)）]\s*([。.]?)$", r"\1", stem).rstrip()
        values["stem"] = stem
        values["type"] = qtype or ""
        if question.options:
            values["options"] = dict(sorted(question.options.items()))
        for field_name, lines in question.lines.items():  # checked by the validator, with any type
            values[field_name] = rubric_from_lines(lines)
        if qtype == "multiple" and isinstance(values.get("answer"), str):
            values["answer"] = values["answer"].upper()
        if qtype == "single" and isinstance(values.get("answer"), str):
            values["answer"] = values["answer"].strip().upper()
        row = f"第{question.number}题（第{question.paragraph}段）"
        records.append(RawRecord(name, row, values, None, None, unsourced_ok=True))
    return records, problems


def _guess_type(question: _Question, bracket: str | None) -> str | None:
    """A question under no type heading: its options and key say what it is."""
    answer = question.values.get("answer", bracket or "")
    if question.lines.get("rubric"):
        return "situation" if question.values.get("says") else "short"
    if question.options:
        letters = re.sub(r"[^A-Fa-f]", "", answer or "")
        return "multiple" if len(letters) > 1 else "single"
    if (answer or "").strip() in JUDGE_KEY:
        return "judge"
    if any(BLANK_RUN.search(line) for line in question.stem):
        return "fill"
    return None


# ---------------------------------------------------------------------------------------------
# Export: the bank in the layout this module reads


EXPORT_SECTIONS = ("single", "multiple", "judge", "fill", "short", "situation")
NUMERALS = "一二三四五六"


def _question_lines(number: int, row: dict) -> list[str]:
    """One question's paragraphs (a paragraph may hold line breaks)."""
    qtype = row["type"]
    lines = [f"{number}. {row['stem']}"]
    lines += [f"{option['key']}. {option['text']}" for option in row["options"] or []]
    if row.get("says"):
        lines.append(f"群众原话：{row['says']}")
    if qtype in WRITTEN_TYPES:
        lines.append(f"参考答案：{row['answer']['model']}")
        lines += [f"评分要点：{line}" for line in rubric_lines(row["answer"]["rubric"])]
        lines += [f"扣分项：{line}" for line in rubric_lines(row["answer"]["deductions"])]
    else:
        lines.append(f"答案：{grading.tabular_answer(qtype, row['answer'])}")
    lines.append(f"解析：{row['explanation']}")
    lines += [f"类别：{row['category']}", f"能力：{row['ability']}", f"难度：{row['difficulty']}"]
    for label, key in (("来源", "source"), ("条款", "locator"), ("原文", "quote"), ("备注", "note")):
        if row.get(key):
            lines.append(f"{label}：{row[key]}")
    if row.get("reserved"):
        lines.append("考试专用：是")
    return lines


def export_docx(rows: list[dict]) -> tuple[bytes, list[str]]:
    """A .docx in the import layout, one section per type (一、单选题 … 六、情景应答题), and what it
    cannot hold (计算题 and a case's sub-questions, which the Word layout lacks: named at its head and
    returned). Multi-line text stays in one paragraph, with line breaks."""
    from docx import Document

    sections: dict[str, list[dict]] = {qtype: [] for qtype in EXPORT_SECTIONS}
    left: list[str] = []
    for index, row in enumerate(rows, 1):
        if row.get("case"):
            left.append(f"第{index}题：案例小题（Word 格式没有案例材料），未导出")
        elif row["type"] not in sections:
            left.append(
                f"第{index}题：{TYPE_LABELS.get(row['type'], row['type'])}题（Word 格式不含这一题型），未导出"
            )
        else:
            sections[row["type"]].append(row)
    document = Document()
    document.add_heading("题库导出（Word 格式）", level=1)
    for item in left:
        document.add_paragraph(f"未导出：{item}")
    shown = [(qtype, found) for qtype, found in sections.items() if found]
    for numeral, (qtype, found) in zip(NUMERALS, shown, strict=False):
        document.add_heading(f"{numeral}、{TYPE_LABELS[qtype]}题", level=2)
        for number, row in enumerate(found, 1):
            for line in _question_lines(number, row):
                document.add_paragraph(line)  # "\n" becomes a line break
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue(), left


# ---------------------------------------------------------------------------------------------
# The template: a .docx that shows the layout


TEMPLATE = [
    ("title", "××单位业务知识题库（Word 导入模板）"),
    (
        "note",
        "说明：按题型分节（单选题、多选题、判断题、填空题、简答题、情景应答题），每题以题号开头；选项写作 A. 或 A、；"
        "答案写作“答案：B”，解析写作“解析：……”。也可以把答案集中写在文末的“参考答案”部分。"
        "简答题和情景应答题写“参考答案：……”，每个评分要点一行“评分要点：要点|分值|短语、短语”（分值以 0.5 为单位，"
        "短语是答对时会出现的词），可另写“扣分项：说明|扣分|短语”；情景应答题的题干写场景，另写“群众原话：……”。"
        "参考答案等内容若要换行，请在同一段内换行（Shift+Enter），不要另起以题号开头的段落。"
        "类别、能力、难度可在上传时统一选择，也可在题目下逐题写明（如“类别：社会保险”“难度：2”）。"
        "没有来源文件的题目会作为“无出处”导入；若写了“来源：”“条款：”“原文：”，原文会逐字核对。",
    ),
    ("heading", "一、单选题"),
    ("p", "1. 用人单位应当自成立之日起（ ）日内申请办理社会保险登记。"),
    ("p", "A. 十日"),
    ("p", "B. 十五日"),
    ("p", "C. 三十日"),
    ("p", "D. 六十日"),
    ("p", "答案：C"),
    ("p", "解析：《社会保险法》第五十七条规定，用人单位应当自成立之日起三十日内申请办理社会保险登记。"),
    ("p", "2. 失业人员领取失业保险金期间，应当缴纳的社会保险费是（ ）。"),
    ("p", "A. 基本养老保险费    B. 基本医疗保险费    C. 工伤保险费    D. 生育保险费"),
    ("p", "答案：B"),
    (
        "p",
        "解析：失业人员在领取失业保险金期间，参加职工基本医疗保险，应当缴纳的基本医疗保险费从失业保险基金中支付，个人不缴纳。",
    ),
    ("heading", "二、多选题"),
    ("p", "1. 下列属于社会保险的有（ ）。"),
    ("p", "A、基本养老保险"),
    ("p", "B、工伤保险"),
    ("p", "C、商业人寿保险"),
    ("p", "D、失业保险"),
    ("p", "答案：ABD"),
    ("p", "解析：商业人寿保险不属于社会保险。"),
    ("p", "类别：社会保险"),
    ("p", "难度：1"),
    ("heading", "三、判断题"),
    ("p", "1. 劳动合同期限三个月以上不满一年的，试用期不得超过一个月。（√）"),
    ("p", "解析：《劳动合同法》第十九条。"),
    ("p", "来源：law_labor_contract"),
    ("p", "条款：第十九条"),
    ("p", "原文：劳动合同期限三个月以上不满一年的，试用期不得超过一个月"),
    ("p", "类别：劳动关系"),
    ("heading", "四、填空题"),
    ("p", "1. 用人单位自用工之日起即与劳动者建立____。"),
    ("p", "答案：劳动关系"),
    ("p", "解析：《劳动合同法》第七条。"),
    ("p", "类别：劳动关系"),
    ("heading", "五、简答题"),
    (
        "p",
        "1. 职工在工作中受伤，单位迟迟不提工伤认定申请。简述工伤认定申请应由谁、在多长期限内提出，单位未按期提出时怎么办。",
    ),
    (
        "p",
        "参考答案：所在单位应当自事故伤害发生之日起30日内，向统筹地区社会保险行政部门提出工伤认定申请；"
        "单位未按规定提出的，工伤职工或者其近亲属、工会组织在事故伤害发生之日起1年内，可以直接提出工伤认定申请。",
    ),
    ("p", "评分要点：所在单位自事故伤害发生之日起30日内提出|2|30日内、三十日内"),
    (
        "p",
        "评分要点：单位未提出的，职工或其近亲属、工会组织1年内可直接申请|2|1年内、一年内、近亲属、工会组织",
    ),
    ("p", "扣分项：把单位的申请期限说成60日|1|60日内、六十日内"),
    ("p", "解析：《工伤保险条例》第十七条。"),
    ("p", "类别：社会保险"),
    ("heading", "六、情景应答题"),
    ("p", "1. 一位刚被公司裁员的中年男士来到就业服务窗口，情绪激动。"),
    ("p", "群众原话：我交了好几年失业保险，公司一裁员就该马上给我发钱，你们凭什么还要我办这办那？"),
    (
        "p",
        "参考答案：您先别着急，我理解您的心情。领取失业保险金需要同时符合三个条件：单位和您本人缴费满1年，"
        "非因本人意愿中断就业，并且已经办理失业登记、有求职要求。您是被裁员的，属于非因本人意愿，"
        "我先帮您办理失业登记，再核对缴费记录，符合条件就可以申领。",
    ),
    ("p", "评分要点：先安抚情绪，表示理解|1|理解您、别着急"),
    (
        "p",
        "评分要点：说明领取条件：缴费满1年、非因本人意愿中断就业、办理失业登记并有求职要求|3|满1年、满一年、非因本人意愿、失业登记、求职要求",
    ),
    ("p", "评分要点：给出下一步办理路径|1|帮您办理、核对缴费记录"),
    ("p", "扣分项：推诿或生硬的话|2|不归我们管、你自己去查"),
    ("p", "解析：《失业保险条例》第十四条规定了领取失业保险金的三项条件。"),
    ("p", "类别：就业创业"),
    ("p", "能力：沟通协调能力"),
]


def template_docx() -> bytes:
    from docx import Document
    from docx.shared import Pt

    document = Document()
    for kind, text in TEMPLATE:
        if kind == "title":
            document.add_heading(text, level=1)
        elif kind == "heading":
            document.add_heading(text, level=2)
        elif kind == "note":
            run = document.add_paragraph().add_run(text)
            run.font.size = Pt(9)
        else:
            document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
