"""Applying one op (DESIGN.md §5): the one place where services and their errors become per-op
sync results.

An op runs inside a SAVEPOINT of the push's transaction, so a bad op rolls back alone and never
blocks the rest. Its OpLog row is written in the same savepoint as the record it made: either both
commit or neither, and the OpLog primary key (op_id) makes a second application impossible even
if the same op arrives twice at once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from webapp.audit import record_audit
from webapp.auth.scope import Scope
from webapp.cases import actions as case_actions
from webapp.extensions import db
from webapp.jsonsafe import INT64_MAX, INT64_MIN, first_unstorable
from webapp.models import (
    RECORD_MODELS,
    Building,
    Case,
    Grid,
    Household,
    OpLog,
    Resident,
    ResidentReport,
    User,
    utcnow,
)
from webapp.moments import OutOfWindow, parse_moment
from webapp.ops import OP_TYPES, Conflict, DomainError, Invalid, Op, OutOfScope, parse_uuid
from webapp.residents import services as resident_reports
from webapp.rounds import profiles, records, registers

APPLIED = "applied"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
REJECTED = "rejected"
QUARANTINED = "quarantined"
STATUSES = (APPLIED, DUPLICATE, CONFLICT, REJECTED, QUARANTINED)

CREATE_TYPES = ("visit.create", "dispute.create", "elderly_check.create", "hazard.create")
UPDATE_TYPES = ("household.update", "resident.update")
# Register changes: creates name the new row by a client UUID; the rest name a resident's id and
# carry the version the worker saw, like updates.
REGISTER_CREATE_TYPES = ("household.create", "resident.create")
REGISTER_CHANGE_TYPES = ("resident.move_out", "resident.deceased", "resident.transfer")
MAX_RECORD_ID_LENGTH = 64


class MalformedOp(DomainError):
    """The op is not shaped like an op; nothing in it was looked at."""

    code = "malformed_op"


class UnknownType(DomainError):
    code = "unknown_type"


def canonical_sha256(body: Any) -> str:
    """Hash of the op as sent, blind to key order and whitespace only."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sync_result(
    op_id: Any,
    status: str,
    record_id: Any = None,
    *,
    version: int | None = None,
    error: dict[str, Any] | None = None,
    current: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "op_id": str(op_id) if op_id is not None else None,
        "status": status,
        "record_id": record_id,
        "version": version,
        "error": error,
        "current": current,
    }


def error_body(error: DomainError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, Invalid):
        body["fields"] = error.errors
    return body


# --- reading an op ------------------------------------------------------------------------------


def _client_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise MalformedOp(_("client_time must be an ISO 8601 time."))
    try:
        # A time without an offset was read off a phone in China.
        return parse_moment(value)
    except OutOfWindow as error:
        raise MalformedOp(_("client_time: %(error)s", error=str(error))) from None
    except ValueError:
        raise MalformedOp(_("client_time must be an ISO 8601 time.")) from None


def _whole_number(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise MalformedOp(_("%(field)s must be a whole number.", field=field))
    if isinstance(value, str) and value.strip().isdecimal():
        value = int(value)
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise MalformedOp(_("%(field)s is too large.", field=field))
        return value
    raise MalformedOp(_("%(field)s must be a whole number.", field=field))


def parse_op(raw: Any, device_id: str) -> Op:
    """The Op a pushed JSON object describes. Raises MalformedOp or UnknownType."""
    if not isinstance(raw, dict):
        raise MalformedOp(_("An op must be a JSON object."))
    try:
        op_id = parse_uuid(raw.get("op_id"), "op_id")
    except Invalid:
        raise MalformedOp(_("op_id must be a UUID.")) from None
    op_type = raw.get("type")
    if op_type not in OP_TYPES:
        raise UnknownType(_("Unknown op type."))
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        raise MalformedOp(_("payload must be a JSON object."))
    raw_record_id = raw.get("record_id")
    if raw_record_id is None or len(str(raw_record_id)) > MAX_RECORD_ID_LENGTH:
        raise MalformedOp(_("record_id is missing or too long."))
    base_version = None
    if op_type in UPDATE_TYPES or op_type in REGISTER_CHANGE_TYPES:
        record_id: uuid.UUID | int | str = _whole_number(raw_record_id, "record_id")
        if "base_version" not in raw:
            raise MalformedOp(_("base_version is required for an update."))
        base_version = _whole_number(raw["base_version"], "base_version")
    elif op_type in CREATE_TYPES or op_type in REGISTER_CREATE_TYPES:
        try:
            record_id = parse_uuid(raw_record_id)
        except Invalid:
            raise MalformedOp(_("record_id must be a UUID.")) from None
    else:
        record_id = str(raw_record_id)
    return Op(
        op_id=op_id,
        type=op_type,
        record_id=record_id,
        payload=payload,
        client_time=_client_time(raw.get("client_time")),
        base_version=base_version,
        device_id=device_id,
    )


# --- what each type does ------------------------------------------------------------------------


# A handler returns the version to report and any extra result fields.
Outcome = tuple[int | None, dict[str, Any]]


def _create_record(actor: User, op: Op) -> Outcome:
    _record, case = records.create_record(actor, op)
    # The phone tells the worker at once that a case was opened, with its number: the result
    # is logged, so a retried op gets the same news.
    opened = {"case": {"id": str(case.id), "number": case.number}} if case is not None else {}
    return 1, opened  # records are immutable: they stay at their first version


def _update_household(actor: User, op: Op) -> Outcome:
    return profiles.update_household(actor, op).version, {}


def _update_resident(actor: User, op: Op) -> Outcome:
    return profiles.update_resident(actor, op).version, {}


def _create_household(actor: User, op: Op) -> Outcome:
    household = registers.create_household(actor, op)
    # The phone swaps its provisional copy (keyed by the UUID) for the server's id.
    return household.version, {"household": {"id": household.id, "grid_id": household.grid_id}}


def _create_resident(actor: User, op: Op) -> Outcome:
    resident, hints = registers.create_resident(actor, op)
    created = {
        "id": resident.id,
        "household_id": resident.household_id,
        "grid_id": resident.grid_id,
    }
    return resident.version, {
        "resident": created,
        "duplicates": [hint.as_dict() for hint in hints],
    }


def _change_resident(actor: User, op: Op) -> Outcome:
    if op.type == "resident.transfer":
        resident = registers.transfer_resident(actor, op)
    else:
        resident = registers.resident_leaves(actor, op)
    return resident.version, {
        "resident": {
            "id": resident.id,
            "household_id": resident.household_id,
            "grid_id": resident.grid_id,
            "status": resident.status,
        }
    }


def _verify_report(actor: User, op: Op) -> Outcome:
    report = resident_reports.verify_report(actor, op)
    result: dict[str, Any] = {"report": {"id": str(report.id), "status": report.status}}
    if report.case_id is not None:
        # The phone shows the case it opened (or joined) at once, as for a record.
        case = db.session.get(Case, report.case_id)
        result["case"] = {"id": str(case.id), "number": case.number}
    return report.version, result


def _case_action(actor: User, op: Op) -> Outcome:
    case = case_actions.apply_case_action(actor, op)
    return case.version, {"case": {"id": str(case.id), "status": case.status, "level": case.level}}


HANDLERS: dict[str, Callable[[User, Op], Outcome]] = {
    **{op_type: _create_record for op_type in CREATE_TYPES},
    "household.update": _update_household,
    "resident.update": _update_resident,
    "case.action": _case_action,
    "report.verify": _verify_report,
    "household.create": _create_household,
    "resident.create": _create_resident,
    "resident.move_out": _change_resident,
    "resident.deceased": _change_resident,
    "resident.transfer": _change_resident,
}


# --- quarantine ---------------------------------------------------------------------------------


def _payload_int(payload: dict[str, Any], field: str) -> int | None:
    value = payload.get(field)
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def target_grid_id(op: Op) -> int | None:
    """The grid the op's target lies in, looked up past the user's scope. Only used to decide
    between `quarantined` and `rejected`; nothing of it is sent back."""
    payload = op.payload
    lookups: list[tuple[type, Any, int | None]] = []
    if op.type == "household.update":
        lookups.append((Household, Household.grid_id, _payload_int(payload, "household_id")))
        lookups.append((Household, Household.grid_id, _payload_int({"id": op.record_id}, "id")))
    elif op.type == "resident.update" or op.type in REGISTER_CHANGE_TYPES:
        lookups.append((Resident, Resident.grid_id, _payload_int(payload, "resident_id")))
        lookups.append((Resident, Resident.grid_id, _payload_int({"id": op.record_id}, "id")))
    elif op.type == "report.verify":
        try:
            report_id = parse_uuid(payload.get("report_id"), "report_id")
        except Invalid:
            return None
        return db.session.scalar(
            select(ResidentReport.grid_id).where(ResidentReport.id == report_id)
        )
    elif op.type == "case.action":
        try:
            case_id = parse_uuid(payload.get("case_id"), "case_id")
        except Invalid:
            return None
        return db.session.scalar(select(Case.home_grid_id).where(Case.id == case_id))
    else:
        lookups.append((Household, Household.grid_id, _payload_int(payload, "household_id")))
        lookups.append((Resident, Resident.grid_id, _payload_int(payload, "resident_id")))
        lookups.append((Building, Building.grid_id, _payload_int(payload, "building_id")))
        lookups.append((Grid, Grid.id, _payload_int(payload, "grid_id")))
    for model, grid_column, object_id in lookups:
        if object_id is None:
            continue
        primary_key = model.__mapper__.primary_key[0]
        grid_id = db.session.scalar(select(grid_column).where(primary_key == object_id))
        if grid_id is not None:
            return grid_id
    return None


def authored_records_in(user_id: int, grid_id: int) -> bool:
    for model in RECORD_MODELS.values():
        found = db.session.scalar(
            select(model.id).where(model.author_id == user_id, model.grid_id == grid_id).limit(1)
        )
        if found is not None:
            return True
    return False


def should_quarantine(actor: User, scope: Scope, op: Op) -> bool:
    """An out-of-scope op is held, not refused, when it was written for a grid the user once
    worked: its target is in a grid that exists, is outside their scope now, and holds records
    they authored. Memberships are deleted on revocation, so authorship is the lasting trace."""
    grid_id = target_grid_id(op)
    if grid_id is None or scope.covers_grid(grid_id):
        return False
    return authored_records_in(actor.id, grid_id)


# --- applying -----------------------------------------------------------------------------------


def _stored(op_id: uuid.UUID) -> OpLog | None:
    return db.session.scalar(
        select(OpLog).where(OpLog.op_id == op_id).execution_options(populate_existing=True)
    )


def _answer_again(stored: OpLog, actor: User, body_sha256: str, raw_record_id: Any) -> dict:
    if stored.user_id != actor.id or stored.body_sha256 != body_sha256:
        # Never re-apply and never reveal the first op: the first one stays as it was.
        return sync_result(
            stored.op_id,
            REJECTED,
            raw_record_id,
            error={
                "code": "op_id_reused",
                "message": _("This op id was already used for a different op."),
            },
        )
    result = dict(stored.result)
    if result.get("status") == APPLIED:
        result["status"] = DUPLICATE
    return result


def _log(op: Op, actor: User, raw: dict, body_sha256: str, result: dict, **extra: Any) -> OpLog:
    entry = OpLog(
        op_id=op.op_id,
        user_id=actor.id,
        device_id=op.device_id,
        op_type=op.type,
        record_id=str(raw.get("record_id"))[:MAX_RECORD_ID_LENGTH],
        body_sha256=body_sha256,
        status=result["status"],
        result=result,
        client_time=op.client_time,
        received_at=utcnow(),
        **extra,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def logged_ops(raw_ops: list[Any]) -> dict[uuid.UUID, OpLog]:
    """The OpLog rows of a batch's ops, in one query. A row found stays true; an op not found
    may still be logged by another push meanwhile (PostgreSQL writers run side by side): its
    insert then meets the op_id key, and `apply_op` answers from the other push's row."""
    op_ids = set()
    for raw in raw_ops:
        try:
            op_ids.add(uuid.UUID(str(raw["op_id"])))
        except (TypeError, KeyError, ValueError, AttributeError):
            continue
    if not op_ids:
        return {}
    return {
        row.op_id: row for row in db.session.scalars(select(OpLog).where(OpLog.op_id.in_(op_ids)))
    }


def screen_op(raw: Any, device_id: str) -> dict[str, Any] | tuple[Op, Any, str]:
    """(op, record_id as sent, body hash) of a pushed op, or its `rejected` result when it
    cannot be read. Both push paths (per op and batched) read ops through here."""
    raw_op_id = raw.get("op_id") if isinstance(raw, dict) else None
    raw_record_id = raw.get("record_id") if isinstance(raw, dict) else None
    if not isinstance(raw_op_id, str | None):
        raw_op_id = str(raw_op_id)
    if isinstance(raw_record_id, bool) or not isinstance(raw_record_id, str | int | None):
        raw_record_id = None  # echoed as sent, when it is something an id can be
    # Echo only what can be sent back: the answer must stay JSON for the ops beside this one.
    if first_unstorable(raw_op_id) or first_unstorable(raw_record_id):
        raw_op_id = None if first_unstorable(raw_op_id) else raw_op_id
        raw_record_id = None if first_unstorable(raw_record_id) else raw_record_id
    unreadable = first_unstorable(raw)
    if unreadable:
        error = MalformedOp(
            _(
                "The op holds a value that cannot be stored (at %(path)s): not-a-number,"
                " infinity, a number too large, or a broken character. Correct it and save again.",
                path=unreadable,
            )
        )
        return sync_result(raw_op_id, REJECTED, raw_record_id, error=error_body(error))
    try:
        op = parse_op(raw, device_id)
    except (MalformedOp, UnknownType) as error:
        return sync_result(raw_op_id, REJECTED, raw_record_id, error=error_body(error))
    return op, raw_record_id, canonical_sha256(raw)


def apply_op(
    actor: User,
    scope: Scope,
    device_id: str,
    raw: Any,
    logged: dict[uuid.UUID, OpLog] | None = None,
    bulk: Any = None,
) -> dict[str, Any]:
    """Apply one pushed op and return its result. Never raises for a bad op; raises
    OperationalError (database busy or gone) for the caller to retry the whole push.
    `logged` (from `logged_ops`) saves a look-up per op and is kept up to date here.
    `bulk` (webapp/sync/batch.py `BulkWrites`, with `logged`) takes the plain record creates
    it checked earlier and writes them in bulk, before the next op that goes one by one."""
    if bulk is not None and logged is not None:
        claimed = bulk.claim(raw, logged)
        if claimed is not None:
            return claimed
        bulk.write(logged)  # what waits is written first, as in op order
    screened = screen_op(raw, device_id)
    if isinstance(screened, dict):
        return screened
    op, raw_record_id, body_sha256 = screened

    for attempt in range(2):
        if logged is not None and attempt == 0:
            stored = logged.get(op.op_id)
        else:
            stored = _stored(op.op_id)
        if stored is not None:
            return _answer_again(stored, actor, body_sha256, raw_record_id)
        savepoint = db.session.begin_nested()
        try:
            version, extra = HANDLERS[op.type](actor, op)
            result = {**sync_result(op.op_id, APPLIED, raw_record_id, version=version), **extra}
            entry = _log(op, actor, raw, body_sha256, result)
            savepoint.commit()
            if logged is not None:
                logged[op.op_id] = entry
            return result
        except OperationalError:
            raise
        except IntegrityError:
            # Someone else wrote this op (or this record) between our look and our insert: the
            # next look finds their row and answers from it.
            savepoint.rollback()
            if attempt == 0:
                continue
            current_app.logger.exception("sync op %s kept hitting a constraint", op.op_id)
            return sync_result(op.op_id, REJECTED, raw_record_id, error=_server_error())
        except Conflict as error:
            savepoint.rollback()
            return sync_result(
                op.op_id,
                CONFLICT,
                raw_record_id,
                error=error_body(error),
                current=error.current,
            )
        except OutOfScope as error:
            savepoint.rollback()
            if should_quarantine(actor, scope, op):
                return _quarantine(op, actor, raw, body_sha256, raw_record_id, logged)
            # A denial like a page's 404 (webapp/auth/scope.py): audited, committed with the push.
            record_audit(
                "access_denied", actor=actor, target_type="sync_op", target_id=op.op_id, op=op.type
            )
            return sync_result(op.op_id, REJECTED, raw_record_id, error=error_body(error))
        except DomainError as error:
            savepoint.rollback()
            return sync_result(op.op_id, REJECTED, raw_record_id, error=error_body(error))
        except Exception:
            # A bug or a value the database refuses must not block the ops behind it. The op is
            # not logged, so sending it again after a fix re-evaluates it.
            savepoint.rollback()
            current_app.logger.exception("sync op %s failed", op.op_id)
            return sync_result(op.op_id, REJECTED, raw_record_id, error=_server_error())
    raise AssertionError("unreachable")


def _server_error() -> dict[str, str]:
    return {
        "code": "server_error",
        "message": _("The server could not apply this op. It has been logged."),
    }


def _quarantine(
    op: Op,
    actor: User,
    raw: dict,
    body_sha256: str,
    raw_record_id: Any,
    logged: dict[uuid.UUID, OpLog] | None,
) -> dict:
    result = sync_result(
        op.op_id,
        QUARANTINED,
        raw_record_id,
        error={
            "code": "grid_not_held",
            "message": _(
                "This was recorded for a grid you no longer hold. It is kept for staff to review."
            ),
        },
    )
    savepoint = db.session.begin_nested()
    try:
        entry = _log(op, actor, raw, body_sha256, result, held_body=raw)
        savepoint.commit()
        if logged is not None:
            logged[op.op_id] = entry
    except IntegrityError:
        savepoint.rollback()
        stored = _stored(op.op_id)
        if stored is not None:
            return _answer_again(stored, actor, body_sha256, raw_record_id)
        raise
    return result
