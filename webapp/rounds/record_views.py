"""Record forms and record pages. Posting a form makes the same op the outbox would send and
hands it to the same service (DESIGN.md §5, one write path)."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from webapp.auth.scope import current_scope, get_scoped_or_404, role_required
from webapp.extensions import db
from webapp.i18n import local_now
from webapp.models import Building, Grid, Household, RecordKind, Resident
from webapp.ops import Invalid
from webapp.rounds import bp, pages, records
from webapp.rounds import services as browse
from webapp.rounds.forms import op_from_form
from webapp.rounds.photos import store_uploaded_files
from webapp.rounds.views import FIELD_VIEWERS

RECORD_WRITERS = (*FIELD_VIEWERS,)
HOUSEHOLD_KINDS = ("visit", "dispute", "hazard")
PLACE_KINDS = ("dispute", "hazard")


def _context_for(values: dict) -> dict:
    """The household / resident / building / grid a form is about, all scope-checked."""
    context: dict = {}
    if values.get("resident_id"):
        resident = get_scoped_or_404(Resident, _int(values["resident_id"]))
        context.update(resident=resident, household=resident.household)
    if values.get("household_id"):
        context["household"] = get_scoped_or_404(Household, _int(values["household_id"]))
    if values.get("building_id"):
        context["building"] = get_scoped_or_404(Building, _int(values["building_id"]))
    if values.get("grid_id"):
        context["grid"] = get_scoped_or_404(Grid, _int(values["grid_id"]))
    household = context.get("household")
    if household is not None:
        context.setdefault("building", household.building)
        context["members"] = browse.residents_of(household)
    return context


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        abort(404)


def _render_form(kind: str, values: dict, errors: dict | None = None, status: int = 200):
    values.setdefault("now", local_now().strftime("%Y-%m-%dT%H:%M"))
    return (
        render_template(
            "rounds/record_form.html",
            kind=kind,
            values=values,
            errors=errors or {},
            vm=pages.form_vm(values, **_context_for(values)),
        ),
        status,
    )


@bp.get("/households/<int:household_id>/new/<kind>")
@role_required(*RECORD_WRITERS)
def new_household_record(household_id: int, kind: str):
    if kind not in HOUSEHOLD_KINDS:
        abort(404)
    household = get_scoped_or_404(Household, household_id)
    values = {"household_id": str(household.id)}
    if kind == "hazard":
        values = {"building_id": str(household.building_id), "household_id": str(household.id)}
    return _render_form(kind, values)


@bp.get("/residents/<int:resident_id>/check")
@role_required(*RECORD_WRITERS)
def new_elderly_check(resident_id: int):
    resident = get_scoped_or_404(Resident, resident_id)
    return _render_form("elderly_check", {"resident_id": str(resident.id)})


@bp.get("/buildings/<int:building_id>/new/<kind>")
@role_required(*RECORD_WRITERS)
def new_building_record(building_id: int, kind: str):
    """A hazard in a building's common parts (stairwell, basement), from its page or the grid's."""
    if kind != "hazard":
        abort(404)
    building = get_scoped_or_404(Building, building_id)
    return _render_form(kind, {"building_id": str(building.id)})


@bp.get("/grids/<int:grid_id>/new/<kind>")
@role_required(*RECORD_WRITERS)
def new_place_record(grid_id: int, kind: str):
    if kind not in PLACE_KINDS:
        abort(404)
    grid = get_scoped_or_404(Grid, grid_id)
    return _render_form(kind, {"grid_id": str(grid.id)})


@bp.post("/records/<kind>")
@role_required(*RECORD_WRITERS)
def create_record(kind: str):
    if kind not in {k.value for k in RecordKind}:
        abort(404)
    form = request.form
    values = form.to_dict()
    # A hazard logged from a household page names the building; the household only says where
    # to return to.
    return_household = values.get("household_id") if kind == "hazard" else None
    op_form = form.copy()
    if return_household:
        op_form.pop("household_id")
    values["needs"] = form.getlist("needs")
    values["present_resident_ids"] = form.getlist("present_resident_ids")
    values["photo_ids"] = form.getlist("photo_ids")
    try:
        # Photos are stored first and committed even when the record is refused, so a worker
        # who fixes one field does not have to take the pictures again (the form keeps the ids).
        new_photo_ids = store_uploaded_files(current_user, request.files.getlist("photos"), None)
        db.session.commit()
    except Invalid as error:
        db.session.rollback()
        return _render_form(kind, values, error.errors, status=422)
    for photo_id in new_photo_ids:
        op_form.add("photo_ids", photo_id)
        values["photo_ids"].append(photo_id)
    try:
        record, case = records.create_record(current_user, op_from_form(kind, op_form))
    except Invalid as error:
        db.session.rollback()
        return _render_form(kind, values, error.errors, status=422)
    db.session.commit()

    record_link = url_for("rounds.record_page", kind=kind, record_id=record.id)
    flash(
        Markup(_("Saved: %(kind)s.", kind=escape(_record_kind_name(kind))))
        + Markup(' <a class="record-link" href="{}">{}</a>').format(record_link, _("View")),
        "success",
    )
    if case is not None:
        link = url_for("cases.case_page", case_id=case.id)
        flash(
            Markup(_("A case was opened: %(link)s"))
            % {"link": Markup('<a href="{}">{}</a>').format(link, escape(case.number))},
            "case",
        )
    return redirect(_return_url(record, return_household), 303)


def _record_kind_name(kind: str) -> str:
    from webapp.labels import RECORD_KIND_LABELS

    return str(RECORD_KIND_LABELS[kind])


def _return_url(record, return_household: str | None) -> str:
    household_id = getattr(record, "household_id", None) or return_household
    if household_id is None and getattr(record, "resident_id", None):
        household_id = db.session.get(Resident, record.resident_id).household_id
    if household_id:
        return url_for("rounds.household_page", household_id=household_id)
    if getattr(record, "building_id", None):
        return url_for("rounds.building_page", building_id=record.building_id)
    return url_for("rounds.grid_page", grid_id=record.grid_id)


@bp.get("/records/<kind>/<uuid:record_id>")
@role_required(*FIELD_VIEWERS)
def record_page(kind: str, record_id: uuid.UUID):
    record = _scoped_record_or_404(kind, record_id)
    return render_template(
        "rounds/record.html",
        kind=kind,
        record=record,
        corrections=records.corrections_of(RecordKind(kind), record.id),
        case=records.case_of(record.id),
        **records.record_context(RecordKind(kind), record),
    )


@bp.get("/records/<kind>/<uuid:record_id>/correct")
@role_required(*RECORD_WRITERS)
def correct_record(kind: str, record_id: uuid.UUID):
    record = _scoped_record_or_404(kind, record_id)
    values = records.form_values_of(RecordKind(kind), record)
    values["corrects"] = str(record.id)
    return _render_form(kind, values)


def _scoped_record_or_404(kind: str, record_id: uuid.UUID):
    if kind not in {k.value for k in RecordKind}:
        abort(404)
    record = records.record_by_id(RecordKind(kind), record_id, current_scope())
    if record is None:
        abort(404)
    return record
