"""Settings of the case workflow: the departments cases are assigned to, the time limits per
stage × category × severity (in working days or hours), the 包案 threshold, and the working-day
calendar (DESIGN.md §4)."""

from __future__ import annotations

from datetime import date
from itertools import zip_longest

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.admin import bp
from webapp.audit import record_audit
from webapp.auth.scope import role_required
from webapp.cases import limits, workdays
from webapp.cases.departments import departments, save_departments
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.models import Role

MAX = {"days": 60, "hours": 720}
MAX_LEADER_WORKDAYS = 250


def _limit_rows_from_form(form) -> tuple[list[limits.Limit], dict[int, str]]:
    """Rows are posted as parallel lists; a row with empty numbers is dropped (a deleted row).
    A form without units (an older page) means working days."""
    rows, errors = [], {}
    fields = zip_longest(
        form.getlist("stage"),
        form.getlist("category"),
        form.getlist("severity"),
        form.getlist("yellow"),
        form.getlist("red"),
        form.getlist("unit"),
        fillvalue="",
    )
    for index, (stage, category, severity, yellow, red, unit) in enumerate(fields):
        if not yellow.strip() and not red.strip():
            continue
        unit = unit or "days"
        try:
            yellow_n, red_n = int(yellow), int(red)
        except ValueError:
            errors[index] = _("Enter whole numbers.")
            continue
        if stage not in {s.value for s in limits.Stage} or unit not in limits.UNITS:
            errors[index] = _("Not one of the allowed choices.")
        elif not 0 <= yellow_n <= red_n <= MAX[unit] or red_n < 1:
            errors[index] = (
                _("Yellow must be at most red, and red between 1 and %(n)d days.", n=MAX["days"])
                if unit == "days"
                else _(
                    "Yellow must be at most red, and red between 1 and %(n)d hours.",
                    n=MAX["hours"],
                )
            )
        else:
            rows.append(
                limits.Limit(stage, category or "*", severity or "*", yellow_n, red_n, unit)
            )
    return rows, errors


def _calendar_warning() -> str | None:
    coming = local_today().year + 1
    if workdays.calendar_source(coming) == "weekdays":
        return _(
            "There is no holiday calendar for %(year)d yet: time limits count Monday to Friday "
            "until you enter its holidays and make-up workdays.",
            year=coming,
        )
    return None


@bp.route("/settings/cases", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def case_settings():
    current_limits = limits.configured_limits()
    errors: dict[int, str] = {}
    department_text = "\n".join(departments())
    leader_days_text = str(limits.leader_workdays())
    if request.method == "POST":
        department_text = request.form.get("departments", "")
        names = [line.strip() for line in department_text.splitlines() if line.strip()]
        new_limits, errors = _limit_rows_from_form(request.form)
        stages_covered = {row.stage for row in new_limits}
        if not names:
            errors[-1] = _("Keep at least one department.")
        if not {s.value for s in limits.CASE_STAGES} <= stages_covered:
            errors[-2] = _("Every stage needs at least one limit.")
        leader_days_text = request.form.get("leader_workdays", leader_days_text)
        try:
            leader_days = int(leader_days_text)
            if not 1 <= leader_days <= MAX_LEADER_WORKDAYS:
                raise ValueError
        except ValueError:
            errors[-3] = _(
                "包案 after: a whole number of working days from 1 to %(n)d.", n=MAX_LEADER_WORKDAYS
            )
        if not errors:
            before = {
                "departments": departments(),
                "limits": [r.__dict__ for r in current_limits],
                "leader_workdays": limits.leader_workdays(),
            }
            save_departments(names)
            limits.save_limits(new_limits)
            limits.save_leader_workdays(leader_days)
            record_audit(
                "setting_changed",
                actor=current_user,
                target_type="settings",
                target_id="cases",
                before=before,
                after={
                    "departments": names,
                    "limits": [r.__dict__ for r in new_limits],
                    "leader_workdays": leader_days,
                },
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
            leader_days_text=leader_days_text,
            errors=errors,
            stages=list(limits.Stage),
            units=limits.UNITS,
            calendar_warning=_calendar_warning(),
        ),
        422 if errors else 200,
    )


# --- the working-day calendar --------------------------------------------------------------------


def _year_arg() -> int:
    try:
        year = int(request.values.get("year", ""))
    except ValueError:
        year = local_today().year + 1
    return min(max(year, 2000), 2100)


@bp.get("/settings/calendar")
@role_required(Role.ADMIN)
def calendar_settings(errors: dict | None = None, values: dict | None = None, status: int = 200):
    year = _year_arg()
    this_year = local_today().year
    return (
        render_template(
            "admin/calendar.html",
            year=year,
            rows=workdays.calendar_rows(year),
            source=workdays.calendar_source(year),
            package_covers=workdays.package_covers(year),
            years=[(y, workdays.calendar_source(y)) for y in range(this_year - 1, this_year + 3)],
            calendar_warning=_calendar_warning(),
            errors=errors or {},
            values=values or {},
        ),
        status,
    )


@bp.post("/settings/calendar")
@role_required(Role.ADMIN)
def calendar_change():
    year = _year_arg()
    what = request.form.get("what", "")
    if what == "seed":
        added = workdays.seed_year_from_package(year)
        _audit_calendar({"seeded_year": year, "days": added})
        db.session.commit()
        flash(_("%(n)d day(s) copied from the package.", n=added), "success")
    elif what == "remove":
        day = _parse_day(request.form.get("day", ""))
        if day is not None and workdays.remove_calendar_day(day):
            _audit_calendar({"removed": day.isoformat()})
            db.session.commit()
            flash(_("Removed."), "success")
    else:
        errors: dict[str, str] = {}
        day = _parse_day(request.form.get("day", ""))
        kind = request.form.get("kind", "")
        name = request.form.get("name", "").strip()[:64]
        if day is None:
            errors["day"] = _("Enter a date.")
        if kind not in ("holiday", "workday"):
            errors["kind"] = _("Please choose one.")
        if not name:
            errors["name"] = _("Name the holiday, e.g. 春节.")
        if day is not None and kind == "workday" and day.weekday() < 5:
            errors["kind"] = _("A make-up workday (调休) falls on a weekend.")
        if errors:
            return calendar_settings(errors=errors, values=request.form, status=422)
        workdays.set_calendar_day(day, kind == "workday", name)
        _audit_calendar({"set": day.isoformat(), "workday": kind == "workday", "name": name})
        db.session.commit()
        flash(_("Saved."), "success")
        year = day.year
    return redirect(url_for("admin.calendar_settings", year=year), 303)


def _parse_day(text: str) -> date | None:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if date(2000, 1, 1) <= day <= date(2100, 12, 31) else None


def _audit_calendar(change: dict) -> None:
    record_audit(
        "setting_changed",
        actor=current_user,
        target_type="settings",
        target_id="calendar",
        after=change,
    )
