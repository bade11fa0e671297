"""Sync API endpoints. Thin: each translates HTTP to a service call and the result back."""

from __future__ import annotations

import uuid

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models.records import Attachment
from webapp.ops import Invalid
from webapp.rounds import photos
from webapp.sync import bp
from webapp.sync.guard import api_view


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
