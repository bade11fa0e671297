"""Words for notice codes, shared by the staff pages and the public site."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

NOTICE_CATEGORY_LABELS = {
    "publicity": _l("Publicity"),
    "notice": _l("Notice"),
    "event": _l("Event"),
    "policy": _l("Policy"),
}

NOTICE_STATE_LABELS = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "published": _l("Published"),
    "withdrawn": _l("Withdrawn"),
}

PUBLICITY_STATE_LABELS = {
    "upcoming": _l("Not started"),
    "ongoing": _l("Open for comment"),
    "ended": _l("Ended"),
}

FINDING_KIND_LABELS = {
    "id_number": _l("ID number"),
    "mobile": _l("Mobile number"),
    "bank_card": _l("Bank card number"),
}


def finding_field_label(field: str) -> str:
    from flask_babel import gettext as _

    if field == "title":
        return _("Title")
    if field == "body":
        return _("Text")
    return _("File name")


def register(app: Flask) -> None:
    def lookup(table: dict):
        return lambda code: table.get(code, code)

    app.jinja_env.globals.update(
        notice_category_label=lookup(NOTICE_CATEGORY_LABELS),
        notice_state_label=lookup(NOTICE_STATE_LABELS),
        publicity_state_label=lookup(PUBLICITY_STATE_LABELS),
        finding_kind_label=lookup(FINDING_KIND_LABELS),
        finding_field_label=finding_field_label,
        NOTICE_CATEGORY_LABELS=NOTICE_CATEGORY_LABELS,
        NOTICE_STATE_LABELS=NOTICE_STATE_LABELS,
    )
