"""The op: the one shape every field write takes, from an online form or the offline outbox
(DESIGN.md §5), and the domain errors services raise.

Services raise `Invalid`, `OutOfScope` or `Conflict`; views map them to HTTP once (error
handlers in webapp.web) and the sync dispatcher maps them to per-op results once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DomainError(Exception):
    """Base of the errors a service raises for people to read."""

    code = "error"

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    """Bad input. `errors` maps each bad field to a message; all of them, not just the first."""

    code = "invalid"

    def __init__(self, errors: dict[str, str], message: str = ""):
        super().__init__(message or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class OutOfScope(DomainError):
    """The object does not exist for this user. Said the same way as "does not exist"."""

    code = "out_of_scope"


class Conflict(DomainError):
    """The write was based on a stale copy; `current` is the server's copy to show or merge."""

    code = "conflict"

    def __init__(self, message: str, current: dict[str, Any]):
        super().__init__(message)
        self.current = current


OP_TYPES = (
    "visit.create",
    "dispute.create",
    "elderly_check.create",
    "hazard.create",
    "case.action",
    "household.update",
    "resident.update",
    # Living registers (webapp/rounds/registers.py)
    "household.create",
    "resident.create",
    "resident.move_out",
    "resident.deceased",
    "resident.transfer",
    # A resident's report checked on the spot (webapp/residents/services.py)
    "report.verify",
)


@dataclass(frozen=True)
class Op:
    op_id: uuid.UUID
    type: str
    record_id: uuid.UUID | str | int
    payload: dict[str, Any]
    client_time: datetime | None = None
    base_version: int | None = None
    device_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def parse_uuid(value: Any, field_name: str = "record_id") -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise Invalid({field_name: "not a valid UUID"}) from None
