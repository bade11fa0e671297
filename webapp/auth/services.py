"""Accounts: password hashing (argon2id), authentication, user creation."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import ROLE_SCOPE_KIND, Membership, Role, ScopeKind, User

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
password_hasher = PasswordHasher()

# Verified against when the username is unknown, so a miss costs the same time as a wrong password
# and response timing does not reveal which usernames exist.
_DUMMY_HASH = password_hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """A user or membership that cannot be created as asked; the message is for people."""


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower())
    )
    if user is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not user.is_active or not _verify(user.password_hash, password):
        return None
    if password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def verify_password(user: User, password: str) -> bool:
    """The user's own password, checked again before a change to their account."""
    return _verify(user.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_user(
    username: str,
    password: str,
    display_name: str,
    *,
    work_phone: str = "",
    password_hash: str | None = None,
) -> User:
    username = username.strip()
    if not username:
        raise AccountError("username must not be empty")
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise AccountError(f"username {username!r} is taken")
    if password_hash is None and len(password) < 8:
        raise AccountError("password must have at least 8 characters")
    user = User(
        username=username,
        display_name=display_name or username,
        work_phone=work_phone,
        password_hash=password_hash or hash_password(password),
    )
    db.session.add(user)
    return user


def grant(user: User, role: Role | str, scope_id: int | None = None) -> Membership:
    """Give `user` a role over a scope; the role fixes the kind of scope (grid, community…)."""
    role = Role(role)
    kind = ROLE_SCOPE_KIND[role]
    if kind is ScopeKind.ALL:
        scope_id = None
    elif scope_id is None:
        raise AccountError(f"role {role} needs a {kind} id")
    membership = Membership(role=role, scope_kind=kind, scope_id=scope_id)
    user.memberships.append(membership)
    return membership
