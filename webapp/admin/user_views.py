"""用户管理 (admin): accounts, their roles and scopes, moving a worker, deactivating, resetting a
password. Destructive actions ask for confirmation first (a second POST with `confirm`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.admin import accounts, bp
from webapp.auth.scope import role_required
from webapp.auth.services import AccountError
from webapp.extensions import db
from webapp.models import Grid, LoginSession, Role, User


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id) if user_id <= 2**63 - 1 else None
    if user is None:
        abort(404)
    return user


def _scope_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _grids() -> list[Grid]:
    return list(db.session.scalars(select(Grid).order_by(Grid.code)))


@bp.route("/users", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def users_page():
    form = request.form
    error = None
    if request.method == "POST":
        try:
            user = accounts.create_account(
                current_user,
                form.get("username", ""),
                form.get("password", ""),
                form.get("display_name", "").strip(),
                [(form.get("role", ""), _scope_id(form.get("scope_id")))],
                work_phone=form.get("work_phone", "").strip(),
            )
        except AccountError as problem:
            db.session.rollback()
            error = str(problem)
        else:
            db.session.commit()
            flash(_("Account created."), "success")
            return redirect(url_for("admin.user_page", user_id=user.id), 303)
    query = request.args.get("q", "")
    page = render_template(
        "admin/users.html",
        users=accounts.list_users(query),
        query=query,
        roles=list(Role),
        error=error,
        values=form,
    )
    return (page, 422) if error else page


def _render_user(user: User, error: str | None = None, status: int = 200):
    live = db.session.scalar(
        select(db.func.count(LoginSession.id)).where(
            LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
        )
    )
    return render_template(
        "admin/user.html",
        user=user,
        roles=list(Role),
        grids=_grids(),
        scope_name=accounts.scope_name,
        live_sessions=live,
        error=error,
    ), status


@bp.get("/users/<int:user_id>")
@role_required(Role.ADMIN)
def user_page(user_id: int):
    return _render_user(_user_or_404(user_id))


def _confirm(user: User, action: str, question: str):
    """The confirmation step: the same form again with `confirm`, after saying what happens."""
    return render_template(
        "admin/user_confirm.html", user=user, action=action, question=question, fields=request.form
    )


@bp.post("/users/<int:user_id>/<action>")
@role_required(Role.ADMIN)
def user_action(user_id: int, action: str):
    user = _user_or_404(user_id)
    form = request.form
    confirmed = form.get("confirm") == "yes"
    questions = {
        "deactivate": _(
            "Deactivate %(name)s? They are logged out on every device at once and cannot log in.",
            name=user.display_name,
        ),
        "password": _(
            "Set a new password for %(name)s? They are logged out on every device.",
            name=user.display_name,
        ),
        "move": _(
            "Move %(name)s to the other grid? The old grid's records stay with that grid.",
            name=user.display_name,
        ),
        "remove_role": _("Remove this role from %(name)s?", name=user.display_name),
    }
    if action in questions and not confirmed:
        return _confirm(user, action, questions[action])
    try:
        if action == "deactivate":
            accounts.deactivate(current_user, user)
        elif action == "reactivate":
            accounts.reactivate(current_user, user)
        elif action == "password":
            accounts.set_password(current_user, user, form.get("password", ""))
        elif action == "move":
            accounts.move_grid_worker(
                current_user,
                user,
                _scope_id(form.get("from_grid")) or 0,
                _scope_id(form.get("to_grid")) or 0,
            )
        elif action == "add_role":
            accounts.add_membership(
                current_user, user, form.get("role", ""), _scope_id(form.get("scope_id"))
            )
        elif action == "remove_role":
            accounts.remove_membership(current_user, user, _scope_id(form.get("membership")) or 0)
        else:
            abort(404)
    except AccountError as problem:
        db.session.rollback()
        return _render_user(user, str(problem), 422)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("admin.user_page", user_id=user.id), 303)
