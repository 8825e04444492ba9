"""The security suite: every route × every role, CSRF on every write, no answer before the rules
allow it, an XSS corpus rendered inert, sessions and headers.

The route lists are built from ``app.url_map``: a route added later without an entry here fails the
matrix (and the CSRF sweep) with a message naming it.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from quizapp import jobs
from quizapp.extensions import db
from quizapp.models import (
    Bulletin,
    Certificate,
    ErrorReport,
    IntegrityReview,
    PaperQuestion,
    QuestionStatus,
    ScreenLink,
    Source,
    User,
)
from quizapp.services import questions, rounds

from . import test_browser
from .conftest import PASSWORD, any_answer
from .test_cli import staff_workbook
from .test_rounds import settings

START = datetime(2026, 3, 4, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
PAST = START - timedelta(days=7)
ROLES = ("anonymous", "staff", "other_admin", "unit_admin", "admin")
LOGIN_OF = {
    "anonymous": None,
    "staff": "astaff",  # 甲市 subtree
    "other_admin": "badmin",  # unit admin of 乙市: another subtree
    "unit_admin": "aadmin",  # unit admin of 甲市
    "admin": "root",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# What only 甲市's subtree may see: its people (by name and login) and its own round.
SUBTREE_A_ROWS = ("甲员工", "astaff", "甲市待管人员", "avictim", "甲市周周练")


def make_round(app, kind, title, targets, opens, closes, **changes) -> int:
    with app.app_context():
        round_ = rounds.create_round(
            settings(kind, title=title, targets=targets, opens=opens, closes=closes, **changes), actor_id=None
        )
        db.session.commit()
        return round_.id


def csrf_token(client) -> str:
    """The token a page gives its scripts and forms (``<meta name="csrf-token">``)."""
    response = client.get("/login")
    if response.status_code == 302:  # signed in already: any page has it
        response = client.get("/password")
    page = response.get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def bank_yaml(questions: list[dict], *, code: str = "xss_source", quote: str = "第一条 原文引用。") -> bytes:
    import yaml

    document = {"source": {"id": code, "title": "测试来源", "text": quote}, "questions": questions}
    return yaml.safe_dump(document, allow_unicode=True).encode()


def bank_question(stem: str, **changes) -> dict:
    values = {
        "type": "single",
        "category": "社会保险",
        "ability": "法规政策理解运用能力",
        "difficulty": 1,
        "stem": stem,
        "options": {"A": "甲", "B": "乙", "C": "丙", "D": "丁"},
        "answer": "A",
        "explanation": "依据原文。",
        "locator": "第一条",
        "quote": "原文引用",
    }
    values.update(changes)
    return values


def upload(client, url: str, name: str, data: bytes):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


# ---------------------------------------------------------------------------------------------
# The world: real rows in two subtrees, so every URL parameter resolves


@pytest.fixture
def world(login_as, app, org_tree, mixed_bank, create_user, create_question, frozen_clock):
    """甲市 (C1) and 乙市 (C2) under 示范省, with: a closed exam (bulletin, item analysis), an open
    weekly round for 甲市 with 甲员工's attempt in progress, a practice item, today's daily set, an
    error report, a screen link, a question-import preview and staff-import previews."""
    csrf_enabled = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = False  # the setup is not what a CSRF test tests
    units, people = org_tree["units"], org_tree["people"]
    victim = create_user("avictim", unit=units["window_a"], name="甲市待管人员")
    ids = {"staff_a": people["staff_a"].id, "staff_b": people["staff_b"].id, "victim": victim.id}
    ids["no_battle"] = 999_999  # 对战: a battle nobody sits in

    frozen_clock.set(PAST)
    ids["closed_round"] = make_round(  # pass mark 0: both takers (empty papers) get a certificate
        app, "exam", "已结束的考试", ["P1"], PAST - timedelta(hours=1), PAST + timedelta(hours=2), pass_mark=0
    )
    for username in ("astaff", "bstaff"):
        client = login_as(username)
        view = client.post(f"/api/v1/rounds/{ids['closed_round']}/attempts").get_json()
        assert client.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200
    frozen_clock.set(START)
    assert jobs.run_sweep(app, "close_rounds").outcome == "ok"
    with app.app_context():  # 收藏: a question 甲员工 has answered (the closed exam's paper) — and not
        # one that an admin answers in the matrix (the first of their 日日学 set, drawn at random)
        from quizapp.services import daily, rules

        their_day = {
            item.question_id
            for username in ("aadmin", "badmin", "root")
            for item in daily.todays_set(
                db.session.scalar(select(User.id).where(User.username == username)),
                now=START,
                rules=rules.current(),
            ).items
        }
        db.session.commit()
        ids["answered_question"] = db.session.scalar(
            select(PaperQuestion.question_id)
            .where(PaperQuestion.round_id == ids["closed_round"], PaperQuestion.question_id.not_in(their_day))
            .order_by(PaperQuestion.position)
            .limit(1)
        )

    ids["round"] = make_round(
        app, "weekly", "甲市周周练", ["C1"], START - timedelta(hours=1), START + timedelta(days=3)
    )
    staff = login_as("astaff")
    view = staff.post(f"/api/v1/rounds/{ids['round']}/attempts").get_json()
    ids["attempt"], ids["question"] = view["id"], view["questions"][0]["id"]
    # A question only 甲员工 has seen (the one hard question, in practice; retired afterwards so
    # nobody else is ever served it): the rows of the reports and the practice item.
    ids["seen_question"] = create_question("single", difficulty=3)
    item = staff.post("/api/v1/practice/items", json={"difficulty": "3"}).get_json()["item"]
    assert item["question"]["id"] == ids["seen_question"]
    ids["item"], ids["item_answer"] = item["item_id"], any_answer(item["question"])
    with app.app_context():
        questions.set_status([ids["seen_question"]], QuestionStatus.RETIRED, actor_id=None)
        db.session.commit()
    assert staff.get("/api/v1/daily").status_code == 200
    assert (
        staff.post(
            f"/api/v1/questions/{ids['seen_question']}/reports", json={"reason": "选项与原文不符"}
        ).status_code
        == 201
    )
    admin = login_as("root")
    assert admin.post("/admin/screens", data={"unit": "C1", "label": "甲市大厅"}).status_code == 302
    with app.app_context():
        ids["report"] = db.session.scalar(select(ErrorReport.id))
        link = db.session.scalar(select(ScreenLink))
        ids["screen_token"], ids["screen"] = link.token, link.id
        ids["bulletin"] = db.session.scalar(select(Bulletin.id))
        ids["cert_a"], ids["cert_b"] = (  # 证书 of 甲员工 and 乙员工 for the closed exam
            db.session.scalar(select(Certificate.serial).where(Certificate.user_id == people[who].id))
            for who in ("staff_a", "staff_b")
        )
        # 甲员工's exam attempt was handed in without the page's report: a review (flagged).
        ids["integrity_review"] = db.session.scalar(
            select(IntegrityReview.id).where(IntegrityReview.user_id == people["staff_a"].id)
        )
    ids["import_token"] = preview_token(
        upload(admin, "/admin/questions/import", "新题.yaml", bank_yaml([bank_question("新导入的题？")])),
        "/admin/questions/import/",
    )
    for name in ("drafts_token", "drafts_token_discard"):  # a policy document → drafts to review
        generated = admin.post(
            "/admin/questions/drafts",
            data={
                "file": (io.BytesIO("第一条 用人单位应当自用工之日起三十日内办理登记。".encode()), "规程.txt")
            },
            content_type="multipart/form-data",
        )
        ids[name] = generated.headers["Location"].rsplit("/", 1)[1]
    rows = [["anew01", "甲市新人", "C1X01", "学员", None, None, None, None, None, None]]
    ids["staff_import_token"] = preview_token(
        upload(login_as("aadmin"), "/admin/staff/import", "人员.xlsx", staff_workbook(rows)),
        "/admin/staff/import/",
    )
    rows = [["root01", "省新人", "C2X01", "学员", None, None, None, None, None, None]]
    ids["admin_staff_import_token"] = preview_token(
        upload(admin, "/admin/staff/import", "人员.xlsx", staff_workbook(rows)), "/admin/staff/import/"
    )
    with app.app_context():  # 现场比武: 甲市's contest (its host console is 甲市's unit admin's)
        from quizapp.services.contest import setup as contest_setup

        ids["contest"] = contest_setup.create_contest(
            db.session.get(User, people["admin"].id),
            title="甲市现场比武",
            unit_code="C1",
            teams=[contest_setup.TeamSpec(f"{n}队", "甲市", ["甲一", "甲二"]) for n in "一二"],
            segments=[contest_setup.SegmentSpec("buzz", count=2, types=["single"])],
        ).code
        db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = csrf_enabled
    return ids


def preview_token(response, prefix: str) -> str:
    page = response.get_data(as_text=True)
    assert prefix in page, page
    return page.split(prefix)[1].split('"')[0]


# ---------------------------------------------------------------------------------------------
# Role × route matrix

LOGIN = "login"  # a page asks for sign-in: 302 to /login (the JSON API answers 401 instead)


@dataclass
class Call:
    """One request on a route; ``path``, ``data`` and ``json`` take the world's ids by name."""

    path: str
    data: dict | Callable | None = None
    json: dict | Callable | None = None
    as_role: dict = field(default_factory=dict)  # role → path, where a role needs its own row

    def url(self, ids: dict, role: str) -> str:
        return self.as_role.get(role, self.path).format(**ids)

    def body(self, client, ids: dict) -> dict:
        if callable(self.data):
            return {"data": self.data(client, ids), "content_type": "multipart/form-data"}
        if self.data is not None:
            return {"data": {key: str(value).format(**ids) for key, value in self.data.items()}}
        if callable(self.json):
            return {"json": self.json(client, ids)}
        if self.json is not None:
            return {"json": self.json}
        return {}


def _first_daily_question(client, ids):
    items = (client.get("/api/v1/daily").get_json() or {}).get("items")
    if not items:
        return {"question_id": 0, "answer": "A"}
    return {"question_id": items[0]["question"]["id"], "answer": any_answer(items[0]["question"])}


def _bank_upload(client, ids):
    return {"file": (io.BytesIO(bank_yaml([bank_question("矩阵里上传的题？")])), "矩阵.yaml")}


def _staff_upload(client, ids):
    rows = [["anew02", "甲市新人二", "C1X01", "学员", None, None, None, None, None, None]]
    return {"file": (io.BytesIO(staff_workbook(rows)), "人员.xlsx")}


SIGNED_IN = (LOGIN, 200, 200, 200, 200)
MANAGERS = (LOGIN, 403, 200, 200, 200)
ADMINS = (LOGIN, 403, 403, 403, 200)
ADMINS_WRITE = (LOGIN, 403, 403, 403, 302)
API_SIGNED_IN = (401, 200, 200, 200, 200)

# (endpoint, method) → (the request, the expected status for anonymous, staff (甲市), the unit admin
# of another subtree (乙市), the unit admin of 甲市, the admin). The request addresses 甲市's rows.
MATRIX: dict[tuple[str, str], tuple[Call, tuple]] = {
    ("static", "GET"): (Call("/static/css/app.css"), (200, 200, 200, 200, 200)),
    ("auth.login", "GET"): (Call("/login"), (200, 302, 302, 302, 302)),
    ("auth.login", "POST"): (
        Call("/login", data={"username": "nobody", "password": "x"}),
        (200, 302, 302, 302, 302),
    ),
    ("auth.logout", "POST"): (Call("/logout"), (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),
    ("auth.change_password", "GET"): (Call("/password"), SIGNED_IN),
    ("auth.change_password", "POST"): (Call("/password", data={"current": "wrong"}), SIGNED_IN),
    ("learn.home", "GET"): (Call("/"), SIGNED_IN),
    ("learn.daily_page", "GET"): (Call("/daily"), SIGNED_IN),
    ("learn.service_worker", "GET"): (Call("/sw.js"), (200, 200, 200, 200, 200)),
    ("learn.manifest", "GET"): (Call("/manifest.webmanifest"), (200, 200, 200, 200, 200)),
    ("learn.practice", "GET"): (Call("/practice"), SIGNED_IN),
    ("learn.mistake_book", "GET"): (Call("/mistakes"), SIGNED_IN),
    ("learn.mistake_review", "GET"): (Call("/mistakes/review"), SIGNED_IN),
    ("learn.favourites_page", "GET"): (Call("/favourites"), SIGNED_IN),
    ("learn.history", "GET"): (Call("/history"), SIGNED_IN),
    ("reading.index", "GET"): (Call("/reading?q=原文"), SIGNED_IN),
    ("reading.document", "GET"): (Call("/reading/test_source?hl=原文"), SIGNED_IN),
    ("reading.at", "GET"): (Call("/reading/at/1?at=第一条&hl=原文"), (LOGIN, 302, 302, 302, 302)),
    ("reading.recite", "GET"): (Call("/recite"), SIGNED_IN),
    ("reading.mastered", "POST"): (
        Call("/recite/mastered", data={"question_id": "{question}", "mastered": "1"}),
        (LOGIN, 302, 302, 302, 302),
    ),
    ("learn.report_question", "GET"): (Call("/reports"), SIGNED_IN),
    ("learn.report_question", "POST"): (
        Call("/reports", data={"question_id": "{seen_question}", "reason": "题干有误"}),
        (LOGIN, 302, 302, 302, 302),
    ),
    ("rounds.index", "GET"): (Call("/rounds"), SIGNED_IN),
    ("rounds.detail", "GET"): (Call("/rounds/{round}"), (LOGIN, 200, 404, 200, 404)),
    # staff: their attempt at {round} is running, so the confirmation sends them back to it
    ("rounds.confirm_start", "GET"): (Call("/rounds/{round}/start"), (LOGIN, 302, 404, 200, 404)),
    ("rounds.start", "POST"): (Call("/rounds/{round}/start"), (LOGIN, 302, 404, 302, 404)),
    ("rounds.attempt", "GET"): (Call("/attempts/{attempt}"), (LOGIN, 200, 404, 404, 404)),
    ("rounds.result", "GET"): (Call("/attempts/{attempt}/result"), (LOGIN, 302, 404, 404, 404)),
    ("rankings.units", "GET"): (Call("/rankings?parent=C1"), SIGNED_IN),
    ("rankings.people", "GET"): (Call("/rankings/people?unit=C1"), (LOGIN, 200, 404, 200, 200)),
    ("rankings.honours", "GET"): (Call("/honours"), SIGNED_IN),
    ("rankings.bulletins", "GET"): (Call("/bulletins"), MANAGERS),
    ("rankings.bulletin", "GET"): (Call("/bulletins/{bulletin}"), MANAGERS),
    ("rankings.bulletin_print", "GET"): (Call("/bulletins/{bulletin}/print"), MANAGERS),
    ("rankings.bulletin_xlsx", "GET"): (Call("/bulletins/{bulletin}.xlsx"), MANAGERS),
    # 阶段报告 of 甲市 (issue 23.3): it names people, so managers of 甲市 only (乙市's admin: as if missing)
    ("rankings.period_report", "GET"): (
        Call("/period-reports?unit=C1&period=quarter:2026-Q1"),
        (LOGIN, 403, 404, 200, 200),
    ),
    ("rankings.period_report_print", "GET"): (
        Call("/period-reports/print?unit=C1&period=quarter:2026-Q1"),
        (LOGIN, 403, 404, 200, 200),
    ),
    ("rankings.period_report_xlsx", "GET"): (
        Call("/period-reports.xlsx?unit=C1&period=half:2026-H1"),
        (LOGIN, 403, 404, 200, 200),
    ),
    ("rankings.screen", "GET"): (Call("/screen/{screen_token}"), (200, 200, 200, 200, 200)),
    # 证书 (issue 23.4): one's own; a manager's subtree; /verify is public (乙员工's: no 甲市 name)
    ("certificates.mine", "GET"): (Call("/certificates"), SIGNED_IN),
    ("certificates.pdf", "GET"): (Call("/certificates/{cert_a}.pdf"), (LOGIN, 200, 404, 200, 200)),
    ("certificates.verify_form", "GET"): (Call("/verify"), (200, 200, 200, 200, 200)),
    ("certificates.verify", "GET"): (Call("/verify/{cert_b}"), (200, 200, 200, 200, 200)),
    ("certificates.manage", "GET"): (
        Call("/admin/certificates?round={closed_round}&unit=C1"),
        (LOGIN, 403, 404, 200, 200),
    ),
    ("certificates.bulk_zip", "GET"): (
        Call("/admin/certificates/{closed_round}.zip?unit=C1"),
        (LOGIN, 403, 404, 200, 200),
    ),
    ("certificates.revoke", "POST"): (
        Call("/admin/certificates/{cert_b}/revoke", data={"reason": "矩阵撤销"}),
        ADMINS_WRITE,
    ),
    ("admin.home", "GET"): (Call("/admin/"), MANAGERS),
    ("admin.staff", "GET"): (Call("/admin/staff?unit=C1X"), (LOGIN, 403, 404, 200, 200)),
    ("admin.unit_search_json", "GET"): (Call("/admin/units/search?q=甲"), MANAGERS),
    ("admin.staff_detail", "GET"): (Call("/admin/staff/{staff_a}"), (LOGIN, 403, 404, 200, 200)),
    ("admin.staff_active", "POST"): (
        Call("/admin/staff/{victim}/active", data={"active": "1"}),
        (LOGIN, 403, 404, 302, 302),
    ),
    ("admin.staff_reset_password", "POST"): (
        Call("/admin/staff/{victim}/password"),
        (LOGIN, 403, 404, 302, 302),
    ),
    ("admin.staff_role", "POST"): (Call("/admin/staff/{victim}/role", data={"role": "staff"}), ADMINS_WRITE),
    ("admin.staff_import", "GET"): (Call("/admin/staff/import"), MANAGERS),
    ("admin.staff_import", "POST"): (Call("/admin/staff/import", data=_staff_upload), MANAGERS),
    ("admin.staff_import_confirm", "POST"): (
        Call(
            "/admin/staff/import/{staff_import_token}",
            as_role={"admin": "/admin/staff/import/{admin_staff_import_token}"},
        ),
        (LOGIN, 403, 302, 200, 200),
    ),
    ("admin.staff_template", "GET"): (Call("/admin/staff/template.xlsx"), MANAGERS),
    ("admin.units", "GET"): (Call("/admin/units?parent=C1"), (LOGIN, 403, 404, 200, 200)),
    ("admin.unit_create", "POST"): (
        Call("/admin/units/create", data={"parent": "C1X", "code": "C1X09", "name": "甲市新窗口"}),
        (LOGIN, 403, 404, 302, 302),
    ),
    ("admin.unit_change", "POST"): (
        Call("/admin/units/C1X/change", data={"action": "rename", "name": "甲市一区"}),
        (LOGIN, 403, 404, 302, 302),
    ),
    # 催办: 甲市's channel, preview and 一键催办 (by the log channel; the admin's click after the unit
    # admin's meets the cool-down: refused in a message, still a redirect)
    ("admin.reminders_page", "GET"): (Call("/admin/reminders?unit=C1"), (LOGIN, 403, 404, 200, 200)),
    ("admin.reminder_channel", "POST"): (
        Call("/admin/reminders/C1/channel", data={"kind": "log", "name_people": "0"}),
        (LOGIN, 403, 404, 302, 302),
    ),
    ("admin.reminder_send", "POST"): (Call("/admin/reminders/C1/send"), (LOGIN, 403, 404, 302, 302)),
    ("admin.selection_page", "GET"): (Call("/admin/selection?unit=C1"), (LOGIN, 403, 404, 200, 200)),
    ("admin.screens", "GET"): (Call("/admin/screens"), ADMINS),
    ("admin.screens", "POST"): (
        Call("/admin/screens", data={"unit": "C1", "label": "甲市二楼"}),
        ADMINS_WRITE,
    ),
    ("admin.screen_revoke", "POST"): (Call("/admin/screens/{screen}/revoke"), ADMINS_WRITE),
    ("admin.audit_log", "GET"): (Call("/admin/audit"), ADMINS),
    ("admin.integrity_queue", "GET"): (Call("/admin/integrity?status=flagged"), MANAGERS),
    ("admin.integrity_decide", "POST"): (
        Call("/admin/integrity/{integrity_review}", data={"decision": "clear", "reason": "已核实"}),
        (LOGIN, 403, 404, 302, 302),
    ),
    ("admin.job_runs", "GET"): (Call("/admin/jobs"), ADMINS),
    ("admin.job_run_now", "POST"): (Call("/admin/jobs/refresh_rankings/run"), ADMINS_WRITE),
    ("admin.schedule", "GET"): (Call("/admin/schedule/weekly"), ADMINS),
    ("admin.schedule", "POST"): (Call("/admin/schedule/weekly", data={"title": ""}), ADMINS),
    ("admin.questions_list", "GET"): (Call("/admin/questions"), ADMINS),
    ("admin.questions_export", "GET"): (Call("/admin/questions/export"), ADMINS),
    ("admin.questions_template", "GET"): (Call("/admin/questions/template.xlsx"), ADMINS),
    ("admin.questions_template_docx", "GET"): (Call("/admin/questions/template.docx"), ADMINS),
    ("admin.question_drafts", "GET"): (Call("/admin/questions/drafts"), ADMINS),
    ("admin.question_drafts", "POST"): (Call("/admin/questions/drafts", data={"source": ""}), ADMINS_WRITE),
    ("admin.question_drafts_review", "GET"): (Call("/admin/questions/drafts/{drafts_token}"), ADMINS),
    ("admin.question_drafts_review", "POST"): (
        Call("/admin/questions/drafts/{drafts_token}", data={}),
        ADMINS,
    ),
    ("admin.question_drafts_discard", "POST"): (
        Call("/admin/questions/drafts/{drafts_token_discard}/discard"),
        ADMINS_WRITE,
    ),
    ("admin.question_detail", "GET"): (Call("/admin/questions/{question}"), ADMINS),
    ("admin.question_detail", "POST"): (Call("/admin/questions/{question}", data={"stem": ""}), ADMINS),
    ("admin.questions_status", "POST"): (
        Call("/admin/questions/status", data={"ids": "{question}", "status": "active"}),
        ADMINS_WRITE,
    ),
    ("admin.categories", "GET"): (Call("/admin/categories"), ADMINS),
    ("admin.categories", "POST"): (Call("/admin/categories", data={"name": ""}), ADMINS),
    ("admin.questions_import", "GET"): (Call("/admin/questions/import"), ADMINS),
    ("admin.questions_import", "POST"): (Call("/admin/questions/import", data=_bank_upload), ADMINS),
    ("admin.questions_import_confirm", "POST"): (
        Call("/admin/questions/import/{import_token}", data={"name": "新题.yaml"}),
        ADMINS_WRITE,
    ),
    ("admin.report_queue", "GET"): (Call("/admin/reports"), ADMINS),
    ("admin.error_report_handle", "POST"): (
        Call("/admin/reports/{report}", data={"action": "dismissed", "reply": "经核对无误。"}),
        ADMINS_WRITE,
    ),
    ("admin.rounds", "GET"): (Call("/admin/rounds"), ADMINS),
    ("admin.round_new", "GET"): (Call("/admin/rounds/new?kind=exam"), ADMINS),
    ("admin.round_new", "POST"): (Call("/admin/rounds/new", data={"title": ""}), ADMINS),
    ("admin.round_detail", "GET"): (Call("/admin/rounds/{round}"), ADMINS),
    ("admin.round_edit", "GET"): (Call("/admin/rounds/{round}/edit"), ADMINS),
    ("admin.round_edit", "POST"): (Call("/admin/rounds/{round}/edit", data={"title": ""}), ADMINS),
    ("admin.round_analysis", "GET"): (Call("/admin/rounds/{closed_round}/analysis"), ADMINS),
    ("admin.round_paper", "POST"): (Call("/admin/rounds/{round}/paper"), ADMINS_WRITE),
    ("admin.round_extend", "POST"): (
        Call("/admin/rounds/{round}/extend", data={"username": "astaff", "minutes": "5"}),
        ADMINS_WRITE,
    ),
    ("admin.round_close", "POST"): (Call("/admin/rounds/{round}/close"), ADMINS_WRITE),
    # 阅卷: nobody marks {round} in this world, so its marking page is refused to all; the admin's
    # forms name nobody who exists and choose no marker, so they change nothing
    ("marking.index", "GET"): (Call("/marking"), SIGNED_IN),
    ("marking.mark", "GET"): (Call("/marking/{round}"), (LOGIN, 403, 403, 403, 403)),
    ("marking.mark", "POST"): (
        Call("/marking/{round}", data={"task": "1", "stamp": "x", "kp0": "1"}),
        (LOGIN, 403, 403, 403, 403),
    ),
    ("admin.round_markers", "POST"): (
        Call("/admin/rounds/{round}/markers", data={"usernames": "nobody"}),
        ADMINS_WRITE,
    ),
    ("admin.round_reassign", "POST"): (Call("/admin/rounds/{round}/reassign", data={}), ADMINS_WRITE),
    # 对战: {no_battle} is nobody's battle, so every seat-bound route is a 404 to all
    ("battles.hub", "GET"): (Call("/battles"), SIGNED_IN),
    ("battles.battle_page", "GET"): (Call("/battles/{no_battle}"), (LOGIN, 404, 404, 404, 404)),
    ("battles.card", "GET"): (Call("/battles/{no_battle}/card.svg"), (LOGIN, 404, 404, 404, 404)),
    ("battles.events", "GET"): (Call("/battles/{no_battle}/events"), (LOGIN, 404, 404, 404, 404)),
    ("battles.join_queue", "POST"): (
        Call("/api/v1/battles/queue", json={"mode": "nonsense"}),
        (401, 400, 400, 400, 400),
    ),
    ("battles.poll_queue", "GET"): (Call("/api/v1/battles/queue"), (401, 404, 404, 404, 404)),
    ("battles.leave_queue", "DELETE"): (Call("/api/v1/battles/queue"), (401, 204, 204, 204, 204)),
    ("battles.send_challenge", "POST"): (
        Call("/api/v1/battles/challenges", json={"username": "nobody"}),
        (401, 404, 404, 404, 404),
    ),
    ("battles.respond", "POST"): (
        Call("/api/v1/battles/{no_battle}/response", json={"accept": False}),
        (401, 404, 404, 404, 404),
    ),
    ("battles.battle_state", "GET"): (Call("/api/v1/battles/{no_battle}"), (401, 404, 404, 404, 404)),
    ("battles.answer", "POST"): (
        Call("/api/v1/battles/{no_battle}/answers", json={"position": 0, "answer": "A"}),
        (401, 404, 404, 404, 404),
    ),
    ("contest.index", "GET"): (Call("/contests"), MANAGERS),
    ("contest.new", "GET"): (Call("/contests/new"), MANAGERS),
    ("contest.new", "POST"): (Call("/contests/new", data={"title": ""}), MANAGERS),
    ("contest.host", "GET"): (Call("/contest/{contest}/host"), (LOGIN, 403, 403, 200, 200)),
    ("contest.host_act", "POST"): (  # refused by the rules (nothing to pause): 400, after the scope
        Call("/contest/{contest}/host/act", json={"action": "pause"}),
        (LOGIN, 403, 403, 400, 400),
    ),
    ("contest.screen", "GET"): (Call("/contest/{contest}/screen"), (200, 200, 200, 200, 200)),
    ("contest.state", "GET"): (Call("/contest/{contest}/state"), (200, 200, 200, 200, 200)),
    ("contest.events", "GET"): (Call("/contest/{contest}/events?as=team"), (403, 403, 403, 403, 403)),
    ("contest.join_code", "GET"): (Call("/contest/join"), (200, 200, 200, 200, 200)),
    ("contest.join_code", "POST"): (Call("/contest/join", data={"code": "{contest}"}), (302,) * 5),
    ("contest.join", "GET"): (Call("/contest/{contest}/join"), (200, 200, 200, 200, 200)),
    ("contest.join", "POST"): (
        Call("/contest/{contest}/join", data={"pick": "1|甲一", "pin": "x"}),
        (200,) * 5,
    ),
    ("contest.buzzer", "GET"): (Call("/contest/{contest}/buzzer"), (302, 302, 302, 302, 302)),
    ("contest.play_act", "POST"): (Call("/contest/{contest}/play", json={"action": "buzz"}), (400,) * 5),
    ("contest.sheet", "GET"): (Call("/contest/{contest}/sheet.xlsx"), (LOGIN, 403, 403, 200, 200)),
    ("contest.certificates", "GET"): (Call("/contest/{contest}/certificates"), (LOGIN, 403, 403, 200, 200)),
    ("api.me", "GET"): (Call("/api/v1/me"), API_SIGNED_IN),
    ("api.session_info", "GET"): (Call("/api/v1/session"), API_SIGNED_IN),
    ("api.openapi", "GET"): (Call("/api/v1/openapi.json"), (200, 200, 200, 200, 200)),
    ("api.daily_set", "GET"): (Call("/api/v1/daily"), API_SIGNED_IN),
    ("api.daily_answer", "POST"): (Call("/api/v1/daily/answers", json=_first_daily_question), API_SIGNED_IN),
    ("api.mistakes", "GET"): (Call("/api/v1/mistakes"), API_SIGNED_IN),
    ("api.mistake_review", "POST"): (Call("/api/v1/mistakes/review"), API_SIGNED_IN),
    ("api.favourites_list", "GET"): (Call("/api/v1/favourites"), API_SIGNED_IN),
    ("api.favourite", "PUT"): (  # only a question the person has answered
        Call("/api/v1/questions/{answered_question}/favourite"),
        (401, 200, 404, 404, 404),
    ),
    ("api.favourite", "DELETE"): (
        Call("/api/v1/questions/{answered_question}/favourite"),
        API_SIGNED_IN,
    ),
    ("api.practice_item", "POST"): (Call("/api/v1/practice/items", json={}), API_SIGNED_IN),
    ("api.item_answer", "POST"): (
        Call("/api/v1/items/{item}/answer", json=lambda client, ids: {"answer": ids["item_answer"]}),
        (401, 200, 404, 404, 404),
    ),
    ("api.rounds_list", "GET"): (Call("/api/v1/rounds"), API_SIGNED_IN),
    ("api.start_attempt", "POST"): (Call("/api/v1/rounds/{round}/attempts"), (401, 201, 404, 201, 404)),
    ("api.attempt_detail", "GET"): (Call("/api/v1/attempts/{attempt}"), (401, 200, 404, 404, 404)),
    ("api.save_answer", "PUT"): (
        Call("/api/v1/attempts/{attempt}/answers/{question}", json={"answer": None}),
        (401, 200, 404, 404, 404),
    ),
    ("api.report_focus", "POST"): (
        Call("/api/v1/attempts/{attempt}/focus", json={"page": "m", "hidden": 1, "hidden_seconds": 3}),
        (401, 204, 404, 404, 404),
    ),
    ("api.submit_attempt", "POST"): (Call("/api/v1/attempts/{attempt}/submit"), (401, 200, 404, 404, 404)),
    ("api.rankings_units", "GET"): (Call("/api/v1/rankings/units?parent=C1"), API_SIGNED_IN),
    ("api.rankings_users", "GET"): (Call("/api/v1/rankings/users?unit=C1"), (401, 200, 404, 200, 200)),
    ("api.report_question", "POST"): (
        Call("/api/v1/questions/{seen_question}/reports", json={"reason": "答案有误"}),
        (401, 201, 404, 404, 404),  # 甲员工's earlier report was dismissed above
    ),
}


def routes_of(app) -> list[tuple[str, str, str]]:
    """Every (endpoint, method, rule) the app serves, HEAD and OPTIONS aside."""
    return sorted(
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def session_cookies(login_as) -> dict[str, str | None]:
    """Sign each role in once and keep its session cookie: every request then gets a fresh client
    with that cookie, so a sign-out in one request does not sign the role out for the next."""
    cookies = {}
    for role, username in LOGIN_OF.items():
        cookies[role] = login_as(username).get_cookie("session").value if username else None
    return cookies


def client_as(app, cookies: dict, role: str):
    client = app.test_client()
    if cookies[role]:
        client.set_cookie("session", cookies[role])
    return client


def request(client, method: str, call: Call, ids: dict, role: str):
    return client.open(call.url(ids, role), method=method, **call.body(client, ids))


def test_every_route_has_an_entry_in_the_matrix(app):
    served = {(endpoint, method) for endpoint, method, _ in routes_of(app)}
    missing = sorted(served - set(MATRIX))
    assert not missing, "routes without an expected status per role in tests/test_security.py MATRIX: " + (
        ", ".join(f"{method} {endpoint}" for endpoint, method in missing)
    )
    assert not set(MATRIX) - served, (
        f"entries for routes that no longer exist: {sorted(set(MATRIX) - served)}"
    )


def assert_security_headers(response, where: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())
    assert "'unsafe-inline'" not in directives.get("script-src", "'unsafe-inline'"), where
    assert "'unsafe-eval'" not in directives["script-src"], where
    assert directives.get("frame-ancestors") == "'none'", where
    assert directives.get("object-src") == "'none'" and directives.get("base-uri") == "'self'", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert response.headers.get("X-Frame-Options") == "DENY", where


def body_text(response) -> str:
    """What a response shows: its text, or every cell of a workbook."""
    if response.mimetype == XLSX:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(response.data))
        return "\n".join(
            str(value)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return response.get_data(as_text=True)


def outcome(response):
    """The status as the matrix writes it: LOGIN for a redirect to the sign-in page."""
    if response.status_code == 302 and response.location.startswith("/login"):
        return LOGIN
    return response.status_code


def test_role_route_matrix(login_as, app, world, figures):
    cookies = session_cookies(login_as)
    routes = routes_of(app)
    # Reads first, then writes (in URL order), so a write cannot change what a read finds; signing
    # out last, as it ends the session these cookies belong to on the server.
    ordered = [r for r in routes if r[1] == "GET"] + sorted(
        (r for r in routes if r[1] != "GET"), key=lambda r: (r[0] == "auth.logout", r[2], r[1])
    )
    wrong, checked = [], 0
    for endpoint, method, _ in ordered:
        call, expected = MATRIX[(endpoint, method)]
        for role, want in zip(ROLES, expected, strict=True):
            response = request(client_as(app, cookies, role), method, call, world, role)
            where = f"{method} {call.url(world, role)} as {role}"
            with response:
                got = outcome(response)
                checked += 1
                if got != want:
                    wrong.append(f"{where}: expected {want}, got {got}")
                    continue
                assert_security_headers(response, where)
                if role == "other_admin":
                    body = body_text(response)
                    seen = [name for name in SUBTREE_A_ROWS if name in body]
                    assert not seen, f"{where} shows 甲市's rows: {seen}"
    assert not wrong, "\n".join(wrong)
    figures.put("security", "routes × roles checked", checked)


# ---------------------------------------------------------------------------------------------
# CSRF: every write refused without a token, and changing nothing; accepted with one

ACTING_ROLES = ("staff", "unit_admin", "admin", "anonymous")


def acting_role(expected: tuple) -> str:
    """The role the matrix lets through on a route (not sent to sign in, not refused); staff for
    sign-out, which ends at the sign-in page for everybody."""
    allowed = dict(zip(ROLES, expected, strict=True))
    return next((role for role in ACTING_ROLES if allowed[role] not in (LOGIN, 401, 403, 404)), "staff")


def database_state(app) -> str:
    """A digest of every row of every table (the uploads waiting for confirmation included)."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            digest.update(f"{table.name}:{sorted(map(repr, rows))}".encode())
    return digest.hexdigest()


def with_token(call: Call, token: str) -> dict:
    """How the app's own pages send the token: a form field in forms, a header from scripts."""
    if call.path.startswith("/api/"):
        return {"headers": {"X-CSRFToken": token}}
    return {"csrf_token": token}


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_every_write_needs_the_csrf_token(login_as, app, world, figures):
    cookies = session_cookies(login_as)
    writes = sorted(  # signing out last: it ends the session these cookies belong to
        ((endpoint, method, rule) for endpoint, method, rule in routes_of(app) if method in UNSAFE),
        key=lambda r: (r[0] == "auth.logout", r[2], r[1]),
    )
    assert writes, "no state-changing route found"
    before = database_state(app)
    for endpoint, method, _ in writes:
        call, expected = MATRIX[(endpoint, method)]
        role = acting_role(expected)
        url = call.url(world, role)
        with request(client_as(app, cookies, role), method, call, world, role) as refused:
            where = f"{method} {url} as {role} without a token"
            assert refused.status_code == 400, where
            if call.path.startswith("/api/"):
                assert refused.get_json()["error"]["code"] == "csrf", where
            else:
                assert "刷新页面" in refused.get_data(as_text=True), where
            assert_security_headers(refused, where)
        figures.count("security", "writes refused without CSRF token")
    assert database_state(app) == before, "a write without a CSRF token changed something"
    for endpoint, method, _ in writes:
        call, expected = MATRIX[(endpoint, method)]
        role = acting_role(expected)
        client = client_as(app, cookies, role)
        token = csrf_token(client)
        body = call.body(client, world)
        extra = with_token(call, token)
        if "headers" in extra:
            body["headers"] = extra["headers"]
        elif "json" in body:
            body["headers"] = {"X-CSRFToken": token}
        else:
            body["data"] = {**body.get("data", {}), **extra}
        with client.open(call.url(world, role), method=method, **body) as accepted:
            want = dict(zip(ROLES, expected, strict=True))[role]
            assert outcome(accepted) == want, f"{method} {call.url(world, role)} as {role} with its token"
        figures.count("security", "writes accepted with CSRF token")
    assert database_state(app) != before  # the digest does see what the writes changed


# ---------------------------------------------------------------------------------------------
# Answer leaks: nothing about the key reaches a taker before the rules allow it

MARKER = re.compile(r"LEAK(?:EXPL|QUOTE|FILL)\d{3}")
# What a page shows once results are visible (checked below: they do appear then).
HTML_TELLS = ("正确答案", "答题解析", "得分（百分制）", "review-item")
JSON_TELLS = {
    "correct",
    "correct_answer",
    "correct_answer_text",
    "explanation",
    "quote",
    "feedback",
    "review",
    "result",
    "score",
    "percent",
    "best_percent",
    "passed",
}


@pytest.fixture
def marked_bank(create_question):
    """Per category 3 single, 1 multiple, 1 judge, 1 fill; every explanation, quote and fill answer
    carries a marker of its own (LEAKEXPL007, LEAKQUOTE007, LEAKFILL007)."""
    number = 0
    for category in ("就业创业", "社会保险", "劳动关系", "人才人事", "综合服务与行风"):
        for qtype in ("single", "single", "single", "multiple", "judge", "fill"):
            number += 1
            create_question(
                qtype,
                category=category,
                explanation=f"解析LEAKEXPL{number:03d}",
                quote=f"引用LEAKQUOTE{number:03d}",
                answer=[[f"LEAKFILL{number:03d}"]] if qtype == "fill" else None,
            )


def json_tells(value, path="") -> list[str]:
    """Keys that speak of correctness or results, with a value, anywhere in a JSON document."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in JSON_TELLS and inner not in (None, [], {}):
                found.append(f"{path}.{key}={inner!r}"[:120])
            found += json_tells(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += json_tells(inner, f"{path}[{index}]")
    return found


def leaks(response) -> list[str]:
    text = body_text(response)
    found = sorted(set(MARKER.findall(text)))
    if (
        response.is_json and response.request.path != "/api/v1/openapi.json"
    ):  # a schema names fields, holds no data
        document = response.get_json()
        if response.request.path == "/api/v1/daily":  # the set's own counters (0 answered) aside
            document = document["items"]
        found += json_tells(document)
    elif response.mimetype == "text/html":
        found += [tell for tell in HTML_TELLS if tell in text]
    return found


def get_urls(app, values: dict[str, list]) -> list[str]:
    """Every GET route with every combination of real parameters (a parameter without candidates
    fails, naming the route: a new route must be added to the scan)."""
    from itertools import product

    adapter = app.url_map.bind("localhost")
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        missing = rule.arguments - set(values)
        assert not missing, f"no values for {sorted(missing)} of {rule.rule}: add them to the leak scan"
        names = sorted(rule.arguments)
        for combination in product(*(values[name] for name in names)):
            urls.append(adapter.build(rule.endpoint, dict(zip(names, combination, strict=True))))
    return sorted(set(urls))


@pytest.fixture
def open_rounds(login_as, app, org_tree, marked_bank, frozen_clock):
    """An open weekly round (answers after each attempt) and monthly round (after close), both with a
    paper per taker (随机组卷), and an exam with one paper for all, all for the province; 甲员工 has a
    weekly and an exam attempt in progress with answers saved, and has submitted the monthly one;
    甲市's unit admin has a weekly attempt in progress."""
    frozen_clock.set(START)
    closes = START + timedelta(days=3)
    ids = {
        kind: make_round(
            app, kind, f"泄露检查{kind}", ["P1"], START - timedelta(hours=1), closes, paper_mode=mode
        )
        for kind, mode in (("weekly", "drawn"), ("monthly", "drawn"), ("exam", "shared"))
    }
    staff, responses, views = login_as("astaff"), [], {}
    for kind in ("weekly", "monthly", "exam"):
        started = staff.post(f"/api/v1/rounds/{ids[kind]}/attempts")
        view = views[kind] = started.get_json()
        responses.append(started)
        for question in view["questions"]:
            responses.append(
                staff.put(
                    f"/api/v1/attempts/{view['id']}/answers/{question['id']}",
                    json={"answer": any_answer(question)},
                )
            )
    responses.append(staff.post(f"/api/v1/attempts/{views['monthly']['id']}/submit"))
    unit_admin = login_as("aadmin")
    responses.append(unit_admin.post(f"/api/v1/rounds/{ids['weekly']}/attempts"))
    return {"rounds": ids, "views": views, "responses": responses, "staff": staff, "unit_admin": unit_admin}


# 背题模式 shows keys by design — of every question practice could serve: never of one on a
# sealed paper, a shared paper or the viewer's own paper of a round still running.
SHOWS_KEYS = ("/recite",)


def _withheld_from(app, username: str) -> set[str]:
    """The markers of the questions whose keys ``username`` may not see while the rounds run."""
    from sqlalchemy import or_

    from quizapp.models import Attempt, PaperQuestion, QuestionVersion, Round, RoundStatus, ShowAnswers

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        rows = db.session.execute(
            select(QuestionVersion.explanation, QuestionVersion.quote, QuestionVersion.answer)
            .join(PaperQuestion, PaperQuestion.question_id == QuestionVersion.question_id)
            .join(Round, Round.id == PaperQuestion.round_id)
            .outerjoin(Attempt, Attempt.id == PaperQuestion.attempt_id)
            .where(
                Round.status != RoundStatus.CLOSED,
                or_(
                    PaperQuestion.attempt_id.is_(None),
                    Attempt.user_id == user_id,
                    Round.show_answers == ShowAnswers.AFTER_CLOSE,
                ),
            )
        ).all()
    return set(MARKER.findall(" ".join(f"{e} {q} {a}" for e, q, a in rows)))


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)  # the small bank: per-taker papers from small pools
def test_no_answer_reaches_a_taker_during_open_rounds(app, org_tree, open_rounds, figures):
    rounds_, views = open_rounds["rounds"], open_rounds["views"]
    values = {
        "attempt_id": [view["id"] for view in views.values()],
        "round_id": list(rounds_.values()),
        "question_id": [question["id"] for question in views["exam"]["questions"]],
        "bulletin_id": [1],
        "user_id": [org_tree["people"]["staff_a"].id],
        "kind": ["weekly", "monthly"],
        "token": ["no-such-screen"],
        "filename": ["js/attempt.js", "js/quiz.js"],
        "code": ["test_source"],
        "source_id": [1],
        # 对战: a battle's questions are never on a sealed paper (tests/test_battles.py); its stream is
        # held open while it runs, so the scan asks for a battle nobody sits in (404, nothing else)
        "battle_id": [999_999],
        "serial": ["2026-0000-0000-0000-0000"],  # 证书: none issued while rounds run
    }
    urls = get_urls(app, values)
    withheld = {who: _withheld_from(app, LOGIN_OF[who]) for who in ("staff", "unit_admin")}
    for round_id in rounds_.values():
        urls += [
            f"/api/v1/rankings/users?board=round&round={round_id}",
            f"/rankings/people?board=round&round={round_id}",
            f"/api/v1/rankings/units?period=round:{round_id}",
            f"/rankings?period=round:{round_id}",
        ]
    scanned = 0
    for who in ("staff", "unit_admin"):
        for url in urls:
            with open_rounds[who].get(url) as response:
                found = leaks(response)
                if url.startswith(SHOWS_KEYS):
                    found = sorted(set(found) & withheld[who])
                assert not found, f"GET {url} as {who} ({response.status_code}) leaks {found[:6]}"
                scanned += 1
    for response in open_rounds["responses"]:
        found = leaks(response)
        assert not found, f"{response.request.method} {response.request.path} leaks {found[:6]}"
        scanned += 1
    figures.count("security", "responses scanned for answer leaks", scanned)

    # The scan sees a leak when there is one: a submitted weekly attempt shows its review at once…
    staff, weekly, monthly = open_rounds["staff"], views["weekly"]["id"], views["monthly"]["id"]
    assert staff.post(f"/api/v1/attempts/{weekly}/submit").status_code == 200
    review = staff.get(f"/attempts/{weekly}/result").get_data(as_text=True)
    assert MARKER.search(review) and all(tell in review for tell in HTML_TELLS)
    assert json_tells(staff.get(f"/api/v1/attempts/{weekly}").get_json())
    listing = {entry["kind"]: entry for entry in staff.get("/api/v1/rounds").get_json()["rounds"]}
    assert listing["weekly"]["best_percent"] is not None
    # …while the monthly attempt, submitted too, shows nothing until its round closes.
    assert not json_tells(listing["monthly"]) and not json_tells(listing["exam"])
    for url in (f"/attempts/{monthly}/result", f"/api/v1/attempts/{monthly}"):
        assert not leaks(staff.get(url)), f"{url} shows results before the monthly round closes"


@pytest.mark.app_config(PAPER_MAX_EXPOSURE=1.0)
def test_monthly_results_and_answers_appear_only_after_close(app, open_rounds, frozen_clock):
    staff, monthly = open_rounds["staff"], open_rounds["views"]["monthly"]["id"]
    frozen_clock.set(START + timedelta(days=3, minutes=-1))  # the last minute of the round
    assert not leaks(staff.get(f"/attempts/{monthly}/result"))
    assert not leaks(staff.get(f"/api/v1/attempts/{monthly}"))
    frozen_clock.set(START + timedelta(days=3, minutes=1))
    assert jobs.run_sweep(app, "close_rounds").outcome == "ok"
    page = staff.get(f"/attempts/{monthly}/result").get_data(as_text=True)
    assert MARKER.search(page) and all(tell in page for tell in HTML_TELLS)
    view = staff.get(f"/api/v1/attempts/{monthly}").get_json()
    assert view["result"]["percent"] is not None and MARKER.search(json.dumps(view, ensure_ascii=False))


def test_daily_shows_the_key_only_for_the_answered_question(
    login_as, app, org_tree, marked_bank, frozen_clock
):
    frozen_clock.set(START)
    staff = login_as("astaff")
    for url in ("/api/v1/daily", "/daily", "/", "/mistakes", "/api/v1/mistakes", "/history"):
        assert not leaks(staff.get(url)), f"{url} shows a key before any answer"
    items = staff.get("/api/v1/daily").get_json()["items"]
    first, rest = items[0]["question"], items[1:]
    answered = staff.post(
        "/api/v1/daily/answers", json={"question_id": first["id"], "answer": any_answer(first)}
    ).get_json()
    shown = set(MARKER.findall(json.dumps(answered["feedback"], ensure_ascii=False)))
    assert shown and json_tells(answered)  # the answered question: key, explanation, quote
    after = staff.get("/api/v1/daily")
    others = json.dumps(after.get_json()["items"][1:], ensure_ascii=False)
    assert not MARKER.search(others) and not json_tells(after.get_json()["items"][1:])
    assert len(rest) == len(after.get_json()["items"][1:])
    # Practice serves a question without its key, and so does the mistake review.
    served = staff.post("/api/v1/practice/items", json={})
    assert served.status_code == 200 and not leaks(served)


# ---------------------------------------------------------------------------------------------
# XSS: payloads through imports, reports, names and titles are shown as text, never run

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    '"><svg onload="window.__xss=3">',
    "'><iframe src=javascript:alert(4)>",
    "</script><script>alert(5)</script>",
    '<a href="javascript:alert(6)">点我</a>',
    "javascript:alert(7)",
    "{{7*7}}{% if 1 %}模板{% endif %}",
]


class ActiveMarkup(HTMLParser):
    """Collects what would run in a browser: inline event handlers, inline scripts (JSON data blocks
    aside), javascript: URLs and the payloads' own tags."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value}>")
        if tag in ("svg", "iframe") or (tag == "img" and attributes.get("src") == "x"):
            self.found.append(f"<{tag}>")
        self._in_script = tag == "script" and "src" not in attributes
        if self._in_script and attributes.get("type") != "application/json":
            self.found.append("<script> inline")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def active_markup(html: str) -> list[str]:
    parser = ActiveMarkup()
    parser.feed(html)
    return parser.found


@pytest.fixture
def hostile(login_as, app, create_unit, create_user, frozen_clock):
    """Every payload as a unit name (through the unit form), a person's name (through the staff
    import wizard), a question's stem, option and explanation (through the bank import wizard),
    an error report, a round title and a big-screen label — and a closed round with a bulletin."""
    from markupsafe import escape

    from quizapp.services import accounts

    create_unit("P1", "示范省")
    create_user("root", role="admin")
    frozen_clock.set(PAST)
    admin = login_as("root")
    for number, payload in enumerate(PAYLOADS):
        created = admin.post(
            "/admin/units/create", data={"parent": "P1", "code": f"X{number}", "name": payload}
        )
        assert created.status_code == 302
    rows = [
        [f"xss{n}", p, f"X{n}", "学员", None, None, None, None, None, None] for n, p in enumerate(PAYLOADS)
    ]
    preview = upload(admin, "/admin/staff/import", "人员.xlsx", staff_workbook(rows))
    previews = [preview]
    token = preview_token(preview, "/admin/staff/import/")
    assert admin.post(f"/admin/staff/import/{token}").status_code == 200
    with app.app_context():
        for number in range(len(PAYLOADS)):
            user = db.session.scalar(select(User).where(User.username == f"xss{number}"))
            accounts.reset_password(user, PASSWORD, must_change=False, min_length=8)
        db.session.commit()
    questions_ = [
        bank_question(
            f"{payload}第{n}题？", options={"A": payload, "B": "乙", "C": "丙"}, explanation=payload
        )
        for n, payload in enumerate(PAYLOADS)
    ]
    preview = upload(admin, "/admin/questions/import", "题.yaml", bank_yaml(questions_))
    previews.append(preview)
    token = preview_token(preview, "/admin/questions/import/")
    assert admin.post(f"/admin/questions/import/{token}", data={"name": "题.yaml"}).status_code == 302

    blueprint = [{"type": "single", "count": 4}]
    closed = make_round(
        app,
        "exam",
        PAYLOADS[0],
        ["P1"],
        PAST - timedelta(hours=1),
        PAST + timedelta(hours=2),
        blueprint=blueprint,
    )
    for username in ("xss0", "xss1"):
        taker = login_as(username)
        view = taker.post(f"/api/v1/rounds/{closed}/attempts").get_json()
        assert taker.post(f"/api/v1/attempts/{view['id']}/submit").status_code == 200
    frozen_clock.set(START)
    assert jobs.run_sweep(app, "close_rounds").outcome == "ok"
    opened = [
        make_round(
            app,
            "weekly",
            payload,
            ["P1"],
            START - timedelta(hours=1),
            START + timedelta(days=3),
            blueprint=blueprint,
        )
        for payload in PAYLOADS
    ]
    staff = login_as("xss0")
    attempt = staff.post(f"/api/v1/rounds/{opened[0]}/attempts").get_json()
    daily = staff.get("/api/v1/daily").get_json()["items"]
    for item, payload in zip(daily, PAYLOADS, strict=False):
        filed = staff.post(f"/api/v1/questions/{item['question']['id']}/reports", json={"reason": payload})
        assert filed.status_code == 201
    for item in daily:  # a finished day: the month's rankings have a chart (its tooltip is HTML)
        answered = staff.post(
            "/api/v1/daily/answers", json={"question_id": item["question"]["id"], "answer": "A"}
        )
        assert answered.status_code == 200
    assert admin.post("/admin/screens", data={"unit": "X0", "label": PAYLOADS[1]}).status_code == 302
    with app.app_context():
        ids = {
            "user_id": list(db.session.scalars(select(User.id).where(User.username.like("xss%")))),
            "question_id": [q["id"] for q in attempt["questions"]],
            "bulletin_id": list(db.session.scalars(select(Bulletin.id))),
            "source_id": list(db.session.scalars(select(Source.id))),
            "link": db.session.scalar(select(ScreenLink.token)),
        }
        # 对战: a finished battle between two of them (their names on its page, its events and its card)
        from quizapp import clock
        from quizapp.services.battles import play

        battle = play.start_battle("duel", sorted(ids["user_id"])[:2], now=clock.utcnow())
        db.session.commit()
        ids["battle_id"] = battle.id
        assert play.finish(battle.id, now=clock.utcnow() + timedelta(hours=1))
        db.session.commit()
    assert ids["bulletin_id"], "the closed round built no bulletin"
    return {
        "escaped": {payload: str(escape(payload)) for payload in PAYLOADS},
        "previews": previews,
        "values": {
            "attempt_id": [attempt["id"]],
            "round_id": [closed, *opened],
            "question_id": ids["question_id"],
            "bulletin_id": ids["bulletin_id"],
            "user_id": ids["user_id"][:2],
            "kind": ["weekly"],
            "token": [ids["link"]],
            "filename": ["css/app.css"],
            "code": ["test_source"],
            "source_id": ids["source_id"],
            "battle_id": [ids["battle_id"]],
            "serial": ["2026-0000-0000-0000-0000"],
        },
        "extra": ["/rankings?parent=P1", "/admin/units?parent=P1", "/admin/staff?unit=X0", "/reports"],
    }


def test_payloads_are_shown_as_text_everywhere(login_as, app, hostile, figures):
    pages = [("POST import preview", response) for response in hostile["previews"]]
    urls = get_urls(app, hostile["values"]) + hostile["extra"]
    for username in ("root", "xss0"):
        client = login_as(username)
        pages += [(f"GET {url} as {username}", client.get(url)) for url in urls]
    shown = set()
    rendered = 0
    for where, response in pages:
        with response:
            if response.mimetype != "text/html":
                continue
            html = response.get_data(as_text=True)
            rendered += 1
            raw = [p for p in PAYLOADS if ("<" in p or '"' in p) and p in html]
            assert not raw, f"{where} renders raw: {raw}"
            assert not active_markup(html), f"{where}: {active_markup(html)}"
            shown |= {p for p, escaped in hostile["escaped"].items() if escaped in html}
    assert shown == set(PAYLOADS), f"never shown (so never tested): {set(PAYLOADS) - shown}"
    figures.count("security", "pages checked for XSS", rendered)
    figures.put("security", "XSS payloads", len(PAYLOADS))


@pytest.mark.browser
def test_payload_pages_run_nothing_in_chromium(app, hostile, browser):
    """In a real browser: no dialog opens, no payload sets its global, the payloads' tags are not in
    the DOM and the CSP never had to block anything (nothing tried to run)."""
    values = hostile["values"]
    with test_browser.serving(app) as base:
        context = browser.new_context(**test_browser.DESKTOP)
        context.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation',"
            " (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        page = context.new_page()
        dialogs = []

        def leave(dialog):  # the attempt page asks before a running attempt is left: that is its own
            dialog.accept()

        def alert(dialog):  # any other dialog is a payload that ran
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", lambda dialog: leave(dialog) if dialog.type == "beforeunload" else alert(dialog))
        visited = 0
        for username, urls in (
            (
                "root",
                [
                    "/admin/staff",
                    "/admin/units?parent=P1",
                    f"/admin/questions/{values['question_id'][0]}",
                    "/admin/reports",
                    "/admin/rounds",
                    f"/bulletins/{values['bulletin_id'][0]}",
                    "/rankings?parent=P1",
                    "/admin/screens",
                ],
            ),
            ("xss0", ["/daily", f"/attempts/{values['attempt_id'][0]}", "/rounds", "/reports", "/"]),
        ):
            page.goto(f"{base}/login")
            page.get_by_label("登录名").fill(username)
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(f"{base}/admin/" if username != "xss0" else f"{base}/")  # admins start there
            for url in urls:
                page.goto(base + url)
                page.wait_for_load_state("networkidle")
                if url.startswith("/rankings"):  # the chart's tooltip is HTML: hover a bar
                    box = page.locator("#chart-units").bounding_box()
                    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
                    page.wait_for_timeout(300)
                state = page.evaluate(
                    "() => ({xss: window.__xss ?? null, violations: window.__violations,"
                    ' tags: document.querySelectorAll(\'img[src="x"], svg, iframe, a[href^="javascript:"]\').length})'
                )
                assert state == {"xss": None, "violations": [], "tags": 0}, f"{url} as {username}: {state}"
                visited += 1
            page.context.clear_cookies()
        assert not dialogs, dialogs
        context.close()
    assert visited == 13


# ---------------------------------------------------------------------------------------------
# Sessions, redirects and headers (test_auth covers the basic cases; these are the attacker's)


def test_a_cookie_from_before_sign_in_is_worth_nothing_after_it(app, org_tree):
    """Session fixation: the cookie (the session) a visitor had before signing in is replaced, its
    CSRF token too, and the old cookie stays anonymous."""
    client = app.test_client()
    before_token = csrf_token(client)
    planted = client.get_cookie("session").value
    assert (
        client.post(
            "/login", data={"username": "astaff", "password": PASSWORD, "csrf_token": before_token}
        ).location
        == "/"
    )
    assert client.get_cookie("session").value != planted
    assert csrf_token(client) != before_token
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert attacker.get("/").location.startswith("/login")
    assert attacker.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("how", ["own change", "admin reset", "deactivation"])
def test_a_stolen_cookie_dies_with_the_password(login_as, app, org_tree, how):
    staff_id = org_tree["people"]["staff_a"].id
    device = login_as("astaff")
    stolen = device.get_cookie("session").value
    if how == "own change":
        changed = device.post(
            "/password", data={"current": PASSWORD, "new": "NewPass123", "confirm": "NewPass123"}
        )
        assert changed.location == "/" and device.get("/api/v1/me").status_code == 200
    elif how == "admin reset":
        assert login_as("aadmin").post(f"/admin/staff/{staff_id}/password").status_code == 302
    else:
        assert login_as("aadmin").post(f"/admin/staff/{staff_id}/active").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.get("/").location.startswith("/login")
    assert thief.post("/api/v1/daily/answers", json={"question_id": 1, "answer": "A"}).status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
    ],
)
def test_sign_in_and_forms_never_redirect_off_the_site(app, org_tree, mixed_bank, target):
    client = app.test_client()
    signed = client.post(
        "/login", query_string={"next": target}, data={"username": "root", "password": PASSWORD}
    )
    assert signed.location == "/admin/"  # an admin's own start page, never the target
    retired = client.post("/admin/questions/status", data={"ids": "1", "status": "retired", "next": target})
    assert retired.location == "/admin/questions"
    client.post("/logout")
    client.post("/login", data={"username": "astaff", "password": PASSWORD})
    reported = client.post("/reports", data={"question_id": "1", "reason": "有误", "next": target})
    assert reported.location == "/reports"


@pytest.mark.app_config(PROPAGATE_EXCEPTIONS=False)
def test_error_pages_and_downloads_carry_the_security_headers(app, client, auth, org_tree):
    @app.route("/boom")
    def boom():
        raise RuntimeError("kaput")

    auth.login("root")
    responses = {
        "404 page": client.get("/no/such/page"),
        "404 JSON": client.get("/api/v1/no/such/thing"),
        "405 page": client.get("/logout"),
        "500 page": client.get("/boom"),
        "JSON": client.get("/api/v1/me"),
        "xlsx": client.get("/admin/staff/template.xlsx"),
        "static": client.get("/static/js/api.js"),
    }
    for what, response in responses.items():
        with response:
            assert_security_headers(response, what)
    assert responses["404 JSON"].get_json()["error"]["code"]
    assert responses["JSON"].headers["Cache-Control"] == "private, no-store"  # personal: never cached


# ---------------------------------------------------------------------------------------------
# An open contest's keys cannot be collected by any route (issue 14 §2)


def _markers_by_question(app) -> dict[int, set[str]]:
    from quizapp.models import QuestionVersion

    with app.app_context():
        return {
            version.question_id: set(
                MARKER.findall(f"{version.explanation} {version.quote} {version.answer}")
            )
            for version in db.session.scalars(select(QuestionVersion))
        }


def _collect(client, seen: set[str], responses: list) -> None:
    for response in responses:
        seen.update(MARKER.findall(body_text(response)))


def _loop_practice(client, seen: set[str], rounds_: int = 3) -> None:
    """专项练习 under every filter, answering everything served, until nothing new comes."""
    filters = [{}] + [{"type": t} for t in ("single", "multiple", "judge", "fill")]
    filters += [{"difficulty": "1"}, {"difficulty": "3"}]
    for _ in range(rounds_):
        for chosen in filters:
            for _ in range(12):
                served = client.post("/api/v1/practice/items", json=chosen)
                if served.status_code != 200:
                    break
                item = served.get_json()["item"]
                answered = client.post(
                    f"/api/v1/items/{item['item_id']}/answer", json={"answer": any_answer(item["question"])}
                )
                _collect(client, seen, [served, answered])


def _drain_review(client, seen: set[str]) -> None:
    for _ in range(40):
        served = client.post("/api/v1/mistakes/review")
        body = served.get_json() or {}
        if served.status_code != 200 or not body.get("item"):
            _collect(client, seen, [served])
            return
        item = body["item"]
        answered = client.post(
            f"/api/v1/items/{item['item_id']}/answer", json={"answer": any_answer(item["question"])}
        )
        _collect(client, seen, [served, answered])


def test_an_open_contests_keys_cannot_be_collected_by_any_route(
    login_as, app, org_tree, marked_bank, frozen_clock
):
    """While a monthly round (answers after close) is open, a taker and a colleague try every route
    that ever shows a key: practice under every filter, today's set (drawn before the round opened,
    and after), mistake review, the mistake book, an error report's reply, the review of an earlier
    weekly round that shared questions, and every GET page. None shows a key, explanation or quote
    of a question on the paper; the same routes do show those of the other questions, and of the
    paper's once the round has closed."""
    markers = _markers_by_question(app)
    before = START - timedelta(days=2)
    frozen_clock.set(before)
    taker, colleague, admin = login_as("astaff"), login_as("bstaff"), login_as("root")
    # History from before the contest: a weekly round (answers after each attempt) taken and
    # reviewed, and mistakes in the book.
    weekly = make_round(
        app, "weekly", "上周周练", ["P1"], before - timedelta(hours=1), before + timedelta(days=1)
    )
    done = taker.post(f"/api/v1/rounds/{weekly}/attempts").get_json()
    assert taker.post(f"/api/v1/attempts/{done['id']}/submit").status_code == 200
    for who in (taker, colleague):
        for item in who.get("/api/v1/daily").get_json()["items"]:
            who.post("/api/v1/daily/answers", json={"question_id": item["question"]["id"], "answer": "B"})
    # Today, 08:00: both have today's set before the contest opens at 09:00.
    frozen_clock.set(START - timedelta(hours=2))
    for who in (taker, colleague):
        assert who.get("/api/v1/daily").status_code == 200
    frozen_clock.set(START)
    monthly = make_round(
        app,
        "monthly",
        "本月月月比",
        ["P1"],
        START - timedelta(minutes=1),
        START + timedelta(days=3),
        blueprint=[{"type": None, "count": 15}],
    )
    assert jobs.run_sweep(app, "open_rounds").outcome == "ok"
    attempt = taker.post(f"/api/v1/rounds/{monthly}/attempts").get_json()
    with app.app_context():
        from quizapp.models import PaperQuestion
        from quizapp.services import error_reports

        paper = set(
            db.session.scalars(select(PaperQuestion.question_id).where(PaperQuestion.round_id == monthly))
        )
    # The taker reports a paper question; an admin's reply names its key.
    reported = attempt["questions"][0]["id"]
    assert taker.post(f"/api/v1/questions/{reported}/reports", json={"reason": "答案有误"}).status_code == 201
    with app.app_context():
        report = db.session.scalar(select(ErrorReport))
        reply = "答案无误：" + " ".join(sorted(markers[reported]))
        error_reports.handle(report.id, "dismissed", reply, actor_id=None, now=START)
        db.session.commit()
    sealed = set().union(*(markers[q] for q in paper))
    others = set().union(*(markers[q] for q in markers if q not in paper))

    seen: set[str] = set()
    for who in (taker, colleague):
        daily = who.get("/api/v1/daily")
        _collect(who, seen, [daily])
        for item in daily.get_json()["items"]:
            question = item["question"]
            _collect(
                who,
                seen,
                [
                    who.post(
                        "/api/v1/daily/answers",
                        json={"question_id": question["id"], "answer": any_answer(question)},
                    )
                ],
            )
        _loop_practice(who, seen)
        _drain_review(who, seen)
        _collect(
            who,
            seen,
            [who.get(url) for url in ("/mistakes", "/api/v1/mistakes", "/reports", "/history", "/daily")],
        )
    _collect(
        taker,
        seen,
        [taker.get(f"/attempts/{done['id']}/result"), taker.get(f"/api/v1/attempts/{done['id']}")],
    )
    assert not seen & sealed, (
        f"keys of the open contest's paper reached a learner: {sorted(seen & sealed)[:8]}"
    )
    assert seen & others, "the collector saw no key at all: the scan would miss a leak"

    # Closed, the paper's keys are the learner's again: its review and practice show them.
    frozen_clock.set(START + timedelta(days=3, minutes=1))
    assert admin.get("/admin/").status_code == 200
    assert jobs.run_sweep(app, "close_rounds").outcome == "ok"
    after: set[str] = set()
    _collect(taker, after, [taker.get(f"/attempts/{attempt['id']}/result"), taker.get("/reports")])
    _loop_practice(colleague, after, rounds_=1)
    assert after & sealed
