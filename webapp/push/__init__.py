"""Web Push (DESIGN.md §6): VAPID keys, browser subscriptions, an outbox of messages and the
sender that drains it. Best-effort: Chrome's push goes through Google, blocked in mainland China,
so the in-app notifications stay the channel that always works."""

from flask import Blueprint

bp = Blueprint("push", __name__, url_prefix="/api/v1/push")

from webapp.push import views  # noqa: E402,F401
