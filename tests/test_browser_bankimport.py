"""Issue 22 in a browser: a unit's Word bank through the import wizard (a bad paragraph named, fixed,
imported, found again as 无出处), and a policy document turned into drafts that are reviewed —
picked in bulk, one edited — before anything enters the bank. Runs on the demo (``live_server``)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_bankimport import UNIT_BANK, docx_bytes
from .test_browser import (
    DESKTOP,
    SHOTS,
    live_server,  # noqa: F401  (the fixture: the demo behind waitress)
    page_for,  # noqa: F401  (the fixture open_page stands on)
    shot,
    sign_in,
)
from .test_drafting import PROVINCE

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "Admin1234"


def test_word_import_wizard_on_a_desktop(live_server, page_for, tmp_path):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/questions/import")
    assert page.get_by_role("link", name="下载 Word 模板").is_visible()

    broken = UNIT_BANK[:8] + ["这一行不是答案"] + UNIT_BANK[8:]
    (tmp_path / "单位题库.docx").write_bytes(docx_bytes(broken))
    page.get_by_label("题目文件").set_input_files(str(tmp_path / "单位题库.docx"))
    page.get_by_label("默认类别").select_option("社会保险")
    page.get_by_role("button", name="上传并检查").click()
    problems = page.locator("table.problems")
    assert "未导入任何题目" in page.locator("main").inner_text()
    assert problems.get_by_role("cell", name="第9段").is_visible()
    assert "第1题的选项之后无法识别" in problems.inner_text()
    shot(page, "bankimport-desktop-01-word-error")

    (tmp_path / "单位题库.docx").write_bytes(docx_bytes(UNIT_BANK))
    page.get_by_label("题目文件").set_input_files(str(tmp_path / "单位题库.docx"))
    page.get_by_role("button", name="上传并检查").click()
    summary = page.locator(".import-summary").inner_text()
    assert "将新增 8 题" in summary and "其中 8 题没有出处" in summary
    rows = page.locator("table.import-new tbody tr")
    assert rows.count() == 8 and "失业保险金的标准" in rows.nth(2).inner_text()
    shot(page, "bankimport-desktop-02-word-preview")
    page.get_by_role("button", name="确认导入 8 题").click()
    assert "已导入 8 题" in page.locator("main").inner_text()

    page.goto(f"{base}/admin/questions")
    page.get_by_label("来源文件").select_option(label="无出处")
    page.get_by_role("button", name=re.compile("筛选|查询|搜索")).first.click()
    assert "共 8 题" in page.locator("main").inner_text()
    assert page.locator(".unsourced").count() == 8
    shot(page, "bankimport-desktop-03-unsourced-filter")
    assert page.problems == []


def test_policy_document_to_reviewed_drafts_on_a_desktop(live_server, page_for, tmp_path):  # noqa: F811
    _, base = live_server
    page = page_for(DESKTOP)
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/questions/import")
    page.get_by_role("link", name="从政策文件生成草稿").click()
    (tmp_path / "规程.txt").write_bytes(PROVINCE.encode("gbk"))
    page.get_by_label("上传政策文件（.txt、.docx 或文字版 .pdf）").set_input_files(str(tmp_path / "规程.txt"))
    page.get_by_role("button", name="生成草稿").click()
    page.wait_for_url(re.compile(r".*/admin/questions/drafts/\w+$"))
    drafts = page.locator("li.draft")
    total = drafts.count()
    assert total >= 20 and page.locator("[data-picked]").inner_text() == "0"
    shot(page, "bankimport-desktop-04-drafts")

    page.get_by_role("button", name="选中全部多选").click()
    multiples = page.locator('li.draft[data-type="multiple"]').count()
    assert multiples >= 2 and page.locator("[data-picked]").inner_text() == str(multiples)
    first_fill = page.locator('li.draft[data-type="fill"]').first
    first_fill.locator("summary").click()  # editing a draft picks it
    stem = first_fill.locator("textarea").first
    expect(stem).to_be_enabled()  # the toggle event enables the fields (and picks the draft)
    stem.fill(stem.input_value().replace("根据", "依据"))
    expect(page.locator("[data-picked]")).to_have_text(str(multiples + 1))
    shot(page, "bankimport-desktop-05-draft-edit")
    first_fill.screenshot(path=str(SHOTS / "bankimport-desktop-05b-draft-card.png"))
    page.screenshot(path=str(SHOTS / "bankimport-desktop-05c-draft-top.png"))
    page.get_by_role("button", name="导入所选草稿").click()
    assert f"已导入 {multiples + 1} 题" in page.locator("main").inner_text()
    assert "共 " + str(multiples + 1) + " 题" in page.locator("main").inner_text()
    shot(page, "bankimport-desktop-06-imported")
    assert page.problems == []
