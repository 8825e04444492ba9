"""Admin question bank: search, view, edit with versioning, retire/restore; the audit log."""

from __future__ import annotations

import io

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import AuditLog, Category, ErrorReport, Question, QuestionVersion, Source
from quizapp.services import bank_io, grading

from .conftest import ROOT, any_answer


@pytest.fixture
def shipped(app):
    with app.app_context():
        bank_io.load_shipped_banks(ROOT / "question_bank")
        db.session.commit()


@pytest.fixture
def admin(login_as, app, create_user, shipped):
    create_user("root", role="admin")
    client = login_as("root")
    return client


def first_question(app, **where):
    with app.app_context():
        stmt = select(QuestionVersion).where(QuestionVersion.is_current)
        for key, value in where.items():
            stmt = stmt.where(getattr(QuestionVersion, key) == value)
        version = db.session.scalar(stmt.order_by(QuestionVersion.question_id).limit(1))
        db.session.expunge(version)
        return version


def edit_form(version, **changes) -> dict:
    with_options = {f"option_{k.lower()}": o["text"] for k, o in zip("ABCDEF", version.options, strict=False)}
    values = {
        "type": str(version.type),
        "category": "社会保险",
        "ability": "法规政策理解运用能力",
        "difficulty": str(version.difficulty),
        "stem": version.stem,
        "answer": "",
        "explanation": version.explanation,
        "source": "law_social_insurance",
        "locator": version.locator,
        "quote": version.quote,
        **with_options,
    }
    values.update(changes)
    return values


def test_search_filters_and_paginates(admin):
    page = admin.get("/admin/questions", query_string={"q": "失业保险金", "type": "single"}).get_data(
        as_text=True
    )
    assert "失业保险金" in page and "共 " in page
    total = int(admin.get("/admin/questions").get_data(as_text=True).split("共 ")[1].split(" 题")[0])
    assert total >= 400
    second = admin.get("/admin/questions", query_string={"page": 2}).get_data(as_text=True)
    assert "第 2 /" in second
    none = admin.get("/admin/questions", query_string={"q": "不可能出现的词语组合"}).get_data(as_text=True)
    assert "没有符合条件的题目" in none


def test_question_page_shows_the_source_quote(app, admin):
    version = first_question(app, type="single")
    page = admin.get(f"/admin/questions/{version.question_id}").get_data(as_text=True)
    assert version.quote in page and version.locator in page and "答案：" in page


def test_editing_an_unused_question_changes_it_in_place(app, admin):
    version = first_question(app, type="judge")
    form = edit_form(version, answer="正确" if not version.answer else "错误", explanation="改过的解析。")
    form["source"] = db_source_code(app, version)
    response = admin.post(f"/admin/questions/{version.question_id}", data=form)
    assert response.status_code == 302
    with app.app_context():
        versions = db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.question_id == version.question_id)
        ).all()
        assert len(versions) == 1 and versions[0].explanation == "改过的解析。"
        assert versions[0].answer is (not version.answer)
        assert (
            db.session.scalar(select(AuditLog).where(AuditLog.action == "question.edit")).before["answer"]
            == version.answer
        )


def db_source_code(app, version) -> str:
    with app.app_context():
        return db.session.scalar(select(Source.code).where(Source.id == version.source_id))


def test_editing_a_used_question_makes_a_new_version_and_keeps_past_answers(
    login_as, app, admin, create_unit, create_user
):
    create_user("learner", unit=create_unit("W1"))
    learner = login_as("learner")
    item = learner.get("/api/v1/daily").get_json()["items"][0]
    question_id = item["question"]["id"]
    version = first_question(app, question_id=question_id)
    learner.post(
        "/api/v1/daily/answers", json={"question_id": question_id, "answer": any_answer(item["question"])}
    )
    before = learner.get("/api/v1/daily").get_json()["items"][0]["feedback"]
    form = edit_form(
        version,
        stem=version.stem + "（修订）",
        answer=grading.tabular_answer(str(version.type), version.answer),
    )
    form["source"] = db_source_code(app, version)
    response = admin.post(f"/admin/questions/{question_id}", data=form, follow_redirects=True)
    assert "已保存为第 2 版" in response.get_data(as_text=True)
    with app.app_context():
        versions = db.session.scalars(
            select(QuestionVersion)
            .where(QuestionVersion.question_id == question_id)
            .order_by(QuestionVersion.number)
        ).all()
        assert [(v.number, v.is_current) for v in versions] == [(1, False), (2, True)]
        assert versions[1].stem.endswith("（修订）")
    after = learner.get("/api/v1/daily").get_json()["items"][0]
    assert after["question"]["stem"] == version.stem and after["feedback"] == before  # the version they saw


def test_bad_edit_is_refused_with_the_field_and_nothing_changes(app, admin):
    version = first_question(app, type="single")
    form = edit_form(version, answer="Z", quote="原文里没有这句话")
    form["source"] = db_source_code(app, version)
    page = admin.post(f"/admin/questions/{version.question_id}", data=form).get_data(as_text=True)
    assert "[答案]" in page and "[原文引用]" in page
    assert first_question(app, question_id=version.question_id).stem == version.stem


def test_retire_and_restore_in_bulk(app, admin):
    ids = [first_question(app, type=t).question_id for t in ("single", "judge")]
    response = admin.post(
        "/admin/questions/status",
        data={"ids": [str(i) for i in ids], "status": "retired"},
        follow_redirects=True,
    )
    assert "已停用 2 道题" in response.get_data(as_text=True)
    with app.app_context():
        assert {q.status for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))} == {
            "retired"
        }
    admin.post("/admin/questions/status", data={"ids": [str(ids[0])], "status": "active"})
    with app.app_context():
        assert db.session.get(Question, ids[0]).status == "active"
        actions = [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
        assert actions[-2:] == ["question.retire", "question.restore"]
    log = admin.get("/admin/audit", query_string={"action": "question.retire"}).get_data(as_text=True)
    assert "停用题目" in log and "root" in log


def test_bank_pages_are_for_admins_only(login_as, app, shipped, create_unit, create_user):
    create_user("uadmin", unit=create_unit("U1"), role="unit_admin")
    client = login_as("uadmin")
    for url in ("/admin/questions", "/admin/questions/1", "/admin/audit"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/questions/status", data={"ids": "1", "status": "retired"}).status_code == 403


def upload(client, name: str, data: bytes):
    return client.post(
        "/admin/questions/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def test_import_wizard_previews_errors_and_writes_nothing(app, admin):
    from .test_bank_io import csv_bytes, tabular_rows

    rows = tabular_rows()
    rows[2][12] = "Z"  # the multiple-choice answer on line 3
    page = upload(admin, "新题.csv", csv_bytes(rows, "gbk")).get_data(as_text=True)
    assert "发现 1 处错误" in page and "<td>第3行</td><td>答案</td>" in page and "确认导入 " not in page
    with app.app_context():
        from quizapp.models import UploadPreview

        assert db.session.scalar(select(func.count(UploadPreview.id))) == 0  # nothing kept


def test_import_wizard_previews_then_imports_in_one_go(app, admin):
    from .test_bank_io import tabular_rows, xlsx_bytes

    page = upload(admin, "新题.xlsx", xlsx_bytes(tabular_rows())).get_data(as_text=True)
    assert "将新增 <b>4</b> 题，跳过重复 <b>0</b> 题" in page
    token = page.split("/admin/questions/import/")[1].split('"')[0]
    with app.app_context():
        before = db.session.scalar(select(func.count(Question.id)))
    done = admin.post(f"/admin/questions/import/{token}", data={"name": "新题.xlsx"}, follow_redirects=True)
    assert "已导入" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) > before
    again = admin.post(f"/admin/questions/import/{token}", data={"name": "新题.xlsx"}, follow_redirects=True)
    assert "预览已过期或不存在" in again.get_data(as_text=True)  # a preview is imported once
    repeat = upload(admin, "新题.xlsx", xlsx_bytes(tabular_rows())).get_data(as_text=True)
    assert "将新增 <b>0</b> 题，跳过重复 <b>4</b> 题" in repeat


def test_template_and_filtered_export(app, admin):
    template = admin.get("/admin/questions/template.xlsx")
    assert template.status_code == 200 and load_workbook(io.BytesIO(template.data)).sheetnames == [
        "题目",
        "填写说明",
    ]
    exported = admin.get("/admin/questions/export", query_string={"type": "fill", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(exported.data)).active
    kinds = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert kinds == {"填空"} and sheet.max_row > 40
    as_yaml = admin.get("/admin/questions/export", query_string={"category": "人才人事", "format": "yaml"})
    documents = [d for d in yaml.safe_load_all(as_yaml.data) if d]
    exported = [sub for d in documents for q in d["questions"] for sub in q.get("items", [q])]
    with app.app_context():
        expected = db.session.scalar(
            select(func.count(QuestionVersion.id))
            .join(Category, Category.id == QuestionVersion.category_id)
            .where(QuestionVersion.is_current, Category.name == "人才人事")
        )
    assert len(exported) == expected > 100


def test_error_reports_from_learner_to_admin_and_back(login_as, app, admin, create_unit, create_user):
    create_user("learner", unit=create_unit("W1"))
    learner = login_as("learner")
    question_id = learner.get("/api/v1/daily").get_json()["items"][0]["question"]["id"]
    unseen = first_question(app, type="fill").question_id
    if unseen not in [i["question"]["id"] for i in learner.get("/api/v1/daily").get_json()["items"]]:
        assert (
            learner.post(f"/api/v1/questions/{unseen}/reports", json={"reason": "答案有误"}).status_code
            == 404
        )
    filed = learner.post(f"/api/v1/questions/{question_id}/reports", json={"reason": "选项B与原文不符"})
    assert filed.status_code == 201
    twice = learner.post(f"/api/v1/questions/{question_id}/reports", json={"reason": "再说一次"})
    assert twice.status_code == 409
    empty = learner.post(f"/api/v1/questions/{question_id}/reports", json={"reason": " "})
    assert empty.status_code == 400
    queue = admin.get("/admin/reports").get_data(as_text=True)
    assert "选项B与原文不符" in queue and "修改题目" in queue
    assert "1 条纠错待处理" in admin.get("/admin/").get_data(as_text=True)
    with app.app_context():
        report_id = db.session.scalar(select(ErrorReport.id).where(ErrorReport.question_id == question_id))
    assert "请填写" in admin.post(
        f"/admin/reports/{report_id}", data={"action": "dismissed", "reply": ""}, follow_redirects=True
    ).get_data(as_text=True)
    admin.post(
        f"/admin/reports/{report_id}", data={"action": "dismissed", "reply": "经核对，答案与原文一致。"}
    )
    mine = learner.get("/reports").get_data(as_text=True)
    assert "未采纳" in mine and "经核对，答案与原文一致。" in mine
    staff_queue = learner.get("/admin/reports")
    assert staff_queue.status_code == 403


def test_a_situation_question_is_edited_with_its_words_keypoints_and_deductions(app, admin):
    """The console shows a 情景应答's words, keypoints and deductions as lines and saves them back;
    a keypoint line of the wrong shape is refused with the field named."""
    version = first_question(app, type="situation")
    page = admin.get(f"/admin/questions/{version.question_id}").get_data(as_text=True)
    assert "评分要点" in page and "群众原话" in page
    with app.app_context():
        code = db_source_code(app, version)
    form = edit_form(
        version,
        answer="您好，请您在60日内办理失业登记。",
        category=version_category(app, version),
        ability="沟通协调能力",
        source=code,
        says="我被裁了，怎么办？",
        rubric="安抚情绪|1|别着急\n告知「60日内、六十日内」办理|2|60日内、六十日内",
        deductions="推诿|1|不归我们管",
    )
    assert admin.post(f"/admin/questions/{version.question_id}", data=form).status_code == 302
    with app.app_context():
        saved = db.session.scalar(
            select(QuestionVersion).where(
                QuestionVersion.question_id == version.question_id, QuestionVersion.is_current
            )
        )
        assert saved.says == "我被裁了，怎么办？"
        assert saved.answer["rubric"][1] == {
            "point": "告知「60日内、六十日内」办理",
            "points": 2.0,
            "phrases": ["60日内", "六十日内"],
        }
        assert saved.answer["deductions"] == [{"point": "推诿", "points": 1.0, "phrases": ["不归我们管"]}]
    form["rubric"] = "没有分值的要点"
    refused = admin.post(f"/admin/questions/{version.question_id}", data=form).get_data(as_text=True)
    assert "评分要点格式有误" in refused


def version_category(app, version) -> str:
    from quizapp.models import Category

    with app.app_context():
        return db.session.scalar(select(Category.name).where(Category.id == version.category_id))
