"""quizapp — 人社系统窗口单位业务技能练兵比武平台 (日日学、周周练、月月比)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from . import database
from .extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    """Application factory: defaults → instance/config.py → QUIZAPP_* environment → ``config``.

    It only wires things together: no migrations, no data, no scheduler here.
    """
    app = Flask(__name__, instance_path=config_module.instance_path(), instance_relative_config=True)
    app.config.from_object(config_module.DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config_module.from_environment())
    app.config.update(config or {})

    app.json.ensure_ascii = False  # Chinese as UTF-8, not \uXXXX: half the bytes on a phone
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "quizapp.sqlite3"
        )
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))
    if app.config["REDIS_URL"] and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    secure = app.config["SECURE_COOKIES"]
    app.config.update(SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_SECURE=secure)

    database.init_app(app)
    db.init_app(app)
    with app.app_context():
        database.configure_engine(db.engine)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_PATH"], render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    from . import (
        cli,
        models,  # noqa: F401  (registers the tables with the metadata)
        web,
    )

    web.init_app(app)
    cli.init_app(app)
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .battles import bp as battles_bp
    from .certificates import bp as certificates_bp
    from .contest import bp as contest_bp
    from .learn import bp as learn_bp
    from .marking import bp as marking_bp
    from .rankings import bp as rankings_bp
    from .reading import bp as reading_bp
    from .rounds import bp as rounds_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(learn_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(rankings_bp)
    app.register_blueprint(reading_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(contest_bp)
    app.register_blueprint(marking_bp)
    app.register_blueprint(battles_bp)
    app.register_blueprint(certificates_bp)
    return app


def _instance_secret_key(instance: Path) -> str:
    """Read the instance's key file, creating it once with a random key.

    The key is written to a private temporary file and hard-linked into place, so concurrent
    first starts (several workers) agree on one complete key.
    """
    path = instance / "secret_key"
    if not path.exists():
        temporary = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()
