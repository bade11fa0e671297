"""The field pages the phone renders from its copy of the grid (DESIGN.md §5).

Each entry names a route and the template that renders it. The service worker precaches one
*shell* per entry (`/pwa/shell/<name>`: the template rendered with no data, see binding.py) and,
offline, answers a navigation to the route with it; static/js/offline-pages.js builds the view
model `vm` from IndexedDB under the same name and fills the shell.

Adding a page: give its view a view model (rounds/pages.py style) and its template the binding
helpers, add an OfflinePage here, and a builder of the same name in offline-pages.js.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for

_SENTINEL = 918273640


def _form_context(kind: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"kind": kind, "values": {}, "errors": {}}


def _resident_form_context() -> dict[str, Any]:
    from webapp.models import EDITABLE_CARE_FLAGS

    return {"errors": {}, "flags": EDITABLE_CARE_FLAGS}


@dataclass(frozen=True)
class OfflinePage:
    name: str
    endpoint: str
    template: str
    literal: dict[str, str] = field(default_factory=dict)  # fixed route arguments (a form's kind)
    context: Callable[[], dict[str, Any]] = dict  # what the template needs besides `vm`

    def pattern(self) -> str:
        """The route as a JavaScript regular expression with a named group per argument."""
        rule = current_app.url_map._rules_by_endpoint[self.endpoint][0]
        values: dict[str, Any] = dict(self.literal)
        groups: dict[str, str] = {}
        for index, name in enumerate(sorted(rule.arguments - set(self.literal))):
            values[name] = _SENTINEL + index
            groups[str(_SENTINEL + index)] = f"(?<{name}>[^/]+)"
        path = re.escape(url_for(self.endpoint, **values))
        for sentinel, group in groups.items():
            path = path.replace(sentinel, group)
        return f"^{path}$"


OFFLINE_PAGES: tuple[OfflinePage, ...] = (
    OfflinePage("home", "rounds.home", "rounds/home.html"),
    OfflinePage("due_checks", "rounds.due_checks_page", "rounds/due_checks.html"),
    OfflinePage("waiting_cases", "rounds.waiting_cases_page", "rounds/waiting_cases.html"),
    OfflinePage("unvisited", "rounds.unvisited_page", "rounds/unvisited.html"),
    OfflinePage("grid", "rounds.grid_page", "rounds/grid.html"),
    OfflinePage("building", "rounds.building_page", "rounds/building.html"),
    OfflinePage("household", "rounds.household_page", "rounds/household.html"),
    OfflinePage("search", "rounds.search", "rounds/search.html"),
    OfflinePage("outbox", "pwa.outbox", "pwa/outbox.html"),  # read from IndexedDB by outbox.js
    OfflinePage(
        "edit_household",
        "rounds.edit_household",
        "rounds/edit_household.html",
        context=lambda: {"errors": {}},
    ),
    OfflinePage(
        "edit_resident",
        "rounds.edit_resident",
        "rounds/edit_resident.html",
        context=_resident_form_context,
    ),
    *(
        OfflinePage(
            f"household_{kind}",
            "rounds.new_household_record",
            "rounds/record_form.html",
            {"kind": kind},
            _form_context(kind),
        )
        for kind in ("visit", "dispute", "hazard")
    ),
    *(
        OfflinePage(
            f"grid_{kind}",
            "rounds.new_place_record",
            "rounds/record_form.html",
            {"kind": kind},
            _form_context(kind),
        )
        for kind in ("dispute", "hazard")
    ),
    OfflinePage(
        "building_hazard",
        "rounds.new_building_record",
        "rounds/record_form.html",
        {"kind": "hazard"},
        _form_context("hazard"),
    ),
    OfflinePage(
        "elderly_check",
        "rounds.new_elderly_check",
        "rounds/record_form.html",
        {},
        _form_context("elderly_check"),
    ),
)
BY_NAME = {page.name: page for page in OFFLINE_PAGES}


def routes() -> list[list[str]]:
    """[[pattern, name], …] for the service worker and the page."""
    return [[page.pattern(), page.name] for page in OFFLINE_PAGES]


def shell_templates() -> tuple[str, ...]:
    return tuple(sorted({page.template for page in OFFLINE_PAGES}))
