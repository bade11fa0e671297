"""Helpers for the sync API tests: op builders, a small world, and a client that speaks the API.

World: community C1 has grids G1 and G2, community C2 has G3. worker_g1 holds G1, worker_g2 holds
G2, staff_c1 is community staff of C1. Each grid has a building, three households and residents
with real-looking phone and ID numbers, so tests can prove none of them leaves unmasked.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask.testing import FlaskClient

from tests import factories as f
from tests.conftest import log_in
from webapp.extensions import db
from webapp.models import Grid, Household, Resident, User

API = {"X-GridRounds-Client": "1"}
CLIENT_TIME = "2026-11-21T09:30:00+08:00"

# Raw values the tests look for in every answer: none may appear unmasked.
PHONES = ("13812345678", "13987654321", "13700001111")
ID_NUMBERS = ("110101195003071234", "110101194501021238", "110101201501011236")


def new_op(op_type: str, payload: dict[str, Any], record_id: Any = None, **extra: Any) -> dict:
    op = {
        "op_id": str(uuid.uuid4()),
        "type": op_type,
        "record_id": record_id if record_id is not None else str(uuid.uuid4()),
        "client_time": CLIENT_TIME,
        "payload": payload,
    }
    op.update(extra)
    return op


def visit_op(household: Household | int, **payload: Any) -> dict:
    household_id = household if isinstance(household, int) else household.id
    return new_op("visit.create", {"household_id": household_id, **payload})


def household_update_op(household: Household, base_version: int, **changes: Any) -> dict:
    return new_op(
        "household.update",
        {"household_id": household.id, "changes": changes},
        record_id=household.id,
        base_version=base_version,
    )


@dataclass
class World:
    grids: dict[str, Grid]
    users: dict[str, User]
    households: dict[str, list[Household]] = field(default_factory=dict)
    residents: dict[str, list[Resident]] = field(default_factory=dict)


def make_world() -> World:
    c1, c2 = f.gen_community(), f.gen_community()
    grids = {"G1": f.gen_grid(c1), "G2": f.gen_grid(c1), "G3": f.gen_grid(c2)}
    world = World(
        grids,
        {
            "worker_g1": f.gen_user("worker_g1", "grid_worker", grids["G1"]),
            "worker_g2": f.gen_user("worker_g2", "grid_worker", grids["G2"]),
            "staff_c1": f.gen_user("staff_c1", "community_staff", c1),
        },
    )
    for name, grid in grids.items():
        building = f.gen_building(grid=grid)
        households = [
            f.gen_household(building=building, room=f"{n}01", contact_phone=PHONES[n])
            for n in range(3)
        ]
        residents = [
            f.gen_resident(
                household=households[n],
                phone=PHONES[n],
                id_number=ID_NUMBERS[n],
                living_alone=(n == 0),
                birth_date=date(1940 + n, 5, 1),
            )
            for n in range(3)
        ]
        world.households[name] = households
        world.residents[name] = residents
    db.session.commit()
    return world


def login(client: FlaskClient, username: str, password: str = f.TEST_PASSWORD) -> None:
    """Sign `client` in through the real login form."""
    log_in(client, username, password)


class SyncClient:
    """A Flask test client that speaks the sync API the way the phone does."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def push(self, ops: list[dict], device_id: str = "phone-1", **kwargs: Any):
        return self.client.post(
            "/api/v1/sync/push", json={"device_id": device_id, "ops": ops}, headers=API, **kwargs
        )

    def results(self, ops: list[dict], device_id: str = "phone-1") -> list[dict]:
        response = self.push(ops, device_id)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["results"]

    def pull(self, cursor: str = "", limit: int | None = None, headers: dict | None = None):
        query: dict[str, Any] = {"cursor": cursor}
        if limit is not None:
            query["limit"] = limit
        return self.client.get(
            "/api/v1/sync/pull", query_string=query, headers={**API, **(headers or {})}
        )

    def page(self, cursor: str = "", limit: int | None = None) -> dict:
        response = self.pull(cursor, limit)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def pull_all(self, cursor: str = "", limit: int | None = None) -> tuple[list[dict], str]:
        """Every change up to now, following has_more; and the cursor to keep."""
        changes: list[dict] = []
        for _ in range(10_000):
            body = self.page(cursor, limit)
            changes.extend(body["changes"])
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return changes, cursor
        raise AssertionError("pull never finished")


def ids_of(changes: list[dict], entity: str, *, deleted: bool = False) -> list[Any]:
    return [c["id"] for c in changes if c["entity"] == entity and c["deleted"] is deleted]


def raw_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Phone:
    """What the phone keeps: every entity it was sent, by (entity, id), and its cursor."""

    def __init__(self, api: SyncClient, limit: int | None = None):
        self.api = api
        self.limit = limit
        self.cursor = ""
        self.store: dict[tuple[str, Any], dict] = {}
        self.received: list[dict] = []

    def sync(self) -> list[dict]:
        """Pull until has_more is false; apply every change; return the changes of this sync."""
        changes, self.cursor = self.api.pull_all(self.cursor, self.limit)
        self.apply(changes)
        return changes

    def apply(self, changes: list[dict]) -> None:
        self.received.extend(changes)
        for change in changes:
            key = (change["entity"], change["id"])
            if change["deleted"]:
                self.store.pop(key, None)
            else:
                self.store[key] = {"version": change["version"], "data": change["data"]}

    def ids(self, entity: str) -> set[Any]:
        return {key[1] for key in self.store if key[0] == entity}
