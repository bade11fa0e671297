"""The demo-data generator: deterministic, realistic, and consistent with the contract's accounts.

Runs on its own in-memory SQLite schema built from the models' metadata, so it needs no app.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date, datetime, time

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from webapp.demo import DEMO_PASSWORD, DemoDataExists, load_demo_data
from webapp.demo.cli import register_demo_commands
from webapp.demo.clock import SHANGHAI
from webapp.demo.people import id_check_digit
from webapp.extensions import db
from webapp.models import (
    Base,
    Building,
    Case,
    CaseEvent,
    ChangeCounter,
    Community,
    Department,
    Dispute,
    ElderlyCheck,
    Grid,
    Hazard,
    Household,
    Membership,
    Resident,
    Street,
    User,
    Visit,
)
from webapp.models.people import years_between

TODAY = date(2026, 11, 21)
FIXED_HASH = "not-a-hash: pinned so two loads can be compared byte for byte"


def _session() -> Session:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    return Session(engine)


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Session, dict[str, int]]]:
    session = _session()
    counts = load_demo_data(session, "small", seed=1, today=TODAY)
    session.commit()
    yield session, counts
    session.close()


def _database_digest(session: Session) -> str:
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest.update(f"{table.name}:{rows!r}".encode())
    return digest.hexdigest()


def _load_digest(seed: int) -> str:
    with _session() as session:
        load_demo_data(session, "small", seed=seed, today=TODAY, password_hash=FIXED_HASH)
        session.commit()
        return _database_digest(session)


def test_same_seed_gives_identical_rows_and_another_seed_does_not():
    first = _load_digest(1)
    assert _load_digest(1) == first
    assert _load_digest(2) != first


def test_small_scale_counts_are_within_the_contract(demo):
    session, counts = demo
    # The first street (3 communities, 12 grids) and the small second one (1 community, 1 grid).
    assert counts["streets"] == session.scalar(select(func.count(Street.id))) == 2
    assert counts["communities"] == 4
    assert counts["grids"] == 13
    assert 2900 <= counts["households"] <= 3600
    assert 7000 <= counts["residents"] <= 9200
    assert counts["residents"] == session.scalar(select(func.count(Resident.id)))
    for kind in ("visits", "disputes", "elderly_checks", "hazards"):
        assert counts[kind] > 20, kind
    assert 20 <= counts["cases"] <= 100
    assert counts["case_events"] >= 2 * counts["cases"]


def test_every_grid_has_between_two_and_three_hundred_households(demo):
    session, _ = demo
    per_grid = session.execute(select(Household.grid_id, func.count()).group_by(Household.grid_id))
    assert all(200 <= n <= 300 for _, n in per_grid)


def test_the_demo_accounts_have_their_roles_and_scopes(demo):
    session, _ = demo
    street, second_street = session.scalars(select(Street).order_by(Street.code)).all()
    communities = session.scalars(select(Community).order_by(Community.code)).all()
    grids = session.scalars(select(Grid).join(Community).order_by(Community.code, Grid.code)).all()
    expected = {
        "admin": ("admin", "all", None),
        "street1": ("street_staff", "street", street.id),
        "street2": ("street_staff", "street", second_street.id),
        "community1": ("community_staff", "community", communities[0].id),
    }
    expected |= {f"worker{i}": ("grid_worker", "grid", g.id) for i, g in enumerate(grids, 1)}
    departments = dict(
        session.execute(
            select(Department.name, Department.id).where(Department.street_id == street.id)
        ).all()
    )
    second_departments = dict(
        session.execute(
            select(Department.name, Department.id).where(Department.street_id == second_street.id)
        ).all()
    )
    expected |= {
        "dept1": ("department_staff", "department", departments["城管执法中队"]),
        "fire1": ("department_staff", "department", departments["消防救援站"]),
        "dept2": ("department_staff", "department", second_departments["城管执法中队"]),
    }
    users = session.scalars(select(User)).all()
    assert {u.username for u in users} == set(expected)
    for user in users:
        memberships = session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
        assert [(m.role, m.scope_kind, m.scope_id) for m in memberships] == [
            expected[user.username]
        ]
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,5}", user.display_name), user.display_name
        if user.username != "admin":
            assert re.fullmatch(r"1[358]\d{9}", user.work_phone)
    # One hash shared by all accounts, and it is the documented demo password.
    assert len({u.password_hash for u in users}) == 1
    assert PasswordHasher().verify(users[0].password_hash, DEMO_PASSWORD)


def test_worker13_holds_the_grid_of_the_second_street(demo):
    session, _ = demo
    worker13 = session.scalar(select(User).where(User.username == "worker13"))
    grid = session.get(Grid, worker13.memberships[0].scope_id)
    second_street = session.scalars(select(Street).order_by(Street.code)).all()[1]
    assert grid.community.street_id == second_street.id


def test_worker1_holds_the_first_grid_of_the_first_community(demo):
    session, _ = demo
    worker1 = session.scalar(select(User).where(User.username == "worker1"))
    grid = session.get(Grid, worker1.memberships[0].scope_id)
    first_community = session.scalar(select(Community).order_by(Community.code))
    assert grid.community_id == first_community.id
    assert grid.code == min(g.code for g in first_community.grids)


def test_id_numbers_are_valid_and_agree_with_birth_date_and_gender(demo):
    session, _ = demo
    rows = session.execute(select(Resident.id_number, Resident.birth_date, Resident.gender)).all()
    for id_number, born, gender in rows:
        assert re.fullmatch(r"\d{17}[\dX]", id_number), id_number
        assert id_check_digit(id_number[:17]) == id_number[17]
        assert id_number[6:14] == born.strftime("%Y%m%d")
        assert int(id_number[16]) % 2 == (1 if gender == "M" else 0)
    assert len({r[0] for r in rows}) == len(rows)


def test_phones_are_eleven_digit_mobile_numbers(demo):
    session, _ = demo
    phones = session.scalars(select(Resident.phone).where(Resident.phone != "")).all()
    assert phones
    assert all(re.fullmatch(r"1(3\d|5[0-35-9]|8\d)\d{8}", p) for p in phones)


def test_age_pyramid_has_a_realistic_share_of_over_80s_and_minors(demo):
    session, _ = demo
    births = session.scalars(select(Resident.birth_date)).all()
    ages = [years_between(b, TODAY) for b in births]
    assert 0.03 <= sum(a >= 80 for a in ages) / len(ages) <= 0.08
    assert 0.14 <= sum(a < 18 for a in ages) / len(ages) <= 0.22


def test_care_flags_have_plausible_shares(demo):
    session, _ = demo
    residents = session.scalars(select(Resident)).all()
    n = len(residents)

    def share(flag: str) -> float:
        return sum(getattr(r, flag) for r in residents) / n

    assert 0.01 <= share("disabled") <= 0.035
    assert 0.01 <= share("low_income") <= 0.035
    assert 0.004 <= share("special_care") <= 0.02
    assert 0.05 <= share("floating") <= 0.11
    alone = [r for r in residents if r.living_alone]
    assert alone and all(years_between(r.birth_date, TODAY) >= 60 for r in alone)
    assert all(len(r.household.residents) == 1 for r in alone)


def test_households_and_residents_sit_in_their_buildings_grid(demo):
    session, _ = demo
    mismatched = session.scalar(
        select(func.count())
        .select_from(Household)
        .join(Building, Household.building_id == Building.id)
        .where(Household.grid_id != Building.grid_id)
    )
    assert mismatched == 0
    mismatched = session.scalar(
        select(func.count())
        .select_from(Resident)
        .join(Household, Resident.household_id == Household.id)
        .where(Resident.grid_id != Household.grid_id)
    )
    assert mismatched == 0
    for household in session.scalars(select(Household).limit(50)):
        building = household.building
        assert household.address == f"{building.name}{household.unit}单元{household.room}"
        assert 1 <= household.unit <= building.unit_count
        assert 1 <= int(household.room) // 100 <= building.floor_count


def test_records_are_authored_by_their_grids_worker_within_the_last_90_days(demo):
    session, _ = demo
    worker_of_grid = dict(
        session.execute(
            select(Membership.scope_id, Membership.user_id).where(Membership.role == "grid_worker")
        ).all()
    )
    start_of_today = datetime.combine(TODAY, time(), SHANGHAI)
    for model in (Visit, Dispute, ElderlyCheck, Hazard):
        for record in session.scalars(select(model)):
            assert record.author_id == worker_of_grid[record.grid_id]
            assert 1 <= (TODAY - record.client_time.astimezone(SHANGHAI).date()).days <= 90
            assert record.client_time <= record.received_at < start_of_today


def test_change_counter_holds_the_highest_change_seq(demo):
    session, _ = demo
    highest = max(
        session.scalar(select(func.max(model.change_seq)))
        for model in (Grid, Building, Household, Resident, Visit, ElderlyCheck, Case)
    )
    assert session.get(ChangeCounter, 1).value == highest


def test_cases_have_a_consistent_timeline_and_belong_to_their_records_grid(demo):
    session, _ = demo
    cases = session.scalars(select(Case)).all()
    assert {c.status for c in cases} >= {"open", "accepted", "closed"}
    assert {c.level for c in cases} == {"grid", "community", "street"}
    assert len({c.number for c in cases}) == len(cases)
    sources = {Dispute: "dispute", Hazard: "hazard", ElderlyCheck: "elderly_check"}
    for case in cases:
        assert re.fullmatch(r"AJ\d{8}-\d{4}", case.number)
        model = next(m for m, kind in sources.items() if kind == case.source_kind)
        assert session.get(model, case.source_record_id).grid_id == case.home_grid_id
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        ).all()
        assert events[0].action == "open" and events[0].to_status == "open"
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_status == before.to_status
            assert after.from_level == before.to_level
            assert after.at >= before.at
        assert (events[-1].to_status, events[-1].to_level) == (case.status, case.level)
        assert case.version == len(events)
        assert (case.closed_at is not None) == (case.status == "closed")
        assert (case.due_at is None) == (case.status == "closed")


def test_some_care_residents_are_due_for_a_check(demo):
    session, _ = demo
    last_check = dict(
        session.execute(
            select(ElderlyCheck.resident_id, func.max(ElderlyCheck.checked_at)).group_by(
                ElderlyCheck.resident_id
            )
        ).all()
    )
    alone = session.scalars(select(Resident).where(Resident.living_alone)).all()
    overdue = [
        r for r in alone if r.id not in last_check or (TODAY - last_check[r.id].date()).days > 14
    ]
    assert 0 < len(overdue) < len(alone) / 2


def test_loading_twice_is_refused(demo):
    session, _ = demo
    with pytest.raises(DemoDataExists):
        load_demo_data(session, "small", seed=1, today=TODAY, password_hash=FIXED_HASH)


def test_cli_loads_an_empty_database_and_refuses_or_skips_a_full_one(tmp_path):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'demo.db'}"
    db.init_app(app)
    register_demo_commands(app)
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["demo-data", "--seed", "3", "--today", "2026-11-21"])
    assert result.exit_code == 0, result.output
    assert "residents" in result.output and "demo data loaded" in result.output

    again = runner.invoke(args=["demo-data"])
    assert again.exit_code != 0
    assert "已有数据" in again.output and "already holds data" in again.output

    skipped = runner.invoke(args=["demo-data", "--if-empty"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped" in skipped.output
