"""Flask-Login wiring with server-side sessions: the cookie holds a LoginSession token, not the
user id, so logout and deactivation revoke access immediately."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Flask, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.extensions import db, login_manager
from webapp.models import LoginSession, User, utcnow

# Touching last_seen_at on every request would turn each page view into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


def start_login_session(user: User) -> LoginSession:
    session_row = LoginSession(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        ip=request.remote_addr or "",
        user_agent=(request.user_agent.string or "")[:300],
    )
    db.session.add(session_row)
    user.session_token = session_row.token
    user.last_login_at = utcnow()
    return session_row


def revoke_login_session(token: str) -> None:
    row = db.session.scalar(select(LoginSession).where(LoginSession.token == token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_all_sessions(user: User) -> None:
    for row in db.session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
        )
    ):
        row.revoked_at = utcnow()


def load_user_from_token(token: str) -> User | None:
    # One round trip on every request: the session, its user and the user's memberships (which
    # every scope check reads) in one query.
    row = (
        db.session.scalars(
            select(LoginSession)
            .where(LoginSession.token == token, LoginSession.revoked_at.is_(None))
            .options(joinedload(LoginSession.user).joinedload(User.memberships))
        )
        .unique()
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = utcnow()
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        db.session.commit()
    user = row.user
    user.session_token = token
    return user


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "basic"  # phones change IP all day; "strong" logs them out
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(load_user_from_token)

    @login_manager.unauthorized_handler
    def _unauthorized():
        # The sync API must never answer a redirect: the outbox would take the login page for a
        # success. It gets 401 JSON and keeps its items (DESIGN.md §5).
        if wants_json():
            return jsonify(
                error={"code": "unauthenticated", "message": _("Please log in again.")}
            ), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
