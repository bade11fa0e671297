"""Accounts, memberships (user × role × scope) and server-side login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, relationship

from webapp.models.base import (
    INTERNAL,
    PERSONAL,
    PUBLIC,
    SENSITIVE,
    Base,
    UTCDateTime,
    classified,
    utcnow,
)


class Role(enum.StrEnum):
    GRID_WORKER = "grid_worker"
    COMMUNITY_STAFF = "community_staff"
    STREET_STAFF = "street_staff"
    DEPARTMENT_STAFF = "department_staff"
    ADMIN = "admin"


class ScopeKind(enum.StrEnum):
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    DEPARTMENT = "department"
    ALL = "all"


# The scope a role is granted over; a membership with another kind is refused on creation.
ROLE_SCOPE_KIND = {
    Role.GRID_WORKER: ScopeKind.GRID,
    Role.COMMUNITY_STAFF: ScopeKind.COMMUNITY,
    Role.STREET_STAFF: ScopeKind.STREET,
    Role.DEPARTMENT_STAFF: ScopeKind.DEPARTMENT,
    Role.ADMIN: ScopeKind.ALL,
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    username: Mapped[str] = classified(String(64), unique=True, privacy=INTERNAL)
    # A grid worker's name and work phone are published on "find my grid worker" (公布联系电话).
    display_name: Mapped[str] = classified(String(50), privacy=PUBLIC)
    work_phone: Mapped[str] = classified(String(32), default="", privacy=PUBLIC)
    password_hash: Mapped[str] = classified(String(255), privacy=SENSITIVE)
    personal_phone: Mapped[str] = classified(String(32), default="", privacy=PERSONAL)
    is_active: Mapped[bool] = classified(Boolean, default=True, privacy=INTERNAL)
    locale: Mapped[str] = classified(String(16), default="", privacy=INTERNAL)
    # Non-urgent alerts as one push a day instead of one each (for supervisors with many cases);
    # urgent ones (escalations of serious cases, 督办) always come at once.
    alert_digest: Mapped[bool] = classified(
        Boolean, default=False, server_default="0", privacy=INTERNAL
    )
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    last_login_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # Set from the LoginSession that authenticated this request. Flask-Login keeps `get_id()` in
    # the cookie, so the cookie carries a revocable token instead of the user id.
    session_token = ""

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def roles(self) -> set[Role]:
        return {Role(m.role) for m in self.memberships}

    def has_role(self, *roles: Role | str) -> bool:
        return bool(self.roles() & {Role(r) for r in roles})


class Membership(Base):
    """A role held over a scope. `scope_id` is a grid, community, street or department id; null
    for `all`."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_kind", "scope_id"),)

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    user_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    role: Mapped[str] = classified(String(32), privacy=INTERNAL)
    scope_kind: Mapped[str] = classified(String(16), privacy=INTERNAL)
    scope_id: Mapped[int | None] = classified(Integer, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)

    user: Mapped[User] = relationship(back_populates="memberships")


class LoginSession(Base):
    """One row per login. The cookie carries only `token`; logout or deactivation revokes the row,
    so a copied cookie stops working at once (server-side revocation, DESIGN.md §7)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = classified(Integer, primary_key=True, privacy=INTERNAL)
    token: Mapped[str] = classified(String(64), unique=True, privacy=SENSITIVE)
    user_id: Mapped[int] = classified(ForeignKey("users.id"), index=True, privacy=INTERNAL)
    created_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    last_seen_at: Mapped[datetime] = classified(UTCDateTime, default=utcnow, privacy=INTERNAL)
    revoked_at: Mapped[datetime | None] = classified(UTCDateTime, privacy=INTERNAL)
    ip: Mapped[str] = classified(String(64), default="", privacy=PERSONAL)
    user_agent: Mapped[str] = classified(String(300), default="", privacy=INTERNAL)

    user: Mapped[User] = relationship(lazy="joined")
