"""Issue 18, the attempt: the confirmation before a timed round starts, the focused attempt page, and
the result page's pass mark, 只看错题 and per-category summary (never before the rules allow)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from quizapp.extensions import db
from quizapp.models import Attempt
from quizapp.services import rounds

from .test_rounds import START, at_start, key_in_display, make_round, save, start, wrong_in_display

__all__ = ["at_start", "make_round"]  # fixtures, used by name


def attempts_of(app, round_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Attempt.id)).where(Attempt.round_id == round_id))


def test_starting_a_timed_round_asks_first_and_states_its_terms(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round("monthly", time_limit_minutes=40)
    client = login_as("amy")
    detail = client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert f'href="/rounds/{round_id}/start"' in detail  # a link to the confirmation, not the start

    page = client.get(f"/rounds/{round_id}/start")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for fact in ("40 分钟", "10 题", "1 次", "开始后立即计时", "只能作答一次", "确认开始"):
        assert fact in text, fact
    assert attempts_of(app, round_id) == 0  # looking at the terms starts nothing

    started = client.post(f"/rounds/{round_id}/start")
    assert started.status_code == 302 and "/attempts/" in started.headers["Location"]
    assert attempts_of(app, round_id) == 1
    # Asking again while the attempt runs goes back to it; once used up, to the round's page.
    again = client.get(f"/rounds/{round_id}/start")
    assert again.status_code == 302 and again.headers["Location"] == started.headers["Location"]
    attempt_id = int(started.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/api/v1/attempts/{attempt_id}/submit")
    used = client.get(f"/rounds/{round_id}/start")
    assert used.status_code == 302 and used.headers["Location"].endswith(f"/rounds/{round_id}")
    assert attempts_of(app, round_id) == 1


def test_the_confirmation_names_the_shorter_time_when_the_round_closes_first(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round("exam", closes=START + timedelta(minutes=15), time_limit_minutes=60)
    text = login_as("amy").get(f"/rounds/{round_id}/start").get_data(as_text=True)
    assert "60 分钟" in text and "实际可用约 15 分钟" in text and "计时 15 分钟" in text


def test_a_round_of_another_subtree_has_no_confirmation_page(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(targets=("A",))
    assert login_as("bob").get(f"/rounds/{round_id}/start").status_code == 404


def test_the_attempt_page_is_in_focus_mode(login_as, app, province, mixed_bank, make_round, at_start):
    round_id = make_round()
    client = login_as("amy")
    view = start(client, round_id)
    page = client.get(f"/attempts/{view['id']}").get_data(as_text=True)
    assert 'class="focus-mode"' in page
    assert 'class="tabs"' not in page and "退出" not in page
    assert 'class="tabs"' in client.get(f"/rounds/{round_id}").get_data(as_text=True)  # elsewhere: kept


def finish_weekly(app, client, round_id: int, right_count: int) -> dict:
    view = start(client, round_id)
    for index, question in enumerate(view["questions"]):
        value = (
            key_in_display(app, view["id"], question["id"])
            if index < right_count
            else wrong_in_display(app, view["id"], question)
        )
        assert save(client, view["id"], question["id"], value).status_code == 200
    return client.post(f"/api/v1/attempts/{view['id']}/submit").get_json()


def test_a_weekly_result_says_pass_or_fail_against_the_rounds_pass_mark(
    login_as, app, province, mixed_bank, make_round, at_start
):
    client = login_as("amy")
    done = finish_weekly(app, client, make_round(pass_mark=70, attempts_allowed=1), right_count=6)  # 60 < 70
    page = client.get(f"/attempts/{done['id']}/result").get_data(as_text=True)
    assert (
        'id="pass-verdict"' in page and "不合格" in page and "及格线 70 分" in page and "还差 10.0 分" in page
    )
    done = finish_weekly(app, client, make_round(pass_mark=70, attempts_allowed=1), right_count=8)
    page = client.get(f"/attempts/{done['id']}/result").get_data(as_text=True)
    assert "合格" in page and "不合格" not in page


def test_only_the_wrong_ones_and_a_summary_per_category(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round(attempts_allowed=1)
    client = login_as("amy")
    done = finish_weekly(app, client, round_id, right_count=7)
    numbers = rounds.wrong_numbers(done)
    assert numbers == [8, 9, 10]
    summary = rounds.category_summary(done)
    assert sum(row["total"] for row in summary) == 10 and sum(row["correct"] for row in summary) == 7
    categories = {q["id"]: q["category"] for q in done["questions"]}
    expected: dict[str, list[int]] = {}
    for item in done["review"]:
        counts = expected.setdefault(categories[item["question_id"]], [0, 0])
        counts[0] += 1 if item["correct"] else 0
        counts[1] += 1
    assert {row["category"]: [row["correct"], row["total"]] for row in summary} == expected

    full = client.get(f"/attempts/{done['id']}/result").get_data(as_text=True)
    assert "分类统计" in full and "只看错题 3" in full and full.count('class="card review-item') == 10
    wrong = client.get(f"/attempts/{done['id']}/result?only=wrong").get_data(as_text=True)
    assert wrong.count('class="card review-item') == 3
    assert "review-item ok" not in wrong
    for number in numbers:
        assert f"第 {number} 题" in wrong
    assert "第 1 题" not in wrong


def test_the_result_shows_no_key_summary_or_verdict_before_the_close(
    login_as, app, province, mixed_bank, make_round, at_start
):
    round_id = make_round("monthly")
    client = login_as("amy")
    done = finish_weekly(app, client, round_id, right_count=3)
    assert done["review"] is None and rounds.category_summary(done) == [] and rounds.wrong_numbers(done) == []
    for url in (f"/attempts/{done['id']}/result", f"/attempts/{done['id']}/result?only=wrong"):
        page = client.get(url).get_data(as_text=True)
        for withheld in ("分类统计", "只看错题", "pass-verdict", "合格", "秘密", "正确答案"):
            assert withheld not in page, (url, withheld)
    with app.app_context():
        rounds.close_round(round_id, now=START + timedelta(days=3, minutes=1))
        db.session.commit()
    page = client.get(f"/attempts/{done['id']}/result?only=wrong").get_data(as_text=True)
    assert "不合格" in page and "分类统计" in page and page.count('class="card review-item') == 7


def test_a_sealed_question_counts_as_neither_right_nor_wrong():
    view = {
        "questions": [{"id": 1, "category": "社会保险"}, {"id": 2, "category": "社会保险"}],
        "review": [
            {"question_id": 1, "correct": False, "score": 0.0},
            {"question_id": 2, "sealed": True, "message": "…"},
        ],
    }
    assert rounds.category_summary(view) == [
        {"category": "社会保险", "total": 2, "correct": 0, "score": 0.0, "sealed": 1}
    ]
    assert rounds.wrong_numbers(view) == [1]
