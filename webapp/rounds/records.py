"""Creating field records from op payloads (`<kind>.create`, DESIGN.md §3).

Online forms and the sync API both call `create_record`; nothing else writes records. A record is
created once under its client-made UUID and never edited: a correction is a new record whose
`corrects` names the old one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp import clock
from webapp.auth.scope import Scope, compute_scope, scoped
from webapp.cases import opening
from webapp.changes import bump
from webapp.extensions import db
from webapp.models import (
    RECORD_MODELS,
    Building,
    Case,
    Dispute,
    ElderlyCheck,
    FieldRecord,
    Grid,
    Hazard,
    Household,
    RecordKind,
    Resident,
    User,
    Visit,
)
from webapp.ops import Invalid, Op, OutOfScope, parse_uuid
from webapp.rounds.payload import PayloadReader
from webapp.rounds.photos import attach_photos

VISIT_KINDS = ("routine", "follow_up", "new_arrival", "moved_out_check")
NEED_CODES = ("medical", "income", "housing", "employment", "elderly_care", "other")
DISPUTE_CATEGORIES = (
    "neighbour",
    "property_mgmt",
    "family",
    "labour",
    "land",
    "demolition",
    "other",
)
SEVERITIES = ("low", "medium", "high", "urgent")
CHECK_METHODS = ("in_person", "phone", "neighbour")
CHECK_STATUSES = ("ok", "concern", "needs_help", "not_reached")
HAZARD_CATEGORIES = (
    "fire",
    "gas",
    "electrical",
    "structural",
    "traffic",
    "public_order",
    "environment",
    "other",
)
PARTY_ROLES = ("complainant", "respondent", "other")

# Client clocks drift; past this the record is kept as told but flagged (DESIGN.md §5).
CLOCK_SKEW_LIMIT = timedelta(minutes=10)
# A phone whose clock runs a little ahead should not be refused for it.
FUTURE_TOLERANCE = timedelta(hours=24)


class RecordContext:
    """What every creator needs: the actor, their scope, the op, and the record's common fields."""

    def __init__(self, actor: User, op: Op, scope: Scope | None = None, now=None):
        self.actor = actor
        self.op = op
        self.scope: Scope = scope if scope is not None else compute_scope(actor)
        self.reader = PayloadReader(op.payload)
        self.now = now if now is not None else clock.now()
        self.record_id = parse_uuid(op.record_id)

    def visible(self, model: type, object_id: int | None, field: str) -> Any:
        """The object if in scope. Out of scope reads exactly like "does not exist"."""
        if object_id is None:
            return None
        primary_key = model.__mapper__.primary_key[0]
        found = db.session.scalar(scoped(model, scope=self.scope).where(primary_key == object_id))
        if found is None:
            raise OutOfScope(
                _(
                    "%(field)s %(id)s does not exist or is not in your grids.",
                    field=field,
                    id=object_id,
                )
            )
        return found

    def grid_for_place(self) -> int | None:
        """`grid_id` for a record that names no household, resident or building."""
        grid_id = self.reader.integer("grid_id")
        if grid_id is not None:
            self.visible(Grid, grid_id, "grid_id")
            return grid_id
        own_grids = self.own_grid_ids()
        if len(own_grids) == 1:
            return next(iter(own_grids))
        self.reader.fail("grid_id", _("Choose the grid this record belongs to."))
        return None

    def own_grid_ids(self) -> frozenset[int]:
        return compute_scope(self.actor, roles=["grid_worker"]).grid_ids

    def household_member_ids(self, household_id: int) -> set[int]:
        return set(
            db.session.scalars(select(Resident.id).where(Resident.household_id == household_id))
        )

    def common(self, model: type[FieldRecord], grid_id: int | None) -> dict[str, Any]:
        client_time = self.op.client_time
        corrects = self.reader.payload.get("corrects")
        corrects_id = None
        if corrects:
            corrects_id = parse_uuid(corrects, "corrects")
            original = db.session.scalar(
                scoped(model, scope=self.scope).where(model.id == corrects_id)
            )
            if original is None:
                self.reader.fail("corrects", _("The record to correct was not found."))
            elif grid_id is not None and original.grid_id != grid_id:
                self.reader.fail("corrects", _("A correction must stay in the same grid."))
        photo_ids = self.reader.payload.get("photo_ids") or []
        return {
            "id": self.record_id,
            "author_id": self.actor.id,
            "grid_id": grid_id,
            "client_time": client_time,
            "received_at": self.now,
            "clock_skew_flagged": bool(
                client_time and abs(client_time - self.now) > CLOCK_SKEW_LIMIT
            ),
            "corrects_id": corrects_id,
            "photo_ids": photo_ids,
        }

    def finish(self, record: FieldRecord) -> FieldRecord:
        self.reader.check()
        if record.photo_ids:
            try:
                record.photo_ids = attach_photos(self.actor, record.photo_ids, record.grid_id)
            except Invalid as error:
                raise Invalid({**self.reader.errors, **error.errors}) from None
        db.session.add(record)
        bump(record)
        db.session.flush()
        return record


def _create_visit(ctx: RecordContext) -> Visit:
    r = ctx.reader
    household = ctx.visible(Household, r.integer("household_id", required=True), "household_id")
    present = r.integers("present_resident_ids")
    if household is not None and present:
        if not set(present) <= ctx.household_member_ids(household.id):
            r.fail("present_resident_ids", _("Only members of this household can be present."))
    visit = Visit(
        **ctx.common(Visit, household.grid_id if household else None),
        household_id=household.id if household else None,
        visited_at=r.moment("visited_at", default=ctx.now, not_after=ctx.now + FUTURE_TOLERANCE),
        visit_kind=r.choice("visit_kind", VISIT_KINDS, default="routine"),
        present_resident_ids=present,
        needs=r.codes("needs", NEED_CODES),
        notes=r.text("notes"),
        location=r.location(),
    )
    return ctx.finish(visit)


def _parties(r: PayloadReader) -> list[dict[str, Any]]:
    raw = r.payload.get("parties") or []
    if not isinstance(raw, list):
        r.fail("parties", _("Must be a list."))
        return []
    parties = []
    for party in raw:
        if not isinstance(party, dict) or not str(party.get("name", "")).strip():
            r.fail("parties", _("Every party needs a name."))
            continue
        role = party.get("role") or "other"
        if role not in PARTY_ROLES:
            r.fail("parties", _("Not one of the allowed choices."))
            continue
        entry: dict[str, Any] = {"name": str(party["name"]).strip()[:50], "role": role}
        if party.get("resident_id") not in (None, ""):
            try:
                entry["resident_id"] = int(party["resident_id"])
            except (TypeError, ValueError):
                r.fail("parties", _("Must be a list of ids."))
                continue
        parties.append(entry)
    return parties


def _create_dispute(ctx: RecordContext) -> Dispute:
    r = ctx.reader
    household = ctx.visible(Household, r.integer("household_id"), "household_id")
    place = r.text("place", max_length=200)
    if household is None and not place:
        r.fail("place", _("Say where the dispute is, or record it at a household."))
    grid_id = household.grid_id if household else ctx.grid_for_place()
    parties = _parties(r)
    for party in parties:
        if "resident_id" in party:
            ctx.visible(Resident, party["resident_id"], "parties.resident_id")
    dispute = Dispute(
        **ctx.common(Dispute, grid_id),
        household_id=household.id if household else None,
        place=place,
        category=r.choice("category", DISPUTE_CATEGORIES),
        parties=parties,
        summary=r.text("summary", required=True),
        severity=r.choice("severity", SEVERITIES, default="low"),
        resolved_on_site=r.boolean("resolved_on_site"),
        mediation_notes=r.text("mediation_notes"),
    )
    return ctx.finish(dispute)


def _create_elderly_check(ctx: RecordContext) -> ElderlyCheck:
    r = ctx.reader
    resident = ctx.visible(Resident, r.integer("resident_id", required=True), "resident_id")
    check = ElderlyCheck(
        **ctx.common(ElderlyCheck, resident.grid_id if resident else None),
        resident_id=resident.id if resident else None,
        checked_at=r.moment("checked_at", default=ctx.now, not_after=ctx.now + FUTURE_TOLERANCE),
        method=r.choice("method", CHECK_METHODS, default="in_person"),
        status=r.choice("status", CHECK_STATUSES),
        health_notes=r.text("health_notes"),
        living_notes=r.text("living_notes"),
        needs=r.codes("needs", NEED_CODES),
    )
    return ctx.finish(check)


def _create_hazard(ctx: RecordContext) -> Hazard:
    r = ctx.reader
    building = ctx.visible(Building, r.integer("building_id"), "building_id")
    place = r.text("place", max_length=200)
    if building is None and not place:
        r.fail("place", _("Say where the hazard is, or choose a building."))
    grid_id = building.grid_id if building else ctx.grid_for_place()
    hazard = Hazard(
        **ctx.common(Hazard, grid_id),
        building_id=building.id if building else None,
        place=place,
        location=r.location(),
        category=r.choice("category", HAZARD_CATEGORIES),
        severity=r.choice("severity", SEVERITIES, default="medium"),
        description=r.text("description", required=True),
        fixed_on_site=r.boolean("fixed_on_site"),
    )
    return ctx.finish(hazard)


CREATORS = {
    "visit.create": _create_visit,
    "dispute.create": _create_dispute,
    "elderly_check.create": _create_elderly_check,
    "hazard.create": _create_hazard,
}


def create_record(actor: User, op: Op) -> tuple[FieldRecord, Case | None]:
    """Create the record an op describes, and the case it opens, if any. Raises Invalid,
    OutOfScope. Does not commit: the caller answers only after its own commit."""
    creator = CREATORS.get(op.type)
    if creator is None:
        raise Invalid({"type": _("Unknown record type.")})
    kind = RecordKind(op.type.removesuffix(".create"))
    existing = db.session.get(RECORD_MODELS[kind], parse_uuid(op.record_id))
    if existing is not None:
        if existing.author_id != actor.id:
            raise Invalid({"record_id": _("This record id is already used.")})
        # The same submission again (a double tap, a retried request): same answer, no new row.
        return existing, opening.case_for_record(existing.id)
    record = creator(RecordContext(actor, op))
    return record, opening.open_case_if_needed(actor, kind, record)


def record_by_id(kind: RecordKind, record_id: uuid.UUID, scope: Scope) -> FieldRecord | None:
    model = RECORD_MODELS[kind]
    return db.session.scalar(scoped(model, scope=scope).where(model.id == record_id))


def corrections_of(kind: RecordKind, record_id: uuid.UUID) -> list[FieldRecord]:
    model = RECORD_MODELS[kind]
    return list(
        db.session.scalars(
            select(model).where(model.corrects_id == record_id).order_by(model.received_at)
        )
    )


def case_of(record_id: uuid.UUID) -> Case | None:
    return opening.case_for_record(record_id)


def record_context(kind: RecordKind, record: FieldRecord) -> dict[str, Any]:
    """The household, resident and building a record is about, for its page."""
    context: dict[str, Any] = {}
    if getattr(record, "resident_id", None):
        resident = db.session.get(Resident, record.resident_id)
        context.update(resident=resident, household=resident.household)
    if getattr(record, "household_id", None):
        context["household"] = db.session.get(Household, record.household_id)
    if getattr(record, "building_id", None):
        context["building"] = db.session.get(Building, record.building_id)
    if kind is RecordKind.VISIT and record.present_resident_ids:
        context["present"] = list(
            db.session.scalars(select(Resident).where(Resident.id.in_(record.present_resident_ids)))
        )
    return context


FORM_FIELDS = {
    RecordKind.VISIT: ("household_id", "visit_kind", "notes"),
    RecordKind.DISPUTE: (
        "household_id",
        "place",
        "category",
        "summary",
        "severity",
        "mediation_notes",
    ),
    RecordKind.ELDERLY_CHECK: ("resident_id", "method", "status", "health_notes", "living_notes"),
    RecordKind.HAZARD: ("building_id", "place", "category", "severity", "description"),
}


def form_values_of(kind: RecordKind, record: FieldRecord) -> dict[str, Any]:
    """A record's fields as form values, to start a correction from what was recorded."""
    values: dict[str, Any] = {
        field: "" if getattr(record, field) is None else str(getattr(record, field))
        for field in FORM_FIELDS[kind]
    }
    if not any(values.get(f) for f in ("household_id", "resident_id", "building_id")):
        values["grid_id"] = str(record.grid_id)
    for field in ("needs", "present_resident_ids", "photo_ids"):
        if hasattr(record, field):
            values[field] = [str(v) for v in getattr(record, field) or []]
    for field in ("resolved_on_site", "fixed_on_site"):
        if hasattr(record, field):
            values[field] = getattr(record, field)
    if kind is RecordKind.DISPUTE:
        values["parties"] = record.parties
    return values
