"""The push API (DESIGN.md §5): the server's public key and a browser's subscription. Residents
are anonymous, so these take no login; `api_view_public` still wants the app's header and our
own Origin."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db, limiter
from webapp.push import bp, keys, subscriptions
from webapp.push.endpoints import EndpointRefused
from webapp.sync.guard import api_error, api_view_public


def _caller():
    return current_user if current_user.is_authenticated else None


@bp.errorhandler(subscriptions.TopicRefused)
def _topic_refused(error: subscriptions.TopicRefused):
    db.session.rollback()
    return api_error(403, error.code, error.message)


@bp.errorhandler(EndpointRefused)
def _endpoint_refused(error: EndpointRefused):
    db.session.rollback()
    return api_error(400, error.code, error.message)


@bp.errorhandler(429)
def _too_many(error):
    return api_error(
        429, "rate_limited", _("Too many subscriptions from this address. Try again later.")
    )


def _signed_in() -> bool:
    return current_user.is_authenticated


@bp.get("/key")
def public_key():
    key = keys.public_key()
    if key is None:
        return api_error(503, "push_unavailable", _("Push messages are not set up here."))
    return jsonify(public_key=key)


@bp.post("/subscriptions")
@api_view_public
# Anonymous callers make rows (and later outgoing POSTs) for nothing: a few per address.
@limiter.limit(
    lambda: current_app.config.get("PUSH_SUBSCRIBE_LIMIT", "30 per hour"),
    exempt_when=_signed_in,
)
def subscribe():
    subscription, created = subscriptions.subscribe(_caller(), request.get_json(silent=True))
    db.session.commit()
    return jsonify(topics=subscription.topics), 201 if created else 200


@bp.delete("/subscriptions")
@api_view_public
def unsubscribe():
    subscriptions.unsubscribe(_caller(), request.get_json(silent=True))
    db.session.commit()
    return "", 204
