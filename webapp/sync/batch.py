"""The batched push path: field records written in bulk, everything else op by op.

A 200-op push of new records spent most of its time in the ORM's unit of work, one flush and
eight statements per op, all of it inside the write transaction. Here the ops are read and
checked first, by the same creators the per-op path runs (webapp/rounds/records.py), with the
rows they name loaded by one scoped query per kind. Then the batch takes one change-sequence
number, looks up its OpLog rows and existing records with one query
each, and writes the checked records and their OpLog rows with one INSERT per table.

Only the plain case takes the bulk path: a record create that checks clean, has no photos and
no `corrects`, opens no case, and whose op id and record id are new. Anything else — every other
op type, a bad op, a repeat, a bulk insert that hits a constraint — goes through `apply_op` with
its SAVEPOINT, so its answer is the per-op path's by construction. Records waiting for the bulk
insert are written before any op that goes one by one, so that op sees them, as in op order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from webapp import clock
from webapp.auth.scope import Scope, compute_scope, scoped
from webapp.cases import opening
from webapp.extensions import db
from webapp.models import (
    Building,
    FieldRecord,
    Grid,
    Household,
    OpLog,
    Resident,
    User,
    utcnow,
)
from webapp.ops import Op, OutOfScope
from webapp.rounds import records
from webapp.sync.dispatch import (
    APPLIED,
    CREATE_TYPES,
    MAX_RECORD_ID_LENGTH,
    apply_op,
    screen_op,
    sync_result,
)


class _NotPlain(Exception):
    """The op needs something the bulk path does not do; it goes one by one."""


@dataclass
class Checked:
    """A record create that checked clean and can be inserted in bulk."""

    raw: dict[str, Any]
    op: Op
    model: type[FieldRecord]
    row: dict[str, Any]
    result: dict[str, Any]
    oplog: dict[str, Any]


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class BatchLookups:
    """The in-scope rows a batch names, with one scoped query per kind."""

    FIELDS = {Household: "household_id", Resident: "resident_id", Building: "building_id"}

    def __init__(self, actor: User, scope: Scope, ops: list[Op]):
        wanted: dict[type, set[int]] = {Household: set(), Resident: set(), Building: set()}
        wanted[Grid] = set()
        for op in ops:
            payload = op.payload
            for model, field in self.FIELDS.items():
                wanted[model].add(_as_id(payload.get(field)))
            wanted[Grid].add(_as_id(payload.get("grid_id")))
            parties = payload.get("parties")
            for party in parties if isinstance(parties, list) else []:
                if isinstance(party, dict):
                    wanted[Resident].add(_as_id(party.get("resident_id")))
        self.rows: dict[type, dict[int, Any]] = {}
        for model, ids in wanted.items():
            ids.discard(None)
            found = scoped(model, scope=scope).where(model.id.in_(ids)) if ids else None
            self.rows[model] = {row.id: row for row in db.session.scalars(found)} if ids else {}
        household_ids = list(self.rows[Household])
        self.members: dict[int, set[int]] = {household_id: set() for household_id in household_ids}
        if household_ids:
            pairs = db.session.execute(
                select(Resident.id, Resident.household_id).where(
                    Resident.household_id.in_(household_ids)
                )
            )
            for resident_id, household_id in pairs:
                self.members[household_id].add(resident_id)
        self.own_grid_ids = frozenset(compute_scope(actor, roles=["grid_worker"]).grid_ids)


class BatchRecordContext(records.RecordContext):
    """A RecordContext that reads from the batch's look-ups and writes nothing: `finish` hands
    the checked record back for the bulk insert."""

    def __init__(self, actor: User, op: Op, scope: Scope, now: datetime, lookups: BatchLookups):
        super().__init__(actor, op, scope=scope, now=now)
        self.lookups = lookups

    def visible(self, model: type, object_id: int | None, field: str) -> Any:
        if object_id is None:
            return None
        rows = self.lookups.rows.get(model)
        if rows is None:
            raise _NotPlain(model)
        found = rows.get(object_id)
        if found is None:
            raise OutOfScope(field)  # the per-op path words the answer (and may quarantine)
        return found

    def own_grid_ids(self) -> frozenset[int]:
        return self.lookups.own_grid_ids

    def household_member_ids(self, household_id: int) -> set[int]:
        return self.lookups.members.get(household_id, set())

    def common(self, model: type[FieldRecord], grid_id: int | None) -> dict[str, Any]:
        if self.reader.payload.get("corrects") or self.reader.payload.get("photo_ids"):
            raise _NotPlain("corrects or photos")
        return super().common(model, grid_id)

    def finish(self, record: FieldRecord) -> FieldRecord:
        self.reader.check()
        return record


def _row_of(record: FieldRecord) -> dict[str, Any]:
    state = record.__dict__
    return {
        attr.key: state[attr.key] for attr in record.__mapper__.column_attrs if attr.key in state
    }


def check_records(actor: User, scope: Scope, device_id: str, raw_ops: list[Any]) -> dict:
    """The batch's plain record creates, checked before the batch writes, by position."""
    screened: dict[int, tuple[Op, Any, str, dict]] = {}
    for index, raw in enumerate(raw_ops):
        if not isinstance(raw, dict) or raw.get("type") not in CREATE_TYPES:
            continue
        read = screen_op(raw, device_id)
        if not isinstance(read, dict):
            screened[index] = (*read, raw)
    if not screened:
        return {}
    lookups = BatchLookups(actor, scope, [item[0] for item in screened.values()])
    now = clock.now()
    checked: dict[int, Checked] = {}
    for index, (op, raw_record_id, body_sha256, raw) in screened.items():
        try:
            record = records.CREATORS[op.type](BatchRecordContext(actor, op, scope, now, lookups))
        except Exception:  # noqa: BLE001 — whatever it is, the per-op path answers it
            continue
        if opening.may_open_case(record):
            continue
        result = sync_result(op.op_id, APPLIED, raw_record_id, version=1)
        checked[index] = Checked(
            raw=raw,
            op=op,
            model=type(record),
            row=_row_of(record),
            result=result,
            oplog={
                "op_id": op.op_id,
                "user_id": actor.id,
                "device_id": op.device_id,
                "op_type": op.type,
                "record_id": str(raw.get("record_id"))[:MAX_RECORD_ID_LENGTH],
                "body_sha256": body_sha256,
                "status": APPLIED,
                "result": result,
                "client_time": op.client_time,
                "received_at": utcnow(),
            },
        )
    return checked


class BulkWrites:
    """The checked record creates of one batch, written in bulk.

    `apply_op` asks `claim` first for each op, in op order: a claimed op waits here and its
    answer is the per-op path's `applied`. Before an op that is not claimed, `write` inserts
    what waits, so that op sees it. When the bulk insert meets a constraint (another push wrote
    one of these ids since we looked), each waiting op goes through `apply_op` after all, and its
    answer replaces the one handed out, in place: results are read only after commit.
    """

    def __init__(self, actor: User, scope: Scope, checked: dict[int, Checked], seq: int):
        self.actor, self.scope, self.seq = actor, scope, seq
        self.by_raw = {id(item.raw): item for item in checked.values()}
        self.existing = _existing_record_ids(checked.values())
        self.waiting: list[Checked] = []
        self.taken_ops: set[uuid.UUID] = set()
        self.taken_records: set[uuid.UUID] = set()

    def claim(self, raw: Any, logged: dict[uuid.UUID, OpLog]) -> dict[str, Any] | None:
        item = self.by_raw.get(id(raw))
        if item is None or item.raw is not raw:
            return None
        op_id, record_id = item.op.op_id, item.row["id"]
        if (
            op_id in logged
            or op_id in self.taken_ops
            or record_id in self.existing
            or record_id in self.taken_records
        ):
            return None  # a repeat: the per-op path answers it from what is stored
        self.waiting.append(item)
        self.taken_ops.add(op_id)
        self.taken_records.add(record_id)
        return item.result

    def write(self, logged: dict[uuid.UUID, OpLog]) -> None:
        if not self.waiting:
            return
        waiting, self.waiting = self.waiting, []
        savepoint = db.session.begin_nested()
        try:
            # Keys are inserted in one order by every push (tables by name, rows by key): two
            # pushes carrying some of the same ops then wait for each other instead of
            # deadlocking, as they would inserting them in opposite orders.
            by_model: dict[type[FieldRecord], list[dict[str, Any]]] = {}
            for item in waiting:
                by_model.setdefault(item.model, []).append({**item.row, "change_seq": self.seq})
            for model in sorted(by_model, key=lambda model: model.__tablename__):
                rows = sorted(by_model[model], key=lambda row: row["id"])
                db.session.execute(insert(model), rows)
            oplogs = sorted((item.oplog for item in waiting), key=lambda row: row["op_id"])
            db.session.execute(insert(OpLog), oplogs)
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()
            current_app.logger.info("sync push: a bulk insert met a constraint; one by one")
            for item in waiting:
                again = apply_op(self.actor, self.scope, item.op.device_id, item.raw, logged)
                item.result.clear()
                item.result.update(again)
            return
        for item in waiting:
            logged[item.op.op_id] = OpLog(**item.oplog)  # a repeat later answers from it


def _existing_record_ids(checked) -> set[uuid.UUID]:
    by_model: dict[type[FieldRecord], list[uuid.UUID]] = {}
    for item in checked:
        by_model.setdefault(item.model, []).append(item.row["id"])
    found: set[uuid.UUID] = set()
    for model, ids in by_model.items():
        found.update(db.session.scalars(select(model.id).where(model.id.in_(ids))))
    return found
