"""The sync API's door rules (DESIGN.md §5, §7), applied by `api_view` to every endpoint.

The API takes the session cookie but not Flask-WTF's CSRF token: an op written offline may be
sent days later, long after any token the page held. A custom header (which a cross-site form
or a "simple" request cannot carry without a CORS preflight, and we answer none) together with
refusing a foreign `Origin` stands in for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import csrf

CLIENT_HEADER = "X-GridRounds-Client"
CLIENT_HEADER_VALUE = "1"


def api_error(status: int, code: str, message: str):
    return jsonify(error={"code": code, "message": message}), status


def _is_same_origin(origin: str) -> bool:
    # Browsers send scheme://host[:port] with the default port left out, as Host does.
    own = f"{request.scheme}://{request.host}"
    return origin.rstrip("/").lower() == own.lower()


def _door_refusal():
    """The client header (400) and same-origin (403) checks every API call passes first."""
    if request.headers.get(CLIENT_HEADER) != CLIENT_HEADER_VALUE:
        return api_error(
            400,
            "missing_client_header",
            _("This address is for the GridRounds app only."),
        )
    origin = request.headers.get("Origin")
    if origin is not None and not _is_same_origin(origin):
        return api_error(403, "cross_origin", _("Requests from other websites are refused."))
    return None


def api_view(view: Callable) -> Callable:
    """Client header (400), same origin (403), signed in (401 JSON, never a redirect: the outbox
    would take a login page for success), in that order; exempt from the CSRF token."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if (refusal := _door_refusal()) is not None:
            return refusal
        if not current_user.is_authenticated:
            return api_error(401, "unauthenticated", _("Please log in again."))
        return view(*args, **kwargs)

    # Flask-WTF matches exemptions by module and name, which `wraps` carried over.
    csrf.exempt(guarded)
    return guarded


def api_view_public(view: Callable) -> Callable:
    """`api_view` for the few calls anonymous residents make (push subscriptions): the same
    client header and Origin checks, no login required; the view decides what the anonymous
    may do."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if (refusal := _door_refusal()) is not None:
            return refusal
        return view(*args, **kwargs)

    csrf.exempt(guarded)
    return guarded
