"""The notifier interface and its adapters, and what a unit admin may save as their unit's channel.

Every adapter answers with a ``Result`` (never raises for a network or server failure): whether the
message was accepted, the server's code and an excerpt of its answer, for the delivery log. Every
network call has a short timeout, follows no redirect (a webhook that bounces elsewhere is refused,
not followed) and never writes the address into the log (it carries the robot's key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from ... import clock
from ...extensions import db
from ...models import ReminderChannel
from ...models.reminders import CHANNEL_KINDS
from .. import audit
from ..errors import InvalidInput, Problem
from . import vault
from .settings import ReminderSettings, Smtp

log = logging.getLogger("quizapp.reminders")

KIND_LABELS = {
    "log": "仅记录日志",
    "wecom": "企业微信群机器人",
    "dingtalk": "钉钉群机器人",
    "email": "电子邮件",
}
WEBHOOK_TOKEN = {"wecom": "key", "dingtalk": "access_token"}  # the query parameter each robot needs
EXCERPT = 300
MAX_RECIPIENTS = 20
EMAIL = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


@dataclass(frozen=True)
class Result:
    ok: bool
    code: int | None
    excerpt: str


class Notifier(Protocol):
    kind: str

    def send(self, subject: str, text: str) -> Result: ...


# ---------------------------------------------------------------------------------------------
# Adapters


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx itself is the answer (logged as a failure)


_OPENER = urllib.request.build_opener(_NoRedirects)


def _excerpt(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text.strip()[:EXCERPT]


def post_json(url: str, payload: dict, timeout: float) -> Result:
    """POST a robot message; the robots answer 200 with {"errcode": 0, ...} when they accept it."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            code, body = response.status, response.read(4096)
    except urllib.error.HTTPError as error:
        with error:
            return Result(False, error.code, _excerpt(error.read(4096)) or str(error.reason))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        return Result(False, None, _excerpt(f"连接失败：{reason}"))
    try:
        errcode = json.loads(body).get("errcode")
    except (ValueError, AttributeError):
        errcode = None
    return Result(code == 200 and errcode == 0, code, _excerpt(body))


def text_message(text: str) -> dict:
    return {"msgtype": "text", "text": {"content": text}}


@dataclass
class WeComRobot:
    """企业微信群机器人: POST {"msgtype": "text", ...} to the webhook (its key is in the address)."""

    url: str
    timeout: float
    kind: str = "wecom"

    def send(self, subject: str, text: str) -> Result:
        return post_json(self.url, text_message(text), self.timeout)


def dingtalk_signature(secret: str, timestamp_ms: int) -> str:
    """钉钉 custom robot 加签: HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret, in Base64,
    URL-encoded (as DingTalk's documentation gives it)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


@dataclass
class DingTalkRobot:
    """钉钉自定义机器人: the webhook with ``&timestamp=…&sign=…`` appended when it has a secret."""

    url: str
    secret: str | None
    timeout: float
    kind: str = "dingtalk"

    def signed_url(self, timestamp_ms: int) -> str:
        if not self.secret:
            return self.url
        return f"{self.url}&timestamp={timestamp_ms}&sign={dingtalk_signature(self.secret, timestamp_ms)}"

    def send(self, subject: str, text: str) -> Result:
        timestamp_ms = int(clock.utcnow().timestamp() * 1000)
        return post_json(self.signed_url(timestamp_ms), text_message(text), self.timeout)


@dataclass
class Mailer:
    """E-mail through the SMTP server the configuration names (STARTTLS and sign-in if set)."""

    recipients: list[str]
    smtp: Smtp
    timeout: float
    kind: str = "email"

    def send(self, subject: str, text: str) -> Result:
        if not self.smtp.host:
            return Result(False, None, "服务器未配置邮件发送（SMTP_HOST）")
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = (
            subject,
            self.smtp.sender,
            ", ".join(self.recipients),
        )
        message.set_content(text)
        try:
            with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.timeout) as server:
                if self.smtp.starttls:
                    server.starttls(context=ssl.create_default_context())
                if self.smtp.user:
                    server.login(self.smtp.user, self.smtp.password or "")
                refused = server.send_message(message)
        except smtplib.SMTPResponseException as error:
            return Result(False, error.smtp_code, _excerpt(f"{error.smtp_code} {error.smtp_error!r}"))
        except (smtplib.SMTPException, OSError) as error:
            return Result(False, None, _excerpt(f"发送失败：{error}"))
        if refused:
            return Result(False, 250, _excerpt(f"部分收件人被拒收：{', '.join(refused)}"))
        return Result(True, 250, f"已发送给 {len(self.recipients)} 个收件人")


@dataclass
class LogOnly:
    """The default: the message goes to the server's log (``quizapp.reminders``) only."""

    unit_code: str
    kind: str = "log"

    def send(self, subject: str, text: str) -> Result:
        log.info("reminder for %s: %s\n%s", self.unit_code, subject, text)
        return Result(True, None, "已写入服务器日志")


def notifier_for(channel: ReminderChannel | None, unit_code: str, settings: ReminderSettings) -> Notifier:
    """The adapter for a unit's channel (the log when it has none). Raises DomainError when a stored
    secret cannot be decrypted (the key changed)."""
    if channel is None or channel.kind == "log":
        return LogOnly(unit_code)
    if channel.kind == "email":
        return Mailer(parse_recipients(channel.recipients or "")[0], settings.smtp, settings.timeout_seconds)
    url = vault.unseal(settings.key_material, channel.webhook_encrypted or "")
    if channel.kind == "wecom":
        return WeComRobot(url, settings.timeout_seconds)
    secret = (
        vault.unseal(settings.key_material, channel.secret_encrypted) if channel.secret_encrypted else None
    )
    return DingTalkRobot(url, secret, settings.timeout_seconds)


# ---------------------------------------------------------------------------------------------
# What a unit admin saves


@dataclass(frozen=True)
class ChannelInput:
    kind: str
    webhook: str = ""  # empty: keep the stored one
    secret: str = ""  # empty: keep the stored one
    clear_secret: bool = False
    recipients: str = ""
    name_people: bool = True


def parse_recipients(text: str) -> tuple[list[str], list[str]]:
    """(addresses, the parts that are not addresses) from a list separated by commas, semicolons
    (either width) or white space."""
    parts = [part for part in re.split(r"[,;，；\s]+", text.strip()) if part]
    good = [part for part in parts if len(part) <= 254 and EMAIL.match(part)]
    return good, [part for part in parts if part not in good]


def check_webhook(kind: str, url: str, settings: ReminderSettings) -> str:
    """The host of a valid robot address; raises InvalidInput naming the field otherwise."""

    def refuse(message: str):
        raise InvalidInput([Problem("", "", "Webhook 地址", message)], message=f"Webhook 地址：{message}")

    if len(url) > 1000:
        refuse("地址过长（上限 1000 个字符）")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        refuse("地址中不能有空格或换行")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        refuse("不是有效的网址")
    if parts.scheme not in ("http", "https"):
        refuse("只接受 https:// 或 http:// 开头的地址")
    if parts.username is not None or parts.password is not None:
        refuse("地址中不能包含用户名或密码")
    host = (parts.hostname or "").lower()
    if not host or not HOSTNAME.match(host):
        refuse("缺少有效的主机名")
    allowed = settings.allowed_hosts(kind)
    if host not in allowed:
        refuse(f"主机“{host}”不是{KIND_LABELS[kind]}的地址（允许：{'、'.join(allowed)}）")
    if port is not None and not 0 < port < 65536:
        refuse("端口无效")
    token = WEBHOOK_TOKEN[kind]
    if not urllib.parse.parse_qs(parts.query).get(token):
        refuse(f"地址中缺少 {token} 参数，请从群机器人的设置里完整复制")
    return host


def save_channel(unit_id: int, data: ChannelInput, settings: ReminderSettings, *, actor_id: int | None):
    """Set a unit's channel. A webhook or secret left empty keeps the stored one; changing the kind
    needs the new kind's address; e-mail needs recipients and a configured SMTP server."""
    problems: list[Problem] = []
    channel = db.session.scalar(db.select(ReminderChannel).where(ReminderChannel.unit_id == unit_id))
    if data.kind not in CHANNEL_KINDS:
        raise InvalidInput(
            [Problem("", "", "渠道", "请选择一种催办渠道")], message="[渠道] 请选择一种催办渠道"
        )
    webhook = data.webhook.strip()
    secret = data.secret.strip()
    host = None
    if data.kind in ("wecom", "dingtalk"):
        keeps = channel is not None and channel.kind == data.kind and channel.webhook_encrypted
        if webhook:
            host = check_webhook(data.kind, webhook, settings)
        elif not keeps:
            problems.append(Problem("", "", "Webhook 地址", f"请填写{KIND_LABELS[data.kind]}的 Webhook 地址"))
    if (
        data.kind == "dingtalk"
        and secret
        and (len(secret) > 200 or not re.fullmatch(r"[\x21-\x7e]+", secret))
    ):
        problems.append(
            Problem("", "", "加签密钥", "密钥应为不超过 200 个字符的字母、数字和符号（以 SEC 开头）")
        )
    recipients: list[str] = []
    if data.kind == "email":
        recipients, bad = parse_recipients(data.recipients[:5001])
        if len(data.recipients) > 5000:
            problems.append(Problem("", "", "收件人邮箱", "内容过长（上限 5000 个字符）"))
        elif bad:
            problems.append(Problem("", "", "收件人邮箱", f"“{bad[0][:60]}”不是有效的邮箱地址"))
        elif not recipients:
            problems.append(Problem("", "", "收件人邮箱", "请至少填写一个收件人邮箱"))
        elif len(recipients) > MAX_RECIPIENTS:
            problems.append(Problem("", "", "收件人邮箱", f"收件人最多 {MAX_RECIPIENTS} 个"))
        if not settings.smtp.host:
            problems.append(
                Problem("", "", "渠道", "服务器未配置邮件发送（SMTP），请选择其他渠道或联系系统管理员")
            )
    if problems:
        raise InvalidInput(problems, message="；".join(f"[{p.field}] {p.message}" for p in problems))
    if channel is None:
        channel = ReminderChannel(unit_id=unit_id)
        db.session.add(channel)
    before = {"kind": channel.kind, "name_people": channel.name_people} if channel.id else None
    if data.kind in ("wecom", "dingtalk"):
        if webhook:
            channel.webhook_encrypted, channel.webhook_host = vault.seal(settings.key_material, webhook), host
    else:
        channel.webhook_encrypted = channel.webhook_host = None
    if data.kind != "dingtalk" or data.clear_secret:
        channel.secret_encrypted = None
    elif secret:
        channel.secret_encrypted = vault.seal(settings.key_material, secret)
    channel.kind = data.kind
    channel.recipients = "\n".join(recipients) if data.kind == "email" else None
    channel.name_people = data.name_people
    channel.updated_at, channel.updated_by_id = clock.utcnow(), actor_id
    db.session.flush()
    audit.record(
        "reminder.channel",
        "unit",
        unit_id,
        actor_id=actor_id,
        before=before,
        after={"kind": data.kind, "name_people": data.name_people, "host": channel.webhook_host},
    )
    return channel
