from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.audit import record_audit
from webapp.auth import bp, services
from webapp.auth.forms import LoginForm
from webapp.auth.homes import home_url_for
from webapp.auth.session import revoke_login_session, start_login_session
from webapp.extensions import db, limiter
from webapp.i18n import LOCALE_COOKIE, SUPPORTED_LOCALES


def _typed_username() -> str:
    return "login:" + request.form.get("username", "").strip().lower()[:64]


def _login_failed(response) -> bool:
    # Only failures count against the limits: a worker who logs in and out all day is not throttled.
    return response.status_code != 303


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: `next=//evil.example` must not turn login into an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_login_failed
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USERNAME"],
    key_func=_typed_username,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_url_for(current_user), 303)
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            start_login_session(user)
            login_user(user)
            record_audit("login", actor=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or home_url_for(user), 303)
        record_audit("login_failed", actor_name=form.username.data.strip()[:64])
        db.session.commit()
        error = _("Wrong username or password.")
    return render_template("auth/login.html", form=form, error=error)


@bp.post("/logout")
def logout():
    # CSRFProtect has already checked the token of this POST.
    if current_user.is_authenticated:
        revoke_login_session(current_user.session_token)
        record_audit("logout", actor=current_user)
        db.session.commit()
        logout_user()
    return redirect(url_for("auth.login"), 303)


@bp.post("/locale")
def set_locale():
    chosen = request.form.get("locale", "")
    response = redirect(_safe_next(request.form.get("next")) or url_for("web.index"), 303)
    if chosen in SUPPORTED_LOCALES:
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax")
    return response
