"""The authorization matrix, generated: every route of `app.url_map` × every role × an object in
scope and one outside it (DESIGN.md §2, §7; issue 10).

World: street S1 has community C1 (grids G1, G2) and C2 (grid G3); street S2 has C3 (grid G4).
Each grid has a building, a household, a resident, a visit and a case, each carrying a secret
string. Users: worker_g1 (G1), staff_c1 (C1), staff_s1 (S1), dept_s1 (a department of S1), root
(admin), and an anonymous visitor.

For every route and role the route is called with the ids of G1's objects ("in") and of G4's
("out"), with each of its methods (POSTs carry a valid CSRF token, so the answer is about scope,
not about a missing token). The rules:
- never a 5xx, in or out;
- out of scope (every role but admin): 401/403/404, or the login redirect for the anonymous
  visitor, and the body carries none of G4's secrets;
- public pages (/public, /open311, static) may be read by anyone but never carry a resident's
  name, phone, ID number or notes.
A route whose parameters the table below cannot fill fails the test, so a new route is covered
the day it is added.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

import pytest

from tests import factories as f
from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.models import Notice, Visit, utcnow

ROLES = ["worker_g1", "staff_c1", "staff_s1", "dept_s1", "root", "anonymous"]
# Endpoints not called: they end the session or are the login form itself.
SKIPPED_ENDPOINTS = {"auth.logout", "auth.login"}
PUBLIC_PREFIXES = ("/public", "/open311", "/static", "/sw.js", "/favicon.ico", "/healthz")
PUBLIC_EXACT = {"/offline", "/api/v1/push/key", "/no-role", "/"}
OUT_STATUSES = {401, 403, 404}
# 503 by design until an operator runs `flask push keys` (DESIGN.md §6).
UNAVAILABLE_UNTIL_SET_UP = {("GET", "/api/v1/push/key")}
API = {"X-GridRounds-Client": "1"}


@dataclass
class Place:
    """One grid's objects and the strings that must never leak out of its scope."""

    grid: object
    community: object
    building: object
    household: object
    resident: object
    visit: object
    case: object
    notice: object
    secrets: list[str]
    personal: list[str]


@pytest.fixture
def world(app) -> dict[str, Place]:
    from webapp.models.departments import Department

    s1, s2 = f.gen_street(name="一号街道"), f.gen_street(name="二号街道")
    c1, c2, c3 = f.gen_community(s1), f.gen_community(s1), f.gen_community(s2)
    grids = {"G1": f.gen_grid(c1), "G2": f.gen_grid(c1), "G3": f.gen_grid(c2), "G4": f.gen_grid(c3)}
    users = {
        "worker_g1": f.gen_user("worker_g1", "grid_worker", grids["G1"]),
        "staff_c1": f.gen_user("staff_c1", "community_staff", c1),
        "staff_s1": f.gen_user("staff_s1", "street_staff", s1),
        "root": f.gen_user("root", "admin"),
    }
    department = Department(street_id=s1.id, name="城管")
    db.session.add(department)
    db.session.flush()
    f.gen_user("dept_s1", "department_staff", department)
    places = {}
    for n, (key, grid) in enumerate(grids.items(), start=1):
        community = grid.community
        building = f.gen_building(grid, name=f"{key}秘密楼")
        household = f.gen_household(building=building, room="808")
        phone, id_number = f"1394444000{n}", f"11010119500307{n}23X"
        resident = f.gen_resident(
            household, name=f"{key}欧阳居民", phone=phone, id_number=id_number
        )
        visit = Visit(
            id=uuid.uuid4(),
            grid_id=grid.id,
            author_id=users["root"].id,
            received_at=utcnow(),
            household_id=household.id,
            visited_at=utcnow(),
            visit_kind="routine",
            notes=f"{key}走访秘密",
        )
        db.session.add(visit)
        case = f.gen_case(grid, title=f"{key}案件标题", level="street", status="escalated")
        notice = Notice(
            street_id=community.street_id,
            title=f"{key}草稿通知",
            body=f"{key}草稿正文",
            category="notice",
            status="draft",
            author_id=users["root"].id,
        )
        db.session.add(notice)
        db.session.flush()
        places[key] = Place(
            grid,
            community,
            building,
            household,
            resident,
            visit,
            case,
            notice,
            secrets=[f"{key}秘密楼", f"{key}案件标题", f"{key}欧阳居民", phone, f"{key}走访秘密"],
            personal=[f"{key}欧阳居民", phone, id_number, f"{key}走访秘密"],
        )
    db.session.commit()
    return places


# Route parameter → its value for a place. Ids of things the world does not hold (photos,
# exports, reports) are random: the route must still answer 4xx, not 5xx.
PARAMETERS = {
    "grid_id": lambda p: p.grid.id,
    "building_id": lambda p: p.building.id,
    "household_id": lambda p: p.household.id,
    "resident_id": lambda p: p.resident.id,
    "community_id": lambda p: p.community.id,
    "case_id": lambda p: p.case.id,
    "notice_id": lambda p: p.notice.id,
    "record_id": lambda p: p.visit.id,
    "kind": lambda p: "visit",
    # The org tree's create and rename routes: a level and a node of it (a grid).
    "level": lambda p: "grids",
    "node_id": lambda p: p.grid.id,
    "op_id": lambda p: uuid.uuid4(),
    "verdict": lambda p: "discard",
    # Admin's account pages: root's own id; without `confirm=yes` the action only asks.
    "user_id": lambda p: p.visit.author_id,
    "action": lambda p: "deactivate",
    "attachment_id": lambda p: uuid.uuid4(),
    "file_id": lambda p: uuid.uuid4(),
    "photo_id": lambda p: uuid.uuid4(),
    "report_id": lambda p: uuid.uuid4(),
    "job_id": lambda p: uuid.uuid4(),
    "number": lambda p: "R000000",
    "fmt": lambda p: "json",
    "name": lambda p: "grid",
    "anything": lambda p: "nothing-here",
    "filename": lambda p: "css/app.css",
}
# The parameters that name one of the world's objects; only these make an "out of scope" call.
OBJECT_PARAMETERS = {
    "grid_id",
    "building_id",
    "household_id",
    "resident_id",
    "community_id",
    "case_id",
    "notice_id",
    "record_id",
}


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_EXACT


def _token(client, signed_in: bool) -> str:
    # Any page built on base.html carries the session's token in its hx-headers.
    page = client.get("/no-role" if signed_in else "/login").get_data(as_text=True)
    match = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    return match.group(1) if match else csrf_token_from(page)


def _call(client, method: str, path: str, token: str):
    headers = {**API, "X-CSRFToken": token}
    if path.startswith("/api/"):
        body = {"device_id": "matrix", "ops": []} if path.endswith("/push") else {}
        return client.open(path, method=method, json=body, headers=headers)
    data = {"csrf_token": token} if method != "GET" else None
    return client.open(path, method=method, data=data, headers=headers)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_out_of_scope_objects_with_nothing(app, client, login_as, world, role):
    if role != "anonymous":
        login_as(role)
    token = _token(client, role != "anonymous")
    unknown: set[str] = set()
    failures: list[str] = []
    calls = 0
    for rule, method in _routes(app):
        names = set(rule.arguments)
        if names - set(PARAMETERS):
            unknown |= names - set(PARAMETERS)
            continue
        for scope in ("in", "out"):
            if scope == "out" and not names & OBJECT_PARAMETERS:
                continue  # nothing of G4 is named: the "in" call covers the route
            place = world["G1" if scope == "in" else "G4"]
            path = rule.build({name: PARAMETERS[name](place) for name in names})[1]
            response = _call(client, method, path, token)
            calls += 1
            body = response.get_data().decode("utf-8", "replace")
            where = f"{role} {method} {path} ({scope})"
            if response.status_code >= 500 and (method, path) not in UNAVAILABLE_UNTIL_SET_UP:
                failures.append(f"{where}: {response.status_code}")
                continue
            if _is_public(path):
                leaked = [s for g in world.values() for s in g.personal if s in body]
                if leaked:
                    failures.append(f"{where}: public page shows {leaked}")
                continue
            if scope == "out" and role != "root":
                status = response.status_code
                to_login = status in (302, 303) and "/login" in response.headers.get("Location", "")
                if status not in OUT_STATUSES and not (role == "anonymous" and to_login):
                    failures.append(f"{where}: answered {status}")
                leaked = [s for s in place.secrets if s in body]
                if leaked:
                    failures.append(f"{where}: body carries {leaked}")
    assert not unknown, f"routes with parameters the matrix cannot fill: {sorted(unknown)}"
    assert calls > 100
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)
