"""What the configuration says about reminders, read once into a value the services take (they
never look at the app themselves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# The hosts a robot's webhook may point at, by kind: the vendors' own. A private deployment (政务
# 钉钉, a self-hosted 企业微信, a test's fake server) adds its hosts with REMINDER_WEBHOOK_HOSTS.
OFFICIAL_HOSTS = {"wecom": ("qyapi.weixin.qq.com",), "dingtalk": ("oapi.dingtalk.com",)}


@dataclass(frozen=True)
class Smtp:
    host: str | None = None
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "quizapp@localhost"


@dataclass(frozen=True)
class ReminderSettings:
    key_material: str  # QUIZAPP_REMINDER_KEY, or else the app's SECRET_KEY (HKDF makes the key)
    tz: ZoneInfo
    hour: int = 16  # the sweep sends from this hour of the business day …
    until_hour: int = 22  # … until this one (no reminder at night)
    round_hours: int = 24  # an open round closing within this many hours is mentioned
    cooldown_minutes: int = 30  # 一键催办: at most once in this many minutes per unit
    timeout_seconds: float = 5.0  # every network call (connect and answer)
    max_attempts: int = 5  # a failed delivery is tried this often in all …
    retry_base_minutes: int = 5  # … after 5, 10, 20, 40 minutes (the same business day only)
    max_names: int = 100  # names in one message; the rest are counted
    extra_hosts: tuple[str, ...] = ()
    smtp: Smtp = field(default_factory=Smtp)

    @classmethod
    def from_config(cls, config) -> ReminderSettings:
        hosts = config.get("REMINDER_WEBHOOK_HOSTS") or ()
        if isinstance(hosts, str):
            hosts = [part.strip() for part in hosts.split(",")]
        return cls(
            key_material=config.get("REMINDER_KEY") or config["SECRET_KEY"],
            tz=config["TZINFO"],
            hour=int(config["REMINDER_HOUR"]),
            until_hour=int(config["REMINDER_UNTIL_HOUR"]),
            round_hours=int(config["REMINDER_ROUND_HOURS"]),
            cooldown_minutes=int(config["REMINDER_COOLDOWN_MINUTES"]),
            timeout_seconds=float(config["REMINDER_TIMEOUT_SECONDS"]),
            max_attempts=int(config["REMINDER_MAX_ATTEMPTS"]),
            retry_base_minutes=int(config["REMINDER_RETRY_MINUTES"]),
            extra_hosts=tuple(host.lower() for host in hosts if host),
            smtp=Smtp(
                host=config.get("SMTP_HOST") or None,
                port=int(config.get("SMTP_PORT") or 25),
                user=config.get("SMTP_USER") or None,
                password=config.get("SMTP_PASSWORD") or None,
                starttls=bool(config.get("SMTP_STARTTLS")),
                sender=config.get("SMTP_SENDER") or "quizapp@localhost",
            ),
        )

    def allowed_hosts(self, kind: str) -> tuple[str, ...]:
        return OFFICIAL_HOSTS.get(kind, ()) + self.extra_hosts
