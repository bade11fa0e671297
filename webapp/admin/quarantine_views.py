"""待审核的离线操作: quarantined ops for community staff (their community) and admin, with
apply and discard. Rules and the reasons behind them: webapp/sync/review.py."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.admin import bp
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.extensions import db
from webapp.sync import review


def _list_page(error: str | None = None):
    page = render_template("admin/quarantine.html", held=review.held_ops(current_user), error=error)
    return (page, 422) if error else page


@bp.get("/quarantine")
@role_required(*review.REVIEWER_ROLES)
def quarantine_page():
    return _list_page()


@bp.post("/quarantine/<uuid:op_id>/<verdict>")
@role_required(*review.REVIEWER_ROLES)
def quarantine_review(op_id: uuid.UUID, verdict: str):
    actions = {"apply": review.apply_held, "discard": review.discard_held}
    if verdict not in actions:
        abort(404)
    try:
        actions[verdict](current_user, op_id)
    except review.NotReviewable:
        db.session.rollback()
        record_audit("access_denied", actor=current_user, target_type="sync_op", target_id=op_id)
        db.session.commit()
        abort(404)
    except review.ReviewError as problem:
        db.session.rollback()
        return _list_page(str(problem))
    db.session.commit()
    flash(_("Applied.") if verdict == "apply" else _("Discarded."), "success")
    return redirect(url_for("admin.quarantine_page"), 303)
