"""Question bank input/output: the shipped bank, every bad-input kind, formats, duplicates."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Question, QuestionVersion, Source
from quizapp.services import bank_io
from quizapp.services.errors import InvalidInput
from quizapp.services.text import content_hash, normalise

from .conftest import ROOT

BANK = ROOT / "question_bank"
SOURCE = "law_social_insurance"
QUOTE = "用人单位应当自成立之日起三十日内凭营业执照、登记证书或者单位印章，向当地社会保险经办机构申请办理社会保险登记"


def good_question(**overrides) -> dict:
    question = {
        "type": "single",
        "category": "社会保险",
        "ability": "法规政策理解运用能力",
        "difficulty": 1,
        "stem": "用人单位应当自成立之日起多少日内申请办理社会保险登记？",
        "options": {"A": "十日", "B": "十五日", "C": "三十日", "D": "六十日"},
        "answer": "C",
        "explanation": "《社会保险法》第五十七条。",
        "locator": "第五十七条",
        "quote": QUOTE,
    }
    question.update(overrides)
    return question


def yaml_file(questions: list[dict], source: str = SOURCE) -> tuple[str, bytes, Path]:
    document = {"source": {"id": source, "title": "社会保险法"}, "questions": questions}
    return ("upload.yaml", yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode(), BANK)


def read(files):
    return bank_io.read_for_import(files, BANK)


def question_count() -> int:
    return db.session.scalar(select(func.count(Question.id)))


# --- the shipped bank -------------------------------------------------------------------------


def test_shipped_bank_meets_the_brief(figures):
    """Issue 17's limits, as `quizapp bank stats` checks them (CI runs the command too)."""
    stats = bank_io.bank_stats([BANK], BANK)
    assert stats.errors == [] and stats.breaches == []
    assert set(stats.figures["by type"]) == {
        "single",
        "multiple",
        "judge",
        "fill",
        "calc",
        "short",
        "situation",
    }
    assert set(stats.figures["by category"]) == set(bank_io.DEFAULT_CATEGORIES)
    assert set(stats.figures["by difficulty"]) == {"1", "2", "3"}
    for name in ("questions", "documents", "cases", "calculations", "short answers", "situations"):
        figures.put("shipped bank", name, stats.figures[name])
    figures.put("shipped bank", "largest category share", max(stats.figures["by category"].values()))


def test_stats_find_what_they_look_for(tmp_path):
    """Each quality check flags its own flaw in a small bank (and the limits break)."""
    flawed = [
        good_question(
            stem="用人单位应当自成立之日起____内凭营业执照、登记证书或者单位印章",
            type="fill",
            options=None,
            answer=[["三十日"]],
        ),
        good_question(options={"A": "十日", "B": "十五日", "C": "3", "D": "六十日"}, answer="B"),
        good_question(stem="参加生育保险的职工多少日内登记？", explanation="另一解析"),
    ]
    (tmp_path / "bank.yaml").write_bytes(yaml_file(flawed)[1])
    stats = bank_io.bank_stats([tmp_path / "bank.yaml"], BANK)
    counts = {name: len(where) for name, where in stats.findings.items()}
    assert counts["quote with a blank"] == 1
    assert counts["option shorter than 2 characters"] == 1
    assert counts["quote lacks a key's deciding words"] == 1  # 十五日 is not in the quote
    assert counts["fill numerals without the other spelling"] == 1
    assert counts["dated rule without a note"] == 1
    assert any(breach.startswith("questions: 3 < 2000") for breach in stats.breaches)


def test_every_shipped_source_file_is_a_policy_document_copy():
    shared = ROOT.parent / "shared" / "policy_docs"
    for path in (BANK / "sources").glob("*.txt"):
        if shared.is_dir():
            assert path.read_text("utf-8") == (shared / path.name).read_text("utf-8"), path.name


def test_verify_reports_a_quote_that_is_not_verbatim(tmp_path):
    (tmp_path / "bank.yaml").write_bytes(yaml_file([good_question(quote=QUOTE.replace("三十", "十五"))])[1])
    report = bank_io.verify_paths([tmp_path / "bank.yaml"], BANK)
    assert report["questions"] == 0
    [error] = report["errors"]
    assert error["field"] == "原文引用" and "逐字" in error["message"]
    assert error["row"].startswith("第1题（第")


def test_verify_flags_duplicates_within_the_bank(tmp_path):
    (tmp_path / "bank.yaml").write_bytes(
        yaml_file([good_question(), good_question(explanation="另一解析")])[1]
    )
    report = bank_io.verify_paths([tmp_path / "bank.yaml"], BANK)
    assert len(report["errors"]) == 1 and "重复" in report["errors"][0]["message"]


# --- every bad-input kind: reported with row and field, nothing written ------------------------

BAD_QUESTIONS = [
    ({"type": "essay"}, "题型", "无效"),
    ({"stem": ""}, "题干", "不能为空"),
    ({"category": "医疗保障"}, "业务类别", "不存在"),
    ({"ability": "写作能力"}, "能力", "不存在"),
    ({"difficulty": 5}, "难度", "无效"),
    ({"explanation": ""}, "解析", "不能为空"),
    ({"options": {"A": "十日", "C": "三十日"}}, "选项", "依次"),
    ({"options": {"A": "十日", "B": "十日"}, "answer": "A"}, "选项", "相同"),
    ({"options": {"A": "十日"}, "answer": "A"}, "选项", "至少需要两个"),
    ({"answer": "E"}, "答案", "单选题答案"),
    ({"type": "multiple", "answer": ["C"]}, "答案", "多选题答案"),
    ({"type": "judge", "options": None, "answer": "也许"}, "答案", "判断题答案"),
    ({"type": "judge", "answer": True}, "选项", "不应有选项"),
    (
        {"type": "fill", "options": None, "stem": "自成立之日起____日内，向____申请", "answer": [["三十"]]},
        "答案",
        "2 个空",
    ),
    ({"type": "fill", "options": None, "stem": "没有空位", "answer": ["三十"]}, "题干", "没有空位"),
    ({"locator": "第九百条"}, "条款位置", "没有"),
    ({"locator": ""}, "条款位置", "不能为空"),
    ({"quote": "用人单位应当自成立之日起十五日内"}, "原文引用", "逐字"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_QUESTIONS)
def test_bad_question_is_reported_and_nothing_is_written(ctx, change, field, message):
    batch = read([yaml_file([good_question(stem="第一题：单位何时登记？"), good_question(**change)])])
    assert [(p.field, p.row.split("（")[0]) for p in batch.problems if p.field == field] == [(field, "第2题")]
    assert any(message in p.message for p in batch.problems)
    with pytest.raises(InvalidInput):
        bank_io.import_batch(batch)
    db.session.rollback()
    assert question_count() == 0


def test_unknown_source_is_reported(ctx):
    batch = read([yaml_file([good_question()], source="no_such_document")])
    [problem] = batch.problems
    assert problem.field == "来源文件编码" and "no_such_document" in problem.message


def test_yaml_syntax_error_names_the_line(ctx):
    batch = read([("broken.yaml", b"source:\n  id: x\nquestions:\n  - type: [single\n", BANK)])
    [problem] = batch.problems
    assert problem.file == "broken.yaml" and problem.row.startswith("第") and "YAML" in problem.message


def test_json_syntax_error_names_the_line(ctx):
    batch = read([("broken.json", b'{"source": {"id": "x"},\n "questions": [,]}', BANK)])
    [problem] = batch.problems
    assert problem.row == "第2行" and "JSON" in problem.message


def test_unsupported_file_and_not_a_workbook(ctx):
    batch = read([("bank.pdf", b"%PDF-1.4", BANK), ("bank.xlsx", b"not a zip file", BANK)])
    messages = [p.message for p in batch.problems]
    assert any("不支持的文件类型" in m for m in messages)
    assert any("无法读取 .xlsx" in m for m in messages)


def test_xlsx_missing_columns_are_named(ctx):
    workbook = Workbook()
    workbook.active.append(["题型", "题干", "答案", "奇怪的列"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = read([("bank.xlsx", buffer.getvalue(), BANK)])
    messages = " ".join(p.message for p in batch.problems)
    assert "缺少必需的列" in messages and "来源文件编码" in messages and "无法识别的列名" in messages


def test_csv_in_an_unknown_encoding_is_refused(ctx):
    batch = read([("bank.csv", "题型,题干\n".encode("utf-16"), BANK)])
    assert any("编码" in p.message for p in batch.problems)


def test_one_bad_file_among_good_ones_writes_nothing(ctx):
    good = yaml_file([good_question()])
    bad = ("second.yaml", yaml_file([good_question(stem="另一题", difficulty=0)])[1], BANK)
    with pytest.raises(InvalidInput) as raised:
        bank_io.import_batch(read([good, bad]))
    assert [p.file for p in raised.value.problems] == ["second.yaml"]
    db.session.rollback()
    assert question_count() == 0
    assert db.session.scalar(select(func.count(Source.id))) == 0


# --- formats ----------------------------------------------------------------------------------


def tabular_rows() -> list[list]:
    header = [title for _, title in bank_io.COLUMNS]
    single = [
        SOURCE,
        "单选",
        "社会保险",
        "法规政策理解运用能力",
        1,
        "单位几日内登记？",
        "十日",
        "十五日",
        "三十日",
        "六十日",
        None,
        None,
        "C",
        "第五十七条。",
        "第五十七条",
        QUOTE,
    ]
    multiple = [
        SOURCE,
        "多选",
        "社会保险",
        "问题解决能力",
        2,
        "登记可凭哪些材料？",
        "营业执照",
        "登记证书",
        "单位印章",
        "法人身份证",
        None,
        None,
        "A、B、C",
        "第五十七条。",
        "第五十七条",
        QUOTE,
    ]
    judge = [
        SOURCE,
        "判断",
        "社会保险",
        "沟通协调能力",
        1,
        "单位应在成立之日起三十日内申请登记。",
        None,
        None,
        None,
        None,
        None,
        None,
        "正确",
        "第五十七条。",
        "第五十七条",
        QUOTE,
    ]
    fill = [
        SOURCE,
        "填空",
        "社会保险",
        "信息平台运用能力",
        3,
        "用人单位应当自成立之日起____日内申请登记。",
        None,
        None,
        None,
        None,
        None,
        None,
        "三十|30",
        "第五十七条。",
        "第五十七条",
        QUOTE,
    ]
    return [header, single, multiple, judge, fill]


def xlsx_bytes(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "题目"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def current(stem: str) -> QuestionVersion:
    return db.session.scalar(select(QuestionVersion).where(QuestionVersion.stem == stem))


def test_xlsx_import_reads_every_type(ctx):
    summary = bank_io.import_batch(read([("bank.xlsx", xlsx_bytes(tabular_rows()), None)]))
    assert (summary.added, summary.duplicates, summary.sources_added) == (4, 0, 1)
    assert current("单位几日内登记？").answer == "C"
    assert current("登记可凭哪些材料？").answer == ["A", "B", "C"]
    assert current("单位应在成立之日起三十日内申请登记。").answer is True
    assert current("用人单位应当自成立之日起____日内申请登记。").answer == [["三十", "30"]]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_import_in_the_encodings_excel_writes(ctx, encoding):
    summary = bank_io.import_batch(read([("bank.csv", csv_bytes(tabular_rows(), encoding), None)]))
    assert summary.added == 4
    assert current("单位几日内登记？").options[2] == {"key": "C", "text": "三十日"}


def test_csv_bad_row_reports_its_line_number(ctx):
    rows = tabular_rows()
    rows[3][12] = "对错"  # judge answer on line 4
    batch = read([("bank.csv", csv_bytes(rows, "gbk"), None)])
    assert [(p.row, p.field) for p in batch.problems] == [("第4行", "答案")]


def test_json_import(ctx):
    document = {"source": {"id": SOURCE}, "questions": [good_question()]}
    data = json.dumps(document, ensure_ascii=False).encode()
    assert bank_io.import_batch(read([("bank.json", data, None)])).added == 1


def test_reimport_skips_duplicates_by_content_hash(ctx):
    first = bank_io.import_batch(read([yaml_file([good_question()])]))
    db.session.commit()
    # Same question with different width and spacing: still a duplicate.
    spaced = good_question(
        stem="用人单位应当自成立之日起多少日内申请办理社会保险登记?  ",
        options={"A": "十日", "B": "十五日", "C": "三十日 ", "D": "六十日"},
    )
    second = bank_io.import_batch(read([yaml_file([spaced])]))
    assert (first.added, second.added, second.duplicates) == (1, 0, 1)


def test_same_stem_with_other_options_is_not_a_duplicate(ctx):
    other = good_question(options={"A": "五日", "B": "十五日", "C": "三十日", "D": "九十日"})
    summary = bank_io.import_batch(read([yaml_file([good_question(), other])]))
    assert (summary.added, summary.duplicates) == (2, 0)


def test_duplicates_within_one_file_are_skipped_and_counted(ctx):
    summary = bank_io.import_batch(read([yaml_file([good_question(), good_question()])]))
    assert (summary.added, summary.duplicates) == (1, 1)


def test_export_then_import_into_an_empty_bank_round_trips(ctx, app):
    bank_io.import_batch(read([("bank.xlsx", xlsx_bytes(tabular_rows()), None)]))
    db.session.commit()
    rows = bank_io.current_versions()
    exported_xlsx = bank_io.export_xlsx(rows)
    exported_yaml = bank_io.export_yaml(rows)
    sheet = load_workbook(io.BytesIO(exported_xlsx)).active
    assert sheet.max_row == 5 and sheet["M3"].value == "ABC"

    db.session.execute(QuestionVersion.__table__.delete())
    db.session.execute(Question.__table__.delete())
    db.session.execute(Source.__table__.delete())
    db.session.commit()
    # The YAML export carries its source text, so it imports where the source is unknown.
    resolver = bank_io.SourceResolver(bank_path=None)
    batch = bank_io.read_batch(
        [("export.yaml", exported_yaml, None)],
        resolver=resolver,
        categories=bank_io.DEFAULT_CATEGORIES,
        abilities=bank_io.DEFAULT_ABILITIES,
    )
    assert batch.problems == []
    assert bank_io.import_batch(batch).added == 4
    db.session.commit()
    assert sorted(r["stem"] for r in bank_io.current_versions()) == sorted(r["stem"] for r in rows)
    again = bank_io.import_batch(read([("export.xlsx", exported_xlsx, None)]))
    assert (again.added, again.duplicates) == (0, 4)


def test_template_has_the_import_columns_and_guidance():
    workbook = load_workbook(io.BytesIO(bank_io.template_xlsx()))
    assert [c.value for c in workbook["题目"][1]] == [title for _, title in bank_io.COLUMNS]
    assert "填写说明" in workbook.sheetnames
    assert len(workbook["题目"].data_validations.dataValidation) == 4


def test_filled_template_imports(ctx):
    workbook = load_workbook(io.BytesIO(bank_io.template_xlsx()))
    for row in tabular_rows()[1:]:
        workbook["题目"].append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert bank_io.import_batch(read([("filled.xlsx", buffer.getvalue(), None)])).added == 4


def test_shipped_bank_loads_once(ctx):
    first = bank_io.load_shipped_banks(BANK)
    db.session.commit()
    second = bank_io.load_shipped_banks(BANK)
    assert first.added >= 400 and first.sources_added >= 10
    assert (second.added, second.duplicates) == (0, first.added)


def test_normalise_folds_width_space_and_punctuation_only():
    assert normalise("三十 日。") == normalise("三十日") == "三十日"
    assert normalise("ＡＢＣ，") == "abc"
    assert normalise("1+1") != normalise("11")  # symbols stay; only punctuation goes
    assert normalise("三十") != normalise("30")
    options = [{"key": "A", "text": "是"}]
    assert content_hash("single", "题干？", options) == content_hash("single", "题干?", options)
    assert content_hash("single", "题干", options) != content_hash("multiple", "题干", options)


def test_every_shipped_written_question_round_trips_through_the_spreadsheet(ctx):
    """简答 and 情景应答 in .xlsx: the model answer in 答案, 群众原话, and the keypoints and deductions as
    lines (a phrase that holds 、 comes back whole: it is written in 「」)."""
    paths = sorted(BANK.glob("written_*.yaml"))
    summary = bank_io.import_batch(bank_io.read_for_import(paths, BANK))
    db.session.commit()
    assert summary.added == 120
    rows = bank_io.current_versions()
    before = {(row["stem"], row["says"]): row["answer"] for row in rows}
    batch = read([("back.xlsx", bank_io.export_xlsx(rows), None)])
    assert batch.problems == []
    after = {(draft.stem, draft.says): draft.answer for draft in batch.drafts}
    assert after == before
    assert any(
        "、" in phrase for answer in after.values() for item in answer["rubric"] for phrase in item["phrases"]
    )
