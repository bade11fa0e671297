"""The masking table as code (DESIGN.md §7): who sees which personal field in full, masked, or
not at all. Pages, the sync pull, search and "reveal" all ask here, so the table has one home.

| viewer (relation to the resident's grid)           | name   | phone  | ID     | 公示 names |
|----------------------------------------------------|--------|--------|--------|-----------|
| grid worker, in their own grids                    | full   | full   | masked | masked    |
| community staff, in their community                | full   | masked | masked | masked    |
| street / department staff, admin                   | masked | masked | masked | masked    |
| public (and anyone outside the object's scope)     | hidden | hidden | hidden | masked    |

A user with several roles gets the closest relation they hold to that grid: a community clerk
who is also the worker of one grid sees that grid as its worker and the others as community staff.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context

from webapp.masking import mask_id_number, mask_name, mask_phone
from webapp.models import Role, User


class Relation(enum.StrEnum):
    RESPONSIBLE_WORKER = "responsible_worker"
    COMMUNITY_STAFF = "community_staff"
    WIDER_STAFF = "wider_staff"  # street and department staff, admin
    PUBLIC = "public"


class Shown(enum.StrEnum):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


FULL, MASKED, HIDDEN = Shown.FULL, Shown.MASKED, Shown.HIDDEN

# Personal fields the table governs. `publicity_name` is a name inside a 公示 text.
FIELDS = ("name", "phone", "id_number", "publicity_name")

MASKING_TABLE: dict[Relation, dict[str, Shown]] = {
    Relation.RESPONSIBLE_WORKER: {
        "name": FULL,
        "phone": FULL,
        "id_number": MASKED,
        "publicity_name": MASKED,
    },
    Relation.COMMUNITY_STAFF: {
        "name": FULL,
        "phone": MASKED,
        "id_number": MASKED,
        "publicity_name": MASKED,
    },
    Relation.WIDER_STAFF: {
        "name": MASKED,
        "phone": MASKED,
        "id_number": MASKED,
        "publicity_name": MASKED,
    },
    Relation.PUBLIC: {
        "name": HIDDEN,
        "phone": HIDDEN,
        "id_number": HIDDEN,
        "publicity_name": MASKED,
    },
}

MASKERS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "phone": mask_phone,
    "id_number": mask_id_number,
    "publicity_name": mask_name,
}

# "Reveal" (an audited online action with a reason) of a field the table masks for the viewer.
# The worker already sees phones and may need an ID number for a form at the door; a community
# clerk calls residents; the street office and admin handle appeals and may reveal either. A name
# is never revealed this way: whoever needs it in full sees it in full already.
REVEALABLE: dict[Relation, frozenset[str]] = {
    Relation.RESPONSIBLE_WORKER: frozenset({"id_number"}),
    Relation.COMMUNITY_STAFF: frozenset({"phone"}),
    Relation.WIDER_STAFF: frozenset({"phone", "id_number"}),
    Relation.PUBLIC: frozenset(),
}
REVEAL_FIELDS = ("phone", "id_number")

_NEAR_ROLES = (Role.GRID_WORKER, Role.COMMUNITY_STAFF)


def shown_value(value: Any, field: str, shown: Shown) -> str:
    """`value` as the table says: itself, masked, or the empty string."""
    text = "" if value is None else str(value)
    if shown is FULL:
        return text
    if shown is MASKED:
        return MASKERS[field](text)
    return ""


@dataclass(frozen=True)
class Viewer:
    """One user's relation to every grid, worked out once (per request, or per pull)."""

    worker_grid_ids: frozenset[int]
    community_grid_ids: frozenset[int]
    staff_grid_ids: frozenset[int]
    sees_everything: bool = False

    def relation(self, grid_id: int | None) -> Relation:
        if grid_id is not None:
            if grid_id in self.worker_grid_ids:
                return Relation.RESPONSIBLE_WORKER
            if grid_id in self.community_grid_ids:
                return Relation.COMMUNITY_STAFF
            if grid_id in self.staff_grid_ids:
                return Relation.WIDER_STAFF
        return Relation.WIDER_STAFF if self.sees_everything else Relation.PUBLIC

    def shown(self, field: str, grid_id: int | None) -> Shown:
        return MASKING_TABLE[self.relation(grid_id)][field]

    def sees_in_full(self, field: str, grid_id: int | None) -> bool:
        return self.shown(field, grid_id) is FULL

    def grids_seeing_in_full(self, field: str) -> frozenset[int]:
        """The grids where this viewer sees `field` in full (for search filters)."""
        return frozenset(
            grid_id
            for grid_id in self.worker_grid_ids | self.community_grid_ids | self.staff_grid_ids
            if self.sees_in_full(field, grid_id)
        )

    def may_reveal(self, field: str, grid_id: int | None) -> bool:
        return field in REVEALABLE[self.relation(grid_id)]

    def show(self, field: str, value: Any, grid_id: int | None) -> str:
        return shown_value(value, field, self.shown(field, grid_id))

    # Shorthands for templates and serializers: any object with `grid_id` and the field.
    def name(self, person: Any) -> str:
        return self.show("name", getattr(person, "name", ""), getattr(person, "grid_id", None))

    def phone(self, holder: Any, attribute: str = "phone") -> str:
        return self.show("phone", getattr(holder, attribute, ""), getattr(holder, "grid_id", None))

    def id_number(self, resident: Any) -> str:
        return self.show(
            "id_number", getattr(resident, "id_number", ""), getattr(resident, "grid_id", None)
        )


PUBLIC_VIEWER = Viewer(frozenset(), frozenset(), frozenset())
# Outside a request (CLI, services called directly) nobody in particular is looking: mask all.
NOBODY_IN_PARTICULAR = Viewer(frozenset(), frozenset(), frozenset(), sees_everything=True)


def viewer_for(user: User | None) -> Viewer:
    """The masking view of `user` (anonymous or None: the public)."""
    from webapp.auth.scope import compute_scope

    if user is None or not getattr(user, "is_authenticated", False):
        return PUBLIC_VIEWER
    held = user.roles()
    wider = [role for role in held if role not in _NEAR_ROLES]
    worker = compute_scope(user, [Role.GRID_WORKER]) if Role.GRID_WORKER in held else None
    community = (
        compute_scope(user, [Role.COMMUNITY_STAFF]) if Role.COMMUNITY_STAFF in held else None
    )
    staff = compute_scope(user, wider) if wider else None
    return Viewer(
        worker_grid_ids=worker.grid_ids if worker else frozenset(),
        community_grid_ids=community.grid_ids if community else frozenset(),
        staff_grid_ids=staff.grid_ids if staff else frozenset(),
        sees_everything=bool(staff and staff.everything),
    )


def current_viewer() -> Viewer:
    """The signed-in user's masking view, worked out once per request."""
    from flask_login import current_user

    if not has_request_context():
        return NOBODY_IN_PARTICULAR
    if "privacy_viewer" not in g:
        g.privacy_viewer = viewer_for(current_user)
    return g.privacy_viewer
