"""Household and resident profile edits, and search. Edits build the same `household.update` /
`resident.update` ops the outbox sends, with the version the worker saw."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.auth.scope import current_scope, get_scoped_or_404, role_required
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.models import EDITABLE_CARE_FLAGS, Household, Resident
from webapp.ops import Conflict, Invalid, Op
from webapp.privacy import current_viewer
from webapp.rounds import bp, pages, profiles, services
from webapp.rounds.views import FIELD_VIEWERS


def _changes_from_form(row, text_fields: tuple[str, ...], flag_fields: tuple[str, ...]) -> dict:
    """Only what the worker actually changed: a blank phone box means "leave as it is"."""
    form = request.form
    changes: dict = {}
    for field in text_fields:
        value = form.get(field, "").strip()
        if field in ("phone", "contact_phone"):
            if form.get(f"clear_{field}"):
                changes[field] = ""
            elif value:
                changes[field] = value
        elif field in form and value != (getattr(row, field) or ""):
            changes[field] = value
    for field in flag_fields:
        wanted = form.get(field) == "on"
        if wanted != getattr(row, field):
            changes[field] = wanted
    return changes


def _base_version() -> int | None:
    try:
        return int(request.form.get("base_version", ""))
    except ValueError:
        return None


def _edit(kind: str, row, text_fields, flag_fields, service, snapshot, template: str, **context):
    if request.method == "GET":
        return render_template(template, errors={}, **context)
    changes = _changes_from_form(row, text_fields, flag_fields)
    if not changes:
        flash(_("Nothing changed."), "info")
        return redirect(context["back"], 303)
    op = Op(
        op_id=uuid.uuid4(),
        type=f"{kind}.update",
        record_id=row.id,
        base_version=_base_version(),
        payload={f"{kind}_id": row.id, "changes": changes},
    )
    try:
        service(current_user, op)
    except Invalid as error:
        db.session.rollback()
        return render_template(template, errors=error.errors, **context), 422
    except Conflict as conflict:
        db.session.rollback()
        mine = {field: snapshot_value(field, value) for field, value in changes.items()}
        return (
            render_template(
                "rounds/profile_conflict.html",
                conflict=conflict,
                mine=mine,
                current=conflict.current,
                back=context["back"],
                edit_url=request.path,
            ),
            409,
        )
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(context["back"], 303)


def snapshot_value(field: str, value):
    """The worker's own new value, shown beside the server's: phones masked like everything."""
    from webapp.masking import mask_phone

    return mask_phone(value) if field in ("phone", "contact_phone") else value


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def edit_household(household_id: int):
    household = get_scoped_or_404(Household, household_id)
    back = url_for("rounds.household_page", household_id=household.id)
    return _edit(
        "household",
        household,
        ("contact_phone", "occupancy", "notes"),
        (),
        profiles.update_household,
        profiles.household_snapshot,
        "rounds/edit_household.html",
        back=back,
        vm=pages.edit_household_vm(household, back),
    )


@bp.route("/residents/<int:resident_id>/edit", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def edit_resident(resident_id: int):
    resident = get_scoped_or_404(Resident, resident_id)
    back = url_for("rounds.household_page", household_id=resident.household_id)
    return _edit(
        "resident",
        resident,
        ("phone", "notes"),
        (*EDITABLE_CARE_FLAGS, "moved_out"),
        profiles.update_resident,
        profiles.resident_snapshot,
        "rounds/edit_resident.html",
        back=back,
        flags=EDITABLE_CARE_FLAGS,
        vm=pages.edit_resident_vm(resident, back, local_today()),
    )


@bp.route("/search", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def search():
    """Search by address, name or phone. POST, so names and phone numbers never sit in URLs,
    browser history or server logs."""
    query = request.form.get("q", "").strip() if request.method == "POST" else ""
    households, residents = services.search_grid(current_scope(), query, viewer=current_viewer())
    return render_template("rounds/search.html", vm=pages.search_vm(query, households, residents))
