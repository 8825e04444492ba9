# ruff: noqa: F811 — fixtures shared with test_daily and test_rounds are imported, then requested
"""案例分析 and 计算题 end to end: every bank format, the daily set, practice, round papers, item
analysis and the import wizard, with a case and calculations taken from the shipped bank."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import delete, select

from quizapp.extensions import db
from quizapp.models import Attempt, AuditLog, Question, QuestionCase, QuestionVersion, Round, Source
from quizapp.services import bank_io, questions, rounds
from quizapp.services.errors import DomainError

from .conftest import ROOT, any_answer
from .test_daily import bank, get_daily, learner  # noqa: F401  (fixtures)
from .test_rounds import START, at_start, make_round, save, start  # noqa: F401  (fixtures)

BANK = ROOT / "question_bank"


def shipped(name: str, count: int) -> tuple[dict, list[dict]]:
    document = yaml.safe_load((BANK / name).read_text("utf-8"))
    return document["source"], document["questions"][:count]


def case_files() -> list[tuple[str, bytes, None]]:
    """The shipped bank's first case (four sub-questions: single, single, fill, judge) and its first
    three calculations, as two upload files."""
    files = []
    for name, (source, items) in (
        ("cases.yaml", shipped("cases_social_insurance.yaml", 1)),
        ("calcs.yaml", shipped("calculations.yaml", 3)),
    ):
        document = {"source": source, "questions": items}
        files.append((name, yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode(), None))
    return files


def load(files) -> None:
    bank_io.ensure_taxonomy()
    batch = bank_io.read_for_import(files, BANK)
    assert batch.problems == []
    bank_io.import_batch(batch)
    db.session.commit()


@pytest.fixture
def case_bank(app) -> dict:
    """{"case": [question ids in case order], "calc": [question ids]}."""
    with app.app_context():
        load(case_files())
        rows = db.session.execute(
            select(QuestionVersion.question_id, QuestionVersion.type, QuestionVersion.case_position)
            .where(QuestionVersion.is_current)
            .order_by(QuestionVersion.case_position, QuestionVersion.id)
        ).all()
        return {
            "case": [r.question_id for r in rows if r.case_position is not None],
            "calc": [r.question_id for r in rows if r.type == "calc"],
        }


def signature() -> list[tuple]:
    """What a round trip must keep: every question with its case and place in it, key and note."""
    rows = db.session.execute(
        select(QuestionVersion, QuestionCase.title, QuestionCase.body)
        .outerjoin(QuestionCase, QuestionCase.id == QuestionVersion.case_id)
        .where(QuestionVersion.is_current)
    ).all()
    return sorted(
        (
            v.stem,
            str(v.type),
            json.dumps(v.answer, ensure_ascii=False, sort_keys=True),
            json.dumps(v.options, ensure_ascii=False),
            title,
            body,
            v.case_position,
            v.note,
            v.quote,
        )
        for v, title, body in rows
    )


def wipe() -> None:
    for table in (QuestionVersion, Question, QuestionCase, Source):
        db.session.execute(delete(table))
    db.session.commit()


def sheet_as_csv(xlsx: bytes, encoding: str) -> bytes:
    sheet = load_workbook(io.BytesIO(xlsx)).active
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["" if value is None else value for value in row] for row in sheet.iter_rows(values_only=True)]
    )
    return buffer.getvalue().encode(encoding)


# --- the bank formats -------------------------------------------------------------------------


def test_cases_and_calculations_round_trip_through_every_format(ctx):
    load(case_files())
    before = signature()
    assert len(before) == 7 and sum(1 for row in before if row[4]) == 4
    exported = bank_io.current_versions()
    as_yaml, as_xlsx = bank_io.export_yaml(exported), bank_io.export_xlsx(exported)
    as_json = json.dumps(list(yaml.safe_load_all(as_yaml)), ensure_ascii=False).encode()
    header = [cell.value for cell in load_workbook(io.BytesIO(as_xlsx)).active[1]]
    assert {"单位", "误差", "备注", "案例编号", "案例标题", "案例材料"} <= set(header)
    for upload in [
        ("export.yaml", as_yaml, None),
        ("export.json", as_json, None),
        ("export.xlsx", as_xlsx, None),
        ("export.csv", sheet_as_csv(as_xlsx, "utf-8-sig"), None),
        ("export-gbk.csv", sheet_as_csv(as_xlsx, "gbk"), None),
    ]:
        wipe()
        load([upload])
        assert signature() == before, upload[0]
        again = bank_io.import_batch(bank_io.read_for_import([upload], BANK))
        assert (again.added, again.duplicates) == (0, 7), upload[0]  # a case is known with its text
        db.session.rollback()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda case: case.update(items=case["items"][:1]), "2–5"),
        (lambda case: case.update(case=""), "案例材料"),
        (lambda case: case["items"][0].update(type="case"), "题型"),
    ],
)
def test_a_bad_case_is_refused_with_its_place_and_nothing_is_written(ctx, change, message):
    source, (case,) = shipped("cases_social_insurance.yaml", 1)
    change(case)
    data = yaml.safe_dump({"source": source, "questions": [case]}, allow_unicode=True).encode()
    bank_io.ensure_taxonomy()
    batch = bank_io.read_for_import([("bad.yaml", data, None)], BANK)
    assert batch.problems and any(message in f"{p.field} {p.message}" for p in batch.problems), batch.problems
    assert all(p.row.startswith("第1题") for p in batch.problems)


def test_a_calculation_without_a_unit_or_with_a_bad_tolerance_is_refused(ctx):
    source, items = shipped("calculations.yaml", 2)
    items[0]["answer"] = {"value": 300}
    items[1]["answer"] = {"value": 50, "unit": "元", "tolerance": -1}
    data = yaml.safe_dump({"source": source, "questions": items}, allow_unicode=True).encode()
    bank_io.ensure_taxonomy()
    problems = bank_io.read_for_import([("bad.yaml", data, None)], BANK).problems
    assert [p.row[:3] for p in problems] == ["第1题", "第2题"]
    assert "单位" in problems[0].message and "误差" in problems[1].message


# --- the daily set and practice ---------------------------------------------------------------


def test_the_daily_set_takes_a_case_whole_and_in_order(login_as, app, learner, case_bank, bank, frozen_clock):
    client = login_as("learner")
    with_case = []
    for _ in range(8):
        items = get_daily(client)["items"]
        ids = [item["question"]["id"] for item in items]
        present = [qid for qid in ids if qid in case_bank["case"]]
        if present:  # all of the case or none of it, side by side, in the case's order
            with_case.append(items[ids.index(present[0])])
            assert present == case_bank["case"]
            first = ids.index(present[0])
            assert ids[first : first + len(present)] == case_bank["case"]
        frozen_clock.advance(days=1)
    assert with_case
    item = with_case[0]
    assert (
        item["question"]["case"]["title"] == "单位迟迟不报工伤"
        and "分拣员" in item["question"]["case"]["body"]
    )


def test_practice_works_a_case_through_in_order_and_grades_each_sub_question(
    login_as,
    app,
    learner,
    case_bank,
    frozen_clock,
):
    client = login_as("learner")
    served = []
    for _ in range(4):
        item = client.post("/api/v1/practice/items", json={"type": "case"}).get_json()["item"]
        served.append(item["question"]["id"])
        answer = client.post(
            f"/api/v1/items/{item['item_id']}/answer", json={"answer": any_answer(item["question"])}
        )
        assert answer.status_code == 200 and "correct" in answer.get_json()["feedback"]
    assert served == case_bank["case"]


def test_practice_grades_a_calculation_as_typed_and_shows_its_unit(
    login_as, app, learner, case_bank, frozen_clock
):
    client = login_as("learner")
    item = client.post("/api/v1/practice/items", json={"type": "calc"}).get_json()["item"]
    question = item["question"]
    assert question["unit"] == "元" and "answer" not in question
    with app.app_context():
        key = db.session.scalar(
            select(QuestionVersion.answer).where(
                QuestionVersion.question_id == question["id"], QuestionVersion.is_current
            )
        )
    typed = f"{key['value']:,.2f}".translate(str.maketrans("0123456789.", "０１２３４５６７８９．")) + "元"
    refused = client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": "三百"})
    assert refused.status_code == 400 and "计算题" in refused.get_json()["error"]["message"]
    feedback = client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": typed}).get_json()[
        "feedback"
    ]
    assert feedback["correct"] is True and feedback["correct_answer_text"].startswith(f"{key['value']:g} 元")
    assert "÷" in feedback["explanation"]  # the worked solution


def test_practice_refuses_an_unknown_type_filter(login_as, app, learner, case_bank):
    response = login_as("learner").post("/api/v1/practice/items", json={"type": "essay"})
    assert response.status_code == 400 and "case" in response.get_json()["error"]["message"]


# --- round papers, attempts, results and item analysis ------------------------------------------

CASE_BLUEPRINT = [{"type": "case", "count": 1}, {"type": "calc", "count": 2}, {"type": "single", "count": 3}]


def test_a_round_blueprint_draws_a_case_as_one_unit_and_each_taker_sees_it_together(
    login_as,
    app,
    province,
    mixed_bank,
    case_bank,
    make_round,
    at_start,
):
    round_id = make_round(blueprint=CASE_BLUEPRINT)
    for name in ("amy", "ann", "bob"):
        ids = [q["id"] for q in start(login_as(name), round_id)["questions"]]
        first = ids.index(case_bank["case"][0])
        assert ids[first : first + 4] == case_bank["case"] and len(ids) == 4 + 2 + 3
    short = make_round(blueprint=[{"type": "case", "count": 2}])
    with app.app_context():
        assert db.session.get(Round, round_id).question_count == 9  # the case brought its 4 questions
        notes = rounds.check_blueprint([{"type": "case", "count": 2}])
        assert "1" in notes[0]  # one case in the bank for a row that wants two
        with pytest.raises(DomainError, match="需要 2 个案例，题库中只有 1 个案例可用"):
            rounds.draw_paper(short, now=START)
    page = login_as("root").get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    assert page.count('class="case-panel"') == 1 and "分拣员" in page


def test_a_calculation_in_a_round_is_saved_as_typed_resumed_and_graded_then_analysed(
    login_as,
    app,
    province,
    mixed_bank,
    case_bank,
    make_round,
    at_start,
):
    round_id = make_round(
        kind="weekly",
        attempts_allowed=1,
        blueprint=[{"type": "calc", "count": 3}, {"type": "case", "count": 1}],
    )
    with app.app_context():
        keys = {
            qid: answer
            for qid, answer in db.session.execute(
                select(QuestionVersion.question_id, QuestionVersion.answer).where(
                    QuestionVersion.is_current, QuestionVersion.question_id.in_(case_bank["calc"])
                )
            )
        }
    answers = {}
    for name, right in (("amy", True), ("ann", False)):
        client = login_as(name)
        view = start(client, round_id)
        calcs = [q for q in view["questions"] if q["type"] == "calc"]
        assert {q["unit"] for q in calcs} <= {"元", "天"} and all(
            "case" in q for q in view["questions"][3:] if q["type"] != "calc"
        )
        for question in calcs:
            value = keys[question["id"]]["value"] + (0 if right else 7)
            typed = f"{value:,}{keys[question['id']]['unit'][0]}"
            assert save(client, view["id"], question["id"], typed).status_code == 200
            answers[(name, question["id"])] = value
        assert save(client, view["id"], calcs[0]["id"], "不知道").status_code == 400  # kept: the last number
        resumed = client.get(f"/api/v1/attempts/{view['id']}").get_json()["answers"]
        shown = resumed[str(calcs[0]["id"])]["answer"]
        assert (
            re.fullmatch(r"[\d.]+(元|天)", shown)
            and float(re.match(r"[\d.]+", shown)[0]) == answers[(name, calcs[0]["id"])]
        )
        assert client.post(f"/api/v1/attempts/{view['id']}/submit", json={}).status_code == 200
        result = client.get(f"/attempts/{view['id']}/result").get_data(as_text=True)
        assert (
            result.count('class="case-panel" open') == 1
        )  # the material, once, above the first sub-question
    with app.app_context():
        scores = dict(db.session.execute(select(Attempt.user_id, Attempt.correct_count)).all())
        assert sorted(scores.values())[-1] >= 3  # amy's three calculations are right
        rounds.close_round(round_id, now=START + timedelta(days=4))
        db.session.commit()
    page = login_as("root").get(f"/admin/rounds/{round_id}/analysis").get_data(as_text=True)
    for (name, qid), value in answers.items():
        assert f"{value:g}{keys[qid]['unit'][0]}: 1" in page, (name, qid)
    assert "案例“单位迟迟不报工伤”第1小题" in page


# --- the import wizard and categories as data -------------------------------------------------


def test_the_import_wizard_previews_cases_and_calculations_then_imports_them(login_as, app, province):
    admin = login_as("root")
    with app.app_context():
        bank_io.ensure_taxonomy()
        db.session.commit()
    (name, data, _), (name2, data2, _) = case_files()
    merged = yaml.safe_load(data)
    merged["questions"] += [
        dict(item, source="notice_monthly_working_days") for item in yaml.safe_load(data2)["questions"]
    ]
    upload = yaml.safe_dump(merged, allow_unicode=True).encode()
    page = admin.post(
        "/admin/questions/import",
        data={"file": (io.BytesIO(upload), "bank.yaml")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "其中案例分析 <b>1</b> 个（4 道小题），计算题 <b>3</b> 题" in page
    assert "案例：单位迟迟不报工伤" in page and "案例第4小题" in page and "300 元（允许误差 ±0.5）" in page
    token = re.search(r"/admin/questions/import/([\w-]+)", page)[1]
    done = admin.post(f"/admin/questions/import/{token}", follow_redirects=True).get_data(as_text=True)
    assert "已导入 7 题" in done
    with app.app_context():
        assert db.session.query(QuestionCase).count() == 1


def test_an_admin_adds_a_category_from_the_console_and_it_is_usable_at_once(
    login_as, app, province, create_unit, create_user
):
    admin = login_as("root")
    with app.app_context():
        bank_io.ensure_taxonomy()
        db.session.commit()
    assert "<td>党建理论</td>" not in admin.get("/admin/categories").get_data(as_text=True)
    page = admin.post("/admin/categories", data={"name": " 党建理论 "}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "已新增业务类别“党建理论”" in page and "<td>党建理论</td>" in page
    again = admin.post("/admin/categories", data={"name": "党建理论"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "类别“党建理论”已存在" in again
    assert "32" in admin.post("/admin/categories", data={"name": "长" * 33}).get_data(as_text=True)
    # a question of the new category imports, shows in the filters and in the practice page
    source, (item,) = shipped("calculations.yaml", 1)
    item["category"] = "党建理论"
    data = yaml.safe_dump({"source": source, "questions": [item]}, allow_unicode=True).encode()
    with app.app_context():
        assert bank_io.import_batch(bank_io.read_for_import([("party.yaml", data, None)], BANK)).added == 1
        db.session.commit()
        assert ("党建理论", 1) in [(c.name, n) for c, n in questions.categories()]
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "category.create"))
    assert '<option value="党建理论"' in admin.get("/admin/questions").get_data(as_text=True)
    assert "党建理论" in login_as("amy").get("/practice").get_data(as_text=True)
    # unit admins do not curate the bank
    create_user("cityadmin", unit=create_unit("C9", "丙市", "P"), role="unit_admin")
    assert login_as("cityadmin").post("/admin/categories", data={"name": "别的"}).status_code == 403


def test_a_type_filter_serves_standalone_questions_and_no_case(login_as, app, learner, case_bank, bank):
    """A case's sub-questions come whole under 案例分析, not one by one under their own type."""
    client = login_as("learner")
    for _ in range(6):
        item = client.post("/api/v1/practice/items", json={"type": "single"}).get_json()["item"]
        assert item["question"]["id"] not in case_bank["case"] and "case" not in item["question"]
        client.post(f"/api/v1/items/{item['item_id']}/answer", json={"answer": any_answer(item["question"])})


def test_a_case_left_unanswered_or_a_type_asked_for_does_not_hold_practice_in_the_case(
    login_as, app, learner, case_bank, bank
):
    client = login_as("learner")
    item = client.post("/api/v1/practice/items", json={"type": "case"}).get_json()["item"]
    assert item["question"]["id"] == case_bank["case"][0]
    # not answered: the learner changes the filter and gets what they asked for
    other = client.post("/api/v1/practice/items", json={"type": "single"}).get_json()["item"]
    assert other["question"]["id"] not in case_bank["case"]
