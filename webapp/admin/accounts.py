"""Accounts managed in the app (issue 12): create with memberships, move a grid worker to another
grid, deactivate and reactivate, reset a password. The admin pages and `flask user …` call these.

Sessions are rows (webapp/auth/session.py): deactivation and a new password revoke every one of
them for good, so a lost phone's cookie stops at once; reactivating an account does not un-revoke
anything, so that cookie stays dead and the worker logs in again. Records belong to the grid:
moving a worker moves no record, and the old grid's data leaves their phone with a tombstone.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.audit import record_audit
from webapp.auth.services import AccountError, create_user, grant, hash_password
from webapp.auth.session import revoke_all_sessions
from webapp.extensions import db
from webapp.models import (
    ROLE_SCOPE_KIND,
    Community,
    Grid,
    Membership,
    Role,
    ScopeKind,
    Street,
    User,
)
from webapp.models.departments import Department
from webapp.sync.services import tombstone_grid_for_user

MIN_PASSWORD = 8
SCOPE_MODELS: dict[ScopeKind, Any] = {
    ScopeKind.GRID: Grid,
    ScopeKind.COMMUNITY: Community,
    ScopeKind.STREET: Street,
    ScopeKind.DEPARTMENT: Department,
}


def _check_scope(role: Role, scope_id: int | None) -> int | None:
    kind = ROLE_SCOPE_KIND[role]
    if kind is ScopeKind.ALL:
        return None
    if scope_id is None or db.session.get(SCOPE_MODELS[kind], scope_id) is None:
        raise AccountError(_("Choose an existing %(kind)s for this role.", kind=_scope_word(kind)))
    return scope_id


def _scope_word(kind: ScopeKind) -> str:
    return {
        ScopeKind.GRID: _("grid"),
        ScopeKind.COMMUNITY: _("community"),
        ScopeKind.STREET: _("street"),
        ScopeKind.DEPARTMENT: _("department"),
    }.get(kind, str(kind))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(_("A password has at least %(n)d characters.", n=MIN_PASSWORD))


def find_user(username: str) -> User | None:
    return db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )


def create_account(
    actor: User | None,
    username: str,
    password: str,
    display_name: str,
    memberships: list[tuple[str, int | None]],
    *,
    work_phone: str = "",
) -> User:
    """A new account with its roles and scopes. Raises AccountError (a message for people)."""
    _check_password(password)
    if not memberships:
        raise AccountError(_("Give the account at least one role."))
    checked = []
    for role_name, scope_id in memberships:
        try:
            role = Role(role_name)
        except ValueError:
            raise AccountError(_("Unknown role.")) from None
        checked.append((role, _check_scope(role, scope_id)))
    try:
        user = create_user(username, password, display_name, work_phone=work_phone)
    except AccountError:
        raise AccountError(_("This username is taken or empty.")) from None
    for role, scope_id in checked:
        grant(user, role, scope_id)
    db.session.flush()
    record_audit(
        "user_created",
        actor=actor,
        target_type="user",
        target_id=user.id,
        username=user.username,
        memberships=[f"{role}:{scope_id}" for role, scope_id in checked],
    )
    return user


def add_membership(actor: User | None, user: User, role_name: str, scope_id: int | None) -> None:
    try:
        role = Role(role_name)
    except ValueError:
        raise AccountError(_("Unknown role.")) from None
    scope_id = _check_scope(role, scope_id)
    if any(m.role == role and m.scope_id == scope_id for m in user.memberships):
        raise AccountError(_("The account already has this role here."))
    grant(user, role, scope_id)
    db.session.flush()
    record_audit(
        "membership_granted",
        actor=actor,
        target_type="user",
        target_id=user.id,
        role=str(role),
        scope_id=scope_id,
    )


def remove_membership(actor: User | None, user: User, membership_id: int) -> None:
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        raise AccountError(_("No such role on this account."))
    if membership.scope_kind == ScopeKind.GRID and membership.scope_id is not None:
        tombstone_grid_for_user(user.id, membership.scope_id)  # its data leaves their phones
    user.memberships.remove(membership)
    record_audit(
        "membership_revoked",
        actor=actor,
        target_type="user",
        target_id=user.id,
        role=membership.role,
        scope_id=membership.scope_id,
    )


def move_grid_worker(actor: User | None, user: User, from_grid_id: int, to_grid_id: int) -> None:
    """The worker now walks another grid. Records stay with the old grid (属地): its next worker
    finds them there; this worker's phone drops the old grid and pulls the new one."""
    membership = next(
        (m for m in user.memberships if m.role == Role.GRID_WORKER and m.scope_id == from_grid_id),
        None,
    )
    if membership is None:
        raise AccountError(_("This worker does not hold that grid."))
    if from_grid_id == to_grid_id:
        raise AccountError(_("Choose a different grid."))
    _check_scope(Role.GRID_WORKER, to_grid_id)
    tombstone_grid_for_user(user.id, from_grid_id)
    user.memberships.remove(membership)
    if not any(m.role == Role.GRID_WORKER and m.scope_id == to_grid_id for m in user.memberships):
        grant(user, Role.GRID_WORKER, to_grid_id)
    db.session.flush()
    record_audit(
        "user_moved",
        actor=actor,
        target_type="user",
        target_id=user.id,
        from_grid=from_grid_id,
        to_grid=to_grid_id,
    )


def deactivate(actor: User | None, user: User) -> None:
    """停用: no more logins, and every session ends now (a lost phone stops syncing at once)."""
    if actor is not None and actor.id == user.id:
        raise AccountError(_("You cannot deactivate your own account."))
    user.is_active = False
    revoke_all_sessions(user)
    record_audit("user_deactivated", actor=actor, target_type="user", target_id=user.id)


def reactivate(actor: User | None, user: User) -> None:
    """启用 again. Old sessions stay revoked: the person logs in afresh."""
    user.is_active = True
    revoke_all_sessions(user)  # belt and braces: nothing from before comes back
    record_audit("user_reactivated", actor=actor, target_type="user", target_id=user.id)


def set_password(actor: User | None, user: User, password: str) -> None:
    """A new password (reset by admin, or changed by the user): every session ends, on every
    device, including the one that asked; the caller starts a new one if it should go on."""
    _check_password(password)
    user.password_hash = hash_password(password)
    revoke_all_sessions(user)
    action = "password_changed" if actor is not None and actor.id == user.id else "password_reset"
    record_audit(action, actor=actor, target_type="user", target_id=user.id)


def list_users(query: str = "") -> list[User]:
    statement = select(User).order_by(User.is_active.desc(), User.username)
    if query:
        like = f"%{query.strip()}%"
        statement = statement.where(User.username.ilike(like) | User.display_name.ilike(like))
    return list(db.session.scalars(statement.limit(200)))


def scope_name(membership: Membership) -> str:
    kind = ScopeKind(membership.scope_kind)
    if kind is ScopeKind.ALL or membership.scope_id is None:
        return _("everything")
    row = db.session.get(SCOPE_MODELS[kind], membership.scope_id)
    return getattr(row, "name", str(membership.scope_id))
