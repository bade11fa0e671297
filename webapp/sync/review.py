"""Staff review of quarantined ops (issue 12): an op written for a grid its author no longer holds
is kept (webapp/sync/dispatch.py) until community staff or admin apply it or discard it.

Applying runs the op as its author, not as the reviewer: the visit, the check or the note is the
author's field work, and the record must say who did it (a case's timeline, a record's author).
Its author lacks the grid now, so for this one application only their scope is widened to the
grid the op's target lies in today ("the current grid"), and only when that grid lies in the
reviewer's own scope: the reviewer vouches for the op inside what they manage, nothing more. The
widening is a membership added and removed inside the same transaction; it never commits. The op
then goes through the same handler (dispatch.HANDLERS) as a push, so every rule of its type, its
versions and conflicts included, applies unchanged.

The OpLog row records the outcome: `applied` (a retry of the op answers `duplicate`, as for any
applied op) or `discarded` (a retry answers `rejected`), with who reviewed it and when.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import Scope, compute_scope
from webapp.auth.services import grant
from webapp.extensions import db
from webapp.models import Grid, OpLog, Role, User
from webapp.ops import DomainError
from webapp.sync import dispatch
from webapp.sync.entities import iso

DISCARDED = "discarded"
REVIEWER_ROLES = (Role.ADMIN, Role.COMMUNITY_STAFF)
LIST_LIMIT = 200


class ReviewError(Exception):
    """The review could not be done; the message is for people."""


class NotReviewable(ReviewError):
    """No such quarantined op in the reviewer's scope: answered like a missing one."""


@dataclass
class HeldOp:
    entry: OpLog
    op: dispatch.Op | None
    grid: Grid | None
    author: User | None


def _reviewer_scope(reviewer: User) -> Scope:
    return compute_scope(reviewer, REVIEWER_ROLES)


def _held(entry: OpLog) -> HeldOp:
    try:
        op = dispatch.parse_op(entry.held_body or {}, entry.device_id)
    except DomainError:
        op = None
    grid_id = dispatch.target_grid_id(op) if op is not None else None
    grid = db.session.get(Grid, grid_id) if grid_id is not None else None
    return HeldOp(entry, op, grid, db.session.get(User, entry.user_id))


def held_ops(reviewer: User) -> list[HeldOp]:
    """Quarantined ops whose target lies in the reviewer's scope (admin: all of them)."""
    scope = _reviewer_scope(reviewer)
    rows = db.session.scalars(
        select(OpLog)
        .where(OpLog.status == dispatch.QUARANTINED)
        .order_by(OpLog.received_at)
        .limit(LIST_LIMIT)
    )
    held = [_held(entry) for entry in rows]
    return [h for h in held if scope.everything or (h.grid and scope.covers_grid(h.grid.id))]


def held_op(reviewer: User, op_id: uuid.UUID) -> HeldOp:
    entry = db.session.get(OpLog, op_id)
    if entry is None or entry.status != dispatch.QUARANTINED:
        raise NotReviewable(_("No such op waiting for review."))
    held = _held(entry)
    scope = _reviewer_scope(reviewer)
    if not (scope.everything or (held.grid and scope.covers_grid(held.grid.id))):
        raise NotReviewable(_("No such op waiting for review."))
    return held


def _review_note(reviewer: User, outcome: str) -> dict[str, Any]:
    return {"outcome": outcome, "by": reviewer.id, "at": iso(clock.now())}


def apply_held(reviewer: User, op_id: uuid.UUID) -> HeldOp:
    """Apply a quarantined op as its author in the grid its target lies in now."""
    held = held_op(reviewer, op_id)
    if held.op is None or held.grid is None or held.author is None:
        raise ReviewError(_("This op no longer names anything that exists; discard it."))
    author, op, entry = held.author, held.op, held.entry
    widened = None
    if not compute_scope(author).covers_grid(held.grid.id):
        widened = grant(author, Role.GRID_WORKER, held.grid.id)
        db.session.flush()
    savepoint = db.session.begin_nested()
    try:
        version, extra = dispatch.HANDLERS[op.type](author, op)
    except DomainError as error:
        savepoint.rollback()  # the caller rolls back the widening with the rest
        raise ReviewError(_("The op cannot be applied: %(reason)s", reason=error.message)) from None
    savepoint.commit()
    if widened is not None:
        author.memberships.remove(widened)
        db.session.flush()
    result = {
        **dispatch.sync_result(op.op_id, dispatch.APPLIED, entry.record_id, version=version),
        **extra,
    }
    entry.status = dispatch.APPLIED
    entry.result = {**result, "review": _review_note(reviewer, "applied")}
    record_audit(
        "quarantine_applied",
        actor=reviewer,
        target_type="sync_op",
        target_id=op.op_id,
        op=op.type,
        author=author.id,
        grid=held.grid.id,
    )
    return held


def discard_held(reviewer: User, op_id: uuid.UUID) -> HeldOp:
    held = held_op(reviewer, op_id)
    entry = held.entry
    result = dispatch.sync_result(
        entry.op_id,
        dispatch.REJECTED,
        entry.record_id,
        error={
            "code": "discarded",
            "message": _("Staff reviewed this op and discarded it."),
        },
    )
    entry.status = DISCARDED
    entry.result = {**result, "review": _review_note(reviewer, DISCARDED)}
    record_audit(
        "quarantine_discarded",
        actor=reviewer,
        target_type="sync_op",
        target_id=entry.op_id,
        op=entry.op_type,
        author=entry.user_id,
    )
    return held
