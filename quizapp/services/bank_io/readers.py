"""Reading bank files into raw records: every format (YAML, JSON, CSV, .xlsx) is parsed in the upload
parser's child process (``services.uploads``), then turned into the same ``RawRecord``s, which are
validated one by one (``validation``) into a ``Batch``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .. import uploads
from ..errors import Problem
from ..text import unstorable
from .format import (
    ACCEPTED,
    CASE_ALIASES,
    CASE_BODY,
    CASE_ITEMS,
    FIELD_LABELS,
    HEADER_TO_FIELD,
    MAX_CASE_TITLE,
    OPTION_KEYS,
    REQUIRED_COLUMNS,
    UNIT_FORMATS,
    Batch,
    CaseDraft,
    RawRecord,
)
from .validation import SourceResolver, validate_record


def _records_from_documents(
    name: str, documents: Iterable, base_dir: Path | None, problems: list[Problem], unsourced_ok: bool = False
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
        if unsourced_ok and "source" not in document:
            pass  # a document of 无出处 questions (an export of a unit's own bank)
        elif not isinstance(source, dict) or not source.get("id"):
            problems.append(Problem(name, f"第{doc_index}个文档", "source", "缺少 source.id（来源文件编码）"))
            continue
        for index, item in enumerate(document["questions"], 1):
            if not isinstance(item, dict):
                problems.append(Problem(name, f"第{index}题", None, "题目应为键值对"))
                continue
            line = item.get("__line__")
            row = f"第{index}题（第{line}行）" if line else f"第{index}题"
            values = _without_lines(item)
            if source.get("id"):
                values.setdefault("source", source["id"])
            if str(values.get("type", "")).strip().lower() in CASE_ALIASES:
                yield from _case_records(name, row, values, source, base_dir, problems)
            else:
                yield RawRecord(name, row, values, source, base_dir)


def _case_records(name, row, values: dict, source, base_dir, problems) -> Iterator[RawRecord]:
    """A case item: its text, then its sub-questions, each a record of its own that takes the case's
    category, ability, difficulty, source and reserve flag unless it names its own."""
    case, sub_items = (
        _case_draft(name, row, values.get("title"), values.get("case"), problems),
        values.get("items"),
    )
    if not isinstance(sub_items, list) or not CASE_ITEMS[0] <= len(sub_items) <= CASE_ITEMS[1]:
        problems.append(
            Problem(name, row, "案例小题", f"案例须有 {CASE_ITEMS[0]}–{CASE_ITEMS[1]} 道小题（items）")
        )
        return
    inherited = {
        key: values[key]
        for key in ("category", "ability", "difficulty", "source", "reserved")
        if key in values
    }
    for position, sub in enumerate(sub_items, 1):
        where = f"{row} 第{position}小题"
        if not isinstance(sub, dict):
            problems.append(Problem(name, where, None, "小题应为键值对"))
            continue
        sub = inherited | _without_lines(sub)
        if str(sub.get("type", "")).strip().lower() in CASE_ALIASES:
            problems.append(Problem(name, where, "题型", "案例的小题不能再是案例"))
            continue
        if case is not None:
            yield RawRecord(name, where, sub, source, base_dir, case=case, case_position=position)


def _case_draft(name: str, row: str, title, body, problems) -> CaseDraft | None:
    """The case's title and text, checked (None, with the problems noted, when they are unfit)."""
    title = "" if title is None else str(title).strip()
    body = "" if body is None else str(body).strip()
    found = len(problems)
    if not title or len(title) > MAX_CASE_TITLE:
        problems.append(Problem(name, row, "案例标题", f"案例标题不能为空，且不超过 {MAX_CASE_TITLE} 字"))
    if not CASE_BODY[0] <= len(body) <= CASE_BODY[1]:
        problems.append(Problem(name, row, "案例材料", f"案例材料应为 {CASE_BODY[0]}–{CASE_BODY[1]} 字"))
    if any(unstorable(text) for text in (title, body)):
        problems.append(Problem(name, row, "案例材料", "含有无法保存的控制字符"))
    return CaseDraft(f"{name} {row}", title, body) if len(problems) == found else None


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
    return _grouped_cases(name, records, problems)


def _grouped_cases(name: str, records: list[RawRecord], problems) -> list[RawRecord]:
    """Rows that share a 案例编号 are one case's sub-questions, in row order; its 案例标题 and
    案例材料 are given on (at least) its first row."""
    by_key: dict[str, list[RawRecord]] = {}
    for record in records:
        key = record.values.pop("case", None)
        if key is not None:
            by_key.setdefault(str(key).strip(), []).append(record)
    for key, members in by_key.items():
        first = members[0]
        title = next((m.values["case_title"] for m in members if m.values.get("case_title")), None)
        body = next((m.values["case_body"] for m in members if m.values.get("case_body")), None)
        where = f"{first.row}（案例编号 {key}）"
        case = _case_draft(name, where, title, body, problems)
        if not CASE_ITEMS[0] <= len(members) <= CASE_ITEMS[1]:
            problems.append(
                Problem(
                    name,
                    where,
                    "案例编号",
                    f"案例须有 {CASE_ITEMS[0]}–{CASE_ITEMS[1]} 道小题，实为 {len(members)} 道",
                )
            )
            continue
        for position, member in enumerate(members, 1):
            member.case, member.case_position = case, position
    for record in records:
        record.values.pop("case_title", None)
        record.values.pop("case_body", None)
    return records


def _records(kind: str, name: str, value, base_dir, problems, unsourced_ok: bool = False) -> list[RawRecord]:
    """Raw records from what the parser read: YAML/JSON documents, or numbered spreadsheet rows."""
    if kind == "yaml":
        return list(_records_from_documents(name, value, base_dir, problems, unsourced_ok))
    if kind == "json":
        documents = value if isinstance(value, list) else [value]
        return list(_records_from_documents(name, documents, base_dir, problems, unsourced_ok))
    return _rows_to_records(name, iter(value), base_dir, problems)


MISSING_EXPLANATION = "（原题没有解析，待补充）"


def _unit_records(fmt: str, name: str, value, defaults: dict, batch: Batch) -> list[RawRecord]:
    """Records of a unit's own bank: Word paragraphs, GIFT or Aiken text, Moodle XML questions."""
    from . import moodle, word

    if fmt == "word":
        records, problems = word.records_from_paragraphs(name, value, defaults)
        skipped = []
    elif fmt == "moodlexml":
        records, problems, skipped = moodle.records_from_moodle_xml(name, value, defaults)
    elif fmt == "gift-or-aiken" and moodle.looks_like_aiken(value):
        records, problems, skipped = moodle.parse_aiken(name, value, defaults)
    else:
        records, problems, skipped = moodle.parse_gift(name, value, defaults)
    batch.problems.extend(problems)
    batch.skipped.extend(skipped)
    for record in records:  # units' banks often have no 解析: a stub that says so, listed in the preview
        if not str(record.values.get("explanation") or "").strip():
            record.values["explanation"] = MISSING_EXPLANATION
            record.lost = [item for item in record.lost if not item.startswith("解析")] + [
                "解析（原文件没有，已填入待补充提示）"
            ]
    return records


def read_batch(
    files: Iterable[tuple[str, bytes, Path | None]],
    *,
    resolver: SourceResolver,
    categories: Iterable[str],
    abilities: Iterable[str],
    unsourced_ok: bool = False,
    defaults: dict | None = None,
) -> Batch:
    """Read and validate ``(display name, content, folder it came from)`` triples.

    ``unsourced_ok``: a unit's own bank (the import wizard), whose questions may come without
    source, locator and quote (无出处); Word and Moodle files always may. ``defaults``: category,
    ability and difficulty for the questions of a Word or Moodle file that do not name their own."""
    batch = Batch()
    categories, abilities = set(categories), set(abilities)
    readable = []
    for name, data, base_dir in files:
        batch.files += 1
        suffix = Path(name).suffix.lower()
        kind, fmt = UNIT_FORMATS.get(suffix) or (uploads.KINDS.get(suffix), None)
        if kind is None:
            batch.problems.append(Problem(name, "", "file", f"不支持的文件类型（支持 {ACCEPTED}）"))
        elif not data.strip():
            batch.problems.append(Problem(name, "", "file", "文件为空"))
        else:
            readable.append((name, data, base_dir, kind, fmt))
    # One child process parses them all (uploads.py); the questions sheet of a workbook is "题目".
    parsed = uploads.parse([(kind, data, {"sheet": "题目"}) for _, data, _, kind, _ in readable])
    records: list[RawRecord] = []
    for (name, _, base_dir, kind, fmt), value in zip(readable, parsed, strict=True):
        if isinstance(value, uploads.Refused):
            batch.problems.append(Problem(name, value.row, "file", value.message))
            continue
        if fmt:
            found = _unit_records(fmt, name, value, defaults or {}, batch)
        else:
            found = _records(kind, name, value, base_dir, batch.problems, unsourced_ok)
            for record in found:
                record.unsourced_ok = unsourced_ok
        if not found and not batch.skipped and not any(p.file == name for p in batch.problems):
            batch.problems.append(Problem(name, "", "file", "文件中没有题目"))
        records += found
    for raw in records:  # a document's own text first: a question of another document may quote it
        resolver.learn(raw.source_hint)
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
