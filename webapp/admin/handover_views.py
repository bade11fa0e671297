"""工作交接 page (admin): pick a successor for a worker who leaves (rules: handover.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp.admin import accounts, bp, handover
from webapp.auth.scope import role_required
from webapp.auth.services import AccountError
from webapp.extensions import db
from webapp.models import Membership, Role, User


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id) if 0 < user_id <= 2**63 - 1 else None
    if user is None:
        abort(404)
    return user


def _successors(leaver: User) -> list[User]:
    """Active grid workers other than the leaver."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.role == Role.GRID_WORKER, User.is_active.is_(True), User.id != leaver.id
            )
            .distinct()
            .order_by(User.username)
        )
    )


@bp.route("/users/<int:user_id>/handover", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_handover(user_id: int):
    leaver = _user_or_404(user_id)
    error = None
    if request.method == "POST":
        successor = db.session.get(User, _int(request.form.get("successor")))
        try:
            if successor is None:
                raise AccountError(_("Choose the successor."))
            moved = handover.hand_over(current_user, leaver, successor)
        except AccountError as problem:
            db.session.rollback()
            error = str(problem)
        else:
            db.session.commit()
            flash(
                _(
                    "Handed over %(grids)d grids and %(cases)d open cases.",
                    grids=moved["grids"],
                    cases=moved["cases"],
                ),
                "success",
            )
            return redirect(url_for("admin.user_page", user_id=leaver.id), 303)
    grids = [m for m in leaver.memberships if m.role == Role.GRID_WORKER and m.scope_id]
    page = render_template(
        "admin/handover.html",
        user=leaver,
        grids=grids,
        scope_name=accounts.scope_name,
        cases=handover.cases_to_hand_over(leaver, [m.scope_id for m in grids]),
        successors=_successors(leaver),
        error=error,
    )
    return (page, 422) if error else page


def _int(value: str | None) -> int:
    try:
        number = int(value or 0)
    except ValueError:
        return 0
    return number if 0 < number <= 2**63 - 1 else 0
