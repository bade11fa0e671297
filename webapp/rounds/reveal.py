"""Reveal: showing one masked value of a resident in full is its own online action (DESIGN.md §7).

Who may reveal what is `webapp.privacy.REVEALABLE`; a reason is required; every reveal, and
every refused one, writes an audit row (who, which field, which resident, why). The rate limit
is on the view (Flask-Limiter), so a curious colleague cannot page through a register this way.
"""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.audit import record_audit
from webapp.models import Resident, User
from webapp.ops import Invalid
from webapp.privacy import REVEAL_FIELDS, Viewer

REASON_MAX = 200


class RevealRefused(Exception):
    """The viewer's relation to the resident does not allow revealing this field."""


def reveal_value(actor: User, viewer: Viewer, resident: Resident, field: str, reason: str) -> str:
    """The full value of `field` of `resident`, audited. Raises Invalid or RevealRefused.
    The caller has already loaded `resident` through the scope (404 outside it)."""
    reason = " ".join((reason or "").split())
    errors: dict[str, str] = {}
    if field not in REVEAL_FIELDS:
        errors["field"] = _("This value cannot be revealed.")
    if not reason:
        errors["reason"] = _("Say why you need the full value.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("At most %(n)d characters.", n=REASON_MAX)
    if errors:
        raise Invalid(errors)
    if not viewer.may_reveal(field, resident.grid_id):
        record_audit(
            "reveal_denied",
            actor=actor,
            target_type="residents",
            target_id=resident.id,
            field=field,
            reason=reason,
            relation=str(viewer.relation(resident.grid_id)),
        )
        raise RevealRefused(field)
    record_audit(
        "reveal",
        actor=actor,
        target_type="residents",
        target_id=resident.id,
        field=field,
        reason=reason,
        relation=str(viewer.relation(resident.grid_id)),
    )
    return str(getattr(resident, field) or "")
