"""Reveal on a phone: the worker taps 显示完整 beside a masked ID number, gives a reason, and the
full value replaces the masked one in place (htmx), with an audit row (DESIGN.md §7)."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.conftest import log_in
from webapp.models import AuditLog, Membership, Resident, User


def test_a_worker_reveals_an_id_number_with_a_reason_on_a_phone(phone, e2e_db, screenshot):
    e2e_db.rollback()
    worker = e2e_db.scalar(select(User).where(User.username == "worker1"))
    grid_id = e2e_db.scalar(select(Membership.scope_id).where(Membership.user_id == worker.id))
    resident = e2e_db.scalar(
        select(Resident)
        .where(Resident.grid_id == grid_id, Resident.id_number != "", Resident.moved_out.is_(False))
        .order_by(Resident.id)
        .limit(1)
    )
    full_id = resident.id_number
    log_in(phone, "worker1")
    phone.goto(f"/households/{resident.household_id}")
    value = phone.locator(f"#id_number-{resident.id}")
    assert full_id not in value.inner_text()
    value.locator("summary").click()
    value.locator("input[name=reason]").fill("办理高龄津贴核对身份")
    screenshot(phone, "reveal-form-360x740")
    value.locator("button[type=submit]").click()
    revealed = phone.locator(f"#id_number-{resident.id}.revealed")
    revealed.wait_for()
    assert full_id in revealed.inner_text()
    screenshot(phone, "reveal-done-360x740")
    e2e_db.rollback()
    row = e2e_db.scalar(
        select(AuditLog)
        .where(AuditLog.action == "reveal", AuditLog.target_id == str(resident.id))
        .order_by(AuditLog.id.desc())
    )
    assert row.actor_name == "worker1" and row.detail["reason"] == "办理高龄津贴核对身份"
    phone.problems.assert_clean()
