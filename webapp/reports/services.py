"""Figures computed from what workers already logged (社区减负: nothing typed twice)."""

from __future__ import annotations

from sqlalchemy import select

from webapp.auth.scope import Scope, scoped
from webapp.extensions import db
from webapp.models import Community, Grid, User
from webapp.models.users import Membership, Role, ScopeKind


def communities_in_scope(scope: Scope) -> list[Community]:
    return list(db.session.scalars(scoped(Community, scope=scope).order_by(Community.code)))


def grids_of(community: Community) -> list[Grid]:
    return list(
        db.session.scalars(
            select(Grid).where(Grid.community_id == community.id).order_by(Grid.code)
        )
    )


def workers_by_grid(grid_ids: list[int]) -> dict[int, list[User]]:
    """The active grid workers of each grid (a grid may have several during a hand-over)."""
    rows = db.session.execute(
        select(Membership.scope_id, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.role == Role.GRID_WORKER,
            Membership.scope_kind == ScopeKind.GRID,
            Membership.scope_id.in_(grid_ids),
            User.is_active.is_(True),
        )
        .order_by(User.username)
    )
    workers: dict[int, list[User]] = {}
    for grid_id, user in rows:
        workers.setdefault(grid_id, []).append(user)
    return workers
