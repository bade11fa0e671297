"""The notifier (DESIGN.md §6): every alert becomes an in-app notification, the channel that
always works, and is handed to whatever other channels are registered (Web Push, SMS, WeCom…).

Channels must not send inside the request: they queue, and a worker drains the queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, select

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


@dataclass(frozen=True)
class Alert:
    """One alert to some users: what `notify` writes, or one of many that `notify_all` writes."""

    users: Iterable[User | int]
    kind: str
    title: str
    body: str = ""
    url: str = ""
    case_id: Any = None
    urgent: bool = False
    at: datetime | None = None
    dedup_key: str | None = None

    def rows(self) -> list[dict[str, Any]]:
        user_ids = sorted(
            {u.id if isinstance(u, User) else int(u) for u in self.users if u is not None}
        )
        return [
            dict(
                user_id=user_id,
                kind=self.kind,
                title=self.title[:200],
                body=self.body,
                url=self.url,
                case_id=self.case_id,
                urgent=self.urgent,
                created_at=self.at or utcnow(),
                dedup_key=self.dedup_key,
                deliveries={},
            )
            for user_id in user_ids
        ]


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
    alert = Alert(users, kind, title, body, url, case_id, urgent, at, dedup_key)
    return notify_all([alert])


def notify_all(alerts: Iterable[Alert]) -> list[Notification]:
    """`notify` for many alerts at once (a batch job's chunk): the keyed ones in one INSERT … ON
    CONFLICT DO NOTHING, the others in one flush, and the channels handed all new rows at once."""
    keyed, free = [], []
    for alert in alerts:
        (free if alert.dedup_key is None else keyed).extend(alert.rows())
    made = [Notification(**row) for row in free]
    if made:
        db.session.add_all(made)
        db.session.flush()
    made += insert_once(Notification, keyed, key=["user_id", "dedup_key"])
    if made:
        for channel in CHANNELS:
            enqueue_many = getattr(channel, "enqueue_many", None)
            if enqueue_many is not None:
                enqueue_many(made)
            else:
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
    return members_for_grids([grid_id], role)[grid_id]


def members_for_grids(grid_ids: Iterable[int], role: Role) -> dict[int, list[int]]:
    """`members_for_grid` for many grids in one query (a batch job's chunk), remembered like it."""
    memo = _members_memo.get()
    wanted = set(grid_ids)
    known = {} if memo is None else {g: memo[(g, role)] for g in wanted if (g, role) in memo}
    missing = wanted - set(known)
    if missing:
        found = _members_for_grids(missing, role)
        if memo is not None:
            memo.update({(grid_id, role): users for grid_id, users in found.items()})
        known.update(found)
    return {grid_id: list(users) for grid_id, users in known.items()}


def _members_for_grids(grid_ids: set[int], role: Role) -> dict[int, list[int]]:
    kind, scope_id = {
        Role.GRID_WORKER: (ScopeKind.GRID, Grid.id),
        Role.COMMUNITY_STAFF: (ScopeKind.COMMUNITY, Grid.community_id),
        Role.STREET_STAFF: (ScopeKind.STREET, Community.street_id),
    }[role]
    members: dict[int, list[int]] = {grid_id: [] for grid_id in grid_ids}
    rows = db.session.execute(
        select(Grid.id, Membership.user_id)
        .join(Community, Community.id == Grid.community_id)
        .join(
            Membership,
            and_(
                Membership.role == role,
                Membership.scope_kind == kind,
                Membership.scope_id == scope_id,
            ),
        )
        .join(User, User.id == Membership.user_id)
        .where(Grid.id.in_(sorted(grid_ids)), User.is_active.is_(True))
    )
    for grid_id, user_id in rows:
        members[grid_id].append(user_id)
    return members
