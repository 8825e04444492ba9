"""Sign-in, sign-out, password changes, throttling, CSRF and cookies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from quizapp import create_app
from quizapp.extensions import db
from quizapp.models import AuditLog, Role, User
from quizapp.services import accounts

from .conftest import PASSWORD, require_service


@pytest.fixture
def staff(create_unit, create_user):
    unit = create_unit("W1", "一号窗口")
    return create_user("zhangsan", unit=unit, name="张三")


def test_login_page_is_chinese_and_has_the_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'name="username"' in page and 'name="password"' in page


def test_sign_in_and_out(client, auth, staff):
    response = auth.login("zhangsan")
    assert response.status_code == 302 and response.location == "/"
    assert "张三" in client.get("/").get_data(as_text=True)
    auth.logout()
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, auth, staff):
    wrong = auth.login("zhangsan", "wrong-password").get_data(as_text=True)
    unknown = auth.login("nobody", "wrong-password").get_data(as_text=True)
    assert "登录名或密码不正确" in wrong and "登录名或密码不正确" in unknown


def test_deactivated_user_cannot_sign_in(app, client, auth, staff):
    with app.app_context():
        accounts.deactivate(db.session.get(User, staff.id))
        db.session.commit()
    assert "登录名或密码不正确" in auth.login("zhangsan").get_data(as_text=True)


def test_next_is_followed_only_within_the_site(client, auth, staff):
    assert auth.login("zhangsan", query_string={"next": "/password"}).location == "/password"
    auth.logout()
    assert auth.login("zhangsan", query_string={"next": "https://evil.example/"}).location == "/"
    auth.logout()
    assert auth.login("zhangsan", query_string={"next": "//evil.example/"}).location == "/"


def test_imported_staff_must_change_password_first(app, client, auth, create_unit, create_user):
    create_user("lisi", unit=create_unit("W2"), must_change_password=True)
    assert auth.login("lisi").location == "/password"
    assert client.get("/").location == "/password"  # every page leads to the form until changed
    response = client.post(
        "/password", data={"current": PASSWORD, "new": "NewPass123", "confirm": "NewPass123"}
    )
    assert response.location == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "lisi"))
        assert not user.must_change_password and user.check_password("NewPass123")


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short1", "至少"),
        ("onlyletters", "字母和数字"),
        ("12345678901", "字母和数字"),
    ],
)
def test_weak_passwords_are_refused(app, client, auth, staff, new, message):
    auth.login("zhangsan")
    page = client.post("/password", data={"current": PASSWORD, "new": new, "confirm": new})
    assert message in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, staff.id).check_password(PASSWORD)


def test_wrong_current_password_is_refused(client, auth, staff):
    auth.login("zhangsan")
    page = client.post("/password", data={"current": "nope", "new": "NewPass123", "confirm": "NewPass123"})
    assert "当前密码不正确" in page.get_data(as_text=True)


def test_password_change_ends_the_other_sessions(app, staff):
    phone, desktop = app.test_client(), app.test_client()
    for device in (phone, desktop):
        device.post("/login", data={"username": "zhangsan", "password": PASSWORD})
        assert device.get("/").status_code == 200
    phone.post("/password", data={"current": PASSWORD, "new": "NewPass123", "confirm": "NewPass123"})
    assert phone.get("/").status_code == 200  # the device that changed it stays signed in
    assert desktop.get("/").status_code == 302  # the other one is signed out


def test_sign_in_starts_a_fresh_session(client, auth, staff):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login("zhangsan")
    with client.session_transaction() as session:
        assert "planted" not in session and session["_user_id"].startswith(f"{staff.id}:")


def test_logout_requires_post(client, auth, staff):
    auth.login("zhangsan")
    assert client.get("/logout").status_code == 405


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="5 per minute"
)
def test_failed_sign_ins_are_throttled_per_account_and_per_address(client, auth, staff, create_user):
    for _ in range(3):
        assert auth.login("zhangsan", "bad").status_code == 200
    assert auth.login("zhangsan").status_code == 429  # even the right password waits now
    assert "尝试次数过多" in auth.login("zhangsan").get_data(as_text=True)
    create_user("other", unit=staff.unit)
    assert auth.login("other", "bad").status_code == 200
    assert auth.login("other", "bad").status_code == 200  # the address's 5th failure
    assert auth.login("other").status_code == 429


@pytest.mark.app_config(RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
def test_successful_sign_ins_do_not_count(client, auth, staff):
    for _ in range(4):
        assert auth.login("zhangsan").status_code == 302
        auth.logout()


def test_csrf_is_required_on_every_form(app_config, staff):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    refused = client.post("/login", data={"username": "zhangsan", "password": PASSWORD})
    assert refused.status_code == 400 and "刷新页面" in refused.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    signed_in = client.post(
        "/login", data={"username": "zhangsan", "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302
    assert client.post("/logout").status_code == 400  # no token: still signed in
    assert client.get("/").status_code == 200


@pytest.mark.app_config(SECURE_COOKIES=True)
def test_session_cookie_flags(client, auth, staff):
    response = auth.login("zhangsan")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_security_headers(client):
    headers = client.get("/login").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_passwords_are_hashed(ctx, staff):
    stored = db.session.get(User, staff.id).password_hash
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_admin_password_reset_is_audited(ctx, staff):
    accounts.reset_password(db.session.get(User, staff.id), "Reset1234", must_change=True, min_length=8)
    db.session.commit()
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "user.reset_password"))
    assert entry.target_id == str(staff.id) and entry.after == {"must_change_password": True}
    assert db.session.get(User, staff.id).role == Role.STAFF


@pytest.mark.app_config(RATELIMIT_ENABLED=True, LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
def test_throttle_is_shared_by_app_processes_through_redis(app_config, staff):
    """Two app instances (as two gunicorn workers) count failures in one Redis."""
    import redis

    url = require_service("QUIZAPP_TEST_REDIS_URL", "Redis")
    redis.Redis.from_url(url).flushdb()
    config = {**app_config, "REDIS_URL": url, "RATELIMIT_STORAGE_URI": "memory://"}
    first, second = create_app(config).test_client(), create_app(config).test_client()
    assert create_app(config).config["RATELIMIT_STORAGE_URI"] == url
    for client in (first, second, first):
        assert client.post("/login", data={"username": "zhangsan", "password": "bad"}).status_code == 200
    assert second.post("/login", data={"username": "zhangsan", "password": PASSWORD}).status_code == 429
    # The counters live in Redis, where every process on every machine sees them.
    keys = [key.decode() for key in redis.Redis.from_url(url).keys("*")]
    assert any("login-account" in key and "zhangsan" in key for key in keys)
    redis.Redis.from_url(url).flushdb()


def test_session_endpoint_names_the_signed_in_user_and_nothing_more(client, auth, org_tree):
    response = client.get("/api/v1/session")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    auth.login("astaff")
    staff = org_tree["people"]["staff_a"]
    assert client.get("/api/v1/session").get_json() == {"id": staff.id, "username": "astaff", "role": "staff"}
