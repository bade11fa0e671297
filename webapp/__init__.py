"""GridRounds (网格通): the application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from webapp import gc_tuning, static_files
from webapp.config import load_config
from webapp.extensions import csrf, db, limiter, migrate
from webapp.jsonsafe import BoundedIntConverter, StrictJSONProvider

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    static_fingerprint = static_files.static_fingerprint(PROJECT_ROOT / "static")
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        # Fingerprinted static URLs, cached for a year (webapp/static_files.py).
        static_url_path=f"/static/{static_fingerprint}",
    )
    # An id past 2^63 in a URL is a 404, not a database error (<int:…> has no bound of its own).
    app.url_map.converters["int"] = BoundedIntConverter
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    static_files.init_app(app, static_fingerprint)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)

    from webapp import i18n, labels, outages, security, web
    from webapp.auth import session as auth_session

    i18n.init_app(app)
    labels.init_app(app)
    auth_session.init_app(app)
    security.init_app(app)
    outages.init_app(app)
    web.init_app(app)

    from webapp.admin import bp as admin_bp
    from webapp.alerts import bp as alerts_bp
    from webapp.alerts import views as alerts_views
    from webapp.auth import bp as auth_bp
    from webapp.cases import bp as cases_bp
    from webapp.notices import bp as notices_bp
    from webapp.public import bp as public_bp
    from webapp.push import bp as push_bp
    from webapp.pwa import bp as pwa_bp
    from webapp.reports import bp as reports_bp
    from webapp.residents import bp as residents_bp
    from webapp.rounds import bp as rounds_bp
    from webapp.sync import bp as sync_bp

    for blueprint in (
        auth_bp,
        rounds_bp,
        cases_bp,
        reports_bp,
        admin_bp,
        sync_bp,
        pwa_bp,
        alerts_bp,
        notices_bp,
        public_bp,
        push_bp,
        residents_bp,
    ):
        app.register_blueprint(blueprint)
    alerts_views.init_app(app)

    from webapp.notify import register_channel
    from webapp.push.queue import WebPushChannel

    register_channel(WebPushChannel())

    from webapp.cli import register_commands

    if app.config.get("PUSH_SENDER_THREAD") and not app.config.get("TESTING"):
        from webapp.push.background import start_sender_thread

        start_sender_thread(app)
    register_commands(app)
    gc_tuning.tune_once(gc_tuning.parse_threshold(os.environ.get("GC_THRESHOLD")))
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL for concurrent readers, FULL sync so an acknowledged op survives power loss, and a busy
    timeout so two writers queue instead of failing (DESIGN.md §8)."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
