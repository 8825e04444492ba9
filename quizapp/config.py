"""Configuration: defaults here, then ``instance/config.py``, then ``QUIZAPP_*`` environment variables,
then the overrides given to ``create_app``."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Environment variable → config key. Values are strings; see ``_coerce`` for the few typed ones.
ENVIRONMENT = {
    "QUIZAPP_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "QUIZAPP_SECRET_KEY": "SECRET_KEY",
    "QUIZAPP_TIMEZONE": "TIMEZONE",
    "QUIZAPP_REDIS_URL": "REDIS_URL",
    "QUIZAPP_SECURE_COOKIES": "SECURE_COOKIES",
    "QUIZAPP_BANK_PATH": "BANK_PATH",
}


class DefaultConfig:
    # SECRET_KEY is never defaulted: it comes from the environment, instance/config.py,
    # or the key file that create_app generates once in the instance folder.
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # None → SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    TIMEZONE = "Asia/Shanghai"
    REDIS_URL: str | None = None
    BANK_PATH = str(PROJECT_ROOT / "question_bank")
    MIGRATIONS_PATH = str(PROJECT_ROOT / "migrations")

    # Cookies: HttpOnly and SameSite always; Secure when served over HTTPS (QUIZAPP_SECURE_COOKIES=1).
    SECURE_COOKIES = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    # Sign-in throttling (Flask-Limiter syntax): per submitted account name and per client address.
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True

    PASSWORD_MIN_LENGTH = 8
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SCHEDULER_ENABLED = False  # only `quizapp serve` / `quizapp scheduler` run the scheduler


def _coerce(key: str, value: str):
    if key == "SECURE_COOKIES":
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def from_environment(environ=os.environ) -> dict:
    return {key: _coerce(key, environ[var]) for var, key in ENVIRONMENT.items() if environ.get(var)}


def instance_path(environ=os.environ) -> str:
    return os.path.abspath(environ.get("QUIZAPP_INSTANCE_PATH") or PROJECT_ROOT / "instance")
