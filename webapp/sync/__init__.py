"""The sync API v1 (DESIGN.md §5): JSON endpoints the outbox on the phone talks to."""

from flask import Blueprint

bp = Blueprint("sync", __name__, url_prefix="/api/v1")

from webapp.sync import views  # noqa: E402,F401
