"""View models of the field pages (DESIGN.md §5): plain dicts the templates read through the
webapp/pwa/binding.py helpers. static/js/offline-pages.js builds the same shapes from the phone's
copy of the grid, so one template renders a page online and offline;
tests/e2e/test_offline_pages.py fails when the two disagree on what a page shows.

Names and phones pass the masking table (webapp/privacy.py) for the signed-in viewer, as the sync
pull does for the phone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from webapp.i18n import SHANGHAI, local_today
from webapp.labels import (
    CARE_FLAG_LABELS,
    CASE_STATUS_LABELS,
    CHECK_STATUS_LABELS,
    DISPUTE_CATEGORY_LABELS,
    OCCUPANCY_LABELS,
    RECORD_KIND_LABELS,
    RESIDENT_STATUS_LABELS,
    SEVERITY_LABELS,
    VISIT_KIND_LABELS,
)
from webapp.models import Building, Case, Grid, Household, Resident
from webapp.privacy import current_viewer
from webapp.rounds import care, services, worklists

# The label tables the phone needs to build the same view models (sent with the page shells).
LABEL_TABLES = {
    "care_flag": CARE_FLAG_LABELS,
    "case_status": CASE_STATUS_LABELS,
    "check_status": CHECK_STATUS_LABELS,
    "dispute_category": DISPUTE_CATEGORY_LABELS,
    "occupancy": OCCUPANCY_LABELS,
    "record_kind": RECORD_KIND_LABELS,
    "resident_status": RESIDENT_STATUS_LABELS,
    "severity": SEVERITY_LABELS,
    "visit_kind": VISIT_KIND_LABELS,
}


def label(table: str, code: str | None) -> str:
    return str(LABEL_TABLES[table].get(code, code or ""))


def client_labels() -> dict[str, dict[str, str]]:
    return {
        name: {code: str(text) for code, text in table.items()}
        for name, table in LABEL_TABLES.items()
    }


def short_time(moment: datetime | None) -> str:
    """ "MM-dd HH:mm" in Shanghai, as offline-pages.js writes it."""
    return moment.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if moment else ""


def room_order(room: str) -> tuple[int, str]:
    """Rooms by floor and number (101, 102, …, 1001), not as text; odd names after, by text."""
    digits = (room or "").strip()
    return (int(digits), digits) if digits.isdecimal() else (10**9, digits)


# --- pieces shared by several pages ---------------------------------------------------------------


def resident_item(resident: Resident, today: date, checkable: bool) -> dict[str, Any]:
    viewer = current_viewer()
    phone = viewer.phone(resident)
    return {
        "id": resident.id,
        "household_id": resident.household_id,
        "name": viewer.name(resident),
        "relation": resident.relation or "",
        "age": resident.age_on(today),
        "moved_out": bool(resident.moved_out),
        "row_class": "resident moved-out" if resident.moved_out else "resident",
        # A full number is a link to call; a masked one is only shown.
        "tel": phone if phone and "*" not in phone else "",
        "masked_phone": phone if "*" in phone else "",
        "id_number": viewer.id_number(resident),
        # "Show in full" (an audited online action) where the masking table allows it.
        "reveal_phone": bool(resident.phone) and viewer.may_reveal("phone", resident.grid_id),
        "reveal_id_number": bool(resident.id_number)
        and viewer.may_reveal("id_number", resident.grid_id),
        "active": resident.status == "active",
        "status_label": label("resident_status", resident.status),
        "left_on": resident.left_on.isoformat() if resident.left_on else "",
        "flags": [
            {"code": flag, "label": label("care_flag", flag)} for flag in resident.care_flags(today)
        ],
        "checkable": checkable,
    }


def case_item(case: Case) -> dict[str, Any]:
    return {
        "id": str(case.id),
        "number": case.number,
        "title": case.title,
        "severity": case.severity,
        "severity_label": label("severity", case.severity),
        "status_label": label("case_status", case.status),
        "follow_up": case.status == "resolved",
        "due_on": case.due_at.astimezone(SHANGHAI).date().isoformat() if case.due_at else "",
    }


def building_item(building: Building, household_count: int) -> dict[str, Any]:
    return {
        "id": building.id,
        "name": building.name,
        "grid_id": building.grid_id,
        "household_count": household_count,
    }


# --- pages ---------------------------------------------------------------------------------------


def household_vm(household: Household, today: date, now: datetime) -> dict[str, Any]:
    from webapp.sync.entities import RECORD_DAYS  # imported late: sync imports the rounds views

    viewer = current_viewer()
    intervals = care.care_intervals()
    residents = services.residents_of(household)
    names = {resident.id: viewer.name(resident) for resident in residents}
    since = now.timestamp() - RECORD_DAYS * 86400
    recent = []
    # The phone keeps the last RECORD_DAYS of records, so "recent" means the same on both sides.
    for entry in services.recent_records(household):
        if entry.record.received_at.timestamp() < since:
            continue
        summary = {
            "visit": lambda r: label("visit_kind", r.visit_kind),
            "dispute": lambda r: label("dispute_category", r.category),
            "elderly_check": lambda r: (
                f"{names.get(r.resident_id, '')} {label('check_status', r.status)}"
            ),
        }[entry.kind](entry.record)
        recent.append(
            {
                "id": str(entry.record.id),
                "kind": entry.kind,
                "kind_label": label("record_kind", entry.kind),
                "summary": summary,
                "at": short_time(entry.at),
            }
        )
    return {
        "household": {
            "id": household.id,
            "address": household.address,
            "occupancy_label": label("occupancy", household.occupancy),
            "contact_phone": viewer.phone(household, "contact_phone"),
            "grid_id": household.grid_id,
            "grid_name": household.grid.name,
            "building_id": household.building_id,
            "building_name": household.building.name,
        },
        "residents": [
            resident_item(r, today, care.check_interval(r, today, intervals) is not None)
            for r in residents
        ],
        "cases": [case_item(case) for case in services.open_cases_of(household)],
        "recent": recent,
    }


def building_vm(building: Building) -> dict[str, Any]:
    units: dict[int, list[dict[str, Any]]] = {}
    by_unit = services.households_by_unit(building)
    households = [household for rows in by_unit.values() for household in rows]
    for household in sorted(households, key=lambda h: (h.unit, room_order(h.room))):
        units.setdefault(household.unit, []).append(
            {
                "id": household.id,
                "room": household.room,
                "room_class": f"room occupancy-{household.occupancy}",
            }
        )
    return {
        "building": {
            "id": building.id,
            "name": building.name,
            "address": building.address or "",
            "grid_id": building.grid_id,
            "grid_name": building.grid.name,
        },
        "units": [{"unit": unit, "households": rows} for unit, rows in sorted(units.items())],
    }


def grid_vm(grid: Grid) -> dict[str, Any]:
    return {
        "grid": {
            "id": grid.id,
            "name": grid.name,
            "community": grid.community.name,
            "boundary": grid.boundary or "",
        },
        "buildings": [building_item(b, n) for b, n in services.buildings_of(grid)],
    }


def due_item(check: care.DueCheck) -> dict[str, Any]:
    viewer = current_viewer()
    overdue = check.days_overdue
    return {
        "resident_id": check.resident.id,
        "household_id": check.household_id,
        "name": viewer.name(check.resident),
        "address": check.address,
        "never": check.never_checked,
        "today": not check.never_checked and overdue == 0,
        "one_day": not check.never_checked and overdue == 1,
        "days": not check.never_checked and overdue > 1,
        "days_overdue": overdue,
        "last_checked_on": check.last_checked_on.isoformat() if check.last_checked_on else "",
        "interval_days": check.interval_days,
        "flags": [{"code": flag, "label": label("care_flag", flag)} for flag in check.flags],
    }


def unvisited_item(household: Household, last_visit: date | None) -> dict[str, Any]:
    return {
        "id": household.id,
        "address": household.address,
        "occupancy_label": label("occupancy", household.occupancy),
        "last_visit": last_visit.isoformat() if last_visit else "",
    }


def unvisited_items(households: list[Household]) -> list[dict[str, Any]]:
    from webapp.sync.entities import RECORD_DAYS

    # Only visits the phone also holds, so the list reads the same offline.
    last = worklists.last_visit_dates([household.id for household in households])
    oldest = local_today() - timedelta(days=RECORD_DAYS)
    kept = {household_id: day for household_id, day in last.items() if day >= oldest}
    return [unvisited_item(household, kept.get(household.id)) for household in households]


HOME_LIST_LENGTH = 5


def home_vm(grids: list[Grid], today: date) -> dict[str, Any]:
    """我的网格: the work first (search, quick records, buildings), then today's lists."""
    grid_ids = [grid.id for grid in grids]
    due = care.due_elderly_checks(grid_ids, today)
    cases = worklists.waiting_cases(grid_ids)
    unvisited_count = worklists.count_unvisited_households(grid_ids, today)
    unvisited = worklists.unvisited_households(grid_ids, today, limit=HOME_LIST_LENGTH)
    buildings = {grid.id: services.buildings_of(grid) for grid in grids}
    return {
        "today": today.isoformat(),
        "has_grids": bool(grids),
        "due_tile": "tile tile-alert" if any(c.days_overdue > 0 for c in due) else "tile",
        "counts": {
            "due_checks": len(due),
            "overdue_checks": sum(1 for check in due if check.days_overdue > 0),
            "waiting_cases": len(cases),
            "unvisited": unvisited_count,
        },
        "due": [due_item(check) for check in due[:HOME_LIST_LENGTH]],
        "more_due": len(due) > HOME_LIST_LENGTH,
        "cases": [case_item(case) for case in cases[:HOME_LIST_LENGTH]],
        "more_cases": len(cases) > HOME_LIST_LENGTH,
        "unvisited": unvisited_items(unvisited),
        "more_unvisited": unvisited_count > HOME_LIST_LENGTH,
        "grids": [
            {
                "id": s.grid.id,
                "name": s.grid.name,
                "building_count": s.building_count,
                "household_count": s.household_count,
                "resident_count": s.resident_count,
                "open_case_count": s.open_case_count,
                "buildings": [building_item(b, n) for b, n in buildings[s.grid.id]],
            }
            for s in services.summarize_grids(grids)
        ],
    }


def due_checks_vm(grids: list[Grid], today: date) -> dict[str, Any]:
    due = care.due_elderly_checks([grid.id for grid in grids], today)
    return {"due": [due_item(check) for check in due]}


def waiting_cases_vm(grids: list[Grid]) -> dict[str, Any]:
    return {"cases": [case_item(case) for case in worklists.waiting_cases([g.id for g in grids])]}


UNVISITED_PAGE_SIZE = 50


def unvisited_vm(grids: list[Grid], today: date, page: int) -> dict[str, Any]:
    grid_ids = [grid.id for grid in grids]
    total = worklists.count_unvisited_households(grid_ids, today)
    page_count = max(1, -(-total // UNVISITED_PAGE_SIZE))
    # A page that emptied while the worker was out visiting shows the last one, not an error.
    page = min(max(page, 1), page_count)
    households = worklists.unvisited_households(
        grid_ids, today, limit=UNVISITED_PAGE_SIZE, offset=(page - 1) * UNVISITED_PAGE_SIZE
    )
    return {
        "total": total,
        "since": worklists.quarter_start(today).isoformat(),
        "unvisited": unvisited_items(households),
        "page": page,
        "page_count": page_count,
        "paged": page_count > 1,
        "prev_page": page - 1 if page > 1 else 0,
        "next_page": page + 1 if page < page_count else 0,
    }


def search_vm(query: str, households: list[Household], residents: list[Resident]) -> dict:
    viewer = current_viewer()
    return {
        "query": query,
        "searched": bool(query),
        "nothing": bool(query) and not households and not residents,
        "households": [{"id": h.id, "address": h.address} for h in households],
        "residents": [
            {
                "household_id": r.household_id,
                "name": viewer.name(r),
                "address": r.household.address,
                "phone": viewer.phone(r),
            }
            for r in residents
        ],
    }


def form_vm(
    values: dict[str, Any],
    household: Household | None = None,
    resident: Resident | None = None,
    building: Building | None = None,
    grid: Grid | None = None,
    members: list[Resident] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """A record form's surroundings: what it is about, where to go back, who may be present."""
    from flask import url_for

    viewer = current_viewer()
    present = {str(value) for value in values.get("present_resident_ids") or []}
    if household is not None:
        back = url_for("rounds.household_page", household_id=household.id)
        where = household.address
    elif building is not None:
        back = url_for("rounds.building_page", building_id=building.id)
        where = building.name
    elif grid is not None:
        back = url_for("rounds.grid_page", grid_id=grid.id)
        where = grid.name
    else:
        back, where = url_for("rounds.home"), ""
    if resident is not None:
        where = f"{viewer.name(resident)} · {where}"
    owner = household or building
    ids = ("household_id", "resident_id", "building_id", "grid_id")
    return {
        "household": {"id": household.id, "address": household.address} if household else None,
        "building": {"id": building.id, "name": building.name} if building else None,
        "grid": {"id": grid.id, "name": grid.name} if grid else None,
        "resident": (
            {
                "id": resident.id,
                "name": viewer.name(resident),
                "age": resident.age_on(local_today()),
            }
            if resident
            else None
        ),
        "members": [
            {
                "id": member.id,
                "name": viewer.name(member),
                "relation": member.relation or "",
                "checked": str(member.id) in present,
            }
            for member in members or []
            if not member.moved_out
        ],
        "return_url": back,
        "where": where,
        "grid_id": owner.grid_id if owner is not None else (grid.id if grid else ""),
        "ids": {name: str(values[name]) for name in ids if values.get(name)},
    }


def edit_household_vm(household: Household, back: str) -> dict[str, Any]:
    return {
        "row": {
            "id": household.id,
            "address": household.address,
            "contact_phone": current_viewer().phone(household, "contact_phone"),
            "occupancy": household.occupancy,
            "notes": household.notes or "",
            "version": household.version,
            "grid_id": household.grid_id,
        },
        "back": back,
    }


def edit_resident_vm(resident: Resident, back: str, today: date) -> dict[str, Any]:
    viewer = current_viewer()
    return {
        "row": {
            "id": resident.id,
            "name": viewer.name(resident),
            "relation": resident.relation or "",
            "age": resident.age_on(today),
            "address": resident.household.address,
            "phone": viewer.phone(resident),
            "moved_out": bool(resident.moved_out),
            "flag_set": {flag: True for flag in resident.care_flags(today)},
            "notes": resident.notes or "",
            "version": resident.version,
            "grid_id": resident.grid_id,
        },
        "back": back,
    }
