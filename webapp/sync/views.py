"""Sync API endpoints. Thin: each translates HTTP to a service call and the result back."""

from __future__ import annotations

import gzip
import uuid

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.jsonsafe import strict_dumps
from webapp.models.records import Attachment
from webapp.ops import Invalid
from webapp.rounds import photos
from webapp.sync import bp
from webapp.sync.cursor import BadCursor
from webapp.sync.guard import api_error, api_view
from webapp.sync.openapi import openapi_document
from webapp.sync.pull import DEFAULT_LIMIT, MAX_LIMIT, pull_changes
from webapp.sync.push import PushRefused, push_ops, read_push_body
from webapp.sync.services import me_payload

GZIP_LEVEL = 6


def _attachment_json(attachment: Attachment) -> dict:
    return {
        "id": str(attachment.id),
        "content_type": attachment.content_type,
        "width": attachment.width,
        "height": attachment.height,
        "byte_size": attachment.byte_size,
        "url": url_for("rounds.photo", attachment_id=attachment.id),
    }


def _grid_id_argument() -> int | None:
    raw = request.args.get("grid_id", "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid({"grid_id": _("This grid is not one of yours.")}) from None


@bp.put("/attachments/<uuid:attachment_id>")
@api_view
def put_attachment(attachment_id: uuid.UUID):
    """Upload a photo under a client-made id: 201 the first time, 200 with the same body after."""
    attachment = photos.store_photo(
        current_user,
        attachment_id,
        request.get_data(cache=False),
        request.headers.get("Content-Type", ""),
        grid_id=_grid_id_argument(),
    )
    created = inspect(attachment).pending
    try:
        db.session.commit()
    except IntegrityError:
        # Two tries of the same upload raced and the other committed first; its row is the
        # answer (the rollback removes our file). Another user's row is refused as usual.
        db.session.rollback()
        if db.session.get(Attachment, attachment_id) is None:
            raise
        attachment = photos.store_photo(current_user, attachment_id, b"", "")
        created = False
    body = _attachment_json(attachment)
    if created:
        return jsonify(body), 201, {"Location": body["url"]}
    return jsonify(body), 200


@bp.post("/sync/push")
@api_view
def push():
    """Apply a batch of ops; one result per op, in order, sent only after the commit."""
    try:
        device_id, ops = read_push_body(request)
        results = push_ops(current_user, device_id, ops)
    except PushRefused as refused:
        response, status = api_error(refused.status, refused.code, refused.message)
        if status == 503:
            response.headers["Retry-After"] = "2"
        return response, status
    return jsonify(results=results)


@bp.get("/sync/pull")
@api_view
def pull():
    """One page of everything in scope (empty cursor) or of what changed since the cursor."""
    raw_limit = request.args.get("limit", "").strip()
    if raw_limit and not (raw_limit.isascii() and raw_limit.isdigit() and int(raw_limit) >= 1):
        # The spec says minimum 1: zero would page forever without moving the cursor.
        return api_error(400, "bad_request", _("limit must be a whole number from 1 up."))
    limit = min(int(raw_limit or DEFAULT_LIMIT), MAX_LIMIT)
    try:
        body = pull_changes(current_user, request.args.get("cursor", ""), limit)
    except BadCursor:
        return api_error(
            400,
            "bad_cursor",
            _("This sync position is no longer valid. The app will download your grids again."),
        )
    return _json_response(body, compress=True)


@bp.get("/me")
@api_view
def me():
    return jsonify(me_payload(current_user))


@bp.get("/openapi.json")
@api_view
def openapi():
    return jsonify(openapi_document())


def _json_response(body: dict, *, compress: bool = False) -> Response:
    data = strict_dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = Response(data, mimetype="application/json")
    if compress:
        response.vary.add("Accept-Encoding")
        if request.accept_encodings["gzip"] > 0:
            response.set_data(gzip.compress(data, compresslevel=GZIP_LEVEL))
            response.headers["Content-Encoding"] = "gzip"
    return response


@bp.after_request
def _never_cache(response: Response) -> Response:
    # Personal data: no shared cache, and the service worker does not keep API answers.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
