from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import limiter
from ..models import Role
from ..services import accounts
from ..web import safe_next, sign_in, sign_out, transaction
from . import bp
from .forms import ChangePasswordForm, LoginForm


def landing() -> str:
    """Where a signed-in person starts: admins and unit admins on the admin home (they come to
    manage; their own 日日学 stays one tab away, 首页), staff on the learner home."""
    if current_user.role in (Role.ADMIN, Role.UNIT_ADMIN):
        return url_for("admin.home")
    return url_for("learn.home")


def _account_key() -> str:
    return "login-account:" + request.form.get("username", "").strip().lower()


def _failed(response) -> bool:
    """Only failed sign-ins count towards the limits (a success redirects)."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_failed,
    scope="login-account",
)
def login():
    if current_user.is_authenticated:
        return redirect(landing())
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is None:
            flash("登录名或密码不正确", "danger")
            return render_template("auth/login.html", form=form), 200
        next_url = safe_next(request.args.get("next"))
        with transaction():
            sign_in(user)  # a fresh session (and CSRF token) at every sign-in
        if user.must_change_password:  # the page itself says why (once)
            return redirect(url_for("auth.change_password"))
        return redirect(next_url or landing())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    with transaction():
        sign_out()
    flash("您已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with transaction("密码已修改") as done:
            accounts.change_own_password(
                current_user,
                form.current.data,
                form.new.data,
                min_length=current_app.config["PASSWORD_MIN_LENGTH"],
            )
            sign_in(current_user._get_current_object())  # the old session ended with the version
        if done.ok:
            return redirect(landing())
    return render_template(
        "auth/password.html", form=form, min_length=current_app.config["PASSWORD_MIN_LENGTH"]
    )
