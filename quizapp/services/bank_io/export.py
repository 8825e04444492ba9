"""Exporting current questions (YAML with their source texts, .xlsx) and the import template."""

from __future__ import annotations

import yaml
from sqlalchemy import select

from ...extensions import db
from ...models import Ability, Category, Question, QuestionVersion, Source
from ...models.bank import WRITTEN_TYPES, QuestionType
from .. import exports, grading
from .format import BLANK, COLUMNS, DEFAULT_ABILITIES, DEFAULT_CATEGORIES, OPTION_KEYS
from .rubric import rubric_lines


def current_versions(question_ids: list[int] | None = None) -> list[dict]:
    """Current content of the given questions (all when None), as plain dicts, ordered by id (a
    case's sub-questions together, in their order)."""
    stmt = (
        select(QuestionVersion, Source.code, Category.name, Ability.name, Question.reserved)
        .join(Question, Question.id == QuestionVersion.question_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .join(Category, Category.id == QuestionVersion.category_id)
        .join(Ability, Ability.id == QuestionVersion.ability_id)
        .where(QuestionVersion.is_current)
        .order_by(QuestionVersion.question_id)
    )
    if question_ids is not None:
        stmt = stmt.where(QuestionVersion.question_id.in_(question_ids))
    rows = [
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
            "note": v.note,
            "says": v.says,
            "case": {"id": v.case_id, "title": v.case.title, "body": v.case.body} if v.case_id else None,
            "case_position": v.case_position,
            "reserved": reserved,
        }
        for v, code, category, ability, reserved in db.session.execute(stmt)
    ]
    first_of_case: dict[int, int] = {}
    for index, row in enumerate(rows):
        if row["case"]:
            first_of_case.setdefault(row["case"]["id"], index)
    return sorted(
        rows,
        key=lambda row: (
            (first_of_case[row["case"]["id"]], row["case_position"]) if row["case"] else (rows.index(row), 0)
        ),
    )


def _question(row: dict) -> dict:
    question = {k: row[k] for k in ("type", "category", "ability", "difficulty", "stem")}
    if row["options"]:
        question["options"] = {o["key"]: o["text"] for o in row["options"]}
    if row["says"]:
        question["says"] = row["says"]
    if row["type"] in WRITTEN_TYPES:  # the model answer, then its rubric
        question.update(answer=row["answer"]["model"], rubric=row["answer"]["rubric"])
        if row["answer"]["deductions"]:
            question["deductions"] = row["answer"]["deductions"]
    else:
        question["answer"] = row["answer"]
    question.update({k: row[k] for k in ("explanation", "locator", "quote")})
    if row["note"]:
        question["note"] = row["note"]
    if row["reserved"]:
        question["reserved"] = True
    return question


def export_yaml(rows: list[dict]) -> bytes:
    """One YAML document per source (``---`` separated), each carrying its source text. A case goes
    with the source of its first sub-question; a sub-question that quotes another document names it,
    and that document's text comes along too."""
    by_source: dict[str, list] = {}
    cases: dict[int, dict] = {}
    for row in rows:
        if row["case"] is None:
            by_source.setdefault(row["source"], []).append(_question(row))  # None: 无出处
            continue
        case = cases.get(row["case"]["id"])
        if case is None:
            case = cases[row["case"]["id"]] = {
                "type": "case",
                "title": row["case"]["title"],
                "case": row["case"]["body"],
                "items": [],
                "_source": row["source"],
            }
            by_source.setdefault(row["source"], []).append(case)
        sub = _question(row)
        if row["source"] != case["_source"]:
            sub = {"source": row["source"], **sub}
            by_source.setdefault(row["source"], [])  # its text goes into the file
        case["items"].append(sub)
    for case in cases.values():
        del case["_source"]
    sources = {s.code: s for s in db.session.scalars(select(Source).where(Source.code.in_(by_source)))}
    documents = [
        {
            "source": {"id": code, "title": sources[code].title, "text": _source_file_text(sources[code])},
            "questions": questions,
        }
        if code
        else {"questions": questions}  # 无出处: a document without a source block
        for code, questions in by_source.items()
    ]
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
    workbook = exports.workbook()
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
                "|".join(row["answer"]["unit"]) if row["type"] == "calc" else None,
                grading.plain_number(row["answer"]["tolerance"]) if row["type"] == "calc" else None,
                row["note"],
                *(
                    (row["case"]["id"], row["case"]["title"], row["case"]["body"])
                    if row["case"]
                    else (None, None, None)
                ),
                "是" if row["reserved"] else None,
                row["says"],
                *(
                    (
                        "\n".join(rubric_lines(row["answer"]["rubric"])),
                        "\n".join(rubric_lines(row["answer"]["deductions"])),
                    )
                    if row["type"] in WRITTEN_TYPES
                    else (None, None)
                ),
            ],
        )
    return exports.save(workbook)


def template_xlsx(categories: list[str] | None = None, abilities: list[str] | None = None) -> bytes:
    """The import template: the header row, drop-down lists, and a sheet of instructions with examples."""
    from openpyxl.worksheet.datavalidation import DataValidation

    categories = categories or DEFAULT_CATEGORIES
    abilities = abilities or DEFAULT_ABILITIES
    workbook = exports.workbook()
    sheet = workbook.active
    sheet.title = "题目"
    _header_row(sheet)
    letter = {name: sheet.cell(1, index).column_letter for index, (name, _) in enumerate(COLUMNS, 1)}
    for name, choices in (
        ("type", ["单选", "多选", "判断", "填空", "计算", "简答", "情景应答"]),
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
        ("题型", "单选 / 多选 / 判断 / 填空 / 计算 / 简答 / 情景应答"),
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
        ("群众原话", "情景应答题必填：窗口前群众说的话（题干写场景）"),
        (
            "评分要点",
            "简答、情景应答题必填（答案一栏写参考答案）：每行一个要点，写作“要点|分值|短语、短语”，"
            "如 说明申领条件|3|非因本人意愿、失业登记；分值以 0.5 为单位",
        ),
        ("扣分项", "可选，格式同评分要点，如 推诿的话|2|不归我们管、你自己去查"),
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
    guide["A1"].font = guide["B1"].font = exports.bold()
    return exports.save(workbook)
