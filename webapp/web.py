"""App-wide pages and helpers: the landing redirect, /healthz, error pages, template filters."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import text

from webapp.auth.forms import LogoutForm
from webapp.auth.homes import home_url_for, nav_links
from webapp.extensions import db
from webapp.masking import mask_id_number, mask_name, mask_phone
from webapp.models import Role
from webapp.ops import Conflict, DomainError, Invalid, OutOfScope
from webapp.outages import redis_status
from webapp.privacy import current_viewer

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user), 303)
    return redirect(url_for("auth.login"), 303)


@bp.get("/no-role")
def no_role():
    return render_template("errors/no_role.html"), 403


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico whatever the page says; answer with the app icon, not a 404.
    return redirect(url_for("static", filename="icons/icon.svg"), 301)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not ready" to a load balancer
        db.session.rollback()
        body, code = {"status": "error", "database": "unavailable"}, 503
    else:
        body, code = {"status": "ok", "database": "ok"}, 200
    # Redis only holds login counters, which fall back to memory: still 200 while it is down,
    # but "degraded", so monitors see it (limits are per process until it is back).
    if (redis := redis_status()) is not None:
        body["redis"] = redis
        if redis == "down" and code == 200:
            body["status"] = "degraded"
    return jsonify(body), code


def _error_page(code: int):
    def handler(error):
        # A 405 names the methods that would work (RFC 9110 requires `Allow`).
        allowed = getattr(error, "valid_methods", None) or []
        headers = {"Allow": ", ".join(sorted(allowed))} if code == 405 and allowed else {}
        if request.path.startswith("/api/"):
            return (
                jsonify(error={"code": str(code), "message": getattr(error, "description", "")}),
                code,
                headers,
            )
        return render_template("errors/error.html", code=code), code, headers

    return handler


def _domain_error(status: int):
    """Fallback mapping of service errors to HTTP, for views that do not handle them themselves
    (form views catch `Invalid` to re-render the form with every field's message)."""

    def handler(error: DomainError):
        db.session.rollback()
        if request.path.startswith("/api/"):
            body = {"code": error.code, "message": error.message}
            if isinstance(error, Invalid):
                body["fields"] = error.errors
            return jsonify(error=body), status
        if isinstance(error, OutOfScope):
            return render_template("errors/error.html", code=404), 404
        return render_template("errors/domain_error.html", error=error), status

    return handler


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(Invalid, _domain_error(422))
    app.register_error_handler(OutOfScope, _domain_error(404))
    app.register_error_handler(Conflict, _domain_error(409))
    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page(code))

    app.add_template_filter(mask_name, "mask_name")
    app.add_template_filter(mask_phone, "mask_phone")
    app.add_template_filter(mask_id_number, "mask_id")
    # The masking table for this viewer (webapp/privacy.py): `viewer().name(resident)` etc.
    app.add_template_global(current_viewer, "viewer")

    @app.context_processor
    def _layout_helpers() -> dict:
        helpers: dict = {"Role": Role}
        if current_user and current_user.is_authenticated:
            helpers["role_links"] = nav_links(current_user)
            helpers["logout_form"] = LogoutForm()
        return helpers
