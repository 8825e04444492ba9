"""Web wiring shared by every blueprint: sign-in loading, forced password change, errors, headers."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.routing import IntegerConverter

from . import clock, jobs
from .extensions import db, login_manager
from .models import QuestionType, Role, User
from .models._types import MAX_ID
from .services import accounts, grading, integrity, rounds
from .services.audit import action_label
from .services.errors import DomainError, InvalidInput
from .services.text import nested_deeper_than, strings_in, unstorable

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
ERROR_TEXT = {
    400: ("请求有误", "提交的内容无法处理，请返回重试。"),
    401: ("未登录", "请先登录。"),
    403: ("无权访问", "您没有访问此页面的权限。"),
    404: ("页面不存在", "您访问的页面不存在或已被删除。"),
    405: ("请求方式不允许", "此页面不接受这种请求方式。"),
    429: ("操作过于频繁", "尝试次数过多，请稍后再试。"),
    500: ("系统错误", "服务器出现问题，请稍后再试；如果一直出现，请联系管理员。"),
    503: ("暂时无法服务", "数据库暂时无法连接，请稍后重试；已保存的内容不会丢失。"),
}
# The API's error codes for what the framework refuses (services raise their own codes).
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "server_error",
}
PASSWORD_CHANGE_EXEMPT = {"auth.change_password", "auth.logout", "static"}
MAX_JSON_DEPTH = 32  # no request body of the API nests deeper than a few levels
SESSION_TOKEN = "sid"  # the session cookie's key for the server-side session's token


class IdConverter(IntegerConverter):
    """``<int:…>`` in every URL: a number no row can have (beyond 32 bits) does not match the route,
    so it is a 404 rather than an overflow in the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The cookie holds ``id:session_version`` and the token of a server-side session
    (``UserSession``): signing out, its expiry or a bumped version (password or role change,
    deactivation) ends it, whatever copies of the cookie exist."""
    user_id, _, version = session_id.partition(":")
    token = session.get(SESSION_TOKEN)
    if not user_id.isdigit() or not version.isdigit() or not isinstance(token, str):
        return None
    return accounts.signed_in_user(int(user_id), int(version), token, now=clock.utcnow())


@dataclass
class Outcome:
    ok: bool = False


@contextmanager
def transaction(
    success: str | None = None,
    *,
    flash_errors: bool = True,
    shown: tuple[type[DomainError], ...] = (DomainError,),
) -> Iterator[Outcome]:
    """THE way a view ends its request's transaction (one commit per unit of work, DESIGN §4).

    What the block did is committed, and ``success`` flashed; a DomainError rolls all of it back and
    is flashed as the reason (``outcome.ok`` stays False), or — with ``flash_errors=False`` (the JSON
    API, through ``commits``), or for an error not among ``shown`` — passed on to the error handler,
    which answers with its code (a 404 for what the viewer may not know exists)."""
    outcome = Outcome()
    try:
        yield outcome
    except DomainError as error:
        db.session.rollback()
        if not flash_errors or not isinstance(error, shown):
            raise
        problems = error.problems if isinstance(error, InvalidInput) else []
        for message in [f"[{p.field}] {p.message}" if p.field else p.message for p in problems] or [
            error.message
        ]:
            flash(message, "danger")
        return
    db.session.commit()
    outcome.ok = True
    if success:
        flash(success, "success")


def commits(view):
    """A view whose work is committed once it has built its response (the API's write views)."""

    @functools.wraps(view)
    def committed(*args, **kwargs):
        with transaction(flash_errors=False):
            return view(*args, **kwargs)

    return committed


# The business time zone as people say it: China's one zone is 北京时间 whatever the tz database
# calls it; any other zone keeps its name.
BEIJING_TIME_ZONES = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}


def local_time_name(zone: str) -> str:
    return "北京时间" if zone in BEIJING_TIME_ZONES else f"{zone} 时间"


def sign_in(user: User) -> None:
    """Start a fresh signed-in session (new cookie contents, new CSRF token, new server-side row)."""
    session.clear()
    token = accounts.open_session(
        user.id,
        now=clock.utcnow(),
        hours=current_app.config["SESSION_LIFETIME_HOURS"],
        address=request.remote_addr,
        agent=request.user_agent.string,
    )
    login_user(user)
    session[SESSION_TOKEN] = token


def sign_out() -> None:
    accounts.end_session(session.get(SESSION_TOKEN), now=clock.utcnow())
    logout_user()
    session.clear()


def client_key() -> str:
    """This request's sign-in session and address, as the integrity signals record them."""
    return integrity.client_key(session.get(SESSION_TOKEN), request.remote_addr)


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: never another host, whatever trick
    spells it (``//host``, ``/\\host``, a tab or newline a browser drops, a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x21 or c == "\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_response(status: int, message: str | None = None, code: str | None = None):
    title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
    if _wants_json():
        return jsonify(
            error={"code": code or ERROR_CODES.get(status, "server_error"), "message": message or text}
        ), status
    return render_template("errors/error.html", status=status, title=title, message=message or text), status


def init_app(app: Flask) -> None:
    app.config.setdefault("TZINFO", ZoneInfo(app.config["TIMEZONE"]))
    app.url_map.converters["int"] = IdConverter  # before the blueprints add their routes

    @login_manager.unauthorized_handler
    def unauthorized():
        if _wants_json():
            return _error_response(401, "请先登录", "unauthorized")
        flash("请先登录", "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def require_password_change():
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in PASSWORD_CHANGE_EXEMPT
        ):
            if _wants_json():
                return _error_response(403, "请先修改初始密码", "password_change_required")
            return redirect(url_for("auth.change_password"))
        return None

    @app.before_request
    def refuse_unstorable_text():
        """NUL and lone surrogates fit no column (PostgreSQL refuses NUL outright, UTF-8 the
        surrogates): a request carrying them in its URL parameters, query, form or JSON is refused
        here, once, for every route. (A URL matching no route stays a 404.)"""
        texts = strings_in([request.view_args or {}, *request.args.lists(), *request.form.lists()])
        if request.is_json:
            try:
                body = request.get_json(silent=True)
                too_deep = nested_deeper_than(body, MAX_JSON_DEPTH)
            except RecursionError:  # Python's JSON decoder gives up near 1,000 levels
                body, too_deep = None, True
            if too_deep:
                return _error_response(400, f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层", "bad_request")
            texts = (*texts, *strings_in(body))
        if any(unstorable(text) for text in texts):
            return _error_response(400, "请求中含有无法处理的控制字符", "bad_request")
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if "_user_id" in session:  # signed-in pages are personal: never cached by a proxy
            response.headers.setdefault("Cache-Control", "private, no-store")
        return response

    for status in (400, 403, 404, 405, 429, 500):
        app.register_error_handler(status, lambda error, status=status: _error_response(status))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return _error_response(400, "页面已过期或请求来源无法验证，请刷新页面后重试。", "csrf")

    @app.errorhandler(DBAPIError)
    def database_unavailable(error: DBAPIError):
        # The database restarting, failing over or too busy: a 503 tells the client to retry (saves
        # are idempotent); the pool replaces dead connections on their next checkout (pre-ping).
        if not (isinstance(error, OperationalError) or error.connection_invalidated):
            raise error  # a bug, not an outage: logged as a 500
        app.logger.warning("database unavailable: %s", str(error.orig or error).strip().splitlines()[0])
        if "_login_user" not in g:  # the user could not be loaded: the page is drawn signed out
            g._login_user = login_manager.anonymous_user()
        response, status = _error_response(503, code="database_unavailable")
        response = make_response(response, status)
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return _error_response(error.status, error.message, error.code)

    @app.template_filter("local_date")
    def local_date(value) -> str:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = moment.astimezone(app.config["TZINFO"])
        return f"{local.month}月{local.day}日"

    @app.template_filter("local_datetime")
    def local_datetime(value) -> str:
        if value is None:
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = moment.astimezone(app.config["TZINFO"])
        return f"{local.month}月{local.day}日 {local:%H:%M}"

    @app.template_filter("describe_row")
    def describe_row(row: dict) -> str:
        return rounds.describe_row(row)

    @app.template_filter("describe_answer")
    def describe_answer(value, version) -> str:
        return grading.describe(version.type, version.options, value)

    app.add_template_filter(jobs.job_label, "job_label")
    app.add_template_filter(jobs.describe_counts, "job_counts")

    @app.context_processor
    def template_globals():
        return {
            "Role": Role,
            "QuestionType": QuestionType,
            "action_label": action_label,
            "local_time_name": local_time_name(app.config["TIMEZONE"]),
        }
