"""阅卷 pages: a marker marks a round's written answers page by page (a keypoint left unchosen is asked
for, a mark sent twice is refused), only the round's markers open them, and nothing on them names a
taker — scanned like the answer-leak scans; the admin's round page shows the marking's progress and
the markers' quality, adds markers and moves a marker's answers; the staff's round page says how far
marking has got."""
# ruff: noqa: F811 — fixtures shared with test_written and test_rounds are imported, then requested

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from quizapp.extensions import db
from quizapp.models import MarkingTask, QuestionVersion, RoundMarker, RoundStatus
from quizapp.services import written

from .test_rounds import START, at_start, make_round, save, start  # noqa: F401
from .test_written import GOOD, RUBRIC, close, written_round  # noqa: F401

HTML_ANSWER = "<b>您好</b>，请在60日内\n  到公共就业服务机构办理失业登记。"


def take(login_as, username, round_id, text):
    client = login_as(username)
    view = start(client, round_id)
    question_id = next(q["id"] for q in view["questions"] if q["type"] in ("short", "situation"))
    assert save(client, view["id"], question_id, text).status_code == 200
    assert client.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200
    return view["id"]


def choose_markers(app, round_id, *markers, own_unit_ok=False):
    with app.app_context():
        written.add_markers(round_id, [m.id for m in markers], own_unit_ok=own_unit_ok, actor_id=None)
        db.session.commit()


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{name}"', page).group(1)


def marks_form(page: str, awarded, deducted=()) -> dict:
    data = {
        "task": hidden(page, "task"),
        "stamp": hidden(page, "stamp"),
        "deduct": [str(i) for i in deducted],
    }
    data.update({f"kp{i}": str(value) for i, value in enumerate(awarded)})
    return data


@pytest.fixture
def marking(app, login_as, written_round, at_start, frozen_clock):
    """amy (甲市窗口) and bob (乙市窗口) have answered; m1 and m2 (丙市) mark; the round is in marking."""
    round_id, people, markers = written_round
    choose_markers(app, round_id, markers["m1"], markers["m2"])
    take(login_as, "amy", round_id, HTML_ANSWER)
    take(login_as, "bob", round_id, GOOD)
    _, status = close(app, frozen_clock)
    assert status == RoundStatus.MARKING
    return round_id, people, markers


def test_a_marker_marks_every_answer_through_the_pages(app, login_as, marking):
    round_id, people, markers = marking
    m1 = login_as("m1")
    home = m1.get("/").get_data(as_text=True)
    assert 'href="/marking"' in home  # the nav's 阅卷 link
    listing = m1.get("/marking").get_data(as_text=True)
    assert "测试monthly" in listing and "待评 2 份" in listing
    page = m1.get(f"/marking/{round_id}").get_data(as_text=True)
    assert "简述失业登记的办理要求。" in page and RUBRIC["model"] in page and "简答" in page
    assert "本题还有 2 份" in page
    for point in RUBRIC["rubric"]:
        assert point["point"] in page
    # each keypoint a select of 0 … its points in halves, none chosen: the marker must choose
    selects = re.findall(r'<select id="kp\d" name="kp(\d)"[^>]*>(.*?)</select>', page, re.S)
    assert [index for index, _ in selects] == ["0", "1", "2"]
    assert re.findall(r'<option value="([^"]*)"', selects[0][1]) == ["", "0", "0.5", "1", "1.5", "2"]
    assert all(
        re.findall(r"<option[^>]*selected[^>]*>", body) == ['<option value="" selected>']
        for _, body in selects
    )
    assert 'name="deduct" value="0"' in page and "推诿" in page
    assert "建议：" in page
    for _ in range(2):
        page = m1.get(f"/marking/{round_id}").get_data(as_text=True)
        sent = m1.post(f"/marking/{round_id}", data=marks_form(page, [2, 2, 1]))
        assert sent.status_code == 302 and sent.location == f"/marking/{round_id}"
    done = m1.get(f"/marking/{round_id}").get_data(as_text=True)
    assert "本轮您的评阅任务已完成" in done
    assert "已评分：5 分" in done
    m2 = login_as("m2")
    for _ in range(2):
        page = m2.get(f"/marking/{round_id}").get_data(as_text=True)
        assert m2.post(f"/marking/{round_id}", data=marks_form(page, [2, 1.5, 1])).status_code == 302
    assert "本轮您的评阅任务已完成" in m2.get(f"/marking/{round_id}").get_data(as_text=True)
    with app.app_context():
        assert written.progress(round_id)["settled"] == 2


def test_the_answer_shows_as_text_with_its_lines_and_the_suggestions_as_hints(app, login_as, marking):
    round_id, *_ = marking
    m1 = login_as("m1")
    seen = set()
    for _ in range(2):
        page = m1.get(f"/marking/{round_id}").get_data(as_text=True)
        if "&lt;b&gt;您好&lt;/b&gt;" in page:
            assert "<b>您好</b>" not in page
            assert (
                "到公共就业服务机构办理失业登记。" in page and "\n  到公共" in page
            )  # lines and spaces kept
            seen.add("html")
            # 60日内 and 失业登记 found exactly; the ID card not mentioned
            assert "建议：已答到（找到：60日内、失业登记）" in page and "建议：未找到" in page
        else:
            assert GOOD in page
            seen.add("good")
        m1.post(f"/marking/{round_id}", data=marks_form(page, [1, 1, 0]))
    assert seen == {"html", "good"}


def test_a_keypoint_left_unchosen_is_asked_for_and_the_choices_made_are_kept(app, login_as, marking):
    round_id, *_ = marking
    m1 = login_as("m1")
    page = m1.get(f"/marking/{round_id}").get_data(as_text=True)
    task = hidden(page, "task")
    again = m1.post(f"/marking/{round_id}", data=marks_form(page, [1.5, "", 1], deducted=[0]))
    shown = again.get_data(as_text=True)
    assert again.status_code == 200 and "请为第2个要点选择得分" in shown
    assert hidden(shown, "task") == task
    assert '<option value="1.5" selected>' in shown and re.search(
        r'name="deduct" value="0"[^>]* checked', shown
    )
    with app.app_context():
        assert db.session.scalar(select(MarkingTask.marked_at).where(MarkingTask.id == int(task))) is None


def test_the_same_answer_cannot_be_marked_twice(app, login_as, marking):
    round_id, *_ = marking
    m1 = login_as("m1")
    page = m1.get(f"/marking/{round_id}").get_data(as_text=True)
    form = marks_form(page, [2, 2, 1])
    assert m1.post(f"/marking/{round_id}", data=form).status_code == 302
    again = m1.post(f"/marking/{round_id}", data=form | {"kp0": "0"}, follow_redirects=True)
    assert "这份答卷您已评过，不能重复评分" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(MarkingTask.total).where(MarkingTask.id == int(form["task"]))) == 5


def test_only_the_rounds_markers_open_its_marking_pages(app, login_as, marking, create_user):
    round_id, people, markers = marking
    for username in ("amy", "m3", "root"):
        client = login_as(username)
        assert client.get(f"/marking/{round_id}").status_code == 403
        assert (
            client.post(f"/marking/{round_id}", data={"task": "1", "stamp": "x", "kp0": "1"}).status_code
            == 403
        )
        assert 'href="/marking"' not in client.get("/").get_data(as_text=True)  # no 阅卷 link
    # another marker's task, posted to a round the poster marks, is not theirs
    page = login_as("m1").get(f"/marking/{round_id}").get_data(as_text=True)
    other = login_as("m2").post(
        f"/marking/{round_id}", data=marks_form(page, [1, 1, 1]), follow_redirects=True
    )
    assert "这份答卷不在您的评阅任务中" in other.get_data(as_text=True)


def test_no_marking_page_names_a_taker(
    app, login_as, province, create_unit, create_user, written_round, at_start, frozen_clock
):
    """The blind scan: as each marker, every marking page (the list, each answer, a refused mark,
    the page when all is marked) holds no taker's name, username, unit name or unit code."""
    round_id, people, markers = written_round
    units, _ = province
    far = create_unit("DX907", "丁县就业服务中心", "P")
    create_user("dingxm", unit=far, name="丁晓明")
    choose_markers(app, round_id, markers["m1"], markers["m2"])
    take(login_as, "amy", round_id, GOOD)
    take(login_as, "bob", round_id, HTML_ANSWER)
    take(login_as, "dingxm", round_id, "请带身份证到失业登记窗口。")
    close(app, frozen_clock)
    secrets = [
        "amy",
        "bob",
        "dingxm",
        "甲一",
        "乙一",
        "丁晓明",
        "甲市窗口",
        "乙市窗口",
        "甲市",
        "乙市",
        "丁县就业服务中心",
        "DX907",
        "A1",
        "B1",
    ]

    def leaks(response) -> list[str]:
        text = response.get_data(as_text=True)
        # tokens are random: a code could turn up inside one by chance
        text = re.sub(
            r'(name="csrf-token" content|name="(csrf_token|stamp|task)"[^>]*value)="[^"]*"', "", text
        )
        return [s for s in secrets if re.search(rf"(?<![0-9A-Za-z]){re.escape(s)}(?![0-9A-Za-z])", text)]

    scanned = 0
    for name in ("m1", "m2"):
        client = login_as(name)
        responses = [client.get("/marking")]
        while "本轮您的评阅任务已完成" not in (page := client.get(f"/marking/{round_id}")).get_data(
            as_text=True
        ):
            responses.append(page)
            form = marks_form(page.get_data(as_text=True), [1, 1, 1])
            responses.append(client.post(f"/marking/{round_id}", data=form | {"kp1": ""}))  # asked again
            responses.append(client.post(f"/marking/{round_id}", data=form, follow_redirects=True))
            responses.append(client.post(f"/marking/{round_id}", data=form, follow_redirects=True))  # twice
            assert len(responses) < 40
        responses += [page, client.get("/marking")]
        for response in responses:
            assert response.status_code == 200
            found = leaks(response)
            assert not found, f"{response.request.method} {response.request.path} as {name} names {found}"
            scanned += 1
    assert scanned >= 14
    # the scan sees a name when one is there: the admin's round page names the takers
    assert leaks(login_as("root").get(f"/admin/rounds/{round_id}"))


def test_the_admin_adds_markers_sees_progress_and_quality_and_moves_answers(
    app, login_as, written_round, at_start, frozen_clock
):
    round_id, people, markers = written_round
    root = login_as("root")
    before = root.get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    assert 'id="marking"' in before and "尚未指定阅卷人" in before
    unknown = root.post(
        f"/admin/rounds/{round_id}/markers", data={"usernames": "m1, nobody"}, follow_redirects=True
    )
    assert "以下登录名不存在或已停用，未添加任何阅卷人：nobody" in unknown.get_data(as_text=True)
    added = root.post(
        f"/admin/rounds/{round_id}/markers", data={"usernames": "m1，m2\nm3  m1"}, follow_redirects=True
    )
    assert "已添加 3 位阅卷人" in added.get_data(as_text=True)
    again = root.post(
        f"/admin/rounds/{round_id}/markers",
        data={"usernames": "ma m1", "own_unit_ok": "y"},
        follow_redirects=True,
    )
    assert "已添加 1 位阅卷人（1 位已是本轮阅卷人）" in again.get_data(as_text=True)
    with app.app_context():
        allowed = dict(db.session.execute(select(RoundMarker.user_id, RoundMarker.own_unit_ok)).all())
        assert allowed[markers["ma"].id] is True and allowed[markers["m1"].id] is False
    take(login_as, "amy", round_id, GOOD)
    take(login_as, "bob", round_id, GOOD)
    close(app, frozen_clock)
    page = root.get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    assert "0/2<small>份</small>" in page and "已定分" in page and "待第三评" in page and "待分配" in page
    for heading in ("阅卷人", "单位", "已评", "待评", "与另一评的平均分差", "送第三评比例"):
        assert f'<th class="num">{heading}</th>' in page or f"<th>{heading}</th>" in page
    assert "阅卷m1" in page and "丙市" in page
    staff_view = login_as("amy").get(f"/rounds/{round_id}").get_data(as_text=True)
    assert "评阅中：已完成 0%" in staff_view
    with app.app_context():
        load = dict(
            db.session.execute(
                select(MarkingTask.marker_id, db.func.count()).group_by(MarkingTask.marker_id)
            ).all()
        )
    busiest = max(load, key=load.get)
    others = [m for m in markers.values() if m.id != busiest]
    target = next(m for m in others if m.username != "ma")
    moved = root.post(
        f"/admin/rounds/{round_id}/reassign",
        data={"from_marker": busiest, "to_marker": target.id},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert re.search(r"已转交 \d+ 份", moved)
    with app.app_context():
        left = db.session.scalar(
            select(db.func.count()).where(MarkingTask.marker_id == busiest, MarkingTask.marked_at.is_(None))
        )
        kept = re.search(r"，(\d+) 份对方不能评阅", moved)
        assert left == (int(kept.group(1)) if kept else 0)
    refused = root.post(
        f"/admin/rounds/{round_id}/reassign",
        data={"from_marker": busiest, "to_marker": busiest},
        follow_redirects=True,
    )
    assert "请选择本轮的另一位阅卷人" in refused.get_data(as_text=True)
    # marked through to the end: the progress says so, and the staff page moves on
    for marker in markers.values():
        client = login_as(marker.username)
        while "本轮您的评阅任务已完成" not in (
            p := client.get(f"/marking/{round_id}").get_data(as_text=True)
        ):
            assert client.post(f"/marking/{round_id}", data=marks_form(p, [2, 2, 1])).status_code == 302
    page = root.get(f"/admin/rounds/{round_id}").get_data(as_text=True)
    assert "2/2<small>份</small>" in page and "已定分（100%）" in page


def test_a_situation_shows_the_publics_words_as_text(
    app, login_as, province, create_unit, create_user, create_question, make_round, at_start, frozen_clock
):
    question_id = create_question("situation", answer=RUBRIC, stem="一位群众来到窗口。请作答。")
    with app.app_context():
        db.session.execute(
            update(QuestionVersion)
            .where(QuestionVersion.question_id == question_id)
            .values(says="我上个月失业了，<b>要</b>怎么办？")
        )
        db.session.commit()
    marker = create_user("m9", unit=create_unit("C", "丙市", "P"), name="阅卷九")
    round_id = make_round("monthly", blueprint=[{"type": "situation", "count": 1}])
    choose_markers(app, round_id, marker)
    take(login_as, "amy", round_id, GOOD)
    close(app, frozen_clock)
    page = login_as("m9").get(f"/marking/{round_id}").get_data(as_text=True)
    assert "情景应答" in page and "一位群众来到窗口。请作答。" in page
    assert "群众说：" in page and "我上个月失业了，&lt;b&gt;要&lt;/b&gt;怎么办？" in page
    assert "本题还有 1 份" in page
