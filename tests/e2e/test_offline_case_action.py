"""A worker's case actions go through the outbox like any field write (DESIGN.md §4–§5): a 回访
recorded in a basement waits on the phone and closes the case once the phone is online."""

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.case_actions import action_box
from tests.e2e.conftest import wait_until
from tests.e2e.test_offline_outbox import (
    assert_clean,
    counter,
    start_controlled,
    wait_until_synced,
    worker_grid_ids,
)
from webapp.models import Case, CaseEvent, OpLog


def resolved_case_of(e2e_db, username: str) -> Case:
    e2e_db.rollback()
    return e2e_db.scalars(
        select(Case)
        .where(Case.home_grid_id.in_(worker_grid_ids(e2e_db, username)), Case.status == "resolved")
        .order_by(Case.opened_at)
    ).first()


def test_a_follow_up_visit_made_offline_closes_the_case_once_online(phone, e2e_db, screenshot):
    # The first street's worker with a case waiting for 回访, looked for from the last grid down
    # (test_offline_pages takes the first one from worker2 up, so the two meet different cases).
    for number in range(12, 0, -1):
        username = f"worker{number}"
        case = resolved_case_of(e2e_db, username)
        if case is not None:
            break
    assert case is not None, "the demo data gives some worker a case waiting for 回访"
    start_controlled(phone, username)
    case_url = f"/cases/{case.id}"
    phone.goto(case_url)
    # The phone keeps the page of each case waiting on its worker once the copy is downloaded.
    wait_until(phone, f"caches.match('{case_url}').then(Boolean)", 60)

    phone.context.set_offline(True)
    phone.reload()
    box = action_box(phone, "回访")
    box.get_by_text("基本满意", exact=True).click()
    box.locator("textarea[name=notes]").fill("居民表示问题已解决")
    box.get_by_role("button", name="回访").click()
    phone.wait_for_url(f"**{case_url}")
    expect(phone.locator(".flashes")).to_contain_text("已保存到本机")
    expect(counter(phone)).to_have_text("1 条待同步")
    screenshot(phone, "offline-follow-up-waiting")
    e2e_db.rollback()
    assert e2e_db.get(Case, case.id).status == "resolved"  # nothing reached the server yet

    phone.context.set_offline(False)
    wait_until_synced(phone)
    e2e_db.rollback()
    stored = e2e_db.get(Case, case.id)
    assert (stored.status, stored.satisfaction) == ("closed", "basically_satisfied")
    follow_ups = e2e_db.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "follow_up")
    ).all()
    assert len(follow_ups) == 1
    assert (
        e2e_db.scalar(
            select(OpLog.status)
            .where(OpLog.op_type == "case.action")
            .order_by(OpLog.received_at.desc())
        )
        == "applied"
    )
    assert_clean(phone)
