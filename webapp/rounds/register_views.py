"""Register change forms (DESIGN.md §3): a new household, a new resident, a resident leaving or
moving. With JavaScript the form goes through the outbox as the same op the sync API applies
(`data-op-form`); without it, the POST below builds that op and calls the same service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.auth.scope import current_scope, get_scoped_or_404, role_required
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.models import EDITABLE_CARE_FLAGS, Building, Household, Resident
from webapp.ops import Conflict, Invalid, Op
from webapp.rounds import bp, registers
from webapp.rounds.views import FIELD_VIEWERS

LEAVING_KINDS = ("move_out", "deceased")


def _form_payload() -> dict[str, Any]:
    """The form's fields as an op payload, the way the outbox builds it (blank fields left out)."""
    return {
        name: value.strip()
        for name, value in request.form.items()
        if name not in ("csrf_token", "base_version") and value.strip()
    }


def _base_version() -> int | None:
    try:
        return int(request.form.get("base_version", ""))
    except ValueError:
        return None


def _record_id(default: Any) -> Any:
    """The UUID the page made for a create, so a double-tap or resend makes one row."""
    value = request.form.get("record_id", "")
    try:
        return uuid.UUID(value) if value else default
    except ValueError:
        return default


def _apply(op_type: str, op_record_id: Any, fixed: dict, service, template: str, **context):
    """Run the op; `fixed` are the fields the URL names (never taken from the form)."""
    op = Op(
        op_id=uuid.uuid4(),
        type=op_type,
        record_id=op_record_id,
        payload={**_form_payload(), **fixed},
        base_version=_base_version(),
    )
    try:
        result = service(current_user, op)
    except Invalid as error:
        db.session.rollback()
        context["values"] = request.form
        return None, (render_template(template, errors=error.errors, **context), 422)
    except Conflict as conflict:
        db.session.rollback()
        context["values"] = request.form
        errors = {"base_version": conflict.message}
        return None, (render_template(template, errors=errors, **context), 409)
    db.session.commit()
    return result, None


def _done(household_id: int):
    flash(_("Saved."), "success")
    return redirect(url_for("rounds.household_page", household_id=household_id), 303)


@bp.route("/buildings/<int:building_id>/households/new", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def new_household(building_id: int):
    """登记新户: a new flat, or a household split off another."""
    building = get_scoped_or_404(Building, building_id)
    context = {"building": building, "record_id": uuid.uuid4()}
    if request.method == "GET":
        return render_template("rounds/register_household.html", errors={}, values={}, **context)
    household, refused = _apply(
        "household.create",
        _record_id(context["record_id"]),
        {"building_id": building.id},
        registers.create_household,
        "rounds/register_household.html",
        **context,
    )
    return refused or _done(household.id)


@bp.route("/households/<int:household_id>/residents/new", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def new_resident(household_id: int):
    """登记新居民: a birth, a move-in, a floating resident's arrival."""
    household = get_scoped_or_404(Household, household_id)
    context = {
        "household": household,
        "record_id": uuid.uuid4(),
        "flags": EDITABLE_CARE_FLAGS,
    }
    if request.method == "GET":
        return render_template("rounds/register_resident.html", errors={}, values={}, **context)
    _created, refused = _apply(
        "resident.create",
        _record_id(context["record_id"]),
        {"household_id": household.id},
        registers.create_resident,
        "rounds/register_resident.html",
        **context,
    )
    return refused or _done(household.id)


@bp.route("/residents/<int:resident_id>/leave/<kind>", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def resident_leaves(resident_id: int, kind: str):
    """迁出 / 死亡: kept in the register for history, off the care schedule."""
    resident = get_scoped_or_404(Resident, resident_id)
    if kind not in LEAVING_KINDS:
        return redirect(url_for("rounds.household_page", household_id=resident.household_id), 303)
    context = {"resident": resident, "kind": kind, "today": local_today()}
    if request.method == "GET":
        return render_template("rounds/register_leave.html", errors={}, values={}, **context)
    _left, refused = _apply(
        f"resident.{kind}",
        resident.id,
        {"resident_id": resident.id},
        registers.resident_leaves,
        "rounds/register_leave.html",
        **context,
    )
    return refused or _done(resident.household_id)


@bp.route("/residents/<int:resident_id>/transfer", methods=["GET", "POST"])
@role_required(*FIELD_VIEWERS)
def transfer_resident(resident_id: int):
    """户内迁移: to another household, in this grid or another of the street."""
    resident = get_scoped_or_404(Resident, resident_id)
    old_household = resident.household_id
    context = {
        "resident": resident,
        "today": local_today(),
        "households": db.session.scalars(
            registers.households_in(current_scope(), resident.grid_id)
        ).all(),
    }
    if request.method == "GET":
        return render_template("rounds/register_transfer.html", errors={}, values={}, **context)
    _moved, refused = _apply(
        "resident.transfer",
        resident.id,
        {"resident_id": resident.id},
        registers.transfer_resident,
        "rounds/register_transfer.html",
        **context,
    )
    return refused or _done(old_household)


@bp.post("/residents/duplicates")
@role_required(*FIELD_VIEWERS)
def duplicate_hints():
    """Online duplicate hints while the form is filled (htmx). POST: names and ID numbers stay
    out of URLs and logs."""
    form = request.form
    id_number = registers.normalise_id_number(form.get("id_number", ""))
    try:
        born = date.fromisoformat(form.get("birth_date", ""))
    except ValueError:
        born = None
    if len(id_number) == 18 and born is None:
        born = registers.birth_date_from_id(id_number)
    hints = registers.duplicate_hints(
        current_scope(), id_number=id_number, name=form.get("name", "").strip(), birth_date=born
    )
    return render_template("rounds/_duplicate_hints.html", hints=hints)
