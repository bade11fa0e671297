"""Writing the audit log. Rows join the caller's transaction, so an action and its audit row
commit together or not at all.

The log is append-only (DESIGN.md §7): the ORM refuses to update or delete an `AuditLog` row,
whether as a loaded object or by a bulk `update()`/`delete()` statement. Only retention may blank
the personal columns of old rows, inside `retention_anonymising()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from webapp.extensions import db
from webapp.models import AuditLog, User

USER_AGENT_LENGTH = 200
# Columns retention may blank; nothing else of a row ever changes.
ANONYMISABLE = frozenset({"ip", "user_agent", "actor_name", "detail"})

_anonymising: ContextVar[bool] = ContextVar("audit_anonymising", default=False)


class AuditLogIsAppendOnly(RuntimeError):
    """An attempt to change or remove an audit row."""


def client_ip() -> str:
    return (request.remote_addr or "") if has_request_context() else ""


def client_user_agent() -> str:
    if not has_request_context():
        return ""
    return (request.headers.get("User-Agent") or "")[:USER_AGENT_LENGTH]


def record_audit(
    action: str,
    *,
    actor: User | None = None,
    actor_name: str = "",
    target_type: str = "",
    target_id: object = "",
    **detail: Any,
) -> AuditLog:
    entry = AuditLog(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.username if actor is not None else ""),
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else "",
        ip=client_ip(),
        user_agent=client_user_agent(),
        detail=detail,
    )
    db.session.add(entry)
    return entry


@contextmanager
def retention_anonymising() -> Iterator[None]:
    """Let retention blank the personal columns of old audit rows (and nothing else)."""
    token = _anonymising.set(True)
    try:
        yield
    finally:
        _anonymising.reset(token)


@event.listens_for(AuditLog, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise AuditLogIsAppendOnly("audit rows cannot be deleted")


@event.listens_for(AuditLog, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    from sqlalchemy import inspect

    changed = {attr.key for attr in inspect(target).attrs if attr.history.has_changes()}
    if not (_anonymising.get() and changed <= ANONYMISABLE):
        raise AuditLogIsAppendOnly("audit rows cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    if not any(mapper.class_ is AuditLog for mapper in state.all_mappers):
        return
    if state.is_update and _anonymising.get():
        return
    raise AuditLogIsAppendOnly("audit rows cannot be changed or deleted")
