"""Offline v2 on a 360×740 phone (DESIGN.md §5): the phone keeps its worker's grids as data (the
sync pull in IndexedDB) and renders the field pages from it with the same templates the server
uses, so a household never opened online still opens in a basement."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.test_offline_outbox import assert_clean, start_controlled, worker_grid_ids
from webapp.models import Household, Resident


def wait_for_copy(page) -> None:
    """The download starts by itself after login; it is done when the pull has no more."""
    page.wait_for_function(
        "window.GridStore && GridStore.meta().then(m => m.complete === true)", timeout=60_000
    )


def last_household(e2e_db, username: str = "worker1") -> Household:
    """The grid's last household: never opened online in these tests."""
    e2e_db.rollback()
    return e2e_db.scalars(
        select(Household)
        .where(Household.grid_id.in_(worker_grid_ids(e2e_db, username)))
        .order_by(Household.id.desc())
    ).first()


def test_a_household_never_opened_online_renders_offline_from_the_copy(phone, e2e_db, screenshot):
    page = phone
    start_controlled(page)
    wait_for_copy(page)
    household = last_household(e2e_db)
    residents = e2e_db.scalars(
        select(Resident).where(Resident.household_id == household.id).order_by(Resident.id)
    ).all()
    page.context.set_offline(True)
    page.goto(f"/households/{household.id}")
    expect(page.locator("h1")).to_have_text(household.address)
    for resident in residents:
        expect(page.locator(".residents")).to_contain_text(resident.name)
    screenshot(page, "offline-household-from-copy-360x740")
    page.context.set_offline(False)
    assert_clean(page)
