"""When a service the app leans on is down: the database answers 503 with Retry-After (the
phone's outbox keeps its ops and tries again; a 500 would read as a bug), and /healthz says
which part is down."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webapp.extensions import db, login_manager

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
REDIS_PING_TIMEOUT = 0.5


def _database_unavailable(error: Exception):
    log.warning("database unavailable: %s", str(error).splitlines()[0][:300])
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; there is nothing to roll back on it
        db.session.close()
    # Who is signed in cannot be known without the database: answer as to an anonymous caller,
    # so choosing the language does not ask the database again.
    g._login_user = login_manager.anonymous_user()
    message = _("The server cannot reach its database just now. Nothing was lost; try again soon.")
    if request.path.startswith("/api/"):
        response = jsonify(error={"code": "unavailable", "message": message})
    else:
        response = current_app.make_response(
            render_template("errors/unavailable.html", message=message)
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def redis_status() -> str | None:
    """ "ok" or "down" when REDIS_URL is configured; None when the app runs without Redis."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_PING_TIMEOUT, socket_timeout=REDIS_PING_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return "down"
    return "ok"


def init_app(app: Flask) -> None:
    for error in (OperationalError, InterfaceError, PoolTimeout):
        app.register_error_handler(error, _database_unavailable)
