"""The push API (DESIGN.md §5): the server's public key and a browser's subscription. Residents
are anonymous, so these take no login; `api_view_public` still wants the app's header and our
own Origin."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.push import bp, keys, subscriptions
from webapp.sync.guard import api_error, api_view_public


def _caller():
    return current_user if current_user.is_authenticated else None


@bp.errorhandler(subscriptions.TopicRefused)
def _topic_refused(error: subscriptions.TopicRefused):
    db.session.rollback()
    return api_error(403, error.code, error.message)


@bp.get("/key")
def public_key():
    key = keys.public_key()
    if key is None:
        return api_error(503, "push_unavailable", _("Push messages are not set up here."))
    return jsonify(public_key=key)


@bp.post("/subscriptions")
@api_view_public
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
