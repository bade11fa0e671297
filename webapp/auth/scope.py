"""Role and scope enforcement, in one place (DESIGN.md §2).

`role_required` guards a view by role; `scoped()` builds every read of scoped data, and
`get_scoped_or_404()` answers 404 — with nothing of the object in the body — for anything outside
the user's scope. A view that queries a scoped model without these is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g
from flask_login import current_user, login_required
from sqlalchemy import Select, or_, select

from webapp.audit import record_audit
from webapp.extensions import db
from webapp.models import (
    Building,
    Case,
    CasePart,
    Community,
    Grid,
    Household,
    Notice,
    Resident,
    ResidentReport,
    Role,
    ScopeKind,
    Street,
    User,
)
from webapp.models.records import FieldRecord

M = TypeVar("M")


@dataclass(frozen=True)
class Scope:
    """What a user may see. `everything` is the admin's; otherwise the grid ids are the truth and
    the community and street ids say which whole units are covered (for notices and overviews)."""

    everything: bool
    grid_ids: frozenset[int]
    community_ids: frozenset[int]
    street_ids: frozenset[int]
    # Department staff see no grid: only the cases assigned to their departments.
    department_ids: frozenset[int] = frozenset()

    def covers_grid(self, grid_id: int | None) -> bool:
        return self.everything or (grid_id is not None and grid_id in self.grid_ids)

    def covers_case(self, case: Case) -> bool:
        if self.covers_grid(case.home_grid_id):
            return True
        return bool(self.department_ids) and (
            db.session.scalar(
                select(CasePart.id).where(
                    CasePart.case_id == case.id,
                    CasePart.department_id.in_(self.department_ids),
                )
            )
            is not None
        )


def compute_scope(user: User, roles: Iterable[Role | str] | None = None) -> Scope:
    """Union of the scopes of the user's memberships (optionally only those of `roles`)."""
    wanted = {Role(r) for r in roles} if roles is not None else None
    grid_ids: set[int] = set()
    community_ids: set[int] = set()
    street_ids: set[int] = set()
    department_ids: set[int] = set()
    everything = False
    for membership in user.memberships:
        if wanted is not None and Role(membership.role) not in wanted:
            continue
        kind = ScopeKind(membership.scope_kind)
        if kind is ScopeKind.ALL:
            everything = True
        elif kind is ScopeKind.GRID and membership.scope_id is not None:
            grid_ids.add(membership.scope_id)
        elif kind is ScopeKind.COMMUNITY and membership.scope_id is not None:
            community_ids.add(membership.scope_id)
        elif kind is ScopeKind.STREET and membership.scope_id is not None:
            street_ids.add(membership.scope_id)
        elif kind is ScopeKind.DEPARTMENT and membership.scope_id is not None:
            department_ids.add(membership.scope_id)

    if street_ids:
        community_ids |= set(
            db.session.scalars(select(Community.id).where(Community.street_id.in_(street_ids)))
        )
    if community_ids:
        grid_ids |= set(
            db.session.scalars(select(Grid.id).where(Grid.community_id.in_(community_ids)))
        )
    return Scope(
        everything,
        frozenset(grid_ids),
        frozenset(community_ids),
        frozenset(street_ids),
        frozenset(department_ids),
    )


def current_scope() -> Scope:
    """The signed-in user's scope, computed once per request."""
    if "scope" not in g:
        g.scope = compute_scope(current_user)
    return g.scope


def _grid_column(model: Any) -> Any:
    if model is Grid:
        return Grid.id
    if model is Case:
        return Case.home_grid_id
    if model in (Building, Household, Resident, ResidentReport) or issubclass(model, FieldRecord):
        return model.grid_id
    return None


def scoped(model: type[M], actor: User | None = None, scope: Scope | None = None) -> Select:
    """`select(model)` limited to what `actor` (default: the current user) may see."""
    if scope is None:
        scope = compute_scope(actor) if actor is not None else current_scope()
    query = select(model)
    if scope.everything:
        return query
    grid_column = _grid_column(model)
    if model is Case and scope.department_ids:
        assigned = select(CasePart.case_id).where(CasePart.department_id.in_(scope.department_ids))
        return query.where(or_(Case.home_grid_id.in_(scope.grid_ids), Case.id.in_(assigned)))
    if grid_column is not None:
        return query.where(grid_column.in_(scope.grid_ids))
    if model is Community:
        visible = set(scope.community_ids) | set(
            db.session.scalars(select(Grid.community_id).where(Grid.id.in_(scope.grid_ids)))
        )
        return query.where(Community.id.in_(visible))
    if model is Street:
        return query.where(Street.id.in_(_visible_street_ids(scope)))
    if model is Notice:
        return query.where(Notice.street_id.in_(_visible_street_ids(scope)))
    raise TypeError(f"no scope rule for {model.__name__}; add one before querying it")


def _visible_street_ids(scope: Scope) -> set[int]:
    return set(scope.street_ids) | set(
        db.session.scalars(
            select(Community.street_id)
            .join(Grid, Grid.community_id == Community.id)
            .where(Grid.id.in_(scope.grid_ids))
        )
    )


def get_scoped_or_404(model: type[M], object_id: Any) -> M:
    """The object if the current user may see it; otherwise 404 and an audited denial."""
    primary_key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    found = db.session.scalar(scoped(model).where(primary_key == object_id))
    if found is None:
        record_audit(
            "access_denied",
            actor=current_user,
            target_type=model.__tablename__,
            target_id=object_id,
        )
        db.session.commit()
        abort(404)
    return found


def role_required(*roles: Role | str) -> Callable:
    """Signed in and holding one of `roles`, else 403. Admin is not implied: list it where meant."""
    allowed = {Role(r) for r in roles}

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not (current_user.roles() & allowed):
                record_audit(
                    "access_denied",
                    actor=current_user,
                    target_type="route",
                    target_id=view.__name__,
                )
                db.session.commit()
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
