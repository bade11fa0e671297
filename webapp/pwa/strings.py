"""The words static/js/outbox.js shows, translated on the server and handed to the page in a
`<script type="application/json">` data block (never executed, so the CSP allows it). `{n}`-style
placeholders are filled in by the script."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.labels import CASE_ACTION_LABELS, RECORD_KIND_LABELS

WORKER_CASE_ACTIONS = ("note", "request_escalation", "follow_up")  # DESIGN.md §4

CLIENT_STRINGS = {
    "count": _l("%(n)s waiting to sync", n="{n}"),
    "saved": _l("Saved."),
    "saved_offline": _l("Saved on this phone; it will sync when you are online."),
    "saving": _l("Saving…"),
    "nothing_changed": _l("Nothing changed."),
    "fix_errors": _l("Please fix the items marked in red."),
    "required": _l("This field is required."),
    "choose_one": _l("Please choose one."),
    "case_opened": _l("A case was opened: %(link)s", link="{link}"),
    "view": _l("View"),
    "auth_expired": _l(
        "Your login has expired. Please log in again; the records waiting to sync will not be lost."
    ),
    "logout_offline": _l("Connect to the internet to log out."),
    "edit_again": _l("Edit again"),
    "logout_confirm": _l(
        "%(n)s records have not synced yet. Logging out deletes them. Log out anyway?", n="{n}"
    ),
    "discard_confirm": _l(
        "Discard this record? It has not reached the server and cannot be recovered."
    ),
    "state_pending": _l("Waiting to send"),
    "state_sending": _l("Sending"),
    "state_failed": _l("Not sent yet, will retry"),
    "state_rejected": _l("Returned: needs your attention"),
    "state_quarantined": _l("Held for review"),
    "quarantined_note": _l(
        "You no longer hold this grid. The record is kept on the server for staff to review."
    ),
    "attempts": _l("Tried %(n)s times", n="{n}"),
    "retry": _l("Retry"),
    "edit_resubmit": _l("Edit and resubmit"),
    "discard": _l("Discard"),
    "replacing": _l("You are editing a returned record. Saving replaces the returned one."),
    "err_network": _l("Could not reach the server."),
    "err_server": _l("The server had a problem (%(status)s).", status="{status}"),
    "err_photo": _l("A photo could not be uploaded."),
    "op_household_update": _l("Household details"),
    "op_resident_update": _l("Resident details"),
    "op_case_action": _l("Case action"),
    "copy_progress": _l("Updating the offline copy… %(n)s rows received", n="{n}"),
    "copy_done": _l("Updated: %(n)s changes.", n="{n}"),
    "copy_current": _l("Already up to date."),
    "copy_counts": _l(
        "%(households)s households · %(residents)s residents",
        households="{households}",
        residents="{residents}",
    ),
    "download_offline": _l("Connect to the internet to download."),
    "offline_rendered": _l("Offline · data of %(time)s", time="{time}"),
    "offline_missing_title": _l("Not on this phone"),
    "offline_missing": _l(
        "This page is not in the offline copy of your grid. Connect to the internet and tap "
        "“Update now” on My grid."
    ),
    "my_grid": _l("My grid"),
    "pending_here": _l("Waiting to sync from this phone"),
    "pending_mark": _l("Waiting to sync"),
    "see_outbox": _l("Open"),
    "last_download": _l("Last updated: %(time)s", time="{time}"),
    "field_error": _l("%(field)s: %(message)s", field="{field}", message="{message}"),
}

# A returned op names its bad fields by payload name; the outbox page shows the form's label.
FIELD_LABELS = {
    "visited_at": _l("Visited at"),
    "visit_kind": _l("Kind of visit"),
    "present_resident_ids": _l("Who was present"),
    "needs": _l("Needs found"),
    "notes": _l("Notes"),
    "place": _l("Where"),
    "dispute.category": _l("Kind of dispute"),
    "hazard.category": _l("Kind of hazard"),
    "parties": _l("Parties"),
    "summary": _l("What happened"),
    "severity": _l("Severity"),
    "mediation_notes": _l("Mediation notes"),
    "checked_at": _l("Checked at"),
    "method": _l("How"),
    "status": _l("How are they"),
    "health_notes": _l("Health"),
    "living_notes": _l("Living conditions"),
    "description": _l("Description"),
    "photo_ids": _l("Photos"),
    "contact_phone": _l("Contact phone"),
    "phone": _l("Phone"),
    "occupancy": _l("Occupancy"),
    "moved_out": _l("Moved out"),
}


def client_strings() -> dict[str, str]:
    strings = {key: str(value) for key, value in CLIENT_STRINGS.items()}
    for kind, label in RECORD_KIND_LABELS.items():
        strings[f"op_{kind}_create"] = str(label)
    for field, label in FIELD_LABELS.items():
        strings[f"f_{field}"] = str(label)
    for action in WORKER_CASE_ACTIONS:  # a case action waiting on the phone says which one
        strings[f"act_{action}"] = str(CASE_ACTION_LABELS[action])
    return strings
