"""The bank format: field names, the spreadsheet columns, the limits, the aliases people type, and
the records that flow from reading to validating to importing (see question_bank/README.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Problem
from ..sources import SourceText
from ..text import content_hash

DEFAULT_CATEGORIES = ["就业创业", "社会保险", "劳动关系", "人才人事", "综合服务与行风"]
DEFAULT_ABILITIES = ["法规政策理解运用能力", "问题解决能力", "沟通协调能力", "信息平台运用能力"]
OPTION_KEYS = "ABCDEF"
MAX_STEM = 2000
MAX_OPTION = 500
MAX_LOCATOR = 64  # the column's width
SOURCE_CODE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")  # also a file name under sources/
SOURCE_LIMITS = {
    "title": ("标题", 200),
    "issuer": ("发布机关", 400),
    "effective": ("施行日期", 200),
}  # widths

TYPE_ALIASES = {
    "single": "single",
    "单选": "single",
    "单选题": "single",
    "multiple": "multiple",
    "多选": "multiple",
    "多选题": "multiple",
    "judge": "judge",
    "判断": "judge",
    "判断题": "judge",
    "fill": "fill",
    "填空": "fill",
    "填空题": "fill",
    "calc": "calc",
    "计算": "calc",
    "计算题": "calc",
    "short": "short",
    "简答": "short",
    "简答题": "short",
    "situation": "situation",
    "情景应答": "situation",
    "情景应答题": "situation",
    "情景模拟": "situation",
}
CASE_ALIASES = {"case", "案例", "案例分析", "案例分析题"}
CASE_ITEMS = (2, 5)  # sub-questions a case holds
CASE_BODY = (20, 2000)  # characters of its text
MAX_CASE_TITLE = 100
MAX_NOTE = 1000
# Written questions: the rubric's size and its parts' lengths.
RUBRIC_POINTS = (1, 8)  # keypoints
MAX_DEDUCTIONS = 5
MAX_PHRASES = 10  # per keypoint or deduction
MAX_PHRASE = 50
MAX_POINT_TEXT = 200
MAX_KEYPOINT_POINTS = 20
MAX_MODEL_ANSWER = 3000
MAX_SAYS = 500
JUDGE_ALIASES = {
    "true": True,
    "t": True,
    "正确": True,
    "对": True,
    "是": True,
    "√": True,
    "✓": True,
    "1": True,
    "false": False,
    "f": False,
    "错误": False,
    "错": False,
    "否": False,
    "×": False,
    "✗": False,
    "0": False,
}
BLANK = "____"

# Spreadsheet columns: (field, header). Headers in English are accepted too.
COLUMNS = [
    ("source", "来源文件编码"),
    ("type", "题型"),
    ("category", "业务类别"),
    ("ability", "能力"),
    ("difficulty", "难度"),
    ("stem", "题干"),
    *[(key, f"选项{key}") for key in OPTION_KEYS],
    ("answer", "答案"),
    ("explanation", "解析"),
    ("locator", "条款位置"),
    ("quote", "原文引用"),
    # Optional, after the original columns (older spreadsheets and templates still read):
    ("unit", "单位"),  # 计算题
    ("tolerance", "误差"),  # 计算题
    ("note", "备注"),
    ("case", "案例编号"),  # rows sharing it are one case's sub-questions
    ("case_title", "案例标题"),
    ("case_body", "案例材料"),
    ("reserved", "考试专用"),  # 是: kept for monthly contests and exams (the reserve pool)
    ("says", "群众原话"),  # 情景应答: what the member of the public says
    ("rubric", "评分要点"),  # 简答/情景应答: 要点|分值|短语、短语 one a line
    ("deductions", "扣分项"),  # the same shape
]
HEADER_TO_FIELD = {header: name for name, header in COLUMNS} | {name: name for name, _ in COLUMNS}
REQUIRED_COLUMNS = {
    "source",
    "type",
    "category",
    "ability",
    "difficulty",
    "stem",
    "answer",
    "explanation",
    "locator",
    "quote",
}
FIELD_LABELS = dict(COLUMNS) | {"options": "选项", "file": "文件"}


@dataclass(frozen=True)
class CaseDraft:
    """A case's text, shared by the drafts of its sub-questions."""

    key: str  # where it came from (file and row), for messages and grouping
    title: str
    body: str

    @property
    def content_hash(self) -> str:
        return content_hash("case", self.title, [{"text": self.body}])


@dataclass
class Draft:
    """A validated question, ready to be written."""

    file: str
    row: str
    source: str | None  # None: 无出处 (allowed for Word and Moodle imports, never the shipped bank)
    type: str
    stem: str
    options: list[dict]
    answer: object
    explanation: str
    category: str
    ability: str
    difficulty: int
    locator: str
    quote: str
    note: str | None = None
    reserved: bool = False
    says: str | None = None  # 情景应答
    case: CaseDraft | None = None
    case_position: int | None = None
    lost: list[str] = field(default_factory=list)  # what the import could not carry (Moodle)

    @property
    def content_hash(self) -> str:
        """The question's identity; a case's sub-question is known with its case text."""
        return content_hash(
            self.type, self.stem, self.options, context=self.case.body if self.case else (self.says or "")
        )


@dataclass
class Batch:
    """The result of reading and validating some input: drafts, problems and the sources they cite."""

    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, SourceText] = field(default_factory=dict)
    files: int = 0
    skipped: list = field(default_factory=list)  # moodle.Skipped: questions of a type this bank lacks

    @property
    def unsourced(self) -> int:
        return sum(1 for draft in self.drafts if draft.source is None)


# Formats only the import wizard reads (a unit's own bank): suffix → (the child's reader, the format).
UNIT_FORMATS = {
    ".docx": ("docx", "word"),
    ".gift": ("text", "gift"),
    ".txt": ("text", "gift-or-aiken"),
    ".xml": ("moodlexml", "moodlexml"),
}
ACCEPTED = ".xlsx .csv .yaml .yml .json .docx .gift .txt .xml"


@dataclass
class RawRecord:
    file: str
    row: str
    values: dict
    source_hint: dict | None = None  # the YAML/JSON `source:` block the record sits under
    base_dir: Path | None = None
    case: CaseDraft | None = None  # for a case's sub-question
    case_position: int | None = None
    # A unit's own bank (Word, Moodle) may leave source, locator and quote out: imported as 无出处.
    unsourced_ok: bool = False
    lost: list[str] = field(default_factory=list)  # what the format had that this bank cannot carry


@dataclass
class ImportPlan:
    new: list[Draft]
    duplicates: list[Draft]  # already in the bank, or repeated within the input


@dataclass
class ImportSummary:
    added: int
    duplicates: int
    sources_added: int
