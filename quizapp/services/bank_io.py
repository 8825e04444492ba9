"""Question bank input and output: parse, validate, import, export, verify.

Every input format (YAML, JSON, .xlsx, CSV) is read into the same raw records, validated as a whole,
and only then written: one bad row anywhere means nothing is imported, and every bad row is reported
with its file, row and field.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from ..extensions import db
from ..models import Ability, Category, Question, QuestionVersion, Source
from ..models._types import utcnow
from ..models.bank import QuestionType
from . import audit, exports, grading, uploads
from .errors import InvalidInput, Problem
from .sources import SourceText, parse_source, read_source_file
from .text import content_hash, strings_in, unstorable

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
}
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


@dataclass
class Draft:
    """A validated question, ready to be written."""

    file: str
    row: str
    source: str
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

    @property
    def content_hash(self) -> str:
        return content_hash(self.type, self.stem, self.options)


@dataclass
class Batch:
    """The result of reading and validating some input: drafts, problems and the sources they cite."""

    drafts: list[Draft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, SourceText] = field(default_factory=dict)
    files: int = 0


@dataclass
class RawRecord:
    file: str
    row: str
    values: dict
    source_hint: dict | None = None  # the YAML/JSON `source:` block the record sits under
    base_dir: Path | None = None


@dataclass
class ImportPlan:
    new: list[Draft]
    duplicates: list[Draft]  # already in the bank, or repeated within the input


@dataclass
class ImportSummary:
    added: int
    duplicates: int
    sources_added: int


class SourceResolver:
    """Finds a source text by code: inline text, then the database, then ``sources/`` beside the file,
    then the shipped bank's ``sources/``."""

    def __init__(self, bank_path: Path | None, known: dict[str, SourceText] | None = None):
        self.bank_path = bank_path
        self.known = dict(known or {})
        self.vetted: set[str] = set()  # codes whose text was checked (once per batch is enough)

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


# ---------------------------------------------------------------------------------------------
# Reading files into raw records


def _records_from_documents(
    name: str, documents: Iterable, base_dir: Path | None, problems: list[Problem]
) -> Iterator[RawRecord]:
    for doc_index, document in enumerate(documents, 1):
        if document is None:
            continue
        if not isinstance(document, dict) or not isinstance(document.get("questions"), list):
            problems.append(
                Problem(
                    name,
                    f"第{doc_index}个文档",
                    None,
                    "格式错误：应包含 source 和 questions 两部分（见 question_bank/README.md）",
                )
            )
            continue
        source = _without_lines(document.get("source") or {})
        if not isinstance(source, dict) or not source.get("id"):
            problems.append(Problem(name, f"第{doc_index}个文档", "source", "缺少 source.id（来源文件编码）"))
            continue
        for index, item in enumerate(document["questions"], 1):
            if not isinstance(item, dict):
                problems.append(Problem(name, f"第{index}题", None, "题目应为键值对"))
                continue
            line = item.get("__line__")
            row = f"第{index}题（第{line}行）" if line else f"第{index}题"
            values = _without_lines(item)
            values.setdefault("source", source["id"])
            yield RawRecord(name, row, values, source, base_dir)


def _without_lines(value):
    """The value with the loader's line marks removed from every mapping inside it."""
    if isinstance(value, dict):
        return {key: _without_lines(item) for key, item in value.items() if key != "__line__"}
    if isinstance(value, list):
        return [_without_lines(item) for item in value]
    return value


def _rows_to_records(name, rows: Iterator[tuple[int, list]], base_dir, problems) -> list[RawRecord]:
    try:
        header_number, header = next(rows)
    except StopIteration:
        problems.append(Problem(name, "", "file", "文件为空"))
        return []
    fields = []
    for position, title in enumerate(header, 1):
        title = "" if title is None else str(title).strip()
        if not title:
            fields.append(None)
        elif title in HEADER_TO_FIELD:
            fields.append(HEADER_TO_FIELD[title])
        else:
            fields.append(None)
            problems.append(Problem(name, f"第{header_number}行", title, f"无法识别的列名（第{position}列）"))
    missing = [FIELD_LABELS[name_] for name_ in sorted(REQUIRED_COLUMNS - set(fields))]
    if missing:
        problems.append(Problem(name, f"第{header_number}行", None, f"缺少必需的列：{'、'.join(missing)}"))
        return []
    records = []
    for number, cells in rows:
        values = {}
        for column, cell in zip(fields, cells, strict=False):
            if column is None or cell is None:
                continue
            text = cell.strip() if isinstance(cell, str) else cell
            if text != "":
                values[column] = text
        if not values:
            continue  # blank line
        options = {key: values.pop(key) for key in OPTION_KEYS if key in values}
        if options:
            values["options"] = options
        records.append(RawRecord(name, f"第{number}行", values, None, base_dir))
    return records


def _records(kind: str, name: str, value, base_dir, problems) -> list[RawRecord]:
    """Raw records from what the parser read: YAML/JSON documents, or numbered spreadsheet rows."""
    if kind == "yaml":
        return list(_records_from_documents(name, value, base_dir, problems))
    if kind == "json":
        documents = value if isinstance(value, list) else [value]
        return list(_records_from_documents(name, documents, base_dir, problems))
    return _rows_to_records(name, iter(value), base_dir, problems)


# ---------------------------------------------------------------------------------------------
# Validation


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
        bad("type", f"题型“{_text(values, 'type')}”无效，应为 单选/多选/判断/填空")

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

    options: list[dict] = []
    raw_options = values.get("options")
    answer: object = None
    raw_answer = values.get("answer")
    if qtype in ("single", "multiple"):
        pairs = _options(raw_options)
        if not pairs or len(pairs) < 2:
            bad("options", "单选题和多选题至少需要两个选项")
        else:
            keys = [key for key, _ in pairs]
            if keys != list(OPTION_KEYS[: len(keys)]):
                bad(
                    "options", f"选项应依次为 {'、'.join(OPTION_KEYS[: len(keys)])}，实际为 {'、'.join(keys)}"
                )
            for key, text in pairs:
                if not text:
                    bad("options", f"选项{key}不能为空")
                elif len(text) > MAX_OPTION:
                    bad("options", f"选项{key}过长")
            texts = [text for _, text in pairs]
            if len(set(texts)) != len(texts):
                bad("options", "存在内容相同的选项")
            options = [{"key": key, "text": text} for key, text in pairs]
        letters = _letters(raw_answer) if raw_answer not in (None, "") else []
        valid_keys = {option["key"] for option in options}
        if qtype == "single":
            if len(letters) != 1 or letters[0] not in valid_keys:
                bad("answer", f"单选题答案应为一个选项字母，实际为“{_text(values, 'answer')}”")
            else:
                answer = letters[0]
        else:
            if len(letters) < 2 or len(set(letters)) != len(letters) or not set(letters) <= valid_keys:
                bad("answer", f"多选题答案应为至少两个不重复的选项字母，实际为“{_text(values, 'answer')}”")
            else:
                answer = sorted(letters)
    elif qtype in ("judge", "fill"):
        if raw_options:
            bad("options", "判断题和填空题不应有选项")
        if qtype == "judge":
            answer = (
                raw_answer
                if isinstance(raw_answer, bool)
                else JUDGE_ALIASES.get(_text(values, "answer").lower())
            )
            if answer is None:
                bad("answer", f"判断题答案应为 正确/错误，实际为“{_text(values, 'answer')}”")
        else:
            answer = _fill_answer(raw_answer)
            blanks = stem.count(BLANK)
            if answer is None:
                bad("answer", "填空题答案不能为空（每个空一项，多个空用“；”分隔，同一空的多种写法用“|”分隔）")
            elif blanks == 0:
                bad("stem", f"填空题题干中没有空位（用 {BLANK} 表示）")
            elif blanks != len(answer):
                bad("answer", f"题干有 {blanks} 个空，答案却有 {len(answer)} 项")

    code = _text(values, "source")
    locator = _text(values, "locator")
    quote = _text(values, "quote")
    source = None
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

    if problems:
        return None, problems, source
    draft = Draft(
        file=raw.file,
        row=raw.row,
        source=code,
        type=qtype,
        stem=stem,
        options=options,
        answer=answer,
        explanation=explanation,
        category=category,
        ability=ability,
        difficulty=difficulty,
        locator=locator,
        quote=quote,
    )
    return draft, [], source


def read_batch(
    files: Iterable[tuple[str, bytes, Path | None]],
    *,
    resolver: SourceResolver,
    categories: Iterable[str],
    abilities: Iterable[str],
) -> Batch:
    """Read and validate ``(display name, content, folder it came from)`` triples."""
    batch = Batch()
    categories, abilities = set(categories), set(abilities)
    readable = []
    for name, data, base_dir in files:
        batch.files += 1
        kind = uploads.KINDS.get(Path(name).suffix.lower())
        if kind is None:
            batch.problems.append(
                Problem(name, "", "file", "不支持的文件类型（支持 .yaml .yml .json .xlsx .csv）")
            )
        else:
            readable.append((name, data, base_dir, kind))
    # One child process parses them all (uploads.py); the questions sheet of a workbook is "题目".
    parsed = uploads.parse([(kind, data, {"sheet": "题目"}) for _, data, _, kind in readable])
    for (name, _, base_dir, kind), value in zip(readable, parsed, strict=True):
        if isinstance(value, uploads.Refused):
            batch.problems.append(Problem(name, value.row, "file", value.message))
            continue
        records = _records(kind, name, value, base_dir, batch.problems)
        if not records and not any(p.file == name for p in batch.problems):
            batch.problems.append(Problem(name, "", "file", "文件中没有题目"))
        for raw in records:
            draft, problems, source = validate_record(raw, resolver, categories, abilities)
            batch.problems.extend(problems)
            if source is not None:
                batch.sources[source.code] = source
            if draft:
                batch.drafts.append(draft)
    return batch


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders expand to the bank files directly inside them, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.iterdir() if p.suffix.lower() in uploads.KINDS and p.name[0] not in "._"
                )
            )
        else:
            found.append(path)
    return found


def read_paths(
    paths: Iterable[Path], *, resolver: SourceResolver, categories: Iterable[str], abilities: Iterable[str]
) -> Batch:
    files = []
    missing = []
    largest = uploads.limits()["file_bytes"]
    for path in expand_paths(paths):
        if not path.is_file():
            missing.append(Problem(str(path), "", "file", "文件不存在"))
        elif path.stat().st_size > largest:
            missing.append(Problem(str(path), "", "file", f"文件超过 {largest / 2**20:.0f} MB 的上限"))
        else:
            files.append((str(path), path.read_bytes(), path.parent))
    batch = read_batch(files, resolver=resolver, categories=categories, abilities=abilities)
    batch.problems[:0] = missing
    return batch


# ---------------------------------------------------------------------------------------------
# Verify, plan, import


def verify_paths(paths: Iterable[Path], bank_path: Path | None) -> dict:
    """Check files against their source texts, without a database. Repeats within the set are errors."""
    batch = read_paths(
        paths, resolver=SourceResolver(bank_path), categories=DEFAULT_CATEGORIES, abilities=DEFAULT_ABILITIES
    )
    problems = list(batch.problems)
    first_seen: dict[str, Draft] = {}
    for draft in batch.drafts:
        if (earlier := first_seen.setdefault(draft.content_hash, draft)) is not draft:
            problems.append(
                Problem(
                    draft.file, draft.row, None, f"与 {earlier.file} {earlier.row} 重复（题干与选项相同）"
                )
            )
    return {
        "files": batch.files,
        "questions": len(batch.drafts),
        "sources": len({draft.source for draft in batch.drafts}),
        "by_type": dict(sorted(Counter(d.type for d in batch.drafts).items())),
        "by_category": dict(sorted(Counter(d.category for d in batch.drafts).items())),
        "by_ability": dict(sorted(Counter(d.ability for d in batch.drafts).items())),
        "by_difficulty": {str(k): v for k, v in sorted(Counter(d.difficulty for d in batch.drafts).items())},
        "errors": [problem.as_dict() for problem in problems],
    }


def ensure_taxonomy() -> None:
    """Create the default categories and abilities that are missing (idempotent)."""
    for model, names in ((Category, DEFAULT_CATEGORIES), (Ability, DEFAULT_ABILITIES)):
        existing = set(db.session.scalars(select(model.name)))
        for sort, name in enumerate(names):
            if name not in existing:
                db.session.add(model(name=name, sort=sort))
    db.session.flush()


def db_resolver(bank_path: Path | None) -> SourceResolver:
    known = {
        source.code: SourceText(
            code=source.code,
            title=source.title,
            body=source.body,
            issuer=source.issuer,
            effective=source.effective,
        )
        for source in db.session.scalars(select(Source))
    }
    return SourceResolver(bank_path, known)


def read_for_import(files_or_paths, bank_path: Path | None) -> Batch:
    """Read input against the database's taxonomy and sources."""
    ensure_taxonomy()
    resolver = db_resolver(bank_path)
    categories = db.session.scalars(select(Category.name)).all()
    abilities = db.session.scalars(select(Ability.name)).all()
    if isinstance(files_or_paths, list) and files_or_paths and isinstance(files_or_paths[0], Path):
        return read_paths(files_or_paths, resolver=resolver, categories=categories, abilities=abilities)
    return read_batch(files_or_paths, resolver=resolver, categories=categories, abilities=abilities)


def plan_import(batch: Batch) -> ImportPlan:
    """Split drafts into new ones and duplicates (of the bank's current questions or of each other)."""
    hashes = [draft.content_hash for draft in batch.drafts]
    existing: set[str] = set()
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        existing.update(
            db.session.scalars(
                select(QuestionVersion.content_hash).where(
                    QuestionVersion.is_current, QuestionVersion.content_hash.in_(chunk)
                )
            )
        )
    new, duplicates = [], []
    for draft in batch.drafts:
        if draft.content_hash in existing:
            duplicates.append(draft)
        else:
            existing.add(draft.content_hash)
            new.append(draft)
    return ImportPlan(new=new, duplicates=duplicates)


def import_batch(batch: Batch, *, actor_id: int | None = None) -> ImportSummary:
    """Write a validated batch: sources first, then every new question with its first version.

    Raises InvalidInput (and writes nothing) if the batch has any problem.
    """
    if batch.problems:
        raise InvalidInput(batch.problems)
    plan = plan_import(batch)
    source_ids = dict(db.session.execute(select(Source.code, Source.id)).all())
    sources_added = 0
    for code in sorted({draft.source for draft in plan.new} - set(source_ids)):
        text = batch.sources[code]
        source = Source(
            code=code, title=text.title, issuer=text.issuer, effective=text.effective, body=text.body
        )
        db.session.add(source)
        db.session.flush()
        source_ids[code] = source.id
        sources_added += 1
    category_ids = dict(db.session.execute(select(Category.name, Category.id)).all())
    ability_ids = dict(db.session.execute(select(Ability.name, Ability.id)).all())

    questions = [Question() for _ in plan.new]
    db.session.add_all(questions)
    db.session.flush()
    db.session.execute(
        QuestionVersion.__table__.insert(),
        [
            {
                "question_id": question.id,
                "number": 1,
                "is_current": True,
                "type": draft.type,
                "stem": draft.stem,
                "options": draft.options,
                "answer": draft.answer,
                "explanation": draft.explanation,
                "category_id": category_ids[draft.category],
                "ability_id": ability_ids[draft.ability],
                "difficulty": draft.difficulty,
                "source_id": source_ids[draft.source],
                "locator": draft.locator,
                "quote": draft.quote,
                "content_hash": draft.content_hash,
                "created_by_id": actor_id,
                "created_at": utcnow(),
            }
            for question, draft in zip(questions, plan.new, strict=True)
        ],
    ) if plan.new else None
    summary = ImportSummary(added=len(plan.new), duplicates=len(plan.duplicates), sources_added=sources_added)
    if plan.new:
        audit.record(
            "bank.import",
            "question",
            None,
            actor_id=actor_id,
            after={
                "added": summary.added,
                "duplicates": summary.duplicates,
                "sources_added": sources_added,
                "files": batch.files,
            },
        )
    return summary


def load_shipped_banks(bank_path: Path) -> ImportSummary:
    """Import the shipped banks; on later runs everything is a duplicate and nothing changes."""
    batch = read_for_import([bank_path], bank_path)
    return import_batch(batch)


# ---------------------------------------------------------------------------------------------
# Export and template


def current_versions(question_ids: list[int] | None = None) -> list[dict]:
    """Current content of the given questions (all when None), as plain dicts, ordered by id."""
    stmt = (
        select(QuestionVersion, Source.code, Category.name, Ability.name)
        .join(Source, Source.id == QuestionVersion.source_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .join(Ability, Ability.id == QuestionVersion.ability_id)
        .where(QuestionVersion.is_current)
        .order_by(QuestionVersion.question_id)
    )
    if question_ids is not None:
        stmt = stmt.where(QuestionVersion.question_id.in_(question_ids))
    return [
        {
            "source": code,
            "type": str(v.type),
            "category": category,
            "ability": ability,
            "difficulty": v.difficulty,
            "stem": v.stem,
            "options": v.options,
            "answer": v.answer,
            "explanation": v.explanation,
            "locator": v.locator,
            "quote": v.quote,
        }
        for v, code, category, ability in db.session.execute(stmt)
    ]


def export_yaml(rows: list[dict]) -> bytes:
    """One YAML document per source (``---`` separated), each carrying its source text."""
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    sources = {s.code: s for s in db.session.scalars(select(Source).where(Source.code.in_(by_source)))}
    documents = []
    for code, items in by_source.items():
        questions = []
        for row in items:
            question = {k: row[k] for k in ("type", "category", "ability", "difficulty", "stem")}
            if row["options"]:
                question["options"] = {o["key"]: o["text"] for o in row["options"]}
            question.update({k: row[k] for k in ("answer", "explanation", "locator", "quote")})
            questions.append(question)
        source = sources[code]
        documents.append(
            {
                "source": {"id": code, "title": source.title, "text": _source_file_text(source)},
                "questions": questions,
            }
        )
    return yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False, width=1000).encode("utf-8")


def _source_file_text(source: Source) -> str:
    header = [f"# 标题: {source.title}"]
    if source.issuer:
        header.append(f"# 发布机关及文号: {source.issuer}")
    if source.effective:
        header.append(f"# 施行日期: {source.effective}")
    return "\n".join(header) + "\n\n" + source.body + "\n"


def _header_row(sheet) -> None:
    exports.header(sheet, [header for _, header in COLUMNS], color="1F6FB2")
    widths = {"题干": 50, "解析": 40, "原文引用": 40, "来源文件编码": 24, "业务类别": 14, "能力": 20}
    for index, (_, header) in enumerate(COLUMNS, 1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = widths.get(header, 12)


def export_xlsx(rows: list[dict]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题目"
    _header_row(sheet)
    for row in rows:
        options = {o["key"]: o["text"] for o in row["options"]}
        exports.append(
            sheet,
            [
                row["source"],
                QuestionType(row["type"]).label,
                row["category"],
                row["ability"],
                row["difficulty"],
                row["stem"],
                *[options.get(key) for key in OPTION_KEYS],
                grading.tabular_answer(row["type"], row["answer"]),
                row["explanation"],
                row["locator"],
                row["quote"],
            ],
        )
    return exports.save(workbook)


def template_xlsx(categories: list[str] | None = None, abilities: list[str] | None = None) -> bytes:
    """The import template: the header row, drop-down lists, and a sheet of instructions with examples."""
    categories = categories or DEFAULT_CATEGORIES
    abilities = abilities or DEFAULT_ABILITIES
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题目"
    _header_row(sheet)
    letter = {name: sheet.cell(1, index).column_letter for index, (name, _) in enumerate(COLUMNS, 1)}
    for name, choices in (
        ("type", ["单选", "多选", "判断", "填空"]),
        ("category", categories),
        ("ability", abilities),
        ("difficulty", ["1", "2", "3"]),
    ):
        validation = DataValidation(
            type="list",
            formula1='"' + ",".join(choices) + '"',
            allow_blank=True,
            showErrorMessage=True,
            error="请从下拉列表中选择",
        )
        sheet.add_data_validation(validation)
        validation.add(f"{letter[name]}2:{letter[name]}5000")

    guide = workbook.create_sheet("填写说明")
    guide.column_dimensions["A"].width = 16
    guide.column_dimensions["B"].width = 90
    for line in [
        ("列", "说明"),
        (
            "来源文件编码",
            "题目出处的政策文件编码，如 law_social_insurance（须已在题库中，或在 sources/ 下有同名 .txt）",
        ),
        ("题型", "单选 / 多选 / 判断 / 填空"),
        ("业务类别", "、".join(categories)),
        ("能力", "、".join(abilities)),
        ("难度", "1（易）、2（中）、3（难）"),
        ("题干", f"填空题用 {BLANK}（四个下划线）表示每个空"),
        ("选项A…F", "单选、多选题按 A、B、C… 依次填写，判断题和填空题留空"),
        (
            "答案",
            "单选：B；多选：ACD；判断：正确 或 错误；填空：多个空用“；”分隔，同一空的多种写法用“|”分隔，如 三十|30",
        ),
        ("解析", "必填，说明正确答案的依据"),
        ("条款位置", "法律法规写“第十四条”（可加“第二款”），讲话稿写“第3段”"),
        ("原文引用", "从来源文件中逐字复制的原文，导入时会核对"),
        ("", ""),
        (
            "示例（单选）",
            "law_social_insurance | 单选 | 社会保险 | 法规政策理解运用能力 | 1 | 用人单位应当自成立之日起多少日内申请办理社会保险登记？ | "
            "十日 | 十五日 | 三十日 | 六十日 | … | C | 《社会保险法》第五十七条…… | 第五十七条 | 用人单位应当自成立之日起三十日内……",
        ),
        ("示例（填空）", "题干：失业人员应当自终止就业之日起____日内办理失业登记。 答案：六十|60"),
    ]:
        exports.append(guide, line)
    guide["A1"].font = guide["B1"].font = Font(bold=True)
    return exports.save(workbook)
