"""政策原文 and 背题模式 in headless Chromium, on a phone and on a desktop: reading a document article
by article, searching the documents, a question's 出处 landing on its article with the quote marked,
练一练 from an article, and 已掌握 dropping a question from later practice (and back)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Question, QuestionVersion, Source
from quizapp.services import reading

from . import test_browser
from .test_browser import DEMO_PASSWORD, DESKTOP, PHONE, answer_current_question, shot, sign_in

live_server = test_browser.live_server  # the demo app behind a real server, once for this module
page_for = test_browser.page_for

pytestmark = pytest.mark.browser
DEVICES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
LAW = "law_labor_contract"


def screen(page, name: str) -> None:
    """What the person sees where the page landed (a long document's full-page picture hides it)."""
    test_browser.SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(test_browser.SHOTS / f"{name}.png"))


def device_name(device: dict) -> str:
    return "phone" if device is PHONE else "desktop"


def fits(page) -> None:
    """Nothing sticks out sideways, and the page raised no script error."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.problems == []


def in_view(page, locator) -> None:
    """On screen, below the sticky top bar (and above the phone's tab bar)."""
    box = locator.bounding_box()
    top = page.locator("header.topbar").bounding_box()
    tabs = page.locator("nav.tabs")
    bottom = page.viewport_size["height"]
    if tabs.count() and page.viewport_size["width"] < 720:
        bottom = tabs.bounding_box()["y"]
    assert box is not None and box["y"] >= top["y"] + top["height"] - 1 and box["y"] + 10 <= bottom, (
        box,
        bottom,
    )


def article_with_one_question(app) -> tuple[str, str]:
    """A (document, article) of the law whose article holds exactly one practicable question."""
    with app.app_context():
        doc = reading.document(LAW)
        return LAW, next(b.label for b in doc.blocks if b.kind == "article" and b.questions == 1)


def questions_of(app, code: str, locator: str) -> list[int]:
    with app.app_context():
        source_id = db.session.scalar(select(Source.id).where(Source.code == code))
        filters = reading.Filters(source_id=source_id, locator=locator)
        return list(db.session.scalars(reading.practicable(QuestionVersion.question_id, filters=filters)))


@pytest.mark.parametrize("device", DEVICES)
def test_a_document_article_by_article_and_a_search(live_server, page_for, device):
    app, base = live_server
    name = device_name(device)
    page = page_for(device)
    sign_in(page, base, "staff03" if device is PHONE else "staff04", DEMO_PASSWORD)
    page.locator("a.reading-tile").click()
    page.locator("h1", has_text="政策原文").wait_for()
    shelves = page.locator(".shelf h2").all_inner_texts()
    assert any(text.startswith("法律") for text in shelves) and any(t.startswith("行政法规") for t in shelves)
    with app.app_context():
        documents = db.session.scalar(select(func.count(Source.id)))
    assert page.locator(".doc-item").count() == documents
    fits(page)
    shot(page, f"reading-{name}-01-shelves")

    page.locator(".doc-item", has_text="中华人民共和国劳动合同法").first.click()
    page.locator("h1", has_text="中华人民共和国劳动合同法").wait_for()
    article = page.locator("section.doc-article#第十九条")
    assert "劳动合同期限三个月以上不满一年的" in article.inner_text()
    assert article.locator("h3").inner_text() == "第十九条"
    assert article.get_by_role("link", name="练一练").count() == 1
    contents = page.locator("details.doc-contents")
    contents.locator("summary").click()
    contents.get_by_role("link", name="第二章 劳动合同的订立").click()
    in_view(page, page.locator("h2.doc-heading", has_text="第二章 劳动合同的订立"))
    fits(page)
    screen(page, f"reading-{name}-02-document")

    page.goto(f"{base}/reading")
    page.get_by_label("搜索政策原文").fill("试用期 工资")
    page.get_by_role("button", name="搜索").click()
    page.locator("#search-summary").wait_for()
    first = page.locator(".search-results > li").first
    marks = first.locator(".hits mark").all_inner_texts()
    assert set(marks) == {"试用期", "工资"}, marks
    fits(page)
    shot(page, f"reading-{name}-03-search")
    hit = first.locator(".hits a").first
    anchor = hit.locator(".hit-anchor").inner_text()
    hit.click()
    page.locator("#marks-note").wait_for()
    target = page.locator(f'[id="{anchor}"]')
    assert target.locator("mark").count() >= 1
    in_view(page, target.locator("mark").first)
    fits(page)
    screen(page, f"reading-{name}-04-search-hit")


@pytest.mark.parametrize("device", DEVICES)
def test_practise_an_article_and_follow_the_source_to_the_quote(live_server, page_for, device):
    app, base = live_server
    name = device_name(device)
    page = page_for(device)
    sign_in(page, base, "staff08" if device is PHONE else "staff09", DEMO_PASSWORD)
    page.goto(f"{base}/reading/{LAW}#第十九条")
    article = page.locator("section.doc-article#第十九条")
    count = int(article.get_by_role("link", name="练一练").inner_text().split("·")[1].split("题")[0])
    assert count == len(questions_of(app, LAW, "第十九条")) > 0
    article.get_by_role("link", name="练一练").click()
    page.locator(".practice-source", has_text="《中华人民共和国劳动合同法》第十九条").wait_for()
    form = page.locator("form.question")
    form.wait_for()
    shot(page, f"reading-{name}-05-practice-article")
    answer_current_question(page)
    source = page.locator("#practice .source")
    assert source.locator(".source-title").inner_text().startswith("《中华人民共和国劳动合同法》第十九条")
    quote = source.locator("blockquote").inner_text()
    fits(page)
    shot(page, f"reading-{name}-06-feedback-source")

    source.get_by_role("link").click()
    page.locator("#marks-note").wait_for()
    assert page.url.split("#")[0].startswith(f"{base}/reading/{LAW}?")
    assert page.evaluate("decodeURIComponent(location.hash)") == "#第十九条"
    marked = page.locator("section.doc-article#第十九条 mark")
    assert "".join(marked.all_inner_texts()).replace("\n", "") == quote.replace("\n", "")
    in_view(page, marked.first)
    fits(page)
    screen(page, f"reading-{name}-07-quote-marked")


@pytest.mark.parametrize("device", DEVICES)
def test_recite_with_answers_and_mastered_leaves_practice(live_server, page_for, device):
    app, base = live_server
    name = device_name(device)
    page = page_for(device)
    sign_in(page, base, "staff12" if device is PHONE else "staff13", DEMO_PASSWORD)
    page.locator("a.recite-tile").click()
    page.locator("h1", has_text="背题模式").wait_for()
    page.get_by_label("业务类别").select_option("社会保险")
    page.get_by_label("题型").select_option("single")
    page.get_by_role("button", name="查看").click()
    items = page.locator(".recite-item")
    assert items.count() == reading.RECITE_PAGE
    first = items.first
    assert "社会保险" in first.locator(".question-meta").inner_text()
    assert first.locator(".recite-options li.is-key").count() == 1
    assert first.locator(".explanation p").count() >= 1
    fits(page)
    shot(page, f"reading-{name}-08-recite")

    code, article = article_with_one_question(app)
    (question_id,) = questions_of(app, code, article)
    page.goto(f"{base}/recite?source={code}&locator={article}")
    item = page.locator(f"#q{question_id}")
    assert page.locator(".recite-item").count() == 1
    item.get_by_role("button", name="标记为已掌握").click()
    item.get_by_role("button", name="✓ 已掌握（点此取消）").wait_for()
    assert "is-mastered" in item.get_attribute("class")
    fits(page)
    shot(page, f"reading-{name}-09-mastered")

    page.goto(f"{base}/practice?source={code}&locator={article}")
    page.locator("#practice .empty-title", has_text="没有符合条件的题目").wait_for()
    shot(page, f"reading-{name}-10-practice-without-mastered")
    assert [
        problem for problem in page.problems if "404" not in problem
    ] == []  # the API's 没有符合条件的题目
    page.problems.clear()

    page.goto(f"{base}/recite?source={code}&locator={article}")
    assert "is-mastered" in item.get_attribute("class")  # kept across pages
    item.get_by_role("button", name="✓ 已掌握（点此取消）").click()
    item.get_by_role("button", name="标记为已掌握").wait_for()
    page.goto(f"{base}/practice?source={code}&locator={article}")
    page.locator("form.question").wait_for()
    with app.app_context():
        stem = db.session.scalar(
            select(QuestionVersion.stem)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(QuestionVersion.question_id == question_id, QuestionVersion.is_current)
        )
    assert page.locator("form.question .stem").inner_text() == stem
    assert page.problems == []
