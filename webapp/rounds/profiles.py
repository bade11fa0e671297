"""Household and resident profile edits: the only mutable field data (DESIGN.md §3).

An edit names the `base_version` the worker saw. If the row has moved on since, the edit is refused
with the server's current copy, so the worker sees both values and decides; nothing is silently
overwritten. Ops: `household.update` / `resident.update`, payload
`{"household_id" | "resident_id", "changes": {field: value}}`.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from webapp.auth.scope import compute_scope, scoped
from webapp.changes import bump
from webapp.extensions import db
from webapp.models import EDITABLE_CARE_FLAGS, Household, Occupancy, Resident, User
from webapp.ops import Conflict, Invalid, Op, OutOfScope
from webapp.privacy import current_viewer

PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{7,8})$")
OCCUPANCIES = tuple(o.value for o in Occupancy)

HOUSEHOLD_FIELDS = ("contact_phone", "occupancy", "notes")
RESIDENT_FIELDS = ("phone", *EDITABLE_CARE_FLAGS, "moved_out", "notes")


def household_snapshot(household: Household) -> dict[str, Any]:
    """The editable fields as they may travel to a phone: phones as the masking table shows
    them to this viewer (webapp/privacy.py), free-text notes left out (they may hold health or
    family details; the edit page on the server shows them)."""
    return {
        "household_id": household.id,
        "version": household.version,
        "contact_phone": current_viewer().phone(household, "contact_phone"),
        "occupancy": household.occupancy,
    }


def resident_snapshot(resident: Resident) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resident_id": resident.id,
        "version": resident.version,
        "name": current_viewer().name(resident),
        "phone": current_viewer().phone(resident),
        "moved_out": resident.moved_out,
    }
    data.update({flag: getattr(resident, flag) for flag in EDITABLE_CARE_FLAGS})
    return data


def _clean_changes(changes: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(changes, dict) or not changes:
        raise Invalid({"changes": _("Say what changed.")})
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in allowed:
            errors[field] = _("This field cannot be edited here.")
        elif field in ("phone", "contact_phone"):
            value = re.sub(r"[\s()]", "", str(value or ""))
            if value and not PHONE_PATTERN.match(value):
                errors[field] = _("Enter an 11-digit mobile number or a landline number.")
            clean[field] = value
        elif field == "occupancy":
            if value not in OCCUPANCIES:
                errors[field] = _("Not one of the allowed choices.")
            clean[field] = value
        elif field == "notes":
            value = str(value or "").strip()
            if len(value) > 2000:
                errors[field] = _("At most %(n)d characters.", n=2000)
            clean[field] = value
        else:  # care flags and moved_out
            if not isinstance(value, bool):
                errors[field] = _("Must be yes or no.")
            clean[field] = value
    if errors:
        raise Invalid(errors)
    return clean


def _apply(row: Household | Resident, op: Op, allowed: tuple[str, ...], snapshot) -> None:
    changes = _clean_changes((op.payload or {}).get("changes"), allowed)
    if op.base_version is None:
        raise Invalid({"base_version": _("This field is required.")})
    # Writers do not queue behind one another (webapp/changes.py): lock the row and compare with
    # its committed version, or two edits of the same version could both be applied.
    db.session.refresh(row, with_for_update=True)
    if op.base_version != row.version:
        raise Conflict(
            _("Someone changed this profile after you opened it. Compare and try again."),
            current=snapshot(row),
        )
    for field, value in changes.items():
        setattr(row, field, value)
    row.version += 1
    bump(row)


def update_household(actor: User, op: Op) -> Household:
    household_id = (op.payload or {}).get("household_id", op.record_id)
    household = db.session.scalar(
        scoped(Household, scope=compute_scope(actor)).where(Household.id == _int(household_id))
    )
    if household is None:
        raise OutOfScope(_("This household does not exist or is not in your grids."))
    _apply(household, op, HOUSEHOLD_FIELDS, household_snapshot)
    return household


def update_resident(actor: User, op: Op) -> Resident:
    resident_id = (op.payload or {}).get("resident_id", op.record_id)
    resident = db.session.scalar(
        scoped(Resident, scope=compute_scope(actor)).where(Resident.id == _int(resident_id))
    )
    if resident is None:
        raise OutOfScope(_("This resident does not exist or is not in your grids."))
    changes = (op.payload or {}).get("changes")
    if isinstance(changes, dict) and "moved_out" in changes and resident.status == "deceased":
        raise Invalid({"moved_out": _("This resident is recorded as deceased.")})
    _apply(resident, op, RESIDENT_FIELDS, resident_snapshot)
    # The moved-out tick and the register status say the same thing (webapp/rounds/registers.py).
    if resident.status != "deceased":
        resident.status = "moved_out" if resident.moved_out else "active"
        if not resident.moved_out:
            resident.left_on = None
    return resident


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid({"record_id": _("Must be a whole number.")}) from None
