"""Display labels for codes (roles, care flags, statuses…), translated lazily.

Codes are the contract (DESIGN.md); labels are for people. Keeping them in one table means a
template, an export and an error message say the same words.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context
from flask_babel import lazy_gettext as _l

from webapp.i18n import local_today

ROLE_HOME_LABELS = {
    "grid_worker": _l("My grid"),
    "community_staff": _l("Community overview"),
    "street_staff": _l("Triage board"),
    "department_staff": _l("Department board"),
    "admin": _l("Org tree"),
    "triage": _l("Cases"),
    "notices": _l("Notices"),
    "residents": _l("Residents' reports"),
    "imports": _l("Import a register"),
    "users": _l("Users"),
    "reports": _l("Dashboards"),
}

CARE_FLAG_LABELS = {
    "living_alone": _l("Living alone"),
    "empty_nest": _l("Empty nest"),
    "age_80_plus": _l("80+"),
    "disabled": _l("Disabled"),
    "low_income": _l("Low income"),
    "special_care": _l("Special care"),
    "floating": _l("Floating population"),
    "minor": _l("Minor"),
    "community_correction": _l("Community correction"),
    "party_member": _l("Party member"),
    "party_lost_contact": _l("Party member out of contact"),
    "veteran": _l("Veteran"),
    "severe_disability": _l("Severe disability (grade 1–2)"),
}

RESIDENT_STATUS_LABELS = {
    "active": _l("Living here"),
    "moved_out": _l("Moved out"),
    "deceased": _l("Deceased"),
}

IMPORT_STATUS_LABELS = {
    "queued": _l("Waiting to be checked"),
    "checking": _l("Checking the rows…"),
    "ready": _l("Checked: ready to import"),
    "invalid": _l("Not imported: the file has problems"),
    "committing": _l("Importing…"),
    "done": _l("Imported"),
    "failed": _l("Failed"),
}

OCCUPANCY_LABELS = {
    "occupied": _l("Occupied"),
    "vacant": _l("Vacant"),
    "rented_out": _l("Rented out"),
    "moved_out": _l("Moved out"),
}

SEVERITY_LABELS = {
    "low": _l("Low"),
    "medium": _l("Medium"),
    "high": _l("High"),
    "urgent": _l("Urgent"),
}

CASE_STATUS_LABELS = {
    "open": _l("Being handled by the grid"),
    "escalated": _l("Escalated, awaiting acceptance"),
    "accepted": _l("Accepted"),
    "resolved": _l("Resolved, awaiting follow-up"),
    "closed": _l("Closed"),
}

CASE_LEVEL_LABELS = {
    "grid": _l("Grid"),
    "community": _l("Community"),
    "street": _l("Street office"),
}

CASE_ACTION_LABELS = {
    "open": _l("Case opened"),
    "note": _l("Local handling"),
    "request_escalation": _l("Escalation requested"),
    "escalate": _l("Escalated"),
    "accept": _l("Accepted"),
    "assign": _l("Assigned"),
    "supervise": _l("Put under supervision"),
    "pause": _l("Paused"),
    "resume": _l("Resumed"),
    "request_extension": _l("Extension requested"),
    "approve_extension": _l("Extension approved"),
    "resolve": _l("Resolved"),
    "follow_up": _l("Follow-up visit"),
    "reopen": _l("Reopened"),
    "auto_escalate": _l("Escalated automatically (time limit passed)"),
    "sign": _l("Signed for by the department"),
    "report_back": _l("Reported back by the department"),
    "return": _l("Returned by the department"),
    "review": _l("Reviewed by the street office"),
    "close_unresolvable": _l("Closed as unresolvable"),
    "handover": _l("Handed over to a successor"),
}

# Buttons say what pressing them does (受理), never what has been done (已受理).
CASE_ACTION_VERBS = {
    "note": _l("Record handling"),
    "request_escalation": _l("Escalate"),
    "accept": _l("Accept"),
    "assign": _l("Assign"),
    "supervise": _l("Supervise"),
    "pause": _l("Pause the clock"),
    "resume": _l("Restart the clock"),
    "request_extension": _l("Ask for more time"),
    "approve_extension": _l("Approve the extension"),
    "sign": _l("Sign for it"),
    "report_back": _l("Report back"),
    "return": _l("Return it"),
    "review": _l("Review"),
    "resolve": _l("Resolve"),
    "close_unresolvable": _l("Close as unresolvable"),
    "follow_up": _l("Follow-up visit"),
    "reopen": _l("Reopen"),
}

ROLE_LABELS = {
    "grid_worker": _l("Grid worker"),
    "community_staff": _l("Community staff"),
    "street_staff": _l("Street office staff"),
    "department_staff": _l("Department staff"),
    "admin": _l("Administrator"),
}

PART_STATUS_LABELS = {
    "assigned": _l("Waiting to be signed for"),
    "signed": _l("Being handled"),
    "reported": _l("Reported back, waiting for review"),
    "approved": _l("Done"),
    "returned": _l("Returned"),
    "withdrawn": _l("Withdrawn"),
}

PART_ROLE_LABELS = {
    "lead": _l("Lead"),
    "assist": _l("Assisting"),
}

STAGE_LABELS = {
    "accept": _l("Acceptance"),
    "handle": _l("Handling"),
    "follow_up": _l("Follow-up visit"),
}

SATISFACTION_LABELS = {
    "satisfied": _l("Satisfied"),
    "basically_satisfied": _l("Basically satisfied"),
    "dissatisfied": _l("Dissatisfied"),
}


def sla_text(state, time_left) -> str:
    """ "3 days 4 hours left", "overdue 2 days", "paused"…: how long, in words a clerk scans."""
    from flask_babel import gettext as _

    state = str(state)
    if state == "done":
        return _("Closed")
    if state == "paused":
        return _("Clock paused")
    if time_left is None:
        return ""
    seconds = abs(int(time_left.total_seconds()))
    days, hours = seconds // 86400, (seconds % 86400) // 3600
    span = _("%(d)d d %(h)d h", d=days, h=hours) if days else _("%(h)d h", h=max(hours, 0))
    if state == "red":
        return _("Overdue by %(span)s", span=span)
    if state == "yellow":
        return _("Due soon: %(span)s left", span=span)
    return _("%(span)s left", span=span)


ERROR_TITLES = {
    400: _l("The request could not be processed"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("The upload is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
}

ERROR_HINTS = {
    400: _l("The form may have expired. Go back, reload the page and try again."),
    403: _l("If you need access, ask your community office or an administrator."),
    404: _l("It may have moved, or it is outside the grids you look after."),
    405: _l("Go back and use the buttons on the page."),
    413: _l("Choose a smaller file and try again."),
    429: _l("For your account's safety, please wait a few minutes and try again."),
    500: _l("Nothing you entered is lost. Please try again in a moment."),
}


def _lookup(table: dict):
    """A label function for templates; an unknown code shows as itself rather than vanishing."""

    def label(code):
        value = table.get(code, code)
        if not has_request_context():
            return value
        # A board of 500 rows asks for the same few labels thousands of times; translating a
        # lazy string each time was a third of the page's time. The locale is fixed per request.
        cache = g.setdefault("_label_cache", {})
        key = (id(table), code)
        if key not in cache:
            cache[key] = str(value)
        return cache[key]

    return label


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_home_label=_lookup(ROLE_HOME_LABELS),
        care_flag_label=_lookup(CARE_FLAG_LABELS),
        occupancy_label=_lookup(OCCUPANCY_LABELS),
        resident_status_label=_lookup(RESIDENT_STATUS_LABELS),
        import_status_label=_lookup(IMPORT_STATUS_LABELS),
        severity_label=_lookup(SEVERITY_LABELS),
        status_label=_lookup(CASE_STATUS_LABELS),
        level_label=_lookup(CASE_LEVEL_LABELS),
        action_label=_lookup(CASE_ACTION_LABELS),
        action_verb=_lookup(CASE_ACTION_VERBS),
        role_label=_lookup(ROLE_LABELS),
        part_status_label=_lookup(PART_STATUS_LABELS),
        part_role_label=_lookup(PART_ROLE_LABELS),
        error_title=_lookup(ERROR_TITLES),
        error_hint=_lookup(ERROR_HINTS),
        today_label=lambda: local_today().isoformat(),
        today_date=local_today,
    )
    register_record_labels(app)


RECORD_KIND_LABELS = {
    "visit": _l("Household visit"),
    "dispute": _l("Dispute"),
    "elderly_check": _l("Elderly check"),
    "hazard": _l("Safety hazard"),
}

VISIT_KIND_LABELS = {
    "routine": _l("Routine visit"),
    "follow_up": _l("Follow-up"),
    "new_arrival": _l("New arrival"),
    "moved_out_check": _l("Moved-out check"),
}

NEED_LABELS = {
    "medical": _l("Medical"),
    "income": _l("Income"),
    "housing": _l("Housing"),
    "employment": _l("Employment"),
    "elderly_care": _l("Elderly care"),
    "other": _l("Other"),
}

DISPUTE_CATEGORY_LABELS = {
    "neighbour": _l("Between neighbours"),
    "property_mgmt": _l("Property management"),
    "family": _l("Family"),
    "labour": _l("Labour"),
    "land": _l("Land"),
    "demolition": _l("Demolition"),
    "other": _l("Other"),
}

PARTY_ROLE_LABELS = {
    "complainant": _l("Complainant"),
    "respondent": _l("Respondent"),
    "other": _l("Other"),
}

CHECK_METHOD_LABELS = {
    "in_person": _l("In person"),
    "phone": _l("By phone"),
    "neighbour": _l("Through a neighbour"),
}

CHECK_STATUS_LABELS = {
    "ok": _l("All well"),
    "concern": _l("Some concern"),
    "needs_help": _l("Needs help"),
    "not_reached": _l("Not reached"),
}

HAZARD_CATEGORY_LABELS = {
    "fire": _l("Fire"),
    "gas": _l("Gas"),
    "electrical": _l("Electrical"),
    "structural": _l("Structural"),
    "traffic": _l("Traffic"),
    "public_order": _l("Public order"),
    "environment": _l("Environment"),
    "other": _l("Other"),
}

# What residents report (随手拍) and suggest (意见箱), in their words; also the Open311 services.
REPORT_CATEGORY_LABELS = {
    "facility": _l("Broken public facilities (lights, lifts, covers)"),
    "sanitation": _l("Rubbish and sanitation"),
    "fire_safety": _l("Fire safety (blocked exits, clutter)"),
    "noise": _l("Noise"),
    "street_order": _l("Parking and street order"),
    "property": _l("Property management"),
    "other": _l("Other"),
    "suggestion": _l("Suggestion"),
}

CASE_CATEGORY_LABELS = {
    **REPORT_CATEGORY_LABELS,
    **HAZARD_CATEGORY_LABELS,
    **DISPUTE_CATEGORY_LABELS,
    "elderly_care": _l("Elderly care"),
}

EDITABLE_FIELD_LABELS = {
    "contact_phone": _l("Contact phone"),
    "phone": _l("Phone"),
    "occupancy": _l("Occupancy"),
    "notes": _l("Notes"),
    "moved_out": _l("Moved out"),
    "living_alone": _l("Living alone"),
    "empty_nest": _l("Empty nest"),
    "disabled": _l("Disabled"),
    "low_income": _l("Low income"),
    "special_care": _l("Special care"),
    "floating": _l("Floating population"),
}


def register_record_labels(app: Flask) -> None:
    app.jinja_env.globals.update(
        record_kind_label=_lookup(RECORD_KIND_LABELS),
        visit_kind_label=_lookup(VISIT_KIND_LABELS),
        need_label=_lookup(NEED_LABELS),
        dispute_category_label=_lookup(DISPUTE_CATEGORY_LABELS),
        party_role_label=_lookup(PARTY_ROLE_LABELS),
        check_method_label=_lookup(CHECK_METHOD_LABELS),
        check_status_label=_lookup(CHECK_STATUS_LABELS),
        hazard_category_label=_lookup(HAZARD_CATEGORY_LABELS),
        case_category_label=_lookup(CASE_CATEGORY_LABELS),
        report_category_label=_lookup(REPORT_CATEGORY_LABELS),
        field_label=_lookup(EDITABLE_FIELD_LABELS),
        satisfaction_label=_lookup(SATISFACTION_LABELS),
        stage_label=_lookup(STAGE_LABELS),
        sla_text=sla_text,
        CASE_STATUS_LABELS=CASE_STATUS_LABELS,
        CASE_CATEGORY_LABELS=CASE_CATEGORY_LABELS,
        VISIT_KIND_LABELS=VISIT_KIND_LABELS,
        NEED_LABELS=NEED_LABELS,
        DISPUTE_CATEGORY_LABELS=DISPUTE_CATEGORY_LABELS,
        PARTY_ROLE_LABELS=PARTY_ROLE_LABELS,
        CHECK_METHOD_LABELS=CHECK_METHOD_LABELS,
        CHECK_STATUS_LABELS=CHECK_STATUS_LABELS,
        HAZARD_CATEGORY_LABELS=HAZARD_CATEGORY_LABELS,
        SEVERITY_LABELS=SEVERITY_LABELS,
        OCCUPANCY_LABELS=OCCUPANCY_LABELS,
    )
