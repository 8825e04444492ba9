"""政策原文 and 背题模式: a document read article by article with its question counts, marks that
stay text, a bounded search, 练一练 from an article, and 已掌握 leaving practice — with nothing of
the reserve pool or of a running round's paper shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from quizapp.extensions import db
from quizapp.models import (
    MarkKind,
    PaperQuestion,
    Question,
    QuestionMark,
    QuestionVersion,
    RoundStatus,
    Source,
    User,
)
from quizapp.services import draws, practice, reading, rules
from quizapp.services.errors import NotFound

from .conftest import closed_round

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
LAW_BODY = """中华人民共和国示范法
第一章 总则
第一条 为了规范示范行为，制定本法。
第二条 用人单位应当依法订立劳动合同。
用人单位与劳动者协商一致，可以变更劳动合同约定的内容。
第三条 试用期工资不得低于本单位相同岗位最低档工资的百分之八十。
第二章 附则
第四条 本法自公布之日起施行。<script>alert(1)</script>"""
SPEECH_BODY = """在示范会议上的讲话
同志们：今天召开会议。
要坚持以人民为中心，提升窗口服务水平。
案例1：窗口的一天
一位群众来办理社保转移。"""


@pytest.fixture
def reader(create_unit, create_user):
    """A learner signed in as ``reader`` by ``auth.login("reader")``."""
    return create_user("reader", unit=create_unit("W1", "示范窗口"))


@pytest.fixture
def documents(app):
    with app.app_context():
        db.session.add_all(
            [
                Source(code="law_demo", title="中华人民共和国示范法", issuer="全国人大常委会", body=LAW_BODY),
                Source(code="speech_demo", title="在示范会议上的讲话", body=SPEECH_BODY),
            ]
        )
        db.session.commit()


@pytest.fixture
def cite(app, create_question, documents):
    """cite(code, locator, quote, reserved=False, **question) → a question citing that passage."""

    def make(code: str, locator: str, quote: str, *, reserved: bool = False, **changes) -> int:
        question_id = create_question(**changes)
        with app.app_context():
            source_id = db.session.scalar(select(Source.id).where(Source.code == code))
            db.session.execute(
                update(QuestionVersion)
                .where(QuestionVersion.question_id == question_id)
                .values(source_id=source_id, locator=locator, quote=quote)
            )
            db.session.execute(update(Question).where(Question.id == question_id).values(reserved=reserved))
            db.session.commit()
        return question_id

    return make


def test_a_law_reads_article_by_article_with_the_questions_each_holds(app, cite):
    cite("law_demo", "第二条", "用人单位应当依法订立劳动合同")
    cite("law_demo", "第二条第二款", "可以变更劳动合同约定的内容")
    cite("law_demo", "第三条", "百分之八十")
    cite("law_demo", "第三条", "百分之八十", reserved=True)  # 考试专用: not counted anywhere
    with app.app_context():
        doc = reading.document("law_demo")
    assert doc.by_article and doc.questions == 3
    kinds = [(block.kind, block.anchor) for block in doc.blocks]
    assert kinds == [
        ("paragraph", "第1段"),
        ("heading", "第2段"),
        ("article", "第一条"),
        ("article", "第二条"),
        ("article", "第三条"),
        ("heading", "第7段"),
        ("article", "第四条"),
    ]
    second = doc.blocks[3]
    assert [p.number for p in second.paragraphs] == [4, 5] and second.questions == 2
    assert second.paragraphs[0].pieces == [("用人单位应当依法订立劳动合同。", False)]  # label stands above
    assert doc.blocks[4].questions == 1 and doc.blocks[2].questions == 0
    assert [block.paragraphs[0].pieces[0][0] for block in doc.contents] == ["第一章 总则", "第二章 附则"]
    with app.app_context():
        shelves = {shelf["name"]: shelf["documents"] for shelf in reading.shelves()}
    assert [d["questions"] for d in shelves["法律"]] == [3]
    assert [d["code"] for d in shelves["讲话与报道"]] == ["speech_demo"]
    with app.app_context(), pytest.raises(NotFound):
        reading.document("no_such_document")


def test_a_speech_reads_paragraph_by_paragraph(app, cite):
    cite("speech_demo", "第3段", "提升窗口服务水平")
    with app.app_context():
        doc = reading.document("speech_demo")
    assert not doc.by_article
    assert [(b.kind, b.anchor, b.questions) for b in doc.blocks] == [
        ("paragraph", "第1段", 0),
        ("paragraph", "第2段", 0),
        ("paragraph", "第3段", 1),
        ("heading", "第4段", 0),
        ("paragraph", "第5段", 0),
    ]


def test_a_quote_over_two_paragraphs_is_marked_and_everything_stays_text(app, client, auth, cite, reader):
    quote = "用人单位应当依法订立劳动合同。\n用人单位与劳动者协商一致"
    with app.app_context():
        doc = reading.document("law_demo", [quote])
    second = doc.blocks[3]
    assert second.paragraphs[0].pieces == [("用人单位应当依法订立劳动合同。", True)]
    assert second.paragraphs[1].pieces[0] == ("用人单位与劳动者协商一致", True)
    assert doc.marks == 1
    auth.login("reader")
    page = client.get("/reading/law_demo", query_string={"hl": ["<b>x</b>", "alert"]}).get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<mark>alert</mark>" in page and "<b>x</b>" not in page
    # A question's 出处 by its source's id lands on the article with the quote to mark.
    question_id = cite("law_demo", "第二条第二款", "可以变更劳动合同约定的内容")
    with app.app_context():
        source_id = db.session.scalar(
            select(QuestionVersion.source_id).where(QuestionVersion.question_id == question_id)
        )
    response = client.get(f"/reading/at/{source_id}", query_string={"at": "第二条第二款", "hl": "可以变更"})
    assert response.status_code == 302
    assert response.location.startswith("/reading/law_demo?hl=")
    assert response.location.endswith("#%E7%AC%AC%E4%BA%8C%E6%9D%A1")  # #第二条
    landed = client.get(response.location.split("#")[0]).get_data(as_text=True)
    assert "<mark>可以变更</mark>" in landed
    assert client.get("/reading/at/99999").status_code == 404


def test_search_finds_every_term_in_titles_and_text_bounded(app, client, auth, documents, reader):
    with app.app_context():
        found = reading.search("劳动合同 用人单位")
        assert found["terms"] == ["劳动合同", "用人单位"]
        (result,) = found["results"]
        assert result["code"] == "law_demo" and result["count"] == 2
        assert [hit["anchor"] for hit in result["hits"]] == ["第二条", "第二条"]
        assert ("劳动合同", True) in result["hits"][0]["pieces"]
        assert reading.search("示范")["results"][0]["title_pieces"][1] == ("示范", True)
        assert {r["code"] for r in reading.search("示范")["results"]} == {"law_demo", "speech_demo"}
        assert reading.search("  ")["results"] == [] and reading.search("不存在的词")["results"] == []
        assert reading.search("100%")["results"] == []  # LIKE's wildcards are plain text
        long = reading.search("甲 乙 丙 丁 戊 己")
        assert len(long["terms"]) == reading.MAX_TERMS
        many = "\n".join(f"第{n}行 工资" for n in range(50))
        db.session.add(Source(code="long_demo", title="长文件", body=many))
        db.session.flush()
        result = next(r for r in reading.search("工资 行")["results"] if r["code"] == "long_demo")
        assert result["count"] == 50 and len(result["hits"]) == reading.HITS_PER_DOCUMENT
    auth.login("reader")
    page = client.get("/reading", query_string={"q": "试用期"}).get_data(as_text=True)
    assert "<mark>试用期</mark>" in page and "/reading/law_demo?hl=" in page


def test_practice_from_an_article_serves_its_questions_only(app, cite, reader):
    learner = reader
    own = {
        cite("law_demo", "第二条", "用人单位应当依法订立劳动合同"),
        cite("law_demo", "第二条第二款", "可以变更劳动合同约定的内容"),
    }
    cite("law_demo", "第二条", "用人单位应当依法订立劳动合同", reserved=True)
    cite("law_demo", "第二十条", "x")  # not 第二条's 款
    cite("law_demo", "第三条", "百分之八十")
    with app.app_context():
        source_id = db.session.scalar(select(Source.id).where(Source.code == "law_demo"))
        served = set()
        for minute in range(6):
            filters = draws.Filters(source_id=source_id, locator="第二条")
            moment = NOW.replace(minute=minute)
            item = practice.serve_practice(learner.id, filters, now=moment, rules=rules.current())
            served.add(item["question"]["id"])
            practice.answer_item(learner.id, item["item_id"], "A", now=moment, rules=rules.current())
        db.session.commit()
    assert served == own


def test_mastered_leaves_practice_until_it_is_unmarked(app, client, auth, cite, reader):
    learner = reader
    first = cite("law_demo", "第三条", "百分之八十")
    second = cite("law_demo", "第三条", "百分之八十", stem="另一道题？")
    with app.app_context():
        source_id = db.session.scalar(select(Source.id).where(Source.code == "law_demo"))

    def serves() -> set[int]:
        ids = set()
        with app.app_context():
            for minute in range(4):
                filters = draws.Filters(source_id=source_id, locator="第三条")
                try:
                    item = practice.serve_practice(
                        learner.id, filters, now=NOW.replace(minute=minute), rules=rules.current()
                    )
                except NotFound:
                    break
                ids.add(item["question"]["id"])
            db.session.rollback()
        return ids

    assert serves() == {first, second}
    with app.app_context():
        reading.set_mastered(learner.id, first, True, now=NOW)
        reading.set_mastered(learner.id, first, True, now=NOW)  # twice: one mark
        db.session.commit()
        marks = db.session.scalars(select(QuestionMark).where(QuestionMark.user_id == learner.id)).all()
        assert [(m.question_id, m.kind) for m in marks] == [(first, MarkKind.MASTERED)]
    assert serves() == {second}
    with app.app_context():
        reading.set_mastered(learner.id, second, True, now=NOW)
        db.session.commit()
    assert serves() == set()
    with app.app_context():
        reading.set_mastered(learner.id, first, False, now=NOW)
        db.session.commit()
    assert serves() == {first}

    # Through the page: a form post comes back to the list; the script's post gets JSON.
    auth.login("reader")
    response = client.post(
        "/recite/mastered", data={"question_id": second, "mastered": "0", "next": "/recite?source=law_demo"}
    )
    assert response.status_code == 302 and response.location == f"/recite?source=law_demo#q{second}"
    response = client.post(
        "/recite/mastered",
        data={"question_id": second, "mastered": "1"},
        headers={"Accept": "application/json"},
    )
    assert response.get_json() == {"question_id": second, "mastered": True}
    page = client.get("/recite", query_string={"source": "law_demo", "unmastered": "1"}).get_data(
        as_text=True
    )
    assert f'id="q{first}"' in page and f'id="q{second}"' not in page


def test_recite_shows_keys_but_never_of_the_reserve_or_a_running_paper(app, client, auth, cite, reader):
    shown = cite("law_demo", "第二条", "用人单位应当依法订立劳动合同", explanation="可见解析甲")
    reserved = cite(
        "law_demo", "第二条", "用人单位应当依法订立劳动合同", reserved=True, explanation="专用解析乙"
    )
    on_paper = cite("law_demo", "第三条", "百分之八十", explanation="比赛解析丙")
    with app.app_context():
        running = closed_round(status=RoundStatus.OPEN, show_answers="after_attempt", kind="weekly")
        db.session.add(running)
        db.session.flush()
        version_id = db.session.scalar(
            select(QuestionVersion.id).where(QuestionVersion.question_id == on_paper)
        )
        db.session.add(
            PaperQuestion(
                round_id=running.id, position=1, question_id=on_paper, question_version_id=version_id
            )
        )
        db.session.commit()
        reader = db.session.scalar(select(User).where(User.username == "reader"))
        listing = reading.recite(reader.id, draws.Filters())
        assert [item["version"].question_id for item in listing["items"]] == [shown]
        with pytest.raises(NotFound):
            reading.set_mastered(reader.id, reserved, True, now=NOW)
        with pytest.raises(NotFound):
            reading.set_mastered(reader.id, on_paper, True, now=NOW)
    auth.login("reader")
    page = client.get("/recite").get_data(as_text=True)
    assert "可见解析甲" in page and "专用解析乙" not in page and "比赛解析丙" not in page
    assert "/reading/law_demo?hl=" in page  # 出处 links to the article
    # The round closed: its questions are the learner's to recite again.
    with app.app_context():
        db.session.execute(update(running.__class__).values(status=RoundStatus.CLOSED))
        db.session.commit()
    assert "比赛解析丙" in client.get("/recite").get_data(as_text=True)


def test_recite_pages_through_a_filter(app, client, auth, cite, reader):
    for n in range(reading.RECITE_PAGE + 3):
        cite("law_demo", "第二条", "用人单位应当依法订立劳动合同", stem=f"背题第{n}题？")
    cite("law_demo", "第三条", "百分之八十", type="judge")
    auth.login("reader")
    first = client.get("/recite", query_string={"source": "law_demo", "type": "single"}).get_data(
        as_text=True
    )
    assert first.count('class="card recite-item') == reading.RECITE_PAGE and "第 1 / 2 页" in first
    second = client.get("/recite", query_string={"source": "law_demo", "type": "single", "page": 2})
    assert second.get_data(as_text=True).count('class="card recite-item') == 3
    judge = client.get("/recite", query_string={"source": "law_demo", "locator": "第三条"}).get_data(
        as_text=True
    )
    assert judge.count('class="card recite-item') == 1 and "答案" in judge
    assert client.get("/recite", query_string={"category": "没有这个类别"}).status_code == 404
