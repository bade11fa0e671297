"""The reveal button's endpoint: thin; the rule is webapp/rounds/reveal.py."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_login import current_user

from webapp.auth.scope import get_scoped_or_404, role_required
from webapp.extensions import db, limiter
from webapp.models import Resident
from webapp.ops import Invalid
from webapp.privacy import REVEAL_FIELDS, current_viewer
from webapp.rounds import bp
from webapp.rounds.reveal import RevealRefused, reveal_value
from webapp.rounds.views import FIELD_VIEWERS


def _reveal_limit() -> str:
    return current_app.config["REVEAL_LIMIT"]


def _per_user() -> str:
    return f"reveal:{current_user.get_id()}"


@bp.post("/residents/<int:resident_id>/reveal")
@role_required(*FIELD_VIEWERS)
@limiter.limit(_reveal_limit, key_func=_per_user)
def reveal(resident_id: int):
    """Swap one masked value for the full one (htmx), with a reason; audited."""
    resident = get_scoped_or_404(Resident, resident_id)
    field = request.form.get("field", "")
    if field not in REVEAL_FIELDS:
        abort(400)
    fragment = bool(request.headers.get("HX-Request"))
    template = "rounds/_revealed.html" if fragment else "rounds/revealed.html"
    try:
        value = reveal_value(
            current_user, current_viewer(), resident, field, request.form.get("reason", "")
        )
    except Invalid as invalid:
        db.session.rollback()
        # htmx swaps only 2xx answers: the fragment carries the form again with the message.
        status = 200 if fragment else 400
        page = render_template(template, resident=resident, field=field, errors=invalid.errors)
        return page, status
    except RevealRefused:
        db.session.commit()  # the refusal's audit row
        abort(403)
    db.session.commit()
    return render_template(template, resident=resident, field=field, value=value, errors={})
