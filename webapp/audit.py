"""Writing the audit log. Rows join the caller's transaction, so an action and its audit row
commit together or not at all."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from webapp.extensions import db
from webapp.models import AuditLog, User


def client_ip() -> str:
    return (request.remote_addr or "") if has_request_context() else ""


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
        detail=detail,
    )
    db.session.add(entry)
    return entry
