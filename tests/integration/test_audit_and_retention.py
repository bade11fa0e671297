"""The audit log is append-only, browsable and exportable by admin; `flask retention run`
anonymises what is past its age, idempotently, with the app clock moved forward (DESIGN.md §7, §9).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from tests import factories as f
from webapp import clock
from webapp.audit import AuditLogIsAppendOnly, record_audit
from webapp.extensions import db
from webapp.models import AuditLog, Dispute, ElderlyCheck, Visit, utcnow

# --- append-only ---------------------------------------------------------------------------------


@pytest.fixture
def logged(app) -> AuditLog:
    row = record_audit("reveal", actor_name="someone", target_type="residents", target_id=7)
    db.session.commit()
    return row


def test_an_audit_row_cannot_be_changed_through_the_orm(logged):
    logged.action = "nothing_happened"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(AuditLog.action)) == "reveal"


def test_an_audit_row_cannot_be_deleted_through_the_orm(logged):
    db.session.delete(logged)
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(AuditLog.id)) == logged.id


@pytest.mark.parametrize(
    "statement",
    [
        lambda: update(AuditLog).values(actor_name="x"),
        lambda: delete(AuditLog),
        lambda: delete(AuditLog).where(AuditLog.action == "reveal"),
    ],
)
def test_audit_rows_cannot_be_changed_or_deleted_in_bulk(logged, statement):
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.execute(statement())
    db.session.rollback()
    assert db.session.scalar(select(AuditLog.actor_name)) == "someone"


# --- admin page ----------------------------------------------------------------------------------


@pytest.fixture
def admin_world(app):
    street = f.gen_street()
    f.gen_user("root", "admin")
    f.gen_user("clerk", "street_staff", street)
    for n in range(60):
        record_audit("access_denied", actor_name="nosy", target_type="households", target_id=n)
    record_audit("reveal", actor_name="clerk", target_type="residents", target_id=5, reason="=1+1")
    db.session.commit()


def test_admin_filters_the_log_by_who_and_action(admin_world, client, login_as):
    login_as("root")
    body = client.get("/admin/audit?who=clerk&action=reveal").get_data(as_text=True)
    assert "reveal" in body and "residents 5" in body
    assert "households" not in body.split("audit-rows", 1)[1]


def test_the_log_is_paginated_newest_first(admin_world, client, login_as):
    login_as("root")
    first = client.get("/admin/audit?action=access_denied").get_data(as_text=True)
    second = client.get("/admin/audit?action=access_denied&page=2").get_data(as_text=True)
    assert "households 59" in first and "households 0<" not in first
    assert "households 0" in second and "households 59" not in second
    assert "page=2" in first


def test_filters_by_object_and_by_date(admin_world, client, login_as):
    login_as("root")
    body = client.get("/admin/audit?target_type=households&target_id=42").get_data(as_text=True)
    assert "households 42" in body and "households 41" not in body
    tomorrow = (clock.now() + timedelta(days=2)).date().isoformat()
    later = client.get(f"/admin/audit?from={tomorrow}").get_data(as_text=True)
    assert "households 42" not in later


@pytest.mark.parametrize("bad", ["0001-01-01", "9999-12-31", "yesterday", "2026-02-30"])
def test_a_bad_date_filter_is_a_400_with_a_message(admin_world, client, login_as, bad):
    login_as("root")
    response = client.get(f"/admin/audit?from={bad}&page=abc")
    assert response.status_code == 400
    assert "field-error" in response.get_data(as_text=True)


def test_the_export_is_csv_with_formulas_defused_and_is_itself_audited(
    admin_world, client, login_as
):
    login_as("root")
    response = client.get("/admin/audit/export.csv?who=clerk")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["at", "actor_name", "action"]
    [row] = rows[1:]
    assert row[2] == "reveal"
    assert not any(cell.startswith("=") for cell in row)
    exported = db.session.scalar(select(AuditLog).where(AuditLog.action == "audit_export"))
    assert exported.actor_name == "root" and exported.detail == {"who": "clerk"}


@pytest.mark.parametrize("url", ["/admin/audit", "/admin/audit/export.csv"])
def test_only_admin_reads_the_log(admin_world, client, login_as, url):
    login_as("clerk")
    assert client.get(url).status_code == 403
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "audit_export")) is None


def test_logins_and_failures_are_audited_with_ip_and_user_agent(app, client, login_as):
    f.gen_user("root", "admin")
    db.session.commit()
    client.post("/login", data={"username": "root", "password": "wrong"})  # no CSRF: refused
    login_as("root")
    login = db.session.scalar(select(AuditLog).where(AuditLog.action == "login"))
    assert login.ip and login.user_agent is not None


# --- retention -----------------------------------------------------------------------------------


@pytest.fixture
def records(app):
    grid = f.gen_grid()
    household = f.gen_household(grid=grid)
    resident = f.gen_resident(household)
    worker = f.gen_user("worker", "grid_worker", grid)
    common = {"grid_id": grid.id, "author_id": worker.id, "received_at": utcnow()}
    visit = Visit(
        id=uuid.uuid4(),
        household_id=household.id,
        visited_at=utcnow(),
        visit_kind="routine",
        notes="老人糖尿病，儿子在外地",
        location={"lat": 39.9, "lng": 116.4},
        **common,
    )
    dispute = Dispute(
        id=uuid.uuid4(),
        household_id=household.id,
        place="",
        category="neighbour",
        parties=[{"name": "张三明", "role": "complainant", "resident_id": resident.id}],
        summary="张三明与邻居噪音纠纷",
        severity="low",
        resolved_on_site=True,
        mediation_notes="双方和解",
        **common,
    )
    check = ElderlyCheck(
        id=uuid.uuid4(),
        resident_id=resident.id,
        checked_at=utcnow(),
        method="in_person",
        status="ok",
        health_notes="血压偏高",
        living_notes="独居",
        **common,
    )
    db.session.add_all([visit, dispute, check])
    record_audit("login_failed", actor_name="typo-password", target_type="users")
    db.session.commit()
    return visit.id, dispute.id, check.id


def run(app) -> str:
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    return result.output


def test_retention_leaves_young_records_alone(app, records):
    run(app)
    visit = db.session.get(Visit, records[0])
    assert visit.notes == "老人糖尿病，儿子在外地"
    failed = db.session.scalar(select(AuditLog).where(AuditLog.action == "login_failed"))
    assert failed.actor_name == "typo-password"


def test_with_the_clock_moved_past_the_ages_retention_anonymises_and_keeps_the_facts(app, records):
    clock.travel_to(utcnow() + timedelta(days=3 * 365 + 2))
    db.session.commit()
    output = run(app)
    visit, dispute, check = (
        db.session.get(Visit, records[0]),
        db.session.get(Dispute, records[1]),
        db.session.get(ElderlyCheck, records[2]),
    )
    assert visit.notes == "" and visit.location is None and visit.visit_kind == "routine"
    assert dispute.summary == "" and dispute.mediation_notes == ""
    assert dispute.parties == [{"name": "", "role": "complainant"}]
    assert dispute.category == "neighbour" and dispute.resolved_on_site is True
    assert check.health_notes == "" and check.living_notes == "" and check.status == "ok"
    failed = db.session.scalar(select(AuditLog).where(AuditLog.action == "login_failed"))
    assert failed.actor_name == "" and failed.ip == "" and failed.action == "login_failed"
    assert "visits 1" in output


def test_retention_is_idempotent(app, records):
    clock.travel_to(utcnow() + timedelta(days=3 * 365 + 2))
    db.session.commit()
    run(app)
    second = run(app)
    assert "visits 0" in second and "disputes 0" in second and "anonymised 0" in second
    runs = db.session.scalars(select(AuditLog).where(AuditLog.action == "retention_run")).all()
    assert runs[-1].detail["records"] == {"visits": 0, "disputes": 0, "elderly_checks": 0}


def test_retention_ages_come_from_settings(app, records):
    app.config["RETENTION_RECORD_TEXT_DAYS"] = 10
    app.config["RETENTION_AUDIT_DETAIL_DAYS"] = 5000
    clock.travel_to(utcnow() + timedelta(days=11))
    db.session.commit()
    run(app)
    assert db.session.get(Visit, records[0]).notes == ""
    failed = db.session.scalar(select(AuditLog).where(AuditLog.action == "login_failed"))
    assert failed.actor_name == "typo-password"
