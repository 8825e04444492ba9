"""催办 (issue 23, item 1): the channels against a local fake robot server and a local SMTP sink (no
internet), the sweep (once a day and unit, from the configured hour, retries with back-off, one
unit's failure holding up no other), 一键催办 and its limit, naming or counting, secrets encrypted
and never shown, and the scope of the pages."""

from __future__ import annotations

import base64
import contextlib
import email
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from quizapp import jobs
from quizapp.extensions import db
from quizapp.models import DailySet, ReminderChannel, ReminderDelivery, Unit, User
from quizapp.services import reminders, rounds
from quizapp.services.errors import InvalidInput
from quizapp.services.reminders import channels, vault

from .test_rounds import settings as round_settings

AT_16 = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)  # Monday 16:05 in Shanghai: the sweep's hour has come
TODAY = date(2026, 3, 2)
WECOM_KEY = "wecomKEY0001secret"
DING_TOKEN = "dingTOKEN0002secret"
DING_SECRET = "SECdingSIGN0003secretvalue"


# ---------------------------------------------------------------------------------------------
# A fake robot server (企业微信 and 钉钉 speak the same JSON) and an SMTP sink, both on 127.0.0.1


class FakeRobots:
    """Records every POST; answers 500 for the keys in ``failing``, else {"errcode": 0}."""

    def __init__(self):
        self.received: list[dict] = []
        self.failing: set[str] = set()
        self.on_request = lambda: None  # called as each message arrives, before it is answered
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                parts = urllib.parse.urlsplit(self.path)
                query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                robots.received.append({"path": parts.path, "query": query, "body": body})
                robots.on_request()
                token = query.get("key") or query.get("access_token")
                if token in robots.failing:
                    answer, status = b"internal error", 500
                else:
                    answer, status = json.dumps({"errcode": 0, "errmsg": "ok"}).encode(), 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wecom_url(self, key: str = WECOM_KEY) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key={key}"

    def ding_url(self, token: str = DING_TOKEN) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token={token}"

    def to(self, token: str) -> list[dict]:
        return [r for r in self.received if token in (r["query"].get("key"), r["query"].get("access_token"))]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def robots():
    fake = FakeRobots()
    yield fake
    fake.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture
def people(app, org_tree, create_user, frozen_clock):
    """甲市一区窗口: 甲员工 (behind), 甲已完成 (finished today's set); 乙市一区窗口: 乙员工 (behind)."""
    frozen_clock.set(AT_16)
    units = org_tree["units"]
    done = create_user("adone", unit=units["window_a"], name="甲已完成")
    with app.app_context():
        db.session.add(
            DailySet(
                user_id=done.id, day=TODAY, size=10, answered_count=10, correct_count=9, finished_at=AT_16
            )
        )
        # 甲员工 opened the set but did not finish it: still behind
        db.session.add(
            DailySet(user_id=org_tree["people"]["staff_a"].id, day=TODAY, size=10, answered_count=3)
        )
        db.session.commit()
    return org_tree


@pytest.fixture
def robots_allowed(app, robots):
    app.config["REMINDER_WEBHOOK_HOSTS"] = ("127.0.0.1",)
    return robots


def unit_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Unit.id).where(Unit.code == code))


def configure(app, code: str, **fields) -> None:
    with app.app_context():
        settings = reminders.ReminderSettings.from_config(app.config)
        reminders.save_channel(unit_id(app, code), reminders.ChannelInput(**fields), settings, actor_id=None)
        db.session.commit()


def sweep(app) -> dict:
    run = jobs.run_sweep(app, "reminders")
    assert run.outcome == "ok", run.error
    return run.counts


def deliveries(app, code: str) -> list[ReminderDelivery]:
    with app.app_context():
        rows = db.session.scalars(
            select(ReminderDelivery)
            .where(ReminderDelivery.unit_id == unit_id(app, code))
            .order_by(ReminderDelivery.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def content(request: dict) -> str:
    assert request["body"]["msgtype"] == "text"
    return request["body"]["text"]["content"]


# ---------------------------------------------------------------------------------------------
# Channels and messages


def test_wecom_and_dingtalk_robots_get_a_message_naming_only_those_behind(app, people, robots_allowed):
    robots = robots_allowed
    configure(app, "C1", kind="wecom", webhook=robots.wecom_url())
    configure(app, "C2", kind="dingtalk", webhook=robots.ding_url(), secret=DING_SECRET)

    counts = sweep(app)

    assert counts["reminders_sent"] == 2 and counts["reminders_failed"] == 0
    (wecom,) = robots.to(WECOM_KEY)
    assert wecom["path"] == "/cgi-bin/webhook/send"
    text = content(wecom)
    assert (
        "【催办】甲市" in text
        and "甲员工" in text
        and "甲一区窗口" in text.replace("甲市一区窗口", "甲一区窗口")
    )
    assert "甲已完成" not in text  # finished today's set: not reminded
    assert "乙员工" not in text  # another city
    assert "尚有 2 人未完成" in text  # 甲员工 and 甲市's unit admin (a member of the subtree too)

    (ding,) = robots.to(DING_TOKEN)
    assert "乙员工" in content(ding) and "甲员工" not in content(ding)
    # 钉钉加签: sign = urlencode(base64(HMAC-SHA256(key=secret, "timestamp\nsecret")))
    timestamp = ding["query"]["timestamp"]
    expected = base64.b64encode(
        hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert ding["query"]["sign"] == expected  # parse_qs undid the URL encoding
    assert abs(int(timestamp) - AT_16.timestamp() * 1000) < 1000

    (row,) = deliveries(app, "C1")
    assert (row.kind, row.channel, row.status, row.attempts, row.response_code) == (
        "sweep",
        "wecom",
        "sent",
        1,
        200,
    )
    assert row.sweep_day == TODAY and '"errcode": 0' in row.response_excerpt and row.people == 2


def test_the_signature_is_carried_url_encoded():
    robot = channels.DingTalkRobot("https://oapi.dingtalk.com/robot/send?access_token=x", "SECabc", 5)
    url = robot.signed_url(1_700_000_000_000)
    sign = base64.b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()).decode()
    assert url.endswith("&timestamp=1700000000000&sign=" + urllib.parse.quote_plus(sign))
    assert "%" in url.rsplit("sign=", 1)[1] or "+" not in sign  # + / = are escaped


def test_email_reaches_a_local_smtp_sink(app, people, smtp_sink):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_sink.port, SMTP_SENDER="quizapp@example.org")
    configure(app, "C1", kind="email", recipients="boss@example.org；deputy@example.org")

    assert sweep(app)["reminders_sent"] == 1

    (envelope,) = smtp_sink.envelopes
    assert sorted(envelope.rcpt_tos) == ["boss@example.org", "deputy@example.org"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert "催办" in message["Subject"] and "甲市" in message["Subject"]
    body = message.get_content()
    assert "甲员工" in body and "甲已完成" not in body
    assert deliveries(app, "C1")[0].response_code == 250


def test_counting_mode_names_nobody(app, people, robots_allowed):
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url(), name_people=False)
    sweep(app)
    text = content(robots_allowed.to(WECOM_KEY)[0])
    assert "尚有 2 人未完成" in text
    assert "甲员工" not in text and "aadmin" not in text and "窗口：" not in text


def test_an_open_round_closing_soon_names_those_who_have_not_started(
    app, people, robots_allowed, mixed_bank, login_as, frozen_clock, create_user
):
    units = people["units"]
    create_user("athird", unit=units["window_a"], name="甲未参赛")
    with app.app_context():
        round_id = rounds.create_round(
            round_settings(
                "weekly",
                title="甲市周周练",
                targets=["C1"],
                opens=AT_16 - timedelta(days=2),
                closes=AT_16 + timedelta(hours=20),
            ),
            actor_id=None,
        ).id
        db.session.commit()
    assert jobs.run_sweep(app, "open_rounds").counts == {"opened": 1}
    assert login_as("astaff").post(f"/api/v1/rounds/{round_id}/attempts").status_code == 201
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())

    sweep(app)

    text = content(robots_allowed.to(WECOM_KEY)[0])
    round_part = text.split("即将截止：", 1)[1]
    assert round_part.startswith("甲市周周练（3月3日 12:05 截止），尚有 3 人未参加")
    assert "甲未参赛" in round_part and "甲已完成" in round_part and "甲员工" not in round_part


def test_nobody_behind_sends_nothing(app, org_tree, robots_allowed, frozen_clock):
    frozen_clock.set(AT_16)
    with app.app_context():
        for user_id in db.session.scalars(select(User.id).where(User.unit_id.is_not(None))):
            db.session.add(DailySet(user_id=user_id, day=TODAY, size=10, finished_at=AT_16))
        db.session.commit()
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())
    assert sweep(app)["reminders_skipped"] == 1
    assert robots_allowed.received == [] and deliveries(app, "C1")[0].status == "skipped"


# ---------------------------------------------------------------------------------------------
# The sweep: the hour, once a day and unit, failures


def test_the_sweep_waits_for_the_hour_and_sends_once_a_day(app, people, robots_allowed, frozen_clock):
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())
    frozen_clock.set(AT_16 - timedelta(hours=1))  # 15:05
    assert sweep(app)["reminders_sent"] == 0 and robots_allowed.received == []
    frozen_clock.set(AT_16)
    assert sweep(app)["reminders_sent"] == 1
    frozen_clock.advance(minutes=5)
    assert sweep(app) == {"reminders_sent": 0, "reminders_failed": 0, "reminders_skipped": 0}
    frozen_clock.advance(hours=2)
    sweep(app)
    assert len(robots_allowed.received) == 1 and len(deliveries(app, "C1")) == 1
    frozen_clock.set(AT_16 + timedelta(days=1))  # the next day: again once
    sweep(app)
    sweep(app)
    assert len(robots_allowed.received) == 2


def test_the_database_refuses_a_second_sweep_delivery_for_a_day_and_unit(app, people):
    unit = unit_id(app, "C1")
    with app.app_context():
        for _ in range(2):  # 一键催办 may send many a day: only the sweep's rows carry sweep_day
            db.session.add(ReminderDelivery(unit_id=unit, day=TODAY, kind="manual", channel="log"))
        db.session.add(
            ReminderDelivery(unit_id=unit, day=TODAY, sweep_day=TODAY, kind="sweep", channel="log")
        )
        db.session.commit()
        db.session.add(
            ReminderDelivery(unit_id=unit, day=TODAY, sweep_day=TODAY, kind="sweep", channel="log")
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_failures_are_logged_retried_with_back_off_and_block_no_other_unit(
    app, people, robots_allowed, frozen_clock
):
    robots = robots_allowed
    refused = f"http://127.0.0.1:{free_port()}/cgi-bin/webhook/send?key=nobodyhome"
    robots.failing.add("failingKEY")
    configure(app, "C1", kind="wecom", webhook=robots.wecom_url("failingKEY"))  # answers 500
    configure(app, "C2", kind="wecom", webhook=refused)  # connection refused
    configure(app, "P1", kind="wecom", webhook=robots.wecom_url())  # fine

    counts = sweep(app)

    assert counts == {"reminders_sent": 1, "reminders_failed": 2, "reminders_skipped": 0}
    assert len(robots.to(WECOM_KEY)) == 1
    (server_error,), (no_server,) = deliveries(app, "C1"), deliveries(app, "C2")
    assert (server_error.status, server_error.response_code, server_error.attempts) == ("failed", 500, 1)
    assert server_error.response_excerpt == "internal error"
    assert no_server.status == "failed" and no_server.response_code is None
    assert "连接失败" in no_server.response_excerpt and "nobodyhome" not in no_server.response_excerpt
    assert server_error.next_try_at == AT_16 + timedelta(minutes=5)

    frozen_clock.advance(minutes=4)  # not yet due: nothing tried
    sweep(app)
    assert len(robots.to("failingKEY")) == 1
    frozen_clock.advance(minutes=1)
    robots.failing.clear()  # the robot is back
    counts = sweep(app)
    assert counts["reminders_retried"] == 2 and counts["reminders_sent"] == 1
    (server_error,), (no_server,) = deliveries(app, "C1"), deliveries(app, "C2")
    assert (server_error.status, server_error.attempts, server_error.next_try_at) == ("sent", 2, None)
    assert len(robots.to("failingKEY")) == 2
    assert no_server.attempts == 2 and no_server.next_try_at == frozen_clock() + timedelta(minutes=10)
    for wait in (10, 20, 40):  # 5 attempts in all, then given up
        frozen_clock.advance(minutes=wait)
        sweep(app)
    (no_server,) = deliveries(app, "C2")
    assert (no_server.status, no_server.attempts, no_server.next_try_at) == ("gave_up", 5, None)
    frozen_clock.advance(hours=1)
    sweep(app)
    assert deliveries(app, "C2")[0].attempts == 5
    assert len(robots.to(WECOM_KEY)) == 1  # the working unit was never sent to again


def test_yesterdays_failure_is_given_up(app, people, robots_allowed, frozen_clock):
    robots_allowed.failing.add(WECOM_KEY)
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())
    sweep(app)
    frozen_clock.set(AT_16 + timedelta(hours=17))  # 09:05 the next day: before the hour
    assert sweep(app)["reminders_given_up"] == 1
    assert deliveries(app, "C1")[0].status == "gave_up" and len(robots_allowed.received) == 1


def test_a_slow_robot_times_out_without_holding_the_others(app, people, robots_allowed):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    try:
        app.config["REMINDER_TIMEOUT_SECONDS"] = 0.5
        configure(app, "C1", kind="wecom", webhook=f"http://127.0.0.1:{silent.getsockname()[1]}/x?key=slow")
        configure(app, "C2", kind="wecom", webhook=robots_allowed.wecom_url())
        started = datetime.now(UTC)
        counts = sweep(app)
        assert (datetime.now(UTC) - started).total_seconds() < 3
    finally:
        silent.close()
    assert counts["reminders_sent"] == 1 and counts["reminders_failed"] == 1
    assert "timed out" in deliveries(app, "C1")[0].response_excerpt


def test_no_write_lock_is_held_while_a_robot_answers(app, people, robots_allowed):
    """The claims are committed before the messages go out: while a robot takes its time, another
    writer of the SQLite file gets in at once (a sweep holding its transaction would lock it out)."""
    import sqlite3

    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    writes = []

    def write_meanwhile():
        with contextlib.closing(sqlite3.connect(path, timeout=0.2)) as other:
            other.execute("UPDATE unit SET name = name WHERE code = 'P1'")
            other.commit()
            writes.append(other.execute("SELECT status FROM reminder_delivery").fetchall())

    robots_allowed.on_request = write_meanwhile
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())

    assert sweep(app)["reminders_sent"] == 1
    assert writes == [[("pending",)]]  # written while the claim was committed, its outcome not yet
    assert deliveries(app, "C1")[0].status == "sent"


def test_a_claim_left_by_a_dead_process_is_sent_by_a_later_sweep(app, people, robots_allowed, frozen_clock):
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())
    with app.app_context():  # the sweep's claims are committed, then its process dies: nothing sent
        reminders.sweep(frozen_clock(), reminders.ReminderSettings.from_config(app.config))
        db.session.commit()
    assert [d.status for d in deliveries(app, "C1")] == ["pending"]

    assert sweep(app) == {"reminders_sent": 0, "reminders_failed": 0, "reminders_skipped": 0}
    frozen_clock.advance(minutes=14)  # the claim may still be at work elsewhere
    sweep(app)
    assert robots_allowed.received == []
    frozen_clock.advance(minutes=1)
    counts = sweep(app)
    assert (counts["reminders_retried"], counts["reminders_sent"]) == (1, 1)
    assert len(robots_allowed.to(WECOM_KEY)) == 1
    frozen_clock.advance(minutes=30)
    sweep(app)
    assert len(robots_allowed.to(WECOM_KEY)) == 1  # sent once, no more
    (delivery,) = deliveries(app, "C1")
    assert (delivery.status, delivery.attempts) == ("sent", 1)


# ---------------------------------------------------------------------------------------------
# The pages: configure, preview, 一键催办, scope, secrets


def form_page(client, code: str = "C1") -> str:
    response = client.get(f"/admin/reminders?unit={code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_unit_admin_configures_previews_and_sends_now(app, people, robots_allowed, login_as, frozen_clock):
    admin = login_as("aadmin")
    assert "催办" in admin.get("/admin/").get_data(as_text=True)  # the console's nav links here
    page = admin.get("/admin/reminders").get_data(as_text=True)  # their own unit by default
    assert "催办 · 甲市" in page and "甲员工" in page and "一键催办" in page  # the preview names them
    saved = admin.post(
        "/admin/reminders/C1/channel",
        data={"kind": "wecom", "webhook": robots_allowed.wecom_url(), "name_people": "1"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已保存催办设置" in saved and "企业微信群机器人" in saved and "Webhook 已设置" in saved

    sent = admin.post("/admin/reminders/C1/send", follow_redirects=True).get_data(as_text=True)
    assert "已发送催办（提醒 2 人次）" in sent
    assert len(robots_allowed.received) == 1 and "甲员工" in content(robots_allowed.received[0])
    assert "一键催办" in sent and "已发送" in sent  # the log on the page

    again = admin.post("/admin/reminders/C1/send", follow_redirects=True).get_data(as_text=True)
    assert "30 分钟最多一次" in again and len(robots_allowed.received) == 1
    frozen_clock.advance(minutes=31)
    assert "已发送催办" in admin.post("/admin/reminders/C1/send", follow_redirects=True).get_data(
        as_text=True
    )
    assert len(robots_allowed.received) == 2
    # 一键催办 is not the sweep's delivery: the sweep still sends today's once
    assert sweep(app)["reminders_sent"] == 1 and len(robots_allowed.received) == 3
    with app.app_context():
        kinds = db.session.scalars(select(ReminderDelivery.kind).order_by(ReminderDelivery.id)).all()
    assert kinds == ["manual", "manual", "sweep"]


def test_a_failed_send_now_says_so_and_is_retried_by_the_sweep(
    app, people, robots_allowed, login_as, frozen_clock
):
    robots_allowed.failing.add(WECOM_KEY)
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())
    frozen_clock.set(AT_16 - timedelta(hours=6))  # 10:05, before the sweep's hour
    answer = login_as("aadmin").post("/admin/reminders/C1/send", follow_redirects=True).get_data(as_text=True)
    assert "催办发送失败：internal error" in answer
    robots_allowed.failing.clear()
    frozen_clock.advance(minutes=5)
    assert sweep(app)["reminders_retried"] == 1
    (row,) = deliveries(app, "C1")
    assert (row.kind, row.status, row.attempts) == ("manual", "sent", 2)


def test_without_a_channel_send_now_writes_to_the_log(app, people, login_as, caplog):
    with caplog.at_level("INFO", logger="quizapp.reminders"):
        answer = login_as("aadmin").post("/admin/reminders/C1X/send", follow_redirects=True)
    assert "已发送催办" in answer.get_data(as_text=True)
    assert "甲员工" in caplog.text
    (row,) = deliveries(app, "C1X")
    assert (row.channel, row.status) == ("log", "sent")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        (
            {"kind": "wecom", "webhook": "ftp://127.0.0.1/cgi-bin/webhook/send?key=k"},
            "[Webhook 地址] 只接受 https:// 或 http://",
        ),
        (
            {"kind": "wecom", "webhook": "https://evil.example.com/cgi-bin/webhook/send?key=k"},
            "[Webhook 地址] 主机“evil.example.com”不是企业微信群机器人的地址",
        ),
        (
            {"kind": "wecom", "webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"},
            "[Webhook 地址] 地址中缺少 key 参数",
        ),
        (
            {"kind": "dingtalk", "webhook": "https://u:p@oapi.dingtalk.com/robot/send?access_token=t"},
            "[Webhook 地址] 地址中不能包含用户名或密码",
        ),
        ({"kind": "dingtalk", "webhook": ""}, "[Webhook 地址] 请填写钉钉群机器人的 Webhook 地址"),
        (
            {
                "kind": "dingtalk",
                "webhook": "https://oapi.dingtalk.com/robot/send?access_token=t",
                "secret": "有 空格",
            },
            "[加签密钥]",
        ),
        (
            {"kind": "email", "recipients": "boss@example.org, not-an-address"},
            "[收件人邮箱] “not-an-address”不是有效的邮箱地址",
        ),
        ({"kind": "email", "recipients": "boss@example.org"}, "[渠道] 服务器未配置邮件发送"),
        ({"kind": "sms"}, "[渠道] 请选择一种催办渠道"),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_field(app, people, login_as, fields, error):
    answer = login_as("aadmin").post("/admin/reminders/C1/channel", data=fields, follow_redirects=True)
    assert answer.status_code == 200
    assert error in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderChannel.id))) == 0


def test_the_official_hosts_are_accepted_without_configuration(app, people):
    configure(app, "C1", kind="wecom", webhook="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc")
    configure(app, "C2", kind="dingtalk", webhook="https://oapi.dingtalk.com/robot/send?access_token=abc")
    with app.app_context(), pytest.raises(InvalidInput):  # a test host is not, until configured
        channels.check_webhook(
            "wecom", "http://127.0.0.1:1/x?key=k", reminders.ReminderSettings.from_config(app.config)
        )


def test_secrets_are_stored_encrypted_and_never_shown(app, people, robots_allowed, login_as):
    admin = login_as("aadmin")
    admin.post(
        "/admin/reminders/C1/channel",
        data={"kind": "dingtalk", "webhook": robots_allowed.ding_url(), "secret": DING_SECRET},
    )
    admin.post("/admin/reminders/C1/send")
    sweep(app)
    # Not in any row of any table (the audit log, the delivery log and the run log included) …
    with app.app_context():
        everything = "".join(
            repr(db.session.execute(select(table)).all()) for table in db.metadata.sorted_tables
        )
        channel = db.session.scalar(select(ReminderChannel))
        assert vault.unseal(app.config["SECRET_KEY"], channel.webhook_encrypted) == robots_allowed.ding_url()
    for secret in (DING_TOKEN, DING_SECRET):
        assert secret not in everything
    # … nor in any page the console shows: the form says 已设置 instead
    root = login_as("root")
    pages = [form_page(admin), form_page(root), root.get("/admin/audit").get_data(as_text=True)]
    pages.append(root.get("/admin/jobs").get_data(as_text=True))
    assert "已设置，留空则不变" in pages[0] and "加签密钥已设置" in pages[0]
    for page in pages:
        assert DING_TOKEN not in page and DING_SECRET not in page
    # Left empty, the stored secrets stay; the kind can change and the name mode too
    admin.post("/admin/reminders/C1/channel", data={"kind": "dingtalk", "name_people": "0"})
    with app.app_context():
        channel = db.session.scalar(select(ReminderChannel))
        assert channel.secret_encrypted and channel.webhook_encrypted and not channel.name_people


def test_a_changed_key_asks_for_the_secrets_again(app, people, robots_allowed, frozen_clock):
    configure(app, "C1", kind="wecom", webhook=robots_allowed.wecom_url())
    app.config["REMINDER_KEY"] = "another key altogether"
    sweep(app)
    (row,) = deliveries(app, "C1")
    assert row.status == "failed" and "请重新填写" in row.response_excerpt and robots_allowed.received == []


def test_scope_comes_from_the_server(app, people, login_as, robots_allowed):
    other, staff, own = login_as("badmin"), login_as("astaff"), login_as("aadmin")
    wecom = {"kind": "wecom", "webhook": robots_allowed.wecom_url()}
    assert other.get("/admin/reminders?unit=C1").status_code == 404
    assert other.post("/admin/reminders/C1/channel", data=wecom).status_code == 404
    assert other.post("/admin/reminders/C1/send").status_code == 404
    assert staff.get("/admin/reminders").status_code == 403
    assert staff.post("/admin/reminders/C1/send").status_code == 403
    assert own.get("/admin/reminders?unit=P1").status_code == 404  # above their unit
    assert own.post("/admin/reminders/C1X/channel", data=wecom).status_code == 302  # below: theirs
    assert other.get("/admin/reminders").get_data(as_text=True).count("乙市") >= 1
    assert robots_allowed.received == []
    with app.app_context():
        assert db.session.scalar(select(func.count(ReminderDelivery.id))) == 0
        assert db.session.scalar(select(func.count(ReminderChannel.id))) == 1


def test_an_admin_chooses_a_unit(app, people, login_as):
    configure(app, "C2", kind="log", name_people=False)
    page = login_as("root").get("/admin/reminders").get_data(as_text=True)
    assert "已设置催办渠道的单位" in page and "乙市" in page and "仅记录日志" in page
