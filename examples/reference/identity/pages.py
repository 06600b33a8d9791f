"""identity's pages: sign up, log in (remember me), log out, the account, password change."""

from __future__ import annotations

import typing as t

from hermetic import Blueprint, flash, redirect, render_template, request, url_for
from hermetic.security import (
    current_user,
    fresh_login_required,
    login_required,
    login_user,
    logout_user,
    next_url,
    public,
)
from hermetic.security.auth import is_fresh
from hermetic.security.ratelimit import rate_limit

from .accounts import MIN_PASSWORD_LENGTH, AccountError, authenticate, change_password, create_user

if t.TYPE_CHECKING:  # pragma: no cover
    from hermetic import Flask

bp = Blueprint("pages", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    """Load users for the login manager."""
    from .accounts import load_user

    app.login_manager.user_loader(load_user)  # type: ignore[attr-defined]
    app.jinja_env.globals["min_password_length"] = MIN_PASSWORD_LENGTH


def _field(name: str) -> str:
    # Never cut: a value too long is refused with the reason (accounts.py).
    return request.form.get(name, "")


@bp.get("/")
@login_required
def account() -> str:
    return render_template("account.html")


@bp.route("/signup", methods=["GET", "POST"])
@public
@rate_limit("20/hour", key="ip", per_method=True)
def signup() -> t.Any:
    if request.method == "POST":
        try:
            user = create_user(_field("email"), _field("name"), _field("password"))
        except AccountError as e:
            flash(str(e), "error")
            return render_template("signup.html", email=_field("email"), name=_field("name")), 400
        login_user(user)
        flash("Welcome! Your account is ready.", "success")
        return redirect(next_url(fallback=url_for("pages.account")))
    return render_template("signup.html", email="", name="")


# --8<-- [start:login-view]
@bp.route("/login", methods=["GET", "POST"])
@public
@rate_limit("10/minute", key="ip", per_method=True)
def login() -> t.Any:
    if request.method == "POST":
        user = authenticate(_field("email"), _field("password"))
        if user is None:
            flash("Wrong e-mail address or password.", "error")
            return render_template("login.html", email=_field("email")), 401
        login_user(user, remember=request.form.get("remember") == "on")
        flash("You are signed in.", "success")
        return redirect(next_url(fallback=url_for("pages.account")))
    if current_user.is_authenticated and is_fresh():
        return redirect(next_url(fallback=url_for("pages.account")))
    return render_template("login.html", email="")


# --8<-- [end:login-view]


@bp.post("/logout")
@public
def logout() -> t.Any:
    if current_user.is_authenticated:
        logout_user()
        flash("You are signed out.", "success")
    return redirect(url_for("pages.login"))


# --8<-- [start:password-view]
@bp.route("/account/password", methods=["GET", "POST"])
@fresh_login_required
# --8<-- [end:password-view]
def password() -> t.Any:
    if request.method == "POST":
        new = _field("new_password")
        if new != _field("confirm_password"):
            flash("The two new passwords differ.", "error")
            return render_template("password.html"), 400
        try:
            change_password(current_user._get_current_object(), _field("current_password"), new)
        except AccountError as e:
            flash(str(e), "error")
            return render_template("password.html"), 400
        flash("Password changed. Every other session and app sign-in has ended.", "success")
        return redirect(url_for("pages.account"))
    return render_template("password.html")
