"""JSON Schemas of op payloads, generated from pydantic models, for /api/v1/openapi.json.

The rules that apply an op live in the services (webapp/rounds/records.py and friends); these
models say the same rules in the shape a client or a fuzzer can read. A new op type is one model
and one line in `OP_PAYLOAD_SCHEMAS`; the spec picks it up from there.

Limits mirror the readers: text is at most `MAX_TEXT` characters, ids fit a 64-bit column,
times are ISO 8601 inside the window webapp/moments.py accepts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from webapp.cases.actions import ACTIONS, SATISFACTIONS
from webapp.jsonsafe import INT64_MAX
from webapp.models import EDITABLE_CARE_FLAGS, VERIFY_OUTCOMES
from webapp.rounds.payload import MAX_TEXT
from webapp.rounds.records import (
    CHECK_METHODS,
    CHECK_STATUSES,
    DISPUTE_CATEGORIES,
    HAZARD_CATEGORIES,
    NEED_CODES,
    PARTY_ROLES,
    SEVERITIES,
    VISIT_KINDS,
)

Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Place = Annotated[str, Field(max_length=200)]
Moment = Annotated[
    datetime,
    Field(description="ISO 8601; without an offset: Shanghai time; years 2000–2100"),
]


def _choice(values: tuple[str, ...]) -> Any:
    return Literal[values]  # type: ignore[valid-type]


class _Payload(BaseModel):
    # Unknown keys are ignored by the server, so the schema allows them too.
    model_config = ConfigDict(extra="allow")


class Location(BaseModel):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lng: Annotated[float, Field(ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] | None = None


class _RecordPayload(_Payload):
    grid_id: Id | None = Field(
        None, description="only when no household, resident or building names the grid"
    )
    corrects: str | None = Field(None, description="UUID of the record this one corrects")
    photo_ids: list[str] = Field(default_factory=list, description="UUIDs of uploaded photos")


class VisitCreatePayload(_RecordPayload):
    household_id: Id
    visited_at: Moment | None = None
    visit_kind: _choice(VISIT_KINDS) = "routine"
    present_resident_ids: list[Id] = Field(default_factory=list)
    needs: list[_choice(NEED_CODES)] = Field(default_factory=list)
    notes: Text = ""
    location: Location | None = None


class Party(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    role: _choice(PARTY_ROLES) = "other"
    resident_id: Id | None = None


class DisputeCreatePayload(_RecordPayload):
    household_id: Id | None = Field(None, description="or `place`")
    place: Place = Field("", description="required without household_id")
    category: _choice(DISPUTE_CATEGORIES)
    parties: list[Party] = Field(default_factory=list)
    summary: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    severity: _choice(SEVERITIES) = "low"
    resolved_on_site: bool = False
    mediation_notes: Text = ""


class ElderlyCheckCreatePayload(_RecordPayload):
    resident_id: Id
    checked_at: Moment | None = None
    method: _choice(CHECK_METHODS) = "in_person"
    status: _choice(CHECK_STATUSES)
    health_notes: Text = ""
    living_notes: Text = ""
    needs: list[_choice(NEED_CODES)] = Field(default_factory=list)


class HazardCreatePayload(_RecordPayload):
    building_id: Id | None = Field(None, description="or `place`")
    place: Place = Field("", description="required without building_id")
    location: Location | None = None
    category: _choice(HAZARD_CATEGORIES)
    severity: _choice(SEVERITIES) = "medium"
    description: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    fixed_on_site: bool = False


class CaseActionPayload(_Payload):
    case_id: str = Field(description="UUID of the case")
    action: _choice(ACTIONS)
    notes: Text = Field("", description="note, request_escalation, follow_up and others")
    department: Annotated[str, Field(max_length=100)] = Field(
        "", description="assign: the lead department"
    )
    assist: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, description="assign: assisting departments (联合处置)"
    )
    task: Text = Field("", description="assign: the lead department's part")
    assist_task: Text = Field("", description="assign: the assisting departments' part")
    part_id: Id | None = Field(
        None, description="sign, report_back, return, review: which department part"
    )
    decision: Literal["approve", "send_back"] | None = Field(None, description="review")
    user_id: Id | None = Field(None, description="assign: a user in the case's scope")
    due_at: Moment | None = Field(None, description="assign; in the future")
    deadline: Moment | None = Field(None, description="supervise; in the future")
    result: Text = Field("", description="resolve, report_back")
    reason: Text = Field("", description="return, close_unresolvable, request_extension")
    measures: Text = Field("", description="close_unresolvable")
    satisfaction: _choice(SATISFACTIONS) | None = Field(None, description="follow_up")
    days: Annotated[int, Field(ge=1, le=365)] | None = Field(None, description="extensions")
    photo_ids: list[str] = Field(default_factory=list)


class HouseholdChanges(BaseModel):
    contact_phone: Annotated[str, Field(max_length=32)] | None = None
    occupancy: Literal["occupied", "vacant", "rented_out", "moved_out"] | None = None
    notes: Text | None = None


class HouseholdUpdatePayload(_Payload):
    household_id: Id
    changes: HouseholdChanges = Field(description="at least one field")


ResidentChanges = type(
    "ResidentChanges",
    (BaseModel,),
    {
        "__annotations__": {
            "phone": Annotated[str, Field(max_length=32)] | None,
            "moved_out": bool | None,
            "notes": Text | None,
            **{flag: bool | None for flag in EDITABLE_CARE_FLAGS},
        },
        "phone": None,
        "moved_out": None,
        "notes": None,
        **dict.fromkeys(EDITABLE_CARE_FLAGS),
        "__module__": __name__,
    },
)


class ResidentUpdatePayload(_Payload):
    resident_id: Id
    changes: ResidentChanges = Field(description="at least one field")  # type: ignore[valid-type]


class ReportVerifyPayload(_Payload):
    """A resident's report checked on the spot (webapp/residents/services.py, verify_report)."""

    report_id: str = Field(description="UUID of the report")
    outcome: _choice(VERIFY_OUTCOMES)
    notes: Annotated[str, Field(max_length=2000)] = Field("", description="for staff")
    reply: Annotated[str, Field(max_length=500)] = Field(
        "", description="shown on the public status page; no phone, ID or bank card numbers"
    )
    case_id: str | None = Field(None, description="duplicate: UUID of an open case in scope")
    severity: _choice(SEVERITIES) = Field("medium", description="case: the new case's severity")


# --- living registers (webapp/rounds/registers.py) ---------------------------------------------

Day = Annotated[date, Field(description="YYYY-MM-DD, from 1900")]
HouseholdRef = Annotated[
    int | str,
    Field(description="the household's id, or the client UUID it was created under offline"),
]


class HouseholdCreatePayload(_Payload):
    building_id: Id
    unit: Annotated[int, Field(ge=1, le=99)] = 1
    room: Annotated[str, Field(min_length=1, max_length=16)]
    occupancy: Literal["occupied", "vacant", "rented_out", "moved_out"] = "occupied"
    contact_phone: Annotated[str, Field(max_length=32)] = ""
    notes: Annotated[str, Field(max_length=2000)] = ""
    dilapidated: bool = Field(False, description="危房改造户")


class ResidentCreatePayload(_Payload):
    household_id: HouseholdRef
    name: Annotated[str, Field(min_length=1, max_length=50)]
    id_number: Annotated[str, Field(max_length=18)] = Field(
        "", description="18 characters with the GB 11643 check character; sets birth date"
    )
    birth_date: Day | None = Field(None, description="required without id_number")
    gender: Literal["M", "F"] | None = Field(None, description="from the ID number if given")
    phone: Annotated[str, Field(max_length=32)] = ""
    relation: Annotated[str, Field(max_length=16)] = ""
    flags: list[_choice(EDITABLE_CARE_FLAGS)] = Field(default_factory=list)
    disability_grade: Annotated[int, Field(ge=1, le=4)] | None = None
    permit_number: Annotated[str, Field(max_length=32)] = Field("", description="居住证号")
    permit_expires_on: Day | None = None
    origin_place: Annotated[str, Field(max_length=100)] = Field("", description="户籍地")
    moved_in_on: Day | None = None
    notes: Annotated[str, Field(max_length=2000)] = ""
    confirm_duplicate: bool = Field(
        False, description="create even though a resident with this ID number is in scope"
    )


class ResidentLeavingPayload(_Payload):
    """resident.move_out and resident.deceased: kept for history, off the care schedule."""

    resident_id: Id
    date: Day = Field(description="not in the future")
    notes: Annotated[str, Field(max_length=2000)] = ""


class ResidentTransferPayload(_Payload):
    resident_id: Id
    to_household_id: Id = Field(description="in the user's scope, or in the same street")
    relation: Annotated[str, Field(max_length=16)] = ""
    date: Day | None = None


# Op type → the model of its payload. Adding an op type to the spec is one line here.
OP_PAYLOAD_SCHEMAS: dict[str, type[BaseModel]] = {
    "visit.create": VisitCreatePayload,
    "dispute.create": DisputeCreatePayload,
    "elderly_check.create": ElderlyCheckCreatePayload,
    "hazard.create": HazardCreatePayload,
    "case.action": CaseActionPayload,
    "household.update": HouseholdUpdatePayload,
    "resident.update": ResidentUpdatePayload,
    "report.verify": ReportVerifyPayload,
    "household.create": HouseholdCreatePayload,
    "resident.create": ResidentCreatePayload,
    "resident.move_out": ResidentLeavingPayload,
    "resident.deceased": ResidentLeavingPayload,
    "resident.transfer": ResidentTransferPayload,
}

REF_TEMPLATE = "#/components/schemas/{model}"


def payload_component_schemas() -> tuple[dict[str, str], dict[str, Any]]:
    """(op type → component name, component name → JSON Schema) for every registered payload,
    nested models (Location, Party, …) included as their own components."""
    models = [(model, "validation") for model in dict.fromkeys(OP_PAYLOAD_SCHEMAS.values())]
    keys, top = models_json_schema(models, ref_template=REF_TEMPLATE)
    components = dict(top.get("$defs", {}))
    names = {
        op_type: keys[(model, "validation")]["$ref"].rsplit("/", 1)[-1]
        for op_type, model in OP_PAYLOAD_SCHEMAS.items()
    }
    return names, components
