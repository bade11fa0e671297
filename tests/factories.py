"""Test data factories (CTFd's helpers style): each makes one valid object, overridable by kwargs.

They add to the session and flush, so ids exist; the test decides when to commit.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta

from webapp.auth.services import grant, hash_password
from webapp.extensions import db
from webapp.models import (
    Building,
    Case,
    CaseEvent,
    Community,
    Grid,
    Household,
    Resident,
    Street,
    User,
    utcnow,
)

TEST_PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_password_hash: str | None = None


def _n() -> int:
    return next(_counter)


def _hash() -> str:
    # argon2 is slow on purpose; one hash serves every test user.
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(TEST_PASSWORD)
    return _password_hash


def _save(obj):
    db.session.add(obj)
    db.session.flush()
    return obj


def gen_street(**kw) -> Street:
    n = _n()
    kw.setdefault("code", f"S{n:04d}")
    kw.setdefault("name", f"测试{n}街道")
    return _save(Street(**kw))


def gen_community(street: Street | None = None, **kw) -> Community:
    n = _n()
    street = street or gen_street()
    kw.setdefault("code", f"C{n:04d}")
    kw.setdefault("name", f"和平{n}社区")
    return _save(Community(street_id=street.id, **kw))


def gen_grid(community: Community | None = None, **kw) -> Grid:
    n = _n()
    community = community or gen_community()
    kw.setdefault("code", f"G{n:04d}")
    kw.setdefault("name", f"第{n}网格")
    return _save(Grid(community_id=community.id, **kw))


def gen_building(grid: Grid | None = None, **kw) -> Building:
    n = _n()
    grid = grid or gen_grid()
    kw.setdefault("name", f"幸福里{n}号楼")
    kw.setdefault("address", f"和平路{n}号幸福里{n}号楼")
    kw.setdefault("unit_count", 2)
    return _save(Building(grid_id=grid.id, **kw))


def gen_household(grid: Grid | None = None, building: Building | None = None, **kw) -> Household:
    building = building or gen_building(grid=grid)
    unit = kw.pop("unit", 1)
    room = kw.pop("room", f"{_n() % 9 + 1}01")
    kw.setdefault("address", f"{building.name}{unit}单元{room}")
    kw.setdefault("contact_phone", "13912345678")
    return _save(
        Household(building_id=building.id, grid_id=building.grid_id, unit=unit, room=room, **kw)
    )


def gen_resident(household: Household | None = None, **kw) -> Resident:
    household = household or gen_household()
    kw.setdefault("name", "张三明")
    kw.setdefault("gender", "M")
    kw.setdefault("birth_date", date(1950, 3, 7))
    kw.setdefault("id_number", "110101195003071234")
    kw.setdefault("phone", "13812345678")
    kw.setdefault("relation", "户主")
    return _save(Resident(household_id=household.id, grid_id=household.grid_id, **kw))


def gen_user(username: str | None = None, role: str | None = None, scope=None, **kw) -> User:
    """A user with one role; `scope` is the Grid, Community or Street object (None for admin)."""
    username = username or f"user{_n()}"
    kw.setdefault("display_name", f"测试用户{username}")
    user = _save(User(username=username, password_hash=_hash(), **kw))
    if role is not None:
        grant(user, role, scope.id if scope is not None else None)
        db.session.flush()
    return user


def gen_case(grid: Grid | None = None, **kw) -> Case:
    grid = grid or gen_grid()
    n = _n()
    kw.setdefault("number", f"AJ-T{n:06d}")
    kw.setdefault("title", f"楼道堆放杂物{n}")
    kw.setdefault("source_kind", "hazard")
    kw.setdefault("category", "fire")
    kw.setdefault("severity", "medium")
    opened = kw.setdefault("opened_at", utcnow() - timedelta(days=1))
    case = _save(Case(id=kw.pop("id", uuid.uuid4()), home_grid_id=grid.id, **kw))
    _save(
        CaseEvent(
            case_id=case.id,
            action="open",
            from_status="",
            to_status=case.status or "open",
            from_level="",
            to_level=case.level or "grid",
            at=opened if isinstance(opened, datetime) else utcnow(),
        )
    )
    return case


def gen_hazard_case(
    worker: User, household: Household, severity: str = "medium", description: str = "楼道堆放杂物"
) -> Case:
    """A case opened the real way: `worker` logs a hazard not fixed on site at the household's
    building, through the same service the forms and the sync API use. Commits."""
    from webapp.ops import Op
    from webapp.rounds.records import create_record

    _record, case = create_record(
        worker,
        Op(
            op_id=uuid.uuid4(),
            type="hazard.create",
            record_id=uuid.uuid4(),
            payload={
                "building_id": household.building_id,
                "category": "fire",
                "severity": severity,
                "description": description,
            },
        ),
    )
    db.session.commit()
    return case


def act_on_case(user: User, case: Case, action: str, **payload):
    """Take a case action as `user` through the one entry point forms and sync use, and commit."""
    from webapp.cases.actions import apply_case_action
    from webapp.ops import Op

    result = apply_case_action(
        user,
        Op(
            op_id=uuid.uuid4(),
            type="case.action",
            record_id=uuid.uuid4(),
            payload={"case_id": str(case.id), "action": action, **payload},
        ),
    )
    db.session.commit()
    return result
