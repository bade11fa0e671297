"""Living registers (DESIGN.md §3): households and residents created, leaving and moving, as ops.

`household.create` and `resident.create` carry a client-made UUID as `record_id`. Rows keep integer
primary keys (the whole app and every phone already use them), and the UUID is stored beside the
row as `client_uuid` (unique): a create sent again under a new op_id finds the row it made instead
of making a second one, and an op written offline may name a household it created a moment before
by that UUID, since its integer id is not known until the server answers.

`resident.move_out`, `resident.deceased` and `resident.transfer` name the resident's id as
`record_id` and carry `base_version`: a stale one is a conflict with the server's copy. A resident
who leaves is kept (history, records made about them) but leaves the care schedule.

The online forms (webapp/rounds/register_views.py) and the sync API both call these functions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from webapp.auth.scope import Scope, compute_scope, scoped
from webapp.changes import bump
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.masking import mask_name
from webapp.models import (
    EDITABLE_CARE_FLAGS,
    Building,
    Community,
    Grid,
    Household,
    Occupancy,
    Resident,
    User,
)
from webapp.models.people import ResidentStatus
from webapp.notices.guard import id_check_char
from webapp.ops import Conflict, Invalid, Op, OutOfScope, parse_uuid
from webapp.rounds.payload import PayloadReader
from webapp.rounds.profiles import PHONE_PATTERN, resident_snapshot

OCCUPANCIES = tuple(o.value for o in Occupancy)
GENDERS = ("M", "F")
DISABILITY_GRADES = (1, 2, 3, 4)
EARLIEST_BIRTH = date(1900, 1, 1)
RELATIONS_MAX = 16
LEAVING_TYPES = {
    "resident.move_out": ResidentStatus.MOVED_OUT,
    "resident.deceased": ResidentStatus.DECEASED,
}


# --- the rules for a person's numbers, shared with the import ------------------------------------


def normalise_id_number(value: str) -> str:
    return value.strip().replace(" ", "").upper()


def id_number_problem(id_number: str, today: date) -> str | None:
    """Why an 18-character resident ID number (GB 11643) is not valid, or None."""
    if len(id_number) != 18 or not id_number[:17].isdigit() or id_number[17] not in "0123456789X":
        return _("An ID number has 17 digits and a final digit or X.")
    if birth_date_from_id(id_number) is None:
        return _("The ID number holds no valid birth date.")
    born = birth_date_from_id(id_number)
    if born is not None and not EARLIEST_BIRTH <= born <= today:
        return _("The ID number holds no valid birth date.")
    if id_check_char(id_number[:17]) != id_number[17]:
        return _("The ID number's check digit is wrong; please check it digit by digit.")
    return None


def birth_date_from_id(id_number: str) -> date | None:
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def gender_from_id(id_number: str) -> str:
    """The 17th digit is odd for men and even for women."""
    return "M" if int(id_number[16]) % 2 else "F"


def clean_phone(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch not in " ()")


def phone_problem(phone: str) -> str | None:
    if phone and not PHONE_PATTERN.match(phone):
        return _("Enter an 11-digit mobile number or a landline number.")
    return None


def household_address(building: Building, unit: int, room: str) -> str:
    return f"{building.name}{unit}单元{room}"


# --- duplicate hints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateHint:
    """A resident already in the register who may be the person being added. Masked as the
    viewer's least-privileged copy (a phone's), since hints travel in sync answers too."""

    resident_id: int
    household_id: int
    grid_id: int
    reason: str  # "id_number" or "name_and_birth_date"
    name: str
    address: str
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "resident_id": self.resident_id,
            "household_id": self.household_id,
            "grid_id": self.grid_id,
            "reason": self.reason,
            "name": self.name,
            "address": self.address,
            "status": self.status,
        }


def duplicate_hints(
    scope: Scope,
    *,
    id_number: str = "",
    name: str = "",
    birth_date: date | None = None,
    exclude_id: int | None = None,
) -> list[DuplicateHint]:
    """Residents in `scope` with the same ID number, or the same name and birth date. Never looks
    past the scope: a hint must not tell a worker who lives in someone else's grid."""
    conditions = []
    if id_number:
        conditions.append(Resident.id_number == id_number)
    if name and birth_date is not None:
        conditions.append((Resident.name == name) & (Resident.birth_date == birth_date))
    if not conditions:
        return []
    query = scoped(Resident, scope=scope).where(or_(*conditions)).order_by(Resident.id).limit(5)
    if exclude_id is not None:
        query = query.where(Resident.id != exclude_id)
    hints = []
    for resident in db.session.scalars(query):
        same_id = bool(id_number) and resident.id_number == id_number
        hints.append(
            DuplicateHint(
                resident_id=resident.id,
                household_id=resident.household_id,
                grid_id=resident.grid_id,
                reason="id_number" if same_id else "name_and_birth_date",
                name=mask_name(resident.name),
                address=resident.household.address,
                status=resident.status,
            )
        )
    return hints


# --- looking things up ----------------------------------------------------------------------------


def _find_household(scope: Scope, value: Any, field: str) -> Household:
    """A household in scope named by its id or by the client UUID it was created under."""
    query = scoped(Household, scope=scope)
    if isinstance(value, str) and not value.strip().isdigit():
        query = query.where(Household.client_uuid == parse_uuid(value, field))
    else:
        reader = PayloadReader({field: value})
        household_id = reader.integer(field, required=True)
        reader.check()
        query = query.where(Household.id == household_id)
    household = db.session.scalar(query)
    if household is None:
        raise OutOfScope(_("This household does not exist or is not in your grids."))
    return household


def _find_resident(scope: Scope, op: Op) -> Resident:
    value = (op.payload or {}).get("resident_id", op.record_id)
    reader = PayloadReader({"resident_id": value})
    resident_id = reader.integer("resident_id", required=True)
    reader.check()
    resident = db.session.scalar(scoped(Resident, scope=scope).where(Resident.id == resident_id))
    if resident is None:
        raise OutOfScope(_("This resident does not exist or is not in your grids."))
    return resident


def _client_uuid(op: Op) -> uuid.UUID:
    return parse_uuid(op.record_id)


def _check_version(resident: Resident, op: Op) -> None:
    if op.base_version is None:
        raise Invalid({"base_version": _("This field is required.")})
    # Writers do not queue behind one another (webapp/changes.py): lock the row and compare with
    # its committed version, or two changes of the same version could both be applied.
    db.session.refresh(resident, with_for_update=True)
    if op.base_version != resident.version:
        raise Conflict(
            _("Someone changed this resident after you opened it. Compare and try again."),
            current=register_snapshot(resident),
        )


def register_snapshot(resident: Resident) -> dict[str, Any]:
    """What a conflict answer shows of a resident: the profile snapshot and where they are."""
    return {
        **resident_snapshot(resident),
        "status": resident.status,
        "household_id": resident.household_id,
        "grid_id": resident.grid_id,
    }


# --- household.create ----------------------------------------------------------------------


def create_household(actor: User, op: Op) -> Household:
    """A new flat, or a household split off another, in a building of the actor's grids."""
    scope = compute_scope(actor)
    client_uuid = _client_uuid(op)
    existing = db.session.scalar(select(Household).where(Household.client_uuid == client_uuid))
    if existing is not None:
        if not scope.covers_grid(existing.grid_id):
            raise OutOfScope(_("This household does not exist or is not in your grids."))
        return existing  # the same create again, under another op_id
    r = PayloadReader(op.payload)
    building_id = r.integer("building_id", required=True)
    unit = r.integer("unit") or 1
    room = r.text("room", required=True, max_length=16)
    occupancy = r.choice("occupancy", OCCUPANCIES, default=Occupancy.OCCUPIED.value)
    phone = clean_phone(r.payload.get("contact_phone"))
    if problem := phone_problem(phone):
        r.fail("contact_phone", problem)
    notes = r.text("notes", max_length=2000)
    dilapidated = r.boolean("dilapidated")
    r.check()
    building = db.session.scalar(scoped(Building, scope=scope).where(Building.id == building_id))
    if building is None:
        raise OutOfScope(_("This building does not exist or is not in your grids."))
    if not 1 <= unit <= max(building.unit_count, 1):
        raise Invalid({"unit": _("This building has units 1 to %(n)d.", n=building.unit_count)})
    taken = db.session.scalar(
        select(Household.id).where(
            Household.building_id == building.id, Household.unit == unit, Household.room == room
        )
    )
    if taken is not None:
        raise Invalid({"room": _("This building already has a household in this unit and room.")})
    household = Household(
        building_id=building.id,
        grid_id=building.grid_id,
        unit=unit,
        room=room,
        address=household_address(building, unit, room),
        contact_phone=phone,
        occupancy=occupancy,
        notes=notes,
        dilapidated=dilapidated,
        client_uuid=client_uuid,
        version=1,
    )
    db.session.add(household)
    bump(household)
    db.session.flush()
    return household


# --- resident.create ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewResident:
    """A resident's fields read and checked, before anything is written (the import uses it too)."""

    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str
    relation: str
    flags: tuple[str, ...]
    disability_grade: int | None
    permit_number: str
    permit_expires_on: date | None
    origin_place: str
    moved_in_on: date | None
    notes: str


def _date(r: PayloadReader, field: str, *, required: bool = False) -> date | None:
    value = r.payload.get(field)
    if value in (None, ""):
        if required:
            r.fail(field, _("This field is required."))
        return None
    try:
        parsed = date.fromisoformat(str(value))
    except ValueError:
        r.fail(field, _("Not a valid date."))
        return None
    if not EARLIEST_BIRTH <= parsed <= date(2200, 12, 31):
        r.fail(field, _("Not a valid date."))
        return None
    return parsed


def read_new_resident(payload: dict[str, Any], today: date) -> NewResident:
    """Every field of a new resident, all problems collected before one Invalid."""
    r = PayloadReader(payload)
    name = r.text("name", required=True, max_length=50)
    id_number = normalise_id_number(r.text("id_number", max_length=32))
    birth_date = _date(r, "birth_date")
    gender = r.payload.get("gender") or ""
    if id_number:
        if problem := id_number_problem(id_number, today):
            r.fail("id_number", problem)
        else:
            from_id = birth_date_from_id(id_number)
            if birth_date is not None and birth_date != from_id:
                r.fail("birth_date", _("The birth date does not agree with the ID number."))
            birth_date = from_id
            if gender and gender != gender_from_id(id_number):
                r.fail("gender", _("The gender does not agree with the ID number."))
            gender = gender_from_id(id_number)
    elif birth_date is None:
        r.fail("birth_date", _("Give the ID number or the birth date."))
    if birth_date is not None and birth_date > today:
        r.fail("birth_date", _("Cannot be in the future."))
    if gender and gender not in GENDERS:
        r.fail("gender", _("Not one of the allowed choices."))
    phone = clean_phone(r.payload.get("phone"))
    if problem := phone_problem(phone):
        r.fail("phone", problem)
    relation = r.text("relation", max_length=RELATIONS_MAX)
    # A list of codes (the API), or one yes/no field per flag (a form's checkboxes).
    listed = r.codes("flags", EDITABLE_CARE_FLAGS)
    ticked = [flag for flag in EDITABLE_CARE_FLAGS if flag in r.payload and r.boolean(flag)]
    flags = tuple(dict.fromkeys([*listed, *ticked]))
    grade = r.integer("disability_grade")
    if grade is not None and grade not in DISABILITY_GRADES:
        r.fail("disability_grade", _("A disability grade is 1 to 4."))
    if grade is not None and "disabled" not in flags:
        flags = (*flags, "disabled")
    permit_number = r.text("permit_number", max_length=32)
    permit_expires_on = _date(r, "permit_expires_on")
    origin_place = r.text("origin_place", max_length=100)
    if (permit_number or origin_place) and "floating" not in flags:
        flags = (*flags, "floating")
    moved_in_on = _date(r, "moved_in_on")
    notes = r.text("notes", max_length=2000)
    r.check()
    assert birth_date is not None
    return NewResident(
        name=name,
        gender=gender,
        birth_date=birth_date,
        id_number=id_number,
        phone=phone,
        relation=relation,
        flags=flags,
        disability_grade=grade,
        permit_number=permit_number,
        permit_expires_on=permit_expires_on,
        origin_place=origin_place,
        moved_in_on=moved_in_on,
        notes=notes,
    )


def resident_from(
    new: NewResident, household: Household, client_uuid: uuid.UUID | None
) -> Resident:
    resident = Resident(
        household_id=household.id,
        grid_id=household.grid_id,
        name=new.name,
        gender=new.gender,
        birth_date=new.birth_date,
        id_number=new.id_number,
        phone=new.phone,
        relation=new.relation,
        disability_grade=new.disability_grade,
        permit_number=new.permit_number,
        permit_expires_on=new.permit_expires_on,
        origin_place=new.origin_place,
        moved_in_on=new.moved_in_on,
        notes=new.notes,
        status=ResidentStatus.ACTIVE,
        moved_out=False,
        client_uuid=client_uuid,
        version=1,
    )
    for flag in EDITABLE_CARE_FLAGS:
        setattr(resident, flag, flag in new.flags)
    return resident


def create_resident(actor: User, op: Op) -> tuple[Resident, list[DuplicateHint]]:
    """A birth, a move-in or a floating resident's arrival. A resident with the same ID number
    already in scope refuses the create unless `confirm_duplicate` says the worker has seen it; the
    same name and birth date only comes back as a hint."""
    scope = compute_scope(actor)
    client_uuid = _client_uuid(op)
    existing = db.session.scalar(select(Resident).where(Resident.client_uuid == client_uuid))
    if existing is not None:
        if not scope.covers_grid(existing.grid_id):
            raise OutOfScope(_("This resident does not exist or is not in your grids."))
        return existing, []
    payload = op.payload or {}
    if payload.get("household_id") in (None, ""):
        raise Invalid({"household_id": _("This field is required.")})
    household = _find_household(scope, payload.get("household_id"), "household_id")
    new = read_new_resident(payload, local_today())
    hints = duplicate_hints(
        scope, id_number=new.id_number, name=new.name, birth_date=new.birth_date
    )
    confirmed = PayloadReader(payload).boolean("confirm_duplicate")
    if any(h.reason == "id_number" for h in hints) and not confirmed:
        raise Invalid(
            {
                "id_number": _(
                    "A resident with this ID number is already registered (%(where)s)."
                    " Move them with a transfer, or confirm that this is someone else.",
                    where=next(h.address for h in hints if h.reason == "id_number"),
                )
            },
            message=_("possible duplicate"),
        )
    resident = resident_from(new, household, client_uuid)
    db.session.add(resident)
    bump(resident)
    db.session.flush()
    return resident, hints


# --- leaving: resident.move_out / resident.deceased -----------------------------------------------


def resident_leaves(actor: User, op: Op) -> Resident:
    """Moved out or died: kept for history, off the care schedule and the due list."""
    status = LEAVING_TYPES[op.type]
    scope = compute_scope(actor)
    resident = _find_resident(scope, op)
    r = PayloadReader(op.payload)
    left_on = _date(r, "date", required=True)
    notes = r.text("notes", max_length=2000)
    if left_on is not None and left_on > local_today():
        r.fail("date", _("Cannot be in the future."))
    r.check()
    _check_version(resident, op)
    if resident.status == ResidentStatus.DECEASED:
        raise Conflict(
            _("This resident is already recorded as deceased."), register_snapshot(resident)
        )
    resident.status = status
    resident.moved_out = True
    resident.left_on = left_on
    resident.left_notes = notes
    resident.version += 1
    bump(resident)
    return resident


# --- resident.transfer ----------------------------------------------------------------------


def _transfer_target(actor: User, scope: Scope, resident: Resident, value: Any) -> Household:
    """The receiving household: in the actor's scope, or anywhere in the same street (a worker
    moving a family to the next community cannot see its grid, but the move is theirs to record)."""
    try:
        return _find_household(scope, value, "to_household_id")
    except OutOfScope:
        pass
    street_id = db.session.scalar(
        select(Community.street_id)
        .join(Grid, Grid.community_id == Community.id)
        .where(Grid.id == resident.grid_id)
    )
    reader = PayloadReader({"to_household_id": value})
    household_id = reader.integer("to_household_id", required=True)
    reader.check()
    household = db.session.scalar(
        select(Household)
        .join(Grid, Grid.id == Household.grid_id)
        .join(Community, Community.id == Grid.community_id)
        .where(Household.id == household_id, Community.street_id == street_id)
    )
    if household is None:
        raise OutOfScope(_("The receiving household does not exist or is not in this street."))
    return household


def transfer_resident(actor: User, op: Op) -> Resident:
    """Move a resident to another household, possibly in another grid. Phones of the old grid get
    a tombstone; the new grid's phones get the resident in their next pull."""
    from webapp.sync.services import tombstone  # sync builds on rounds, not the other way

    scope = compute_scope(actor)
    resident = _find_resident(scope, op)
    payload = op.payload or {}
    if payload.get("to_household_id") in (None, ""):
        raise Invalid({"to_household_id": _("This field is required.")})
    target = _transfer_target(actor, scope, resident, payload.get("to_household_id"))
    r = PayloadReader(payload)
    relation = r.text("relation", max_length=RELATIONS_MAX)
    moved_on = _date(r, "date")
    r.check()
    _check_version(resident, op)
    if resident.status == ResidentStatus.DECEASED:
        raise Conflict(_("This resident is recorded as deceased."), register_snapshot(resident))
    if target.id == resident.household_id:
        raise Invalid({"to_household_id": _("The resident already lives in this household.")})
    old_grid = resident.grid_id
    if target.grid_id != old_grid:
        # Tombstones first: a phone holding both grids reads the deletion before the new copy.
        tombstone("resident", resident.id, grid_id=old_grid)
        tombstone("care_task", resident.id, grid_id=old_grid)
    resident.household_id = target.id
    resident.grid_id = target.grid_id
    resident.status = ResidentStatus.ACTIVE
    resident.moved_out = False
    resident.left_on = None
    if relation:
        resident.relation = relation
    if moved_on is not None:
        resident.moved_in_on = moved_on
    resident.version += 1
    bump(resident)
    db.session.flush()
    db.session.refresh(resident, ["household"])
    return resident


def households_in(scope: Scope, grid_id: int):
    """A grid's households for a transfer's pick list (in scope only), in address order."""
    return (
        scoped(Household, scope=scope)
        .where(Household.grid_id == grid_id)
        .order_by(Household.address)
    )
