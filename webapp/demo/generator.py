"""Deterministic Chinese demo data: the org tree, households and residents, accounts, field records
and cases with their timelines (DESIGN.md §2, §9).

Same seed and same `today` give the same rows, byte for byte (argon2 salts the password hash, so
pass `password_hash` to pin that too). Everything goes in with SQLAlchemy Core inserts in chunks,
with integer ids assigned here, so the district scale (a million residents) needs no round trip
per row. The caller commits.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from webapp.changes import last_change_seq, set_last_change_seq
from webapp.demo import names
from webapp.demo.case_story import CaseStory
from webapp.demo.clock import SHANGHAI, local_time, shanghai_today
from webapp.demo.departments import load_demo_departments
from webapp.demo.people import (
    OWNER_KIND,
    TENANT_KIND,
    IdNumbers,
    Member,
    Weighted,
    birth_date,
    compose_household,
    mobile,
    person_name,
)
from webapp.models import (
    ROLE_SCOPE_KIND,
    Building,
    Case,
    CaseEvent,
    Community,
    Dispute,
    ElderlyCheck,
    Grid,
    Hazard,
    Household,
    Membership,
    Occupancy,
    Resident,
    Role,
    Street,
    User,
    Visit,
)
from webapp.models.people import years_between
from webapp.notices.demo import load_demo_notices

DEMO_PASSWORD = "gridrounds-demo"
CHUNK_ROWS = 5000


class DemoDataExists(RuntimeError):
    """The database already holds streets (or a demo username): demo data is not loaded twice."""


@dataclass(frozen=True)
class ScaleSpec:
    communities_per_street: tuple[int, ...]
    grids_per_community: tuple[int, ...]
    households_per_grid: tuple[int, int]
    # False: only the street accounts and community1 get staff accounts (DESIGN.md §9).
    every_staff_account: bool
    # Days of older records before the last 90 (two years at district scale, so ledgers, dashboards
    # and `sla tick` are judged on the volume a district keeps). 0: the last 90 days only.
    history_days: int = 0


def _district_spec() -> ScaleSpec:
    # 24 streets holding 148 communities (4 × 7 + 20 × 6) and 2,000 grids (13 or 14 each).
    communities = tuple(7 if i < 4 else 6 for i in range(24))
    grids = tuple(14 if i % 37 < 19 else 13 for i in range(148))
    return ScaleSpec(communities, grids, (175, 210), every_staff_account=True, history_days=730)


SCALES: dict[str, ScaleSpec] = {
    # The first street (3 communities, 12 grids) and a small second one (1 community, 1 grid) so
    # that scoping is always tested against someone to leak to (DESIGN.md §9: street2, worker13).
    "small": ScaleSpec((3, 1), (4, 4, 4, 1), (220, 245), every_staff_account=False),
    "district": _district_spec(),
}

# Records of the last 90 days (what a phone pulls); older ones are history (ScaleSpec.history_days).
RECENT = (1, 90)

# Default care-check intervals in days (DESIGN.md §3), used to leave some checks due.
LIVING_ALONE_80_DAYS, LIVING_ALONE_OR_EMPTY_NEST_DAYS, AGE_80_DAYS = 7, 14, 30

CATEGORY_LABELS = {
    "neighbour": "邻里纠纷",
    "property_mgmt": "物业纠纷",
    "family": "家庭纠纷",
    "labour": "劳资纠纷",
    "land": "土地纠纷",
    "demolition": "征收拆迁",
    "other": "其他",
    "fire": "消防隐患",
    "gas": "燃气隐患",
    "electrical": "用电隐患",
    "structural": "房屋结构隐患",
    "traffic": "交通隐患",
    "public_order": "治安隐患",
    "environment": "环境隐患",
    "elderly_care": "老人帮扶",
}

SEVERITY = Weighted([("low", 35), ("medium", 42), ("high", 17), ("urgent", 6)])
DISPUTE_CATEGORY = Weighted(names.DISPUTE_CATEGORY_WEIGHTS)
HAZARD_CATEGORY = Weighted(names.HAZARD_CATEGORY_WEIGHTS)
VISIT_NEED = Weighted(names.VISIT_NEED_WEIGHTS)
OCCUPANCY = Weighted(
    [
        (Occupancy.OCCUPIED, 86),
        (Occupancy.RENTED_OUT, 8),
        (Occupancy.VACANT, 5),
        (Occupancy.MOVED_OUT, 1),
    ]
)


def load_demo_data(
    session: Session,
    scale: str = "small",
    seed: int = 1,
    today: date | None = None,
    *,
    password_hash: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Fill an empty database with demo data and return the number of rows per table.

    Raises DemoDataExists when streets (or a demo username) already exist. Does not commit.
    `progress(grids_done, grids_total)` is called as grids are written.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if session.scalar(select(Street.id).limit(1)) is not None:
        raise DemoDataExists("数据库中已有街道数据 / the database already holds streets")
    generator = _Generator(session, SCALES[scale], seed, today or shanghai_today(), password_hash)
    generator.progress = progress
    return {
        **generator.run(),
        "notices": load_demo_notices(session, generator.today),
        "departments": load_demo_departments(
            session, generator.password_hash, generator.imported_at
        ),
    }


# --- bulk writing --------------------------------------------------------------------------------


def copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Write `rows` with PostgreSQL's COPY (psycopg 3), several times faster than INSERT.

    Values go through each column's own bind processing (UTC datetimes, JSON), and columns the
    rows leave out get their Python-side default, as an ORM or Core insert would give them.
    """
    connection = session.connection()
    dialect = connection.dialect
    given = [c for c in table.columns if c.key in rows[0]]
    defaults = [c for c in table.columns if c.key not in rows[0] and c.default is not None]
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in given]
    default_values = [
        c.default.arg(None) if c.default.is_callable else c.default.arg for c in defaults
    ]
    names_sql = ", ".join(f'"{c.name}"' for c in given + defaults)
    raw = connection.connection.driver_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names_sql}) FROM STDIN') as copy,
    ):
        for row in rows:
            values = [
                process(row[c.key]) if process else row[c.key]
                for c, process in zip(given, processors, strict=True)
            ]
            copy.write_row(values + default_values)


# --- the generator -------------------------------------------------------------------------------


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass
class _GridContext:
    """What record and case generation needs to know about one grid after its people exist."""

    grid_id: int
    street_index: int
    community_id: int
    worker_id: int
    compound_names: list[str] = field(default_factory=list)
    # (id, name, lat, lng): records near a building get a location near it.
    buildings: list[tuple[int, str, float, float]] = field(default_factory=list)
    households: list[dict[str, Any]] = field(default_factory=list)
    residents_by_household: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


class _Generator:
    TABLE_ORDER: tuple[Table, ...] = (
        Building.__table__,
        Household.__table__,
        Resident.__table__,
        Visit.__table__,
        Dispute.__table__,
        ElderlyCheck.__table__,
        Hazard.__table__,
        Case.__table__,
        CaseEvent.__table__,
    )

    def __init__(
        self,
        session: Session,
        spec: ScaleSpec,
        seed: int,
        today: date,
        password_hash: str | None,
    ):
        self.session = session
        self.spec = spec
        self.rng = random.Random(seed)
        self.today = today
        self.now = local_time(today, 0)  # records and case events all happened before today began
        self.imported_at = local_time(today - timedelta(days=120), 9)
        self.password_hash = password_hash
        self.progress: Callable[[int, int], None] | None = None
        self.buffers: dict[Table, list[dict[str, Any]]] = {t: [] for t in self.TABLE_ORDER}
        self.counts: dict[str, int] = {}
        self.id_numbers = IdNumbers()
        self.case_numbers_per_day: dict[str, int] = {}
        self.community_staff: dict[int, int] = {}
        self.street_staff: dict[int, int] = {}
        self.grid_worker: dict[int, int] = {}
        self.next_ids = {
            name: (session.scalar(select(func.max(model.id))) or 0) + 1
            for name, model in (
                ("streets", Street),
                ("communities", Community),
                ("grids", Grid),
                ("buildings", Building),
                ("households", Household),
                ("residents", Resident),
                ("users", User),
                ("memberships", Membership),
                ("case_events", CaseEvent),
            )
        }
        self.seq = last_change_seq(session)

    # ids, sequence numbers, buffers

    def _id(self, table: str) -> int:
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value

    def _seq(self) -> int:
        self.seq += 1
        return self.seq

    def _add(self, table: Table, row: dict[str, Any]) -> None:
        self.buffers[table].append(row)

    def _flush(self) -> None:
        # Parents before children, so foreign keys hold with SQLite's foreign_keys=ON.
        for table in self.TABLE_ORDER:
            rows = self.buffers[table]
            self._insert_now(table, rows)
            rows.clear()

    def _insert_now(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.session.connection().dialect.name == "postgresql":
            copy_rows(self.session, table, rows)
        else:
            for start in range(0, len(rows), CHUNK_ROWS):
                self.session.execute(insert(table), rows[start : start + CHUNK_ROWS])
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)

    # the org tree and accounts

    def run(self) -> dict[str, int]:
        streets, communities, grids = self._org_tree()
        self._insert_now(Street.__table__, streets)
        self._insert_now(Community.__table__, communities)
        self._insert_now(Grid.__table__, grids)
        self._accounts(streets, communities, grids)
        community_street = {c["id"]: c["street_id"] for c in communities}
        street_index = {s["id"]: i for i, s in enumerate(streets)}
        community_row = {c["id"]: c for c in communities}
        street_row = {s["id"]: s for s in streets}
        # One generator per grid, seeded from the master: a change in how one grid is drawn does
        # not reshuffle every grid after it.
        grid_seeds = [self.rng.getrandbits(64) for _ in grids]
        used_compounds: dict[int, set[str]] = {}
        for done, (grid, grid_seed) in enumerate(zip(grids, grid_seeds, strict=True), 1):
            community = community_row[grid["community_id"]]
            street = street_row[community_street[community["id"]]]
            ctx = _GridContext(
                grid_id=grid["id"],
                street_index=street_index[street["id"]],
                community_id=community["id"],
                worker_id=self.grid_worker[grid["id"]],
            )
            rng = random.Random(grid_seed)
            self._people(
                rng, ctx, street, community, used_compounds.setdefault(street["id"], set())
            )
            self._records_and_cases(rng, ctx, community_street[community["id"]])
            if sum(len(rows) for rows in self.buffers.values()) >= CHUNK_ROWS:
                self._flush()
                if self.progress is not None:
                    self.progress(done, len(grids))
        self._flush()
        self._finish()
        order = [
            "streets",
            "communities",
            "grids",
            "buildings",
            "households",
            "residents",
            "users",
            "memberships",
            "visits",
            "disputes",
            "elderly_checks",
            "hazards",
            "cases",
            "case_events",
        ]
        return {name: self.counts.get(name, 0) for name in order}

    def _org_tree(self) -> tuple[list[dict], list[dict], list[dict]]:
        rng = self.rng
        streets, communities, grids = [], [], []
        community_words = list(names.COMMUNITY_WORDS)
        first_words, other_words = community_words[:3], community_words[3:]
        rng.shuffle(other_words)
        word_iter = iter(
            first_words + other_words + [w + side for side in "东西南北" for w in other_words]
        )
        community_index = 0
        for s, community_count in enumerate(self.spec.communities_per_street):
            street_id = self._id("streets")
            streets.append(
                {
                    "id": street_id,
                    "code": f"ST{s + 1:02d}",
                    "name": names.STREET_NAMES[s],
                    "district": names.DISTRICT_NAME,
                    "created_at": self.imported_at,
                }
            )
            for c in range(community_count):
                community_id = self._id("communities")
                word = next(word_iter)
                road = rng.choice(names.ROADS)
                communities.append(
                    {
                        "id": community_id,
                        "street_id": street_id,
                        "code": f"ST{s + 1:02d}-C{c + 1:02d}",
                        "name": f"{word}社区",
                        "office_address": f"{road}{rng.randint(1, 300)}号",
                        "office_phone": f"027-8{rng.randrange(10**6, 10**7)}",
                        "created_at": self.imported_at,
                    }
                )
                for g in range(self.spec.grids_per_community[community_index]):
                    roads = rng.sample(names.ROADS, 2)
                    grids.append(
                        {
                            "id": self._id("grids"),
                            "community_id": community_id,
                            "code": f"ST{s + 1:02d}-C{c + 1:02d}-G{g + 1:02d}",
                            "name": f"{word}社区第{g + 1}网格",
                            "boundary": f"{roads[0]}以东、{roads[1]}以北",
                            "change_seq": self._seq(),
                        }
                    )
                community_index += 1
        return streets, communities, grids

    def _accounts(self, streets: list[dict], communities: list[dict], grids: list[dict]) -> None:
        rng = random.Random(self.rng.getrandbits(64))
        if self.password_hash is None:
            from webapp.auth.services import hash_password

            self.password_hash = hash_password(DEMO_PASSWORD)  # once: argon2 is slow on purpose
        wanted: list[tuple[str, str, Role, int | None]] = [
            ("admin", "系统管理员", Role.ADMIN, None)
        ]
        for i, s in enumerate(streets, 1):
            wanted.append((f"street{i}", "", Role.STREET_STAFF, s["id"]))
        for i, c in enumerate(communities, 1):
            wanted.append((f"community{i}", "", Role.COMMUNITY_STAFF, c["id"]))
        for i, g in enumerate(grids, 1):
            wanted.append((f"worker{i}", "", Role.GRID_WORKER, g["id"]))
        if not self.spec.every_staff_account:
            wanted = [
                w
                for w in wanted
                if w[0] in ("admin", "community1") or w[2] in (Role.GRID_WORKER, Role.STREET_STAFF)
            ]
        taken = self.session.scalars(
            select(User.username).where(func.lower(User.username).in_([w[0] for w in wanted]))
        ).all()
        if taken:
            raise DemoDataExists(
                f"演示账号已存在 / demo usernames already exist: {', '.join(taken)}"
            )
        users, memberships = [], []
        for username, display_name, role, scope_id in wanted:
            user_id = self._id("users")
            age = rng.randint(24, 52)
            users.append(
                {
                    "id": user_id,
                    "username": username,
                    "display_name": display_name
                    or person_name(rng, rng.choice("MF"), self.today.year - age),
                    "work_phone": "" if role is Role.ADMIN else mobile(rng),
                    "password_hash": self.password_hash,
                    "personal_phone": "",
                    "is_active": True,
                    "locale": "",
                    "created_at": self.imported_at,
                    "last_login_at": None,
                }
            )
            memberships.append(
                {
                    "id": self._id("memberships"),
                    "user_id": user_id,
                    "role": str(role),
                    "scope_kind": str(ROLE_SCOPE_KIND[role]),
                    "scope_id": scope_id,
                    "created_at": self.imported_at,
                }
            )
            if role is Role.GRID_WORKER:
                self.grid_worker[scope_id] = user_id
            elif role is Role.COMMUNITY_STAFF:
                self.community_staff[scope_id] = user_id
            elif role is Role.STREET_STAFF:
                self.street_staff[scope_id] = user_id
        self._insert_now(User.__table__, users)
        self._insert_now(Membership.__table__, memberships)

    # buildings, households, residents

    def _compound_name(self, rng: random.Random, used: set[str], first: bool) -> str:
        if first and "幸福里" not in used:
            used.add("幸福里")
            return "幸福里"
        for attempt in range(200):
            word = rng.choice(names.COMPOUND_WORDS)
            suffix = rng.choice(names.COMPOUND_SUFFIXES)
            candidate = word + suffix if attempt < 100 else f"{word}{suffix}{attempt // 100 + 1}期"
            if candidate not in used:
                used.add(candidate)
                return candidate
        raise RuntimeError("ran out of compound names")  # pragma: no cover

    def _people(
        self,
        rng: random.Random,
        ctx: _GridContext,
        street: dict,
        community: dict,
        used_compounds: set[str],
    ) -> None:
        target = rng.randint(*self.spec.households_per_grid)
        base_lat = 30.55 + 0.012 * (ctx.street_index % 6) + rng.random() * 0.01
        base_lng = 114.25 + 0.015 * (ctx.street_index // 6) + rng.random() * 0.01
        households_made = 0
        first_grid_of_street = not used_compounds
        while households_made < target:
            compound = self._compound_name(rng, used_compounds, first_grid_of_street)
            first_grid_of_street = False
            ctx.compound_names.append(compound)
            for number in range(1, rng.randint(3, 9) + 1):
                if households_made >= target:
                    break
                if rng.random() < 0.8:  # six-storey walk-up (老小区)
                    floors, units, doors = rng.randint(5, 7), rng.randint(2, 4), 2
                else:  # mid-rise with a lift
                    floors, units, doors = rng.randint(11, 18), rng.randint(1, 2), rng.randint(2, 4)
                # The grid's last building is cut to size so grids stay near their target.
                units = max(1, min(units, math.ceil((target - households_made) / (floors * doors))))
                building_id = self._id("buildings")
                building_name = f"{compound}{number}号楼"
                lat = base_lat + rng.random() * 0.004
                lng = base_lng + rng.random() * 0.004
                self._add(
                    Building.__table__,
                    {
                        "id": building_id,
                        "grid_id": ctx.grid_id,
                        "name": building_name,
                        "address": f"{street['name']}{community['name']}{building_name}",
                        "unit_count": units,
                        "floor_count": floors,
                        "change_seq": self._seq(),
                    },
                )
                ctx.buildings.append((building_id, building_name, lat, lng))
                for unit in range(1, units + 1):
                    for floor in range(1, floors + 1):
                        for door in range(1, doors + 1):
                            room = str(floor * 100 + door)
                            self._household(
                                rng,
                                ctx,
                                building_id,
                                unit,
                                room,
                                f"{building_name}{unit}单元{room}",
                            )
                            households_made += 1

    def _household(
        self,
        rng: random.Random,
        ctx: _GridContext,
        building_id: int,
        unit: int,
        room: str,
        address: str,
    ) -> None:
        occupancy = OCCUPANCY(rng)
        household_id = self._id("households")
        members: list[Member] = []
        if occupancy in (Occupancy.OCCUPIED, Occupancy.MOVED_OUT):
            kind = OWNER_KIND(rng)
            members = compose_household(rng, kind)
        elif occupancy == Occupancy.RENTED_OUT:
            kind = TENANT_KIND(rng)
            members = compose_household(rng, kind)
        else:
            kind = "vacant"
        tenants = occupancy == Occupancy.RENTED_OUT
        moved_out = occupancy == Occupancy.MOVED_OUT
        low_income_household = rng.random() < (0.06 if kind == "elderly_single" else 0.017)
        residents: list[dict[str, Any]] = []
        for person in members:
            born = birth_date(rng, person.age, self.today)
            elderly = person.age >= 60
            floating = (
                (tenants and rng.random() < 0.85)
                or (kind == "shared" and rng.random() < 0.5)
                or (18 <= person.age < 50 and rng.random() < 0.02)
            )
            has_phone = (
                person.age >= 18
                and rng.random() < (0.55 if person.age >= 80 else 0.93)
                or (12 <= person.age < 18 and rng.random() < 0.4)
            )
            disabled_p = 0.09 if person.age >= 80 else 0.045 if elderly else 0.01
            notes = ""
            disabled = rng.random() < disabled_p
            if disabled:
                notes = rng.choice(["肢体残疾", "视力残疾", "听力残疾", "智力残疾"]) + rng.choice(
                    ["一级", "二级", "三级", "四级"]
                )
            residents.append(
                {
                    "id": self._id("residents"),
                    "household_id": household_id,
                    "grid_id": ctx.grid_id,
                    "name": person_name(rng, person.gender, born.year, person.surname),
                    "gender": person.gender,
                    "birth_date": born,
                    "id_number": self.id_numbers.issue(
                        rng, born, person.gender, local=not floating and rng.random() < 0.85
                    ),
                    "phone": mobile(rng) if has_phone else "",
                    "relation": person.relation,
                    "living_alone": kind == "elderly_single" and elderly and not moved_out,
                    "empty_nest": kind == "elderly_couple" and not moved_out,
                    "disabled": disabled,
                    "low_income": low_income_household,
                    "special_care": rng.random() < (0.03 if elderly else 0.003),
                    "floating": floating,
                    "moved_out": moved_out,
                    "notes": notes,
                    "version": 1,
                    "change_seq": 0,
                    "updated_at": self.imported_at,
                }
            )
        contact = next((r["phone"] for r in residents if r["phone"]), "")
        if not residents and rng.random() < 0.6:
            contact = mobile(rng)  # the owner of an empty flat
        household = {
            "id": household_id,
            "building_id": building_id,
            "grid_id": ctx.grid_id,
            "unit": unit,
            "room": room,
            "address": address,
            "contact_phone": contact,
            "occupancy": str(occupancy),
            "notes": "出租房屋，房东不在本社区居住。" if tenants and rng.random() < 0.3 else "",
            "version": 1,
            "change_seq": self._seq(),
            "updated_at": self.imported_at,
        }
        self._add(Household.__table__, household)
        for resident in residents:
            resident["change_seq"] = self._seq()
            self._add(Resident.__table__, resident)
        ctx.households.append(household)
        ctx.residents_by_household[household_id] = residents

    # field records

    def _record_times(self, rng: random.Random, days_ago: int) -> tuple[datetime, datetime]:
        """(client_time, received_at): a working-hours moment and when the server got it."""
        day = self.today - timedelta(days=days_ago)
        client = local_time(day, rng.randint(8, 17), rng.randrange(60), rng.randrange(60))
        if rng.random() < 0.7:
            received = client + timedelta(seconds=rng.randint(2, 90))
        else:  # written offline in a stairwell, synced later
            received = client + timedelta(minutes=rng.randint(10, 300))
        return client, received

    def _record_base(
        self, rng: random.Random, ctx: _GridContext, days_ago: int
    ) -> tuple[dict[str, Any], datetime]:
        client, received = self._record_times(rng, days_ago)
        return {
            "id": _uuid(rng),
            "author_id": ctx.worker_id,
            "client_time": client,
            "received_at": received,
            "clock_skew_flagged": False,
            "change_seq": self._seq(),
            "photo_ids": [],
            "grid_id": ctx.grid_id,
            "corrects_id": None,
        }, client

    def _location(self, rng: random.Random, lat: float, lng: float) -> dict[str, float] | None:
        if rng.random() < 0.3:
            return None  # no fix indoors
        return {
            "lat": round(lat + rng.uniform(-3e-4, 3e-4), 6),
            "lng": round(lng + rng.uniform(-3e-4, 3e-4), 6),
            "accuracy_m": rng.choice([5, 8, 12, 20, 35, 65]),
        }

    def _records_and_cases(self, rng: random.Random, ctx: _GridContext, street_id: int) -> None:
        building_pos = {b[0]: (b[2], b[3]) for b in ctx.buildings}
        building_name = {b[0]: b[1] for b in ctx.buildings}
        lived_in = [
            h
            for h in ctx.households
            if h["occupancy"] in (Occupancy.OCCUPIED, Occupancy.RENTED_OUT)
        ]
        empty = [
            h
            for h in ctx.households
            if h["occupancy"] not in (Occupancy.OCCUPIED, Occupancy.RENTED_OUT)
        ]
        case_sources: list[tuple[str, dict[str, Any], str, str, str]] = []

        # Visits: routine rounds, the odd follow-up, new tenants and empty-flat checks.
        for household in rng.sample(lived_in, min(len(lived_in), rng.randint(32, 45))):
            kind = "routine" if rng.random() < 0.85 else "follow_up"
            if household["occupancy"] == Occupancy.RENTED_OUT and rng.random() < 0.4:
                kind = "new_arrival"
            self._visit(rng, ctx, household, kind, building_pos)
        for household in rng.sample(empty, min(len(empty), rng.randint(0, 3))):
            self._visit(rng, ctx, household, "moved_out_check", building_pos)

        # Disputes: the ones not settled on the spot become cases.
        for _ in range(rng.randint(3, 6)):
            row = self._dispute(rng, ctx, lived_in, building_name)
            if not row["resolved_on_site"]:
                case_sources.append(
                    ("dispute", row, row["category"], row["severity"], row["summary"])
                )

        # Hazards: the ones not fixed on site become cases.
        for _ in range(rng.randint(3, 6)):
            row = self._hazard(rng, ctx, building_pos, building_name)
            if not row["fixed_on_site"]:
                case_sources.append(
                    ("hazard", row, row["category"], row["severity"], row["description"])
                )

        # Elderly checks: most care residents are up to date, some are due or overdue.
        for household in lived_in:
            for resident in ctx.residents_by_household[household["id"]]:
                interval = self._care_interval(resident)
                if interval is None:
                    continue
                for row in self._elderly_checks(rng, ctx, resident, interval):
                    if row["status"] == "needs_help":
                        case_sources.append(
                            (
                                "elderly_check",
                                row,
                                "elderly_care",
                                "high",
                                row["health_notes"],
                            )
                        )

        if self.spec.history_days:
            # Its own generator: the recent records above stay what they were without history.
            history_rng = random.Random(rng.getrandbits(64))
            case_sources[:0] = self._history(
                history_rng, ctx, lived_in, empty, building_pos, building_name
            )
        for source_kind, record, category, severity, summary in case_sources:
            self._case(rng, ctx, street_id, source_kind, record, category, severity, summary)

    def _history(
        self, rng, ctx: _GridContext, lived_in, empty, building_pos, building_name
    ) -> list[tuple[str, dict[str, Any], str, str, str]]:
        """Two years of older rounds for one grid (~900 records, ~90 cases): most of their cases
        are long closed, as on a real board, and they give ledgers and dashboards their volume."""
        days = (RECENT[1] + 1, RECENT[1] + self.spec.history_days)
        sources: list[tuple[str, dict[str, Any], str, str, str]] = []
        households = lived_in or empty
        for _ in range(rng.randint(420, 480)):
            household = rng.choice(households)
            kind = "routine" if rng.random() < 0.85 else "follow_up"
            self._visit(rng, ctx, household, kind, building_pos, days)
        for _ in range(rng.randint(110, 135)):
            row = self._dispute(rng, ctx, lived_in, building_name, days)
            if not row["resolved_on_site"]:
                sources.append(("dispute", row, row["category"], row["severity"], row["summary"]))
        for _ in range(rng.randint(110, 135)):
            row = self._hazard(rng, ctx, building_pos, building_name, days)
            if not row["fixed_on_site"]:
                sources.append(
                    ("hazard", row, row["category"], row["severity"], row["description"])
                )
        cared = [
            resident
            for household in lived_in
            for resident in ctx.residents_by_household[household["id"]]
            if self._care_interval(resident) is not None
        ]
        for _ in range(rng.randint(180, 240) if cared else 0):
            row = self._history_check(rng, ctx, rng.choice(cared), rng.randint(*days))
            if row["status"] == "needs_help":
                sources.append(("elderly_check", row, "elderly_care", "high", row["health_notes"]))
        # Cases open in the order their records came in, so case numbers run with the calendar.
        sources.sort(key=lambda source: source[1]["received_at"])
        return sources

    def _history_check(self, rng, ctx: _GridContext, resident: dict, days_ago: int) -> dict:
        row, client = self._record_base(rng, ctx, days_ago)
        status = rng.choices(["ok", "concern", "needs_help", "not_reached"], [85, 12, 1, 2])[0]
        row.update(
            {
                "resident_id": resident["id"],
                "checked_at": client,
                "method": rng.choices(["in_person", "phone", "neighbour"], [70, 25, 5])[0],
                "status": status,
                "health_notes": rng.choice(names.ELDERLY_HEALTH_NOTES[status]),
                "living_notes": rng.choice(names.ELDERLY_LIVING_NOTES)
                if status != "not_reached"
                else "",
                "needs": ["elderly_care"] if status == "needs_help" else [],
            }
        )
        self._add(ElderlyCheck.__table__, row)
        return row

    def _care_interval(self, resident: dict[str, Any]) -> int | None:
        age = years_between(resident["birth_date"], self.today)
        if resident["moved_out"]:
            return None
        if resident["living_alone"] and age >= 80:
            return LIVING_ALONE_80_DAYS
        if resident["living_alone"] or resident["empty_nest"]:
            return LIVING_ALONE_OR_EMPTY_NEST_DAYS
        if age >= 80:
            return AGE_80_DAYS
        return None

    def _visit(
        self, rng, ctx: _GridContext, household: dict, kind: str, building_pos, days=RECENT
    ) -> None:
        row, client = self._record_base(rng, ctx, rng.randint(*days))
        residents = [r for r in ctx.residents_by_household[household["id"]] if not r["moved_out"]]
        present = [r["id"] for r in residents if rng.random() < 0.6] or [
            r["id"] for r in residents[:1]
        ]
        needs: list[str] = []
        if residents and rng.random() < 0.22:
            needs = sorted({VISIT_NEED(rng) for _ in range(rng.randint(1, 2))})
        notes = rng.choice(names.VISIT_NOTES[kind])
        if needs:
            notes += names.GENERIC_NEED_NOTES[needs[0]]
        lat, lng = building_pos[household["building_id"]]
        row.update(
            {
                "household_id": household["id"],
                "visited_at": client,
                "visit_kind": kind,
                "present_resident_ids": present,
                "needs": needs,
                "notes": notes,
                "location": self._location(rng, lat, lng),
            }
        )
        self._add(Visit.__table__, row)

    def _dispute(
        self, rng, ctx: _GridContext, lived_in: list[dict], building_name, days=RECENT
    ) -> dict:
        row, _ = self._record_base(rng, ctx, rng.randint(*days))
        category = DISPUTE_CATEGORY(rng)
        severity = SEVERITY(rng)
        household = rng.choice(lived_in) if lived_in and rng.random() < 0.65 else None
        parties = []
        if household is not None:
            residents = ctx.residents_by_household[household["id"]]
            # A family quarrel is between people of the household; others involve outsiders.
            within = rng.sample(residents, 2 if category == "family" and len(residents) > 1 else 1)
            for person, role in zip(within, ("complainant", "respondent"), strict=False):
                parties.append({"name": person["name"], "role": role, "resident_id": person["id"]})
            place = household["address"]
        else:
            building = building_name[rng.choice(list(building_name))]
            place = (
                f"{building}{rng.choice(names.DISPUTE_PLACES)}"
                if rng.random() < 0.6
                else f"{ctx.compound_names[0]}{rng.choice(names.DISPUTE_PLACES)}"
            )
        while len(parties) < 2:
            role = "complainant" if not parties else "respondent"
            parties.append(
                {
                    "name": person_name(rng, rng.choice("MF"), rng.randint(1950, 2000)),
                    "role": role,
                    "resident_id": None,
                }
            )
        resolved = severity != "urgent" and rng.random() < 0.65
        row.update(
            {
                "household_id": household["id"] if household else None,
                "place": place,
                "category": category,
                "parties": parties,
                "summary": rng.choice(names.DISPUTE_SUMMARIES[category]),
                "severity": severity,
                "resolved_on_site": resolved,
                "mediation_notes": rng.choice(names.DISPUTE_MEDIATION) if resolved else "",
            }
        )
        self._add(Dispute.__table__, row)
        return row

    def _hazard(self, rng, ctx: _GridContext, building_pos, building_name, days=RECENT) -> dict:
        row, _ = self._record_base(rng, ctx, rng.randint(*days))
        category = HAZARD_CATEGORY(rng)
        severity = SEVERITY(rng)
        building_id = rng.choice(list(building_pos))
        lat, lng = building_pos[building_id]
        on_building = rng.random() < 0.75
        fixed = severity != "urgent" and rng.random() < (
            0.75 if severity in ("low", "medium") else 0.3
        )
        row.update(
            {
                "building_id": building_id if on_building else None,
                "place": ""
                if on_building
                else f"{ctx.compound_names[0]}{rng.choice(names.HAZARD_PLACES)}",
                "location": self._location(rng, lat, lng),
                "category": category,
                "severity": severity,
                "description": rng.choice(names.HAZARD_DESCRIPTIONS[category]),
                "fixed_on_site": fixed,
            }
        )
        self._add(Hazard.__table__, row)
        return row

    def _elderly_checks(self, rng, ctx: _GridContext, resident: dict, interval: int) -> list[dict]:
        draw = rng.random()
        if draw < 0.05:
            return []  # never checked in the window: due at once
        if draw < 0.8:
            last_days_ago = rng.randint(1, max(1, interval - 1))  # up to date
        else:
            last_days_ago = min(89, interval + rng.randint(0, 20))  # due today or overdue
        days = [last_days_ago]
        earlier = last_days_ago + interval + rng.randint(-2, 3)
        if rng.random() < 0.25 and earlier <= 90:
            days.append(earlier)
        rows = []
        for days_ago in sorted(days, reverse=True):
            row, client = self._record_base(rng, ctx, days_ago)
            status = rng.choices(["ok", "concern", "needs_help", "not_reached"], [85, 12, 1, 2])[0]
            row.update(
                {
                    "resident_id": resident["id"],
                    "checked_at": client,
                    "method": rng.choices(["in_person", "phone", "neighbour"], [70, 25, 5])[0],
                    "status": status,
                    "health_notes": rng.choice(names.ELDERLY_HEALTH_NOTES[status]),
                    "living_notes": rng.choice(names.ELDERLY_LIVING_NOTES)
                    if status != "not_reached"
                    else "",
                    "needs": ["elderly_care"]
                    if status == "needs_help"
                    else (["medical"] if status == "concern" and rng.random() < 0.4 else []),
                }
            )
            self._add(ElderlyCheck.__table__, row)
            rows.append(row)
        return rows

    # cases

    def _case(
        self,
        rng: random.Random,
        ctx: _GridContext,
        street_id: int,
        source_kind: str,
        record: dict[str, Any],
        category: str,
        severity: str,
        summary: str,
    ) -> None:
        opened = record["received_at"]
        case = CaseStory(
            rng,
            opened_at=opened,
            now=self.now,
            category=category,
            severity=severity,
            worker_id=ctx.worker_id,
            community_staff_id=self.community_staff.get(ctx.community_id),
            street_staff_id=self.street_staff.get(street_id),
            next_event_id=lambda: self._id("case_events"),
        )
        case.play()
        day = opened.astimezone(SHANGHAI).strftime("%Y%m%d")
        self.case_numbers_per_day[day] = self.case_numbers_per_day.get(day, 0) + 1
        self._add(
            Case.__table__,
            {
                "id": case.id,
                "number": f"AJ{day}-{self.case_numbers_per_day[day]:04d}",
                "home_grid_id": ctx.grid_id,
                "source_kind": source_kind,
                "source_record_id": record["id"],
                "household_id": record.get("household_id"),
                "resident_id": record.get("resident_id"),
                "title": f"{CATEGORY_LABELS[category]}：{summary[:40]}",
                "category": category,
                "severity": severity,
                "status": case.status,
                "level": case.level,
                "assigned_department": case.department,
                "assigned_user_id": None,
                "stage_started_at": case.stage_started_at,
                "warn_at": case.deadlines()[0],
                "due_at": case.deadlines()[1],
                "paused_at": None,
                "paused_seconds": 0,
                "supervised": case.supervise_deadline is not None,
                "supervise_deadline": case.supervise_deadline,
                "result": case.result,
                "satisfaction": case.satisfaction,
                "opened_at": opened,
                "resolved_at": case.resolved_at,
                "closed_at": case.closed_at,
                "version": len(case.events),
                "change_seq": self._seq(),
            },
        )
        for event in case.events:
            self._add(CaseEvent.__table__, event)

    def _finish(self) -> None:
        session = self.session
        set_last_change_seq(session, self.seq)
        if session.connection().dialect.name == "postgresql":
            # Ids were given explicitly, so the serial sequences never moved: move them past us.
            for table in (
                "streets",
                "communities",
                "grids",
                "buildings",
                "households",
                "residents",
                "users",
                "memberships",
                "case_events",
            ):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
