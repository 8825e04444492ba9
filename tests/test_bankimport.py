"""Banks in and out the ways units keep them: Word (.docx), Moodle GIFT / Aiken / XML; questions
without a source (无出处); hostile and broken files; property tests on the Word and GIFT parsers."""

from __future__ import annotations

import io
import zipfile

import pytest
from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Question, QuestionVersion, UploadPreview
from quizapp.services import bank_io, grading, questions
from quizapp.services.bank_io import moodle, word

from .conftest import ROOT

BANK = ROOT / "question_bank"
DEFAULTS = {"category": "社会保险", "ability": "法规政策理解运用能力", "difficulty": "2"}


def docx_bytes(lines: list[str]) -> bytes:
    """A real .docx (python-docx writes it): one paragraph a line; "# " lines are headings."""
    document = Document()
    for line in lines:
        if line.startswith("# "):
            document.add_heading(line[2:], level=2)
        else:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


UNIT_BANK = [
    "××区人社局窗口业务练兵题库",
    "（内部资料，请勿外传）",
    "# 一、单项选择题（每题1分）",
    "1. 用人单位应当自成立之日起（ ）日内申请办理社会保险登记。",
    "A. 十日",
    "B. 十五日",
    "C. 三十日",
    "D. 六十日",
    "答案：C",
    "解析：《社会保险法》规定为三十日。",
    "2、职工应当参加的社会保险中，由用人单位和职工共同缴纳的是（A）。",
    "A．基本养老保险    B．工伤保险    C．生育保险",
    "解析：工伤保险由用人单位缴纳，职工不缴纳。",
    "（3）失业保险金的标准由（ ）确定。",
    "(A) 省级人民政府",
    "(B) 县级人民政府",
    "答案：A 解析：由省、自治区、直辖市人民政府确定，不得低于城市居民最低生活保障标准。",
    "# 二、多选题",
    "1. 下列属于社会保险的有（ ）。",
    "A、基本养老保险",
    "B、工伤保险",
    "C、商业人寿保险",
    "D、失业保险",
    "答案：ABD",
    "解析：商业人寿保险不属于社会保险。",
    "第二行解析：社会保险由国家立法强制实施。",
    "# 三、判断题",
    "1. 工伤保险费由用人单位和职工共同缴纳。（×）",
    "解析：职工不缴纳工伤保险费。",
    "2. 失业人员在领取失业保险金期间参加职工基本医疗保险。（ ）",
    "解析：应当参加。",
    "# 四、填空题",
    "1. 用人单位应当自用工之日起（ ）日内为其职工申请办理社会保险登记。",
    "解析：三十日。",
    "2. 基本养老保险实行____和____相结合。",
    "答案：社会统筹；个人账户",
    "解析：《社会保险法》第十一条。",
    "参考答案",
    "三、判断题",
    "2.√",
    "四、填空题",
    "1. 三十",
]


def parsed(lines, defaults=DEFAULTS):
    return word.records_from_paragraphs("题库.docx", lines, defaults)


def read_upload(name: str, data: bytes, defaults=DEFAULTS):
    return bank_io.read_for_import([(name, data, None)], BANK, unsourced_ok=True, defaults=defaults)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def admin(app, login_as, create_user):
    create_user("root", role="admin")
    return login_as("root")


def upload(client, name: str, data: bytes, **defaults):
    fields = {f"default_{k}": v for k, v in (DEFAULTS | defaults).items()}
    return client.post(
        "/admin/questions/import",
        data={"file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )


def confirm(client, page: str):
    token = page.split("/admin/questions/import/")[1].split('"')[0]
    fields = {f"default_{k}": v for k, v in DEFAULTS.items()}
    return client.post(f"/admin/questions/import/{token}", data=fields, follow_redirects=True)


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(Question.id))),
        db.session.scalar(select(func.count(UploadPreview.id))),
    )


# --- Word: the layouts -------------------------------------------------------------------------


def test_word_reads_the_common_layouts():
    records, problems = parsed(UNIT_BANK)
    assert problems == []
    by_row = {r.row: r.values for r in records}
    assert [r.values["type"] for r in records] == ["single"] * 3 + ["multiple"] + ["judge"] * 2 + ["fill"] * 2
    first = by_row["第1题（第4段）"]
    assert first["options"] == {"A": "十日", "B": "十五日", "C": "三十日", "D": "六十日"}
    assert first["answer"] == "C" and first["category"] == "社会保险"
    inline = by_row["第2题（第11段）"]  # options on one line, the key in the stem's brackets
    assert inline["answer"] == "A" and inline["options"]["C"] == "生育保险" and "（ ）" in inline["stem"]
    bracketed = by_row["第3题（第14段）"]  # (A) options, answer and 解析 on one line
    assert bracketed["answer"] == "A" and bracketed["explanation"].startswith("由省")
    assert by_row["第1题（第19段）"]["explanation"].count("\n") == 1  # 解析 over two paragraphs
    assert by_row["第1题（第28段）"]["answer"] == "×" and by_row["第1题（第28段）"]["stem"].endswith("缴纳。")
    assert by_row["第2题（第30段）"]["answer"] == "√"  # from the trailing answer section
    fill = by_row["第1题（第33段）"]
    assert fill["stem"].count(bank_io.BLANK) == 1 and fill["answer"] == "三十"
    assert by_row["第2题（第35段）"]["answer"] == "社会统筹；个人账户"


def test_word_names_every_unreadable_paragraph():
    body = UNIT_BANK[: UNIT_BANK.index("参考答案")]
    lines = (
        body[:6]
        + ["这一行跟在选项后面"]
        + body[6:9]
        + ["这一行既不是选项也不是答案"]
        + body[9:]
        + ["# 五、论述题", "1. 论述社会保险登记的程序。", "参考答案", "1.B", "乱七八糟的内容"]
    )
    records, problems = parsed(lines)
    where = [(p.row, p.message.split("：")[0]) for p in problems]
    assert where == [
        ("第7段", "第1题的选项之后无法识别"),
        ("第11段", "第1题的答案之后无法识别"),
        (f"第{len(lines) - 3}段", "本平台的题型为单选、多选、判断、填空、简答、情景应答"),
        (f"第{len(lines)}段", "答案部分无法识别这一行"),
    ]


def test_word_range_keys_and_an_answer_section_without_headings():
    lines = ["# 单选题"] + [
        item
        for n in range(1, 6)
        for item in (f"{n}. 第{n}题题干（ ）", "A. 甲", "B. 乙", "C. 丙", f"解析：第{n}题解析")
    ]
    records, problems = parsed(lines + ["参考答案", "1-5 BCABA"])
    assert problems == [] and [r.values["answer"] for r in records] == list("BCABA")
    records, problems = parsed(lines + ["参考答案：", "1.B 2.C 3.A", "4.B 5.A"])
    assert problems == [] and [r.values["answer"] for r in records] == list("BCABA")


# --- the wizard: preview, all or nothing, 无出处 -------------------------------------------------


def test_word_import_previews_every_question_then_imports_as_unsourced(app, admin):
    page = upload(admin, "单位题库.docx", docx_bytes(UNIT_BANK)).get_data(as_text=True)
    assert "将新增 <b>8</b> 题" in page and "其中 <b>8</b> 题没有出处" in page
    for stem in ("申请办理社会保险登记", "失业保险金的标准", "下列属于社会保险的有", "基本养老保险实行"):
        assert stem in page
    assert "第3题（第14段）" in page
    with app.app_context():
        before, _ = counts()
    done = confirm(admin, page).get_data(as_text=True)
    assert "已导入 8 题" in done
    with app.app_context():
        assert counts()[0] == before + 8
        unsourced = db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.source_id.is_(None), QuestionVersion.is_current)
        ).all()
        assert len(unsourced) == 8 and {v.quote for v in unsourced} == {""}
        total, rows = questions.page_of(questions.search(questions.QuestionFilters(source="-")), 1)
        assert total == 8
        feedback = grading.feedback(unsourced[0], "A", 0.0, False, None)
        assert feedback["source"]["quote"] == ""  # the learner's page shows 无出处 for it
    listing = admin.get("/admin/questions", query_string={"source": "-"}).get_data(as_text=True)
    assert listing.count('class="tag tag-warn unsourced"') == 8 and "共 8 题" in listing
    detail = admin.get(f"/admin/questions/{rows[0][0].question_id}").get_data(as_text=True)
    assert "无出处" in detail


def test_word_with_one_bad_question_imports_nothing(app, admin):
    lines = UNIT_BANK[:8] + ["答案：Z"] + UNIT_BANK[9:]
    with app.app_context():
        before = counts()
    page = upload(admin, "单位题库.docx", docx_bytes(lines)).get_data(as_text=True)
    assert "发现 1 处错误" in page and "第1题（第4段）" in page and "/admin/questions/import/" not in page
    with app.app_context():
        assert counts() == before


def test_a_quote_that_is_given_is_verified(ctx):
    lines = [
        "# 判断题",
        "1. 劳动合同期限三个月以上不满一年的，试用期不得超过一个月。（√）",
        "解析：《劳动合同法》第十九条。",
        "来源：law_labor_contract",
        "条款：第十九条",
        "原文：试用期不得超过两个月",
    ]
    batch = read_upload("带出处.docx", docx_bytes(lines))
    assert [p.field for p in batch.problems] == ["原文引用"] and not batch.drafts
    batch = read_upload("带出处.docx", docx_bytes(lines[:-1] + ["原文：试用期不得超过一个月"]))
    assert batch.problems == [] and batch.drafts[0].source == "law_labor_contract"
    batch = read_upload("带出处.docx", docx_bytes(lines[:3] + ["原文：试用期不得超过一个月"]))
    assert [p.field for p in batch.problems] == ["来源文件编码"]  # a quote needs its document


def test_the_shipped_bank_keeps_its_every_question_quoted_rule(ctx, tmp_path):
    from .test_bank_io import good_question, yaml_file

    name, data, _ = yaml_file([good_question(locator=None, quote=None, source=None)])
    (tmp_path / "bank.yaml").write_bytes(
        data.replace(b"source:\n  id: law_social_insurance", b"questions_of: x")
    )
    result = bank_io.verify_paths([tmp_path / "bank.yaml"], BANK)
    assert result["errors"] and result["questions"] == 0


def test_word_template_downloads_and_imports_cleanly(app, admin):
    template = admin.get("/admin/questions/template.docx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    page = upload(admin, "题目导入模板.docx", template.data).get_data(as_text=True)
    assert "将新增 <b>7</b> 题" in page or "跳过重复" in page
    assert "发现" not in page


# --- Moodle: GIFT, Aiken, XML ------------------------------------------------------------------


def _shipped_rows(app) -> list[dict]:
    bank_io.load_shipped_banks(BANK)
    db.session.flush()
    rows = bank_io.current_versions()
    picked, per_type = [], {}
    for row in rows:
        if row["case"] is None and per_type.get(row["type"], 0) < 60:
            per_type[row["type"]] = per_type.get(row["type"], 0) + 1
            picked.append(row)
    return picked


def _same(draft, row) -> None:
    assert (draft.type, draft.stem, draft.options, draft.explanation) == (
        row["type"],
        row["stem"],
        row["options"],
        row["explanation"],
    )
    answer = row["answer"]
    if row["type"] == "calc":
        answer = {**answer, "value": float(answer["value"]), "tolerance": float(answer["tolerance"])}
    assert draft.answer == answer
    assert (draft.category, draft.ability, draft.difficulty) == (
        row["category"],
        row["ability"],
        row["difficulty"],
    )
    assert (draft.source, draft.locator, draft.quote, draft.note) == (
        row["source"],
        row["locator"],
        row["quote"],
        row["note"],
    )


@pytest.mark.parametrize("fmt", ["gift", "xml"])
def test_round_trip_bank_to_moodle_and_back_gives_the_same_questions(app, fmt):
    with app.app_context():
        rows = _shipped_rows(app)
        writer = bank_io.export_gift if fmt == "gift" else bank_io.export_moodle_xml
        data, left = writer(rows)
        carried = [
            row
            for row in rows
            if row["type"] != "fill" or (len(row["answer"]) == 1 and row["stem"].count("____") == 1)
        ]
        assert len(left) == len(rows) - len(carried)
        batch = read_upload(f"导出.{fmt}", data, defaults={})
        assert batch.problems == [] and batch.skipped == []
        types = {d.type for d in batch.drafts}  # 简答 and 情景应答 too, once the bank has them
        assert len(batch.drafts) == len(carried) and types == {row["type"] for row in carried}
        assert types >= {"single", "multiple", "judge", "fill", "calc"}
        for draft, row in zip(batch.drafts, carried, strict=True):
            _same(draft, row)
        plan = bank_io.plan_import(batch)
        assert plan.new == []  # the very questions the bank holds


def test_gift_types_partial_credit_and_what_cannot_be_carried(ctx):
    text = """// 单位题库
$CATEGORY: $course$/题库/劳动关系

::Q1:: 劳动合同期限一年以上不满三年的，试用期不得超过几个月？ {=二个月 ~一个月 ~三个月 ####《劳动合同法》第十九条。}

::Q2:: 下列哪些属于劳动合同的必备条款？ {
~%50%劳动合同期限
~%50%工作内容和工作地点
~%-100%试用期
####第十七条。
}

::Q3:: 用人单位可以扣押劳动者的居民身份证。 {F####不得扣押。}

::Q4:: 用人单位自用工之日起即与劳动者建立 {=劳动关系 =劳动关系。####第七条。} 。

::Q5:: 请简述劳动合同的订立原则。 {}

::Q6:: 匹配 { =甲 -> 一 =乙 -> 二 =丙 -> 三 }

::Q7:: 一年有几个月？ {#12}
"""
    batch = read_upload(
        "单位.gift", text.encode("gbk"), defaults={"ability": DEFAULTS["ability"], "difficulty": 2}
    )
    assert [(p.row, p.message.split("：")[0]) for p in batch.problems] == [
        ("第17行", "简答题“Q5”缺少评分要点")
    ]
    single, multiple, judge, fill = batch.drafts
    assert (single.type, single.answer, single.category) == ("single", "A", "劳动关系")
    assert (multiple.type, multiple.answer) == ("multiple", ["A", "B"]) and multiple.options[2][
        "text"
    ] == "试用期"
    assert (judge.type, judge.answer, judge.explanation) == ("judge", False, "不得扣押。")
    assert fill.stem == "用人单位自用工之日起即与劳动者建立____。" and fill.answer == [
        ["劳动关系", "劳动关系。"]
    ]
    assert [s.kind.split("（")[0] for s in batch.skipped] == ["匹配题", "数值题"]
    assert all(d.source is None for d in batch.drafts)


@pytest.mark.parametrize(
    ("text", "row", "words"),
    [
        ("::Q1:: 题干 {=对 ~错\n", "第1行", "没有对应的 }"),
        ("题一 {=甲 ~乙}\n\n题二 =甲 ~乙}\n", "第3行", "没有对应的 {"),
        ("::Q1 题干 {=甲 ~乙}\n", "第1行", "缺少结尾的 ::"),
        ("题一 {甲 乙}\n", "第1行", "应以 = 或 ~ 开头"),
        ("题一 {~甲 ~乙}\n", "第1行", "没有正确选项"),
        ("题一 {=甲 ~乙} 又 {=丙}\n", "第1行", "只能有一个答案部分"),
    ],
)
def test_gift_syntax_errors_are_located_and_nothing_is_read(ctx, text, row, words):
    batch = read_upload("坏.gift", ("::Q0:: 好题 {=甲 ~乙 ####解析}\n\n" + text).encode())
    assert not batch.drafts or batch.problems
    located = [p for p in batch.problems if words in p.message]
    assert located and located[0].row == f"第{int(row[1:-1]) + 2}行"


def test_aiken_in_and_out(ctx):
    text = "用人单位应当自成立之日起几日内申请办理社会保险登记？\nA. 十日\nB. 三十日\nC. 六十日\nANSWER: B\n\n第二题？\nA) 甲\nB) 乙\nANSWER: A\n"
    batch = read_upload("单选.txt", text.encode(), defaults=DEFAULTS)
    assert batch.problems == [] and [d.answer for d in batch.drafts] == ["B", "A"]
    assert all(d.lost == ["解析（原文件没有，已填入待补充提示）"] for d in batch.drafts)
    assert {d.explanation for d in batch.drafts} == {"（原题没有解析，待补充）"}
    batch = read_upload("单选.txt", text.replace("ANSWER: A", "ANSWER: D").encode(), defaults=DEFAULTS)
    assert [p.row for p in batch.problems] == ["第10行"]
    rows = [
        {
            "type": "single",
            "stem": "题？",
            "options": [{"key": "A", "text": "甲"}, {"key": "B", "text": "乙"}],
            "answer": "B",
            "case": None,
        },
        {"type": "judge", "stem": "判断", "options": [], "answer": True, "case": None},
    ]
    data, left = bank_io.export_aiken(rows)
    assert data.decode() == "题？\nA. 甲\nB. 乙\nANSWER: B\n" and len(left) == 1


def test_moodle_xml_from_moodle_reads_its_types(ctx):
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/Default/社会保险</text></category></question>
  <question type="multichoice">
    <name><text>Q</text></name>
    <questiontext format="html"><text><![CDATA[<p>工伤保险费由<b>谁</b>缴纳？</p>]]></text></questiontext>
    <generalfeedback format="html"><text>&lt;p&gt;职工不缴纳。&lt;/p&gt;</text></generalfeedback>
    <single>true</single>
    <answer fraction="100"><text>用人单位</text><feedback><text>对</text></feedback></answer>
    <answer fraction="0"><text>职工</text></answer>
  </question>
  <question type="essay"><name><text>E</text></name><questiontext><text>论述</text></questiontext></question>
  <question type="truefalse"><questiontext format="plain_text"><text>生育保险由职工缴纳。</text></questiontext>
    <generalfeedback><text>职工不缴纳。</text></generalfeedback>
    <answer fraction="0"><text>true</text></answer><answer fraction="100"><text>false</text></answer></question>
</quiz>"""
    batch = read_upload("moodle.xml", xml.encode(), defaults=DEFAULTS)
    assert [(p.row, p.message.split("：")[0]) for p in batch.problems] == [
        ("第12行", "简答题“E”缺少评分要点")
    ]
    choice, judge = batch.drafts
    assert (
        choice.stem == "工伤保险费由谁缴纳？"
        and choice.explanation == "职工不缴纳。"
        and choice.answer == "A"
    )
    assert "选项反馈" in choice.lost and judge.answer is False
    assert batch.skipped == []


def test_moodle_xml_entities_and_doctype_are_refused(ctx):
    bomb = b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><quiz><question type="truefalse"><questiontext><text>&b;</text></questiontext></question></quiz>'
    batch = read_upload("bomb.xml", bomb)
    assert [p.message for p in batch.problems] == [
        "Moodle XML 不应含有 DOCTYPE 或实体声明（出于安全原因拒绝读取）"
    ]
    external = (
        b'<?xml version="1.0"?><!DOCTYPE quiz [<!ENTITY x SYSTEM "file:///etc/passwd">]><quiz>&x;</quiz>'
    )
    assert "DOCTYPE" in read_upload("x.xml", external).problems[0].message
    broken = read_upload("x.xml", b"<quiz>\n<question type='truefalse'>\n</quiz>")
    assert broken.problems[0].row == "第3行" and "XML 格式错误" in broken.problems[0].message


def test_moodle_exports_from_the_bank_list(app, admin):
    with app.app_context():
        bank_io.load_shipped_banks(BANK)
        db.session.commit()
    gift = admin.get("/admin/questions/export", query_string={"format": "gift", "type": "judge"})
    assert gift.status_code == 200 and b"{TRUE" in gift.data and b"// quizapp {" in gift.data
    xml = admin.get("/admin/questions/export", query_string={"format": "xml", "type": "single"})
    assert xml.data.count(b'<question type="multichoice">') > 100
    aiken = admin.get("/admin/questions/export", query_string={"format": "aiken"})
    assert b"ANSWER: " in aiken.data


# --- bad input: each a clear, located error and nothing imported --------------------------------


def _docx_bomb(megabytes: int = 300) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><w:document><!--')
            block = b"A" * (1 << 20)
            for _ in range(megabytes):
                part.write(block)
            part.write(b"--></w:document>")
    return buffer.getvalue()


def _renamed_xlsx() -> bytes:
    from openpyxl import Workbook

    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("炸弹.docx", _docx_bomb, "疑似压缩炸弹"),
        ("表格.docx", _renamed_xlsx, "Excel 工作簿（.xlsx）改成了 .docx"),
        ("旧版.docx", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000, "旧版 Office 97-2003"),
        ("坏.docx", lambda: b"PK\x03\x04 not really a zip", "文件损坏"),
        ("空.docx", lambda: docx_bytes([]), "文件中没有题目"),
        ("只有标题.docx", lambda: docx_bytes(["××单位题库", "说明文字"]), "文件中没有题目"),
        ("空.gift", lambda: b"", "文件为空"),
        ("空白.txt", lambda: b"   \n\n", "文件为空"),
        ("乱码.gift", lambda: bytes(range(128, 256)) * 4, "无法识别文件编码"),
        ("二进制.txt", lambda: b"\x00\x01\x02hello", "不是纯文本文件"),
    ],
)
def test_bad_files_are_refused_with_a_clear_error(app, admin, name, make, words):
    with app.app_context():
        before = counts()
    page = upload(admin, name, make()).get_data(as_text=True)
    assert "未导入任何题目" in page and words in page, page[-3000:]
    with app.app_context():
        assert counts() == before


def test_a_50_mb_file_is_refused_before_it_is_read(app, admin):
    with app.app_context():
        before = counts()
    response = upload(admin, "大文件.docx", b"PK" + b"\0" * (50 * 2**20))
    response.request.environ["wsgi.input"].close()  # the test client's spooled body: nobody read it
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "文件超过 20 MB 的上限，未导入任何内容" in page
    with app.app_context():
        assert counts() == before


def test_a_gbk_text_file_is_read_as_gbk(ctx):
    text = "::Q1:: 工伤保险费由谁缴纳？ {=用人单位 ~职工 ####职工不缴纳工伤保险费。}\n"
    batch = read_upload("gbk.gift", text.encode("gbk"))
    assert batch.problems == [] and batch.drafts[0].options[0]["text"] == "用人单位"


# --- property tests: never a 500, never a partial import ------------------------------------------

LINE = st.one_of(
    st.sampled_from(
        UNIT_BANK + ["参考答案", "1-3 ABC", "# 一、单选题", "答案：", "A.", "（A）", "解析：", "1.", "√"]
    ),
    st.text(alphabet=st.sampled_from("1234ABCDEF.．、()（）：:√×答案解析题 _\n甲乙{}=~#"), max_size=30),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=40))
def test_word_parser_never_raises_and_names_paragraphs(lines):
    records, problems = parsed(lines)
    for problem in problems:
        assert problem.row.startswith("第") and problem.message
    for record in records:
        assert record.row.startswith("第") and "段）" in record.row


GIFT_PIECE = st.one_of(
    st.sampled_from(
        [
            "::Q1::",
            "{",
            "}",
            "=甲",
            "~乙",
            "~%50%丙",
            "####解析",
            "\\{",
            "\\=",
            "T",
            "\n\n",
            "//",
            "#",
            "->",
            "$CATEGORY: a/b\n",
        ]
    ),
    st.text(alphabet=st.sampled_from("题干甲乙 {}=~#:%\\\n"), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(GIFT_PIECE, max_size=30).map("".join))
def test_gift_parser_never_raises_and_locates_its_errors(text):
    records, problems, skipped = moodle.parse_gift("x.gift", text, DEFAULTS)
    for problem in problems:
        assert problem.row == "" or problem.row.startswith("第")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(LINE, min_size=1, max_size=25),
    st.lists(GIFT_PIECE, max_size=20).map("".join),
)
def test_the_wizard_never_500s_and_never_half_imports(app, admin, lines, gift):
    for name, data in (("x.docx", docx_bytes(lines)), ("x.gift", gift.encode())):
        with app.app_context():
            before = counts()[0]
        response = upload(admin, name, data)
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        if "/admin/questions/import/" in page and "确认导入 0 题" not in page:
            done = confirm(admin, page)
            assert done.status_code == 200
            with app.app_context():
                added = counts()[0] - before
            assert f"已导入 {added} 题" in done.get_data(as_text=True)
        else:
            with app.app_context():
                assert counts()[0] == before
