"""Sync services other packages call: tombstones for scope changes, and who the phone talks as."""

from __future__ import annotations

from typing import Any

from webapp import clock
from webapp.auth.scope import compute_scope, scoped
from webapp.changes import next_change_seq
from webapp.extensions import db
from webapp.models import Community, Grid, Tombstone, User
from webapp.sync.entities import iso


def tombstone(
    entity: str, entity_id: Any, *, grid_id: int | None = None, user_id: int | None = None
) -> Tombstone:
    """Tell phones that `entity` `entity_id` is gone: from everyone holding `grid_id` (user_id
    None), or from one user's phones. Joins the caller's transaction; does not commit."""
    row = Tombstone(
        entity=entity,
        entity_id=str(entity_id),
        grid_id=grid_id,
        user_id=user_id,
        change_seq=next_change_seq(),
    )
    db.session.add(row)
    return row


def tombstone_grid_for_user(user_id: int, grid_id: int) -> Tombstone:
    """Record that `user_id` no longer holds `grid_id`; call it in the transaction that removes
    the membership. The user's next pull deletes the grid and everything of it from their phones.

    (Pull also compares the grids a cursor was made for with the scope, so a membership change
    that forgets this still drops the grid; the tombstone makes the change explicit and dated.)
    """
    return tombstone("grid", grid_id, grid_id=grid_id, user_id=user_id)


def me_payload(user: User) -> dict[str, Any]:
    scope = compute_scope(user)
    rows = db.session.execute(
        scoped(Grid, scope=scope)
        .with_only_columns(Grid.id, Grid.name, Community.name)
        .join(Community, Community.id == Grid.community_id)
        .order_by(Grid.code)
    )
    return {
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name},
        "roles": sorted(str(role) for role in user.roles()),
        "grids": [
            {"id": gid, "name": name, "community": community} for gid, name, community in rows
        ],
        # The clock records are stamped with, so the phone can tell how far its own is off.
        "server_time": iso(clock.now()),
    }
