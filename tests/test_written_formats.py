"""简答 and 情景应答 in the formats units keep their banks in: Word (.docx), Moodle GIFT and Moodle XML
carry them both ways (a question exported and imported into an empty bank is the same question);
Aiken cannot and says so; a foreign essay without keypoints is a clear, located problem."""

from __future__ import annotations

import io

import pytest
import yaml
from docx import Document

from quizapp.extensions import db
from quizapp.services import bank_io
from quizapp.services.bank_io import word
from quizapp.services.errors import InvalidInput

from .conftest import ROOT, reset_database

BANK = ROOT / "question_bank"
DEFAULTS = {"category": "社会保险", "ability": "法规政策理解运用能力", "difficulty": "2"}
WRITERS = {
    "docx": bank_io.export_docx,
    "gift": bank_io.export_gift,
    "xml": bank_io.export_moodle_xml,
}

SHORT = {
    "type": "short",
    "category": "社会保险",
    "ability": "法规政策理解运用能力",
    "difficulty": 2,
    "stem": "职工在车间受伤，单位迟迟没有动静。\n简述：工伤认定申请应由谁、在多长期限内提出；单位未按期提出时怎么办。",
    "answer": (
        "参考答案：\n（1）所在单位应当自事故伤害发生之日起30日内提出工伤认定申请；\n"
        "2. 单位未提出的，工伤职工或者其近亲属、工会组织在1年内可以直接提出。"
    ),
    "rubric": [
        {
            "point": "单位自事故伤害发生之日起30日内；向统筹地区社会保险行政部门提出",
            "points": 2,
            "phrases": ["30日内", "三十日内"],
        },
        {
            "point": "单位未提出的，职工或近亲属、工会组织1年内可直接申请",
            "points": 1.5,
            "phrases": ["1年内", "一年内", "近亲属、工会组织", "12个月/1年"],
        },
    ],
    "deductions": [{"point": "把单位的申请期限说成60日", "points": 1, "phrases": ["60日内", "六十日内"]}],
    "explanation": "《工伤保险条例》第十七条第一款、第二款。\n两个期限都从事故伤害发生之日起算。",
    "locator": "第十七条",
    "quote": "所在单位应当自事故伤害发生之日或者被诊断、鉴定为职业病之日起30日内，向统筹地区社会保险行政部门提出工伤认定申请",
    "note": "申请时限遇特殊情况可经同意延长。",
    "reserved": True,
}
SITUATION = {
    "type": "situation",
    "source": "regulation_unemployment_insurance",
    "category": "就业创业",
    "ability": "沟通协调能力",
    "difficulty": 3,
    "stem": "一位刚被公司裁员的中年男士来到就业服务窗口，情绪激动，把材料往台上一拍。",
    "says": "我交了好几年失业保险{都是按月交的}，凭什么不能马上领钱？你们是不是故意刁难：~=#\\ 说清楚！",
    "answer": (
        "参考应答：您先别着急，我理解您的心情。领取失业保险金要同时符合三个条件：缴费满1年、非因本人意愿中断就业、"
        "已办理失业登记并有求职要求。\n解析一下您的情况：您是被裁员的，属于非因本人意愿；"
        "工资<最低工资标准&其他情况我们也会一并核对。\n我先帮您办理失业登记，再查缴费记录。"
    ),
    "rubric": [
        {"point": "先安抚情绪，表示理解", "points": 1, "phrases": ["理解您", "别着急"]},
        {
            "point": "说明领取条件：缴费满1年、非因本人意愿中断就业、办理失业登记并有求职要求",
            "points": 3,
            "phrases": ["满1年", "满一年", "非因本人意愿", "失业登记", "求职要求"],
        },
        {"point": "「一次性告知」下一步怎么办", "points": 1, "phrases": ["帮您办理", "「先」登记"]},
    ],
    "deductions": [
        {"point": "推诿或生硬的话", "points": 2, "phrases": ["不归我们管", "你自己去查"]},
        {"point": "说被裁员不能领", "points": 1, "phrases": ["裁员不能领"]},
    ],
    "explanation": "《失业保险条例》第十四条规定了领取失业保险金的三项条件。",
    "locator": "第十四条",
    "quote": "非因本人意愿中断就业的",
}
COMPARED = (
    "type",
    "stem",
    "says",
    "answer",
    "explanation",
    "category",
    "ability",
    "difficulty",
    "source",
    "locator",
    "quote",
    "note",
    "reserved",
)


def _yaml() -> tuple[str, bytes, object]:
    document = {
        "source": {"id": "regulation_work_injury_insurance", "title": "工伤保险条例"},
        "questions": [SHORT, SITUATION],
    }
    return "written.yaml", yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode(), BANK


def _read(name: str, data: bytes, defaults=None):
    return bank_io.read_for_import([(name, data, None)], BANK, unsourced_ok=True, defaults=defaults or {})


def _empty_bank() -> None:
    db.session.remove()
    reset_database()
    db.create_all()
    bank_io.ensure_taxonomy()
    db.session.commit()


def _fields(row: dict) -> dict:
    return {key: row[key] for key in COMPARED}


def docx_bytes(lines: list[str]) -> bytes:
    """A .docx, one paragraph a line ("\\n" a line break within it); "# " lines are headings."""
    document = Document()
    for line in lines:
        if line.startswith("# "):
            document.add_heading(line[2:], level=2)
        else:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --- the round trip: bank → format → an empty bank ---------------------------------------------


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_written_questions_round_trip_into_an_empty_bank(app, fmt):
    with app.app_context():
        bank_io.import_batch(bank_io.read_for_import([_yaml()], BANK))
        db.session.commit()
        rows = bank_io.current_versions()
        assert [row["type"] for row in rows] == ["short", "situation"]
        assert rows[0]["answer"]["rubric"][1]["phrases"][2] == "近亲属、工会组织"

        data, left = WRITERS[fmt](rows)
        assert left == []
        again = _read(f"导出.{fmt}", data)
        assert again.problems == [] and again.skipped == [] and all(d.lost == [] for d in again.drafts)
        assert bank_io.plan_import(again).new == []  # the very questions the bank holds

        _empty_bank()
        batch = _read(f"导出.{fmt}", data)
        assert batch.problems == [] and len(batch.drafts) == 2
        summary = bank_io.import_batch(batch)
        db.session.commit()
        assert (summary.added, summary.sources_added) == (2, 2)
        assert [_fields(row) for row in bank_io.current_versions()] == [_fields(row) for row in rows]


def test_the_formats_write_the_rubric_as_people_read_it(app):
    with app.app_context():
        bank_io.import_batch(bank_io.read_for_import([_yaml()], BANK))
        rows = bank_io.current_versions()
    gift = bank_io.export_gift(rows)[0].decode()
    assert "// 评分要点：先安抚情绪，表示理解|1|理解您、别着急\n" in gift
    assert "、「近亲属、工会组织」、「12个月/1年」\n" in gift  # a phrase holding 、 or / is quoted
    assert "// 扣分项：推诿或生硬的话|2|不归我们管、你自己去查\n" in gift
    assert (
        "\\n\\n群众原话：我交了好几年失业保险\\{都是按月交的\\}" in gift and "{####《失业保险条例》" in gift
    )
    xml = bank_io.export_moodle_xml(rows)[0].decode()
    assert xml.count('<question type="essay">') == 2 and "<defaultgrade>5</defaultgrade>" in xml
    assert '<graderinfo format="plain_text"><text>参考答案：参考应答：您先别着急' in xml
    assert "工资&lt;最低工资标准&amp;其他" in xml and "\n\n群众原话：我交了" in xml
    paragraphs = Document(io.BytesIO(bank_io.export_docx(rows)[0])).paragraphs
    texts = [p.text for p in paragraphs]
    assert "一、简答题" in texts and "二、情景应答题" in texts and "考试专用：是" in texts
    assert texts[texts.index("二、情景应答题") + 2].startswith("群众原话：")
    assert "扣分项：说被裁员不能领|1|裁员不能领" in texts


def test_aiken_leaves_written_questions_out_and_says_how_many(app):
    with app.app_context():
        bank_io.import_batch(bank_io.read_for_import([_yaml()], BANK))
        rows = bank_io.current_versions()
    single = {
        "type": "single",
        "stem": "题？",
        "options": [{"key": "A", "text": "甲"}, {"key": "B", "text": "乙"}],
        "answer": "B",
        "case": None,
    }
    data, left = bank_io.export_aiken([*rows, single])
    assert data.decode() == "题？\nA. 甲\nB. 乙\nANSWER: B\n"
    assert left == [
        "第1题：简答题（Aiken 只能表示单选题），未导出",
        "第2题：情景应答题（Aiken 只能表示单选题），未导出",
    ]


def test_the_admin_exports_word_and_the_word_template_shows_both_types(app, login_as, create_user):
    with app.app_context():
        bank_io.import_batch(bank_io.read_for_import([_yaml()], BANK))
        db.session.commit()
    create_user("root", role="admin")
    admin = login_as("root")
    assert "导出 Word" in admin.get("/admin/questions").get_data(as_text=True)
    exported = admin.get("/admin/questions/export", query_string={"format": "docx", "type": "situation"})
    assert exported.status_code == 200 and exported.data[:2] == b"PK"
    with app.app_context():
        batch = _read("导出.docx", exported.data)
        assert batch.problems == [] and [d.type for d in batch.drafts] == ["situation"]
        template = _read("模板.docx", word.template_docx(), DEFAULTS)
        assert template.problems == []
        written = [d for d in template.drafts if d.type in ("short", "situation")]
        assert [(d.type, len(d.answer["rubric"]), len(d.answer["deductions"])) for d in written] == [
            ("short", 2, 1),
            ("situation", 3, 1),
        ]
        assert written[1].says.startswith("我交了") and written[1].ability == "沟通协调能力"


# --- foreign files: how people write them by hand ---------------------------------------------


def test_a_foreign_moodle_essay_without_keypoints_is_a_clear_problem(ctx):
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="essay">
    <name><text>社保登记简答</text></name>
    <questiontext format="html"><text><![CDATA[<p>简述用人单位办理社会保险登记的期限。</p>]]></text></questiontext>
    <graderinfo format="html"><text><![CDATA[<p>自成立之日起三十日内。</p>]]></text></graderinfo>
  </question>
  <question type="essay">
    <name><text>带要点的简答</text></name>
    <questiontext format="html"><text><![CDATA[<p>简述失业保险金的领取条件。</p>]]></text></questiontext>
    <generalfeedback format="html"><text>《失业保险条例》第十四条。</text></generalfeedback>
    <graderinfo format="html"><text><![CDATA[<p>参考答案：缴费满1年；</p><p>非因本人意愿中断就业；已办理失业登记。</p>
<p>评分要点：缴费满1年|2|满1年、满一年</p><p>评分要点：非因本人意愿|1|非因本人意愿；办理失业登记|1|失业登记</p>]]></text></graderinfo>
  </question>
</quiz>"""
    batch = _read("单位.xml", xml.encode(), DEFAULTS)
    assert [(p.row, p.field) for p in batch.problems] == [("第3行", "评分要点")]
    message = batch.problems[0].message
    assert message.startswith("简答题“社保登记简答”缺少评分要点") and "graderinfo" in message
    (essay,) = batch.drafts  # the one with keypoints is read; the file as a whole is refused
    assert (essay.type, essay.stem, essay.explanation) == (
        "short",
        "简述失业保险金的领取条件。",
        "《失业保险条例》第十四条。",
    )
    assert essay.answer["model"] == "缴费满1年；\n非因本人意愿中断就业；已办理失业登记。"
    assert [(item["point"], item["points"]) for item in essay.answer["rubric"]] == [
        ("缴费满1年", 2.0),
        ("非因本人意愿", 1.0),
        ("办理失业登记", 1.0),
    ]
    with pytest.raises(InvalidInput):
        bank_io.import_batch(batch)


def test_a_foreign_gift_essay_reads_its_rubric_from_comments_or_is_refused(ctx):
    text = """// 评分要点：三十日内提出|2|三十日内、30日内
// 扣分项：说成六十日|1|六十日
::登记期限:: 简述用人单位申请办理社会保险登记的期限。 {####《社会保险法》第五十七条。}

::情景:: 一位老板来窗口问登记的事。
群众原话：我们公司刚成立，社保登记不着急吧？ {}

::无要点:: 简述失业登记的作用。 {}
"""
    batch = _read("单位.gift", text.encode(), DEFAULTS)
    assert [(p.row, p.message.split("：")[0]) for p in batch.problems] == [
        ("第5行", "情景应答题“情景”缺少评分要点"),
        ("第8行", "简答题“无要点”缺少评分要点"),
        ("第3行", "简答题和情景应答题须有参考答案（写在“答案”中）"),  # keypoints but no model answer
    ]
    text = text.replace("// 扣分项", "// 参考答案：自成立之日起三十日内。\n// 扣分项")
    text = text.replace(
        "::情景::",
        "// 参考应答：不能拖，应当自成立之日起三十日内办理。\n// 评分要点：说明三十日内|2|三十日内\n::情景::",
    )
    text = text.split("::无要点::")[0]
    batch = _read("单位.gift", text.encode(), DEFAULTS)
    assert batch.problems == []
    short, situation = batch.drafts
    assert short.answer["deductions"] == [{"point": "说成六十日", "points": 1.0, "phrases": ["六十日"]}]
    assert (situation.type, situation.stem, situation.says) == (
        "situation",
        "一位老板来窗口问登记的事。",
        "我们公司刚成立，社保登记不着急吧？",
    )
    assert situation.answer["model"] == "不能拖，应当自成立之日起三十日内办理。"


def test_word_reads_written_questions_as_units_write_them(ctx):
    lines = [
        "××区人社局练兵题库",
        "# 一、简答题（每题6分）",
        "1. 简述工伤认定申请的期限。",
        "参考答案：单位30日内提出；",
        "单位未提出的，职工或其近亲属、工会组织1年内可以直接提出。",
        "评分要点：",
        "单位30日内提出|2|30日内、三十日内",
        "职工1年内可直接申请|2|1年内、一年内",
        "解析：《工伤保险条例》第十七条。",
        "# 二、情景应答题",
        "1. 一位群众来窗口，情绪激动。\n他手里拿着一叠材料。",
        "群众原话：你们到底管不管？",
        "参考应答：您先别急，我来帮您看看。解析您的材料后一次性告诉您缺什么。",
        "评分要点：安抚情绪|1|别急",
        "评分要点：一次性告知|2|一次性",
        "扣分项：推诿|1|不归我们管",
        "解析：首问负责、一次性告知。",
        "能力：沟通协调能力",
        "# 三、论述题",
        "1. 论述窗口服务的意义。",
    ]
    paragraphs = [line.removeprefix("# ") for line in lines]  # a heading's text, as the reader gets it
    records, problems = word.records_from_paragraphs("题库.docx", paragraphs, DEFAULTS)
    assert [(p.row, p.message.split("：")[0]) for p in problems] == [
        ("第20段", "本平台的题型为单选、多选、判断、填空、简答、情景应答")
    ]
    short, situation = (record.values for record in records)
    assert short["type"] == "short" and short["answer"].count("\n") == 1
    assert [item["point"] for item in short["rubric"]] == ["单位30日内提出", "职工1年内可直接申请"]
    assert (
        situation["type"] == "situation"
        and situation["stem"] == "一位群众来窗口，情绪激动。\n他手里拿着一叠材料。"
    )
    assert situation["answer"].endswith("一次性告诉您缺什么。")  # "解析" inside a model answer stays in it
    assert situation["says"] == "你们到底管不管？" and situation["explanation"] == "首问负责、一次性告知。"
    batch = _read("题库.docx", docx_bytes(lines[:-2]), DEFAULTS)
    assert batch.problems == [] and [d.type for d in batch.drafts] == ["short", "situation"]

    bad = lines[:6] + ["单位30日内提出|2"] + lines[7:9]
    batch = _read("题库.docx", docx_bytes(bad), DEFAULTS)
    assert [(p.row, p.field, p.message) for p in batch.problems] == [
        ("第1题（第3段）", "评分要点", "评分要点格式有误：每行一个要点，写作“要点|分值|短语、短语”")
    ]
    guessed = ["1. 简述登记期限。", "答案：三十日内。", "评分要点：三十日内|2|三十日内", "解析：第五十七条。"]
    batch = _read("题库.docx", docx_bytes(guessed), DEFAULTS)  # no heading: the rubric says what it is
    assert batch.problems == [] and batch.drafts[0].type == "short"
