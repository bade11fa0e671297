"""Offline v2 on a 360×740 phone (DESIGN.md §5): the phone keeps its worker's grids as data (the
sync pull in IndexedDB) and renders the field pages from it with the same templates the server
uses, so a household never opened online still opens in a basement."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import wait_until
from tests.e2e.test_offline_outbox import assert_clean, start_controlled, worker_grid_ids
from webapp.models import Household, Resident


def wait_for_copy(page) -> None:
    """The download starts by itself after login; it is done when the pull has no more."""
    wait_until(page, "window.GridStore && GridStore.meta().then(m => m.complete === true)", 60)


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


def test_the_worker_home_leads_with_the_work_and_its_header_fits_one_line(phone, screenshot):
    page = phone
    start_controlled(page)
    wait_for_copy(page)
    page.goto("/grid")
    search = page.locator("main .search-form")
    buildings = page.locator("main .buildings")
    due = page.locator("#due-checks-heading")
    expect(search).to_be_visible()
    expect(page.get_by_role("link", name="记隐患").first).to_be_visible()
    expect(page.get_by_role("link", name="记纠纷").first).to_be_visible()
    # search, then quick records and buildings, then today's lists
    assert search.bounding_box()["y"] < buildings.bounding_box()["y"] < due.bounding_box()["y"]
    assert page.locator(".hazard-button").count() == page.locator(".building-row").count() > 0
    header = page.locator("header.topbar")
    expect(header.locator(".messages")).to_be_visible()
    # one line: nothing in the header sits lower than the brand's line
    brand = header.locator(".brand").bounding_box()
    for box in header.locator(":scope > *:visible").all():
        b = box.bounding_box()
        assert b["y"] < brand["y"] + brand["height"], box.evaluate("e => e.outerHTML.slice(0, 80)")
    targets = "main a.button, main button, main .room, main .row, .topbar a, .topbar button"
    too_small = page.evaluate(
        """s => [...document.querySelectorAll(s)].filter(e => e.offsetParent)
        .map(e => e.getBoundingClientRect()).filter(r => r.height < 44).length""",
        targets,
    )
    screenshot(page, "worker-home-360x740")
    assert too_small == 0
    assert_clean(page)
