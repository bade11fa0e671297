"""Display labels for codes (roles, care flags, statuses…), translated lazily.

Codes are the contract (DESIGN.md); labels are for people. Keeping them in one table means a
template, an export and an error message say the same words.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from webapp.i18n import local_today

ROLE_HOME_LABELS = {
    "grid_worker": _l("My grid"),
    "community_staff": _l("Community overview"),
    "street_staff": _l("Triage board"),
    "admin": _l("Org tree"),
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
}

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


def _lookup(table: dict, fallback_to_code: bool = True):
    def label(code):
        return table.get(code, code if fallback_to_code else "")

    return label


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_home_label=_lookup(ROLE_HOME_LABELS),
        care_flag_label=_lookup(CARE_FLAG_LABELS),
        occupancy_label=_lookup(OCCUPANCY_LABELS),
        severity_label=_lookup(SEVERITY_LABELS),
        status_label=_lookup(CASE_STATUS_LABELS),
        level_label=_lookup(CASE_LEVEL_LABELS),
        action_label=_lookup(CASE_ACTION_LABELS),
        error_title=_lookup(ERROR_TITLES),
        error_hint=_lookup(ERROR_HINTS),
        today_label=lambda: local_today().isoformat(),
    )
