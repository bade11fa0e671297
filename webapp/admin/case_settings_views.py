"""Settings of the case workflow: the departments cases are assigned to, and the time limits
per stage × category × severity (DESIGN.md §4)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.admin import bp
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.cases import limits
from webapp.cases.departments import departments, save_departments
from webapp.extensions import db
from webapp.models import Role

MAX_DAYS = 60


def _limit_rows_from_form(form) -> tuple[list[limits.Limit], dict[int, str]]:
    """Rows are posted as parallel lists; a row with empty days is dropped (a deleted row)."""
    rows, errors = [], {}
    fields = zip(
        form.getlist("stage"),
        form.getlist("category"),
        form.getlist("severity"),
        form.getlist("yellow"),
        form.getlist("red"),
        strict=False,
    )
    for index, (stage, category, severity, yellow, red) in enumerate(fields):
        if not yellow.strip() and not red.strip():
            continue
        try:
            yellow_days, red_days = int(yellow), int(red)
        except ValueError:
            errors[index] = _("Enter whole working days.")
            continue
        if stage not in {s.value for s in limits.Stage}:
            errors[index] = _("Not one of the allowed choices.")
        elif not 0 <= yellow_days <= red_days <= MAX_DAYS or red_days < 1:
            errors[index] = _(
                "Yellow must be at most red, and red between 1 and %(n)d days.", n=MAX_DAYS
            )
        else:
            rows.append(
                limits.Limit(stage, category or "*", severity or "*", yellow_days, red_days)
            )
    return rows, errors


@bp.route("/settings/cases", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def case_settings():
    current_limits = limits.configured_limits()
    errors: dict[int, str] = {}
    department_text = "\n".join(departments())
    if request.method == "POST":
        department_text = request.form.get("departments", "")
        names = [line.strip() for line in department_text.splitlines() if line.strip()]
        new_limits, errors = _limit_rows_from_form(request.form)
        stages_covered = {row.stage for row in new_limits}
        if not names:
            errors[-1] = _("Keep at least one department.")
        if stages_covered != {s.value for s in limits.Stage}:
            errors[-2] = _("Every stage needs at least one limit.")
        if not errors:
            before = {"departments": departments(), "limits": [r.__dict__ for r in current_limits]}
            save_departments(names)
            limits.save_limits(new_limits)
            record_audit(
                "setting_changed",
                actor=current_user,
                target_type="settings",
                target_id="cases",
                before=before,
                after={"departments": names, "limits": [r.__dict__ for r in new_limits]},
            )
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.case_settings"), 303)
        current_limits = new_limits or current_limits
    return (
        render_template(
            "admin/case_settings.html",
            limits=current_limits,
            department_text=department_text,
            errors=errors,
            stages=list(limits.Stage),
        ),
        422 if errors else 200,
    )
