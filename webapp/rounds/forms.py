"""Turning an HTML record form into the op a phone's outbox would send (DESIGN.md §5).

Field names in the forms are the payload's names, so this is a thin translation: lists from
repeated fields, booleans from checkboxes, a location from three hidden inputs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from webapp.ops import Op, parse_uuid

LIST_FIELDS = {"needs", "present_resident_ids", "photo_ids"}
BOOLEAN_FIELDS = {"resolved_on_site", "fixed_on_site"}
SCALAR_FIELDS = {
    "household_id",
    "resident_id",
    "building_id",
    "grid_id",
    "visited_at",
    "checked_at",
    "visit_kind",
    "notes",
    "place",
    "category",
    "summary",
    "severity",
    "mediation_notes",
    "method",
    "status",
    "health_notes",
    "living_notes",
    "description",
    "corrects",
}


def payload_from_form(form: MultiDict) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for field in SCALAR_FIELDS:
        value = form.get(field, "").strip()
        if value:
            payload[field] = value
    for field in LIST_FIELDS:
        values = [v for v in form.getlist(field) if v.strip()]
        if values:
            payload[field] = values
    for field in BOOLEAN_FIELDS:
        payload[field] = form.get(field) in ("on", "true", "1")
    if form.get("lat") and form.get("lng"):
        payload["location"] = {
            "lat": form.get("lat"),
            "lng": form.get("lng"),
            "accuracy_m": form.get("accuracy_m") or None,
        }
    names, roles = form.getlist("party_name"), form.getlist("party_role")
    parties = [
        {"name": name.strip(), "role": role or "other"}
        for name, role in zip(names, roles, strict=False)
        if name.strip()
    ]
    if parties:
        payload["parties"] = parties
    return payload


def op_from_form(kind: str, form: MultiDict, *, client_time: datetime | None = None) -> Op:
    """The form's `record_id` is made in the browser at submit time; a browser without script
    gets one here (a double submit may then make two records, which the outbox prevents)."""
    record_id = form.get("record_id", "").strip()
    return Op(
        op_id=uuid.uuid4(),
        type=f"{kind}.create",
        record_id=parse_uuid(record_id) if record_id else uuid.uuid4(),
        payload=payload_from_form(form),
        client_time=client_time,
    )
