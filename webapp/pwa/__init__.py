"""The installable, offline-first shell (DESIGN.md §5): the service worker at `/sw.js`, the offline
and outbox pages, and the list of pages a worker downloads to work without signal."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)

from webapp.pwa import views  # noqa: E402,F401
