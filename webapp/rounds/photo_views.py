"""Serving stored photos to the users who may see them (DESIGN.md §7).

Registered on the rounds blueprint: photos are shown inside record pages, as `<img>` sources,
so an anonymous visitor is sent to the login page like on any other page.
"""

from __future__ import annotations

import uuid

from flask import abort
from flask_login import current_user, login_required

from webapp.audit import record_audit
from webapp.auth.scope import current_scope
from webapp.extensions import db
from webapp.models.records import Attachment
from webapp.rounds import bp, photos


@bp.get("/attachments/<uuid:attachment_id>")
@login_required
def photo(attachment_id: uuid.UUID):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    if not photos.can_view(current_user, attachment, current_scope()):
        record_audit(
            "access_denied", actor=current_user, target_type="attachments", target_id=attachment_id
        )
        db.session.commit()
        abort(404)
    response = photos.send_photo(attachment.storage_name, attachment.sha256)
    # No Cache-Control here: a resident's photo is an authenticated answer, kept by no cache
    # (webapp/security.py sets no-store), so it does not outlive logout on a shared phone.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
