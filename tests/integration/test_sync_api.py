"""The sync API's door rules (DESIGN.md §5, §7), `/api/v1/me`, and the OpenAPI document kept true:
every /api/v1 route is described with its methods, nothing else is (bar operations marked
`x-planned`), and real answers validate against the described response schemas."""

from __future__ import annotations

import re

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.integration.sync_api import (
    API,
    SyncClient,
    household_update_op,
    make_world,
    new_op,
    visit_op,
)
from webapp.extensions import db
from webapp.models import Case
from webapp.sync.openapi import openapi_document

ENDPOINTS = [
    ("post", "/api/v1/sync/push"),
    ("get", "/api/v1/sync/pull"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/openapi.json"),
    ("put", "/api/v1/attachments/0b6f3c4e-2f5d-4c39-9d0f-6f3b8c1f2a11"),
]


@pytest.fixture
def world(app):
    return make_world()


def call(client, method, path, headers):
    body = {"device_id": "d", "ops": []} if method == "post" else None
    return getattr(client, method)(path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_a_session_the_api_answers_401_json_not_a_redirect(client, method, path):
    response = call(client, method, path, API)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert "Location" not in response.headers


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_foreign_origin_is_refused_with_403(client, login_as, world, method, path):
    login_as("worker_g1")
    response = call(client, method, path, {**API, "Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "cross_origin"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_the_client_header_the_api_answers_400(client, login_as, world, method, path):
    login_as("worker_g1")
    response = call(client, method, path, {})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "missing_client_header"


def test_the_same_origin_is_accepted(client, login_as, world):
    login_as("worker_g1")
    response = client.get("/api/v1/me", headers={**API, "Origin": "http://localhost"})
    assert response.status_code == 200


def test_api_answers_are_never_cached(client, login_as, world):
    login_as("worker_g1")
    assert client.get("/api/v1/me", headers=API).headers["Cache-Control"] == "no-store"


def test_me_says_who_the_phone_talks_as(client, login_as, world):
    login_as("worker_g1")
    body = client.get("/api/v1/me", headers=API).get_json()
    worker, g1 = world.users["worker_g1"], world.grids["G1"]
    assert body["user"] == {
        "id": worker.id,
        "username": "worker_g1",
        "display_name": worker.display_name,
    }
    assert body["roles"] == ["grid_worker"]
    assert body["grids"] == [{"id": g1.id, "name": g1.name, "community": g1.community.name}]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["server_time"])


def test_me_lists_every_grid_of_a_community_staff_member(client, login_as, world):
    login_as("staff_c1")
    body = client.get("/api/v1/me", headers=API).get_json()
    assert {g["id"] for g in body["grids"]} == {world.grids["G1"].id, world.grids["G2"].id}


# --- the OpenAPI document -----------------------------------------------------------------------

METHODS = {"get", "put", "post", "delete", "patch"}


def flask_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_route_is_in_the_spec_and_every_spec_operation_is_a_route(app):
    spec = openapi_document()
    routes = {
        (flask_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {
        (path, method)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
    planned = {
        (path, method)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS and operation.get("x-planned")
    }
    assert routes - described == set(), "routes missing from the spec"
    assert described - routes - planned == set(), "spec operations with no route"
    assert planned <= {
        ("/api/v1/push/subscriptions", "post"),
        ("/api/v1/push/subscriptions", "delete"),
    }


def test_the_spec_is_openapi_3_1_and_its_schemas_are_valid_json_schema():
    spec = openapi_document()
    assert spec["openapi"].startswith("3.1")
    for schema in spec["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_spec_is_served(client, login_as, world):
    login_as("worker_g1")
    response = client.get("/api/v1/openapi.json", headers=API)
    assert response.status_code == 200
    assert response.get_json()["paths"].keys() == openapi_document()["paths"].keys()


SPEC_URI = "urn:gridrounds:openapi"


def response_validator(path: str, method: str, status: str = "200"):
    """A validator for one documented response; `$ref`s resolve inside the whole document."""
    spec = openapi_document()
    registry = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(spec))
    content = spec["paths"][path][method]["responses"][status]["content"]
    reference = content["application/json"]["schema"]["$ref"]
    return jsonschema.Draft202012Validator(
        {"$ref": SPEC_URI + reference},
        registry=registry,
        format_checker=jsonschema.FormatChecker(),
    )


def assert_valid(body, path, method, status="200"):
    errors = sorted(
        response_validator(path, method, status).iter_errors(body), key=lambda e: e.path
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_real_push_answers_match_the_spec(client, login_as, world, gen_case):
    login_as("worker_g1")
    api = SyncClient(client)
    household = world.households["G1"][0]
    ops = [
        visit_op(household),
        visit_op(household, visit_kind="bad"),
        household_update_op(household, 1, occupancy="vacant"),
        household_update_op(household, 1, occupancy="occupied"),
        {"op_id": "nope"},
        new_op(
            "hazard.create",
            {"building_id": household.building_id, "category": "fire", "description": "堆物"},
        ),
    ]
    ops.append(ops[0])
    response = api.push(ops)
    statuses = {r["status"] for r in response.get_json()["results"]}
    assert statuses == {"applied", "rejected", "conflict", "duplicate"}
    assert any("case" in r for r in response.get_json()["results"])
    assert_valid(response.get_json(), "/api/v1/sync/push", "post")
    assert_valid(api.push([{}] * 501).get_json(), "/api/v1/sync/push", "post", "413")


def test_real_pull_answers_match_the_spec(client, login_as, world, gen_case):
    gen_case(grid=world.grids["G1"])
    db.session.commit()
    login_as("worker_g1")
    api = SyncClient(client)
    api.results([visit_op(world.households["G1"][0])])
    body = api.page()
    assert {c["entity"] for c in body["changes"]} >= {
        "grid",
        "building",
        "household",
        "resident",
        "visit",
        "case",
        "care_task",
    }
    assert_valid(body, "/api/v1/sync/pull", "get")
    assert db.session.query(Case).count() == 1


def test_real_me_answers_match_the_spec(client, login_as, world):
    login_as("staff_c1")
    assert_valid(client.get("/api/v1/me", headers=API).get_json(), "/api/v1/me", "get")


def test_a_guard_refusal_matches_the_spec(client):
    assert_valid(client.get("/api/v1/me", headers=API).get_json(), "/api/v1/me", "get", "401")
