"""Configuration: defaults here, then ``instance/config.py``, then ``QUIZAPP_*`` environment variables,
then the overrides given to ``create_app``."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variable → config key. Values are strings; see ``_coerce`` for the few typed ones.
ENVIRONMENT = {
    "QUIZAPP_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "QUIZAPP_DIRECT_DATABASE_URL": "DIRECT_DATABASE_URL",
    "QUIZAPP_READ_DATABASE_URL": "READ_DATABASE_URL",
    "QUIZAPP_READ_MAX_LAG_SECONDS": "READ_MAX_LAG_SECONDS",
    "QUIZAPP_DATABASE_POOL_SIZE": "DATABASE_POOL_SIZE",
    "QUIZAPP_DATABASE_POOL_MAX_OVERFLOW": "DATABASE_POOL_MAX_OVERFLOW",
    "QUIZAPP_SECRET_KEY": "SECRET_KEY",
    "QUIZAPP_TIMEZONE": "TIMEZONE",
    "QUIZAPP_REDIS_URL": "REDIS_URL",
    "QUIZAPP_SECURE_COOKIES": "SECURE_COOKIES",
    "QUIZAPP_BANK_PATH": "BANK_PATH",
    "QUIZAPP_TRUSTED_PROXIES": "TRUSTED_PROXIES",
    "QUIZAPP_PUBLIC_URL": "PUBLIC_URL",
    "QUIZAPP_REMINDER_KEY": "REMINDER_KEY",
    "QUIZAPP_REMINDER_HOUR": "REMINDER_HOUR",
    "QUIZAPP_REMINDER_WEBHOOK_HOSTS": "REMINDER_WEBHOOK_HOSTS",
    "QUIZAPP_SMTP_HOST": "SMTP_HOST",
    "QUIZAPP_SMTP_PORT": "SMTP_PORT",
    "QUIZAPP_SMTP_USER": "SMTP_USER",
    "QUIZAPP_SMTP_PASSWORD": "SMTP_PASSWORD",
    "QUIZAPP_SMTP_STARTTLS": "SMTP_STARTTLS",
    "QUIZAPP_SMTP_SENDER": "SMTP_SENDER",
    "QUIZAPP_CERTIFICATE_FONT": "CERTIFICATE_FONT",
}


# Monthly contests and exams: one attempt, results and answers only after the round closes.
CONTEST = {"attempts_allowed": 1, "show_answers": "after_close", "pass_mark": 60, "grace_seconds": 30}
# 随机组卷: weekly practice draws a paper per attempt (a fresh one each time, so reading one
# attempt's answers does not pass the next). The monthly contest and exams keep one paper for all by
# default: 2,000 starts in 10 s with a paper each are beyond a 2-core server today (see
# docs/scaling.md); an admin may choose a paper per taker for any round.


class DefaultConfig:
    # SECRET_KEY is never defaulted: it comes from the environment, instance/config.py,
    # or the key file that create_app generates once in the instance folder.
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # None → SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # A nation (docs/scaling.md): SQLALCHEMY_DATABASE_URI may point at PgBouncer in transaction
    # pooling mode; DIRECT_DATABASE_URL then names the primary itself, for what needs a session of
    # its own (the scheduler's advisory lock, the battles' LISTEN, pg_dump). Setting it tells the app
    # that the main URL is pooled: no server-side prepared statements and no statement timeout sent at
    # connect there (the pool sets it: README "Deploying for a nation").
    DIRECT_DATABASE_URL: str | None = None
    # A streaming replica for the snapshot reads (rankings, honours, big screen, bulletins:
    # ``replica.reads``), used while it has replayed everything the primary wrote READ_MAX_LAG_SECONDS
    # ago, checked at most every READ_CHECK_SECONDS per process; else (behind, or down) those reads go
    # to the primary, with a warning in the log.
    READ_DATABASE_URL: str | None = None
    READ_MAX_LAG_SECONDS = 10.0
    READ_CHECK_SECONDS = 5.0
    # PostgreSQL connections per server process: kept open, and opened beyond those for a moment
    # (SQLAlchemy's QueuePool; at most their sum at once). A server with gunicorn -w N takes up to
    # N × (sum + 3) of max_connections (the battles' listener, and a connection each for their
    # notifications and seen reports), or goes through PgBouncer.
    DATABASE_POOL_SIZE = 12
    DATABASE_POOL_MAX_OVERFLOW = 3
    STATEMENT_TIMEOUT_SECONDS = 30  # PostgreSQL: no statement may hold a worker longer
    BULK_STATEMENT_TIMEOUT_SECONDS = 600  # closing a round, refreshing rankings: set-based over everything
    TIMEZONE = "Asia/Shanghai"
    # A server process reads the question pools of drawn rounds opening within 15 minutes this often,
    # so the first starts of a 一人一卷 round never wait for them (quizapp.warming); 0 turns it off.
    PAPER_WARM_SECONDS = 20
    REDIS_URL: str | None = None
    BANK_PATH = str(PROJECT_ROOT / "question_bank")
    MIGRATIONS_PATH = str(PROJECT_ROOT / "migrations")

    # Cookies: HttpOnly and SameSite always; Secure when served over HTTPS (QUIZAPP_SECURE_COOKIES=1).
    SECURE_COOKIES = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # How many reverse proxies stand in front of the app (each adds itself to X-Forwarded-For): the
    # client address, and so the sign-in limit per address, is read past that many hops. 0: the
    # header is ignored (anyone could write it), the connection's own address counts.
    TRUSTED_PROXIES = 0

    # The address phones in a hall use to reach this server (e.g. http://192.168.1.20:5000): the
    # 现场比武 join link and QR code use it. None: the address the host console was opened at.
    PUBLIC_URL: str | None = None

    # Sign-in throttling (Flask-Limiter syntax): per submitted account name and per client address.
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True

    # A sign-in lasts at most this long (and ends when the browser closes, or at 退出登录, on the
    # server): a shared office PC is safe by the next working day.
    SESSION_LIFETIME_HOURS = 12
    PASSWORD_MIN_LENGTH = 8
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024  # uploads (bank and staff imports)
    # Every uploaded or imported file is parsed in a child process (services/uploads.py) under these
    # limits; a spreadsheet's unpacked size, declared dimension and filled extent are checked before
    # it is read. A key set in instance/config.py overrides that key only.
    UPLOAD_LIMITS = {
        "file_bytes": 20 * 2**20,  # a file read from disk by the CLI (the web's cap: MAX_CONTENT_LENGTH)
        "sheet_rows": 200_000,  # a province's staff list is 100,000 rows
        "sheet_columns": 100,
        "sheet_cells": 5_000_000,
        "uncompressed_bytes": 256 * 2**20,  # a 100,000-row staff sheet unpacks to about 56 MB
        "zip_members": 500,
        "pdf_pages": 2000,  # a policy document as PDF: a province's code book runs to a few hundred
        "memory_bytes": 2 * 2**30,  # the child's address space (100,000 rows peak near 400 MB)
        "seconds": 120,  # wall clock (and CPU) per parse
    }
    UPLOAD_PREVIEW_HOURS = 24  # an import preview not confirmed by then is removed (sweep)

    # 日日学 and points (DESIGN §3). Caps are per business day, per group of rules.
    DAILY_SET_SIZE = 10
    DAILY_MAX_MISTAKES = 3
    POINTS = {"daily_correct": 1, "daily_finish": 2, "practice_correct": 1, "battle_play": 1, "battle_win": 3}
    POINT_GROUPS = {
        "daily_correct": "daily",
        "daily_finish": "daily",
        "practice_correct": "practice",
        "battle_play": "battle",
        "battle_win": "battle",
    }
    POINT_CAPS = {"daily": 12, "practice": 5, "battle": 10}
    # 对战 (battles): questions a battle, seconds per question, seconds the key shows, the countdown
    # before question 1, the wait for opponents before the machine steps in.
    BATTLE_QUESTIONS = 5
    BATTLE_QUESTION_SECONDS = 15
    BATTLE_REVEAL_SECONDS = 4
    BATTLE_LEAD_SECONDS = 3
    BATTLE_WAIT_SECONDS = 20
    BATTLE_LADDER = False  # 单位对战周赛: a unit's score is the sum of its members' wins (off by default)
    BATTLE_IN_MONTHLY = False  # count battle wins into the 月月比 indicator of unit rankings
    MULTIPLE_PARTIAL_CREDIT = 0.5
    # Mistake book: the gap before each review grows with the right reviews so far (1, 3, 7 days);
    # the question leaves after this many right answers in a row in review.
    MISTAKE_REVIEW_DAYS = (1, 3, 7)
    MISTAKE_CLEAR_STREAK = 2

    # Rounds (DESIGN §3): defaults an admin starts from when creating a round of each kind.
    ROUND_DEFAULTS = {
        "weekly": {
            "time_limit_minutes": 20,
            "attempts_allowed": 3,
            "show_answers": "after_attempt",
            "pass_mark": 60,
            "grace_seconds": 30,
            "paper_mode": "drawn",
            "blueprint": [
                {"type": "single", "count": 10},
                {"type": "multiple", "count": 4},
                {"type": "judge", "count": 4},
                {"type": "fill", "count": 2},
            ],
        },
        "monthly": {
            "time_limit_minutes": 40,
            **CONTEST,
            "paper_mode": "shared",
            "blueprint": [
                {"type": "single", "count": 25},
                {"type": "multiple", "count": 10},
                {"type": "judge", "count": 10},
                {"type": "fill", "count": 5},
            ],
        },
        "exam": {
            "time_limit_minutes": 60,
            **CONTEST,
            "paper_mode": "shared",
            "blueprint": [
                {"type": "single", "count": 30},
                {"type": "multiple", "count": 10},
                {"type": "judge", "count": 10},
            ],
        },
    }
    # 随机组卷: no question on more than this share of a round's papers, while the pool allows (a
    # blueprint row needs at least count ÷ share questions to choose from; the form refuses fewer).
    PAPER_MAX_EXPOSURE = 0.3
    # Integrity signals (services/integrity.py; README "Integrity"): each signal adds its points to an
    # attempt's or a 日日学 day's explained score; at ``hold_score`` it is held out of every official
    # count until a reviewer clears or voids it.
    INTEGRITY = {
        "hold_score": 60,
        # 秒答: an answer given faster than base + characters (stem and options) ÷ reading speed.
        "reading_chars_per_second": 20,
        "reading_base_seconds": 1.0,
        "fast_share": 0.5,  # this share of the answers too fast: full points; half the share: half
        "fast_points": 50,
        # Intervals between answers too even to be human: coefficient of variation below this.
        "regular_cv": 0.15,
        "regular_min_answers": 6,
        "regular_points": 40,
        "sessions_points": 40,  # answers saved from two sign-in sessions of the account
        "addresses_points": 20,  # … or from two network addresses
        "hidden_times": 5,  # the attempt page hidden this often, or this long in all:
        "hidden_seconds": 120,
        "hidden_points": 30,
        "no_report_points": 30,  # the attempt page never reported (answered without it)
        "same_answers_min_wrong": 3,  # the same wrong answers as a colleague of the unit, this many
        "same_answers_points": 50,
    }
    MONTHLY_OPEN_DAYS = 7  # the monthly contest runs over the last days of the month

    # Composite index = participation + average score (as a fraction) + points per head normalised
    # to the best unit compared (DESIGN §3).
    RANKING_WEIGHTS = {"participation": 0.4, "avg_score": 0.4, "points": 0.2}

    # Certificates (人人持证; README "Certificates"): the Chinese font embedded in each PDF (a .ttc
    # takes its face index), the score bands in percent (合格 from the exam's pass mark up), how many
    # PDFs one bulk ZIP holds at most (a bigger subtree downloads in parts), and how often one address
    # may open the public verification page. The QR code links to PUBLIC_URL when set.
    CERTIFICATE_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
    CERTIFICATE_FONT_INDEX = 0
    CERTIFICATE_BANDS = {"excellent": 90, "good": 75}
    CERTIFICATE_ZIP_MAX = 500
    VERIFY_LIMIT_PER_ADDRESS = "60 per minute"

    # Reminders (催办, services/reminders): the sweep sends each configured unit today's reminder from
    # REMINDER_HOUR until REMINDER_UNTIL_HOUR (business time zone). Channel secrets are encrypted with
    # a key derived (HKDF) from REMINDER_KEY, or from SECRET_KEY when it is not set.
    REMINDER_KEY: str | None = None
    REMINDER_HOUR = 16
    REMINDER_UNTIL_HOUR = 22
    REMINDER_ROUND_HOURS = 24  # an open round closing within this many hours is in the reminder
    REMINDER_COOLDOWN_MINUTES = 30  # 一键催办: at most once in this many minutes per unit
    REMINDER_TIMEOUT_SECONDS = 5
    REMINDER_MAX_ATTEMPTS = 5  # a failed delivery is retried after 5, 10, 20, 40 minutes, then given up
    REMINDER_RETRY_MINUTES = 5
    # Robot webhooks may point only at the vendors' hosts (qyapi.weixin.qq.com, oapi.dingtalk.com) and
    # these (comma-separated in QUIZAPP_REMINDER_WEBHOOK_HOSTS): e.g. a private 政务钉钉 deployment.
    REMINDER_WEBHOOK_HOSTS: tuple[str, ...] = ()
    SMTP_HOST: str | None = None  # e-mail reminders need it
    SMTP_PORT = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS = False
    SMTP_SENDER = "quizapp@localhost"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session


def _coerce(key: str, value: str):
    if key == "READ_MAX_LAG_SECONDS":
        return float(value)
    if key == "SECURE_COOKIES":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if key in (
        "TRUSTED_PROXIES",
        "REMINDER_HOUR",
        "SMTP_PORT",
        "DATABASE_POOL_SIZE",
        "DATABASE_POOL_MAX_OVERFLOW",
    ):
        return int(value)
    if key == "SMTP_STARTTLS":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def from_environment(environ=os.environ) -> dict:
    return {key: _coerce(key, environ[var]) for var, key in ENVIRONMENT.items() if environ.get(var)}


def instance_path(environ=os.environ) -> str:
    return os.path.abspath(environ.get("QUIZAPP_INSTANCE_PATH") or PROJECT_ROOT / "instance")
