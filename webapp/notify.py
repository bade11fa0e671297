"""The notifier (DESIGN.md §6): every alert becomes an in-app notification, the channel that
always works, and is handed to whatever other channels are registered (Web Push, SMS, WeCom…).

Channels must not send inside the request: they queue, and a worker drains the queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from webapp.dedup import insert_once
from webapp.extensions import db
from webapp.models import (
    Community,
    Grid,
    Membership,
    Notification,
    Role,
    ScopeKind,
    User,
    utcnow,
)


class Channel(Protocol):
    name: str

    def enqueue(self, notification: Notification) -> None: ...


CHANNELS: list[Channel] = []


def register_channel(channel: Channel) -> None:
    if all(existing.name != channel.name for existing in CHANNELS):
        CHANNELS.append(channel)


def notify(
    users: Iterable[User | int],
    kind: str,
    title: str,
    *,
    body: str = "",
    url: str = "",
    case_id=None,
    urgent: bool = False,
    at: datetime | None = None,
    dedup_key: str | None = None,
) -> list[Notification]:
    """Write the alert for each of `users` and hand the new rows to the channels. With
    `dedup_key`, a user who already holds an alert with that key (written earlier, or by a
    concurrent run an instant ago) is skipped: the alerts actually written are returned, and only
    they reach the channels, so a skipped alert is not pushed either."""
    user_ids = sorted({u.id if isinstance(u, User) else int(u) for u in users if u is not None})
    rows = [
        dict(
            user_id=user_id,
            kind=kind,
            title=title[:200],
            body=body,
            url=url,
            case_id=case_id,
            urgent=urgent,
            created_at=at or utcnow(),
            dedup_key=dedup_key,
            deliveries={},
        )
        for user_id in user_ids
    ]
    if dedup_key is None:
        made = [Notification(**row) for row in rows]
        db.session.add_all(made)
        db.session.flush()
    else:
        made = insert_once(Notification, rows, key=["user_id", "dedup_key"])
    for channel in CHANNELS:
        for notification in made:
            channel.enqueue(notification)
    return made


# A job that alerts about many cases in one run (`sla tick`) asks for the same grids' members
# again and again, once per case and committing in between; it may keep the answers for the run.
_members_memo: ContextVar[dict | None] = ContextVar("members_memo", default=None)


@contextmanager
def remembering_members():
    """Within the block, `members_for_grid` answers each (grid, role) once. For a batch job only:
    an account changed meanwhile is seen by the next run."""
    token = _members_memo.set({})
    try:
        yield
    finally:
        _members_memo.reset(token)


def members_for_grid(grid_id: int, role: Role) -> list[int]:
    """Active users holding `role` over the grid (directly, via its community or its street)."""
    memo = _members_memo.get()
    if memo is None:
        return _members_for_grid(grid_id, role)
    if (grid_id, role) not in memo:
        memo[(grid_id, role)] = _members_for_grid(grid_id, role)
    return list(memo[(grid_id, role)])


def _members_for_grid(grid_id: int, role: Role) -> list[int]:
    grid = db.session.get(Grid, grid_id)
    community = db.session.get(Community, grid.community_id)
    scope_for_role = {
        Role.GRID_WORKER: (ScopeKind.GRID, grid.id),
        Role.COMMUNITY_STAFF: (ScopeKind.COMMUNITY, community.id),
        Role.STREET_STAFF: (ScopeKind.STREET, community.street_id),
    }
    kind, scope_id = scope_for_role[role]
    return list(
        db.session.scalars(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.role == role,
                Membership.scope_kind == kind,
                Membership.scope_id == scope_id,
                User.is_active.is_(True),
            )
        )
    )
