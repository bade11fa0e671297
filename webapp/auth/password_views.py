"""修改密码: a user changes their own password. Every session of the account ends (a phone that
was lost, a shared computer left logged in); this device gets a fresh one so the user carries on."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from webapp.admin import accounts
from webapp.auth import bp, services
from webapp.auth.services import AccountError
from webapp.auth.session import start_login_session
from webapp.extensions import db, limiter


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"])
def change_password():
    error = None
    if request.method == "POST":
        form = request.form
        user = current_user._get_current_object()
        if not services.verify_password(user, form.get("current_password", "")):
            error = _("The current password is wrong.")
        elif form.get("new_password", "") != form.get("repeat_password", ""):
            error = _("The two new passwords differ.")
        else:
            try:
                accounts.set_password(user, user, form.get("new_password", ""))
            except AccountError as problem:
                error = str(problem)
            else:
                start_login_session(user)
                login_user(user)
                db.session.commit()
                flash(_("Password changed. Every other device has been logged out."), "success")
                return redirect(url_for("auth.change_password"), 303)
        db.session.rollback()
    page = render_template("auth/change_password.html", error=error)
    return (page, 422) if error else page
