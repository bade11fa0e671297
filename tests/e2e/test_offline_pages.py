"""Offline v2 on a 360×740 phone (DESIGN.md §5): the phone keeps its worker's grids as data (the
sync pull in IndexedDB) and renders the field pages from it with the same templates the server
uses, so a household never opened online still opens in a basement."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import wait_until
from tests.e2e.test_offline_outbox import (
    assert_clean,
    cared_for_resident,
    start_controlled,
    worker_grid_ids,
)
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


def visible(page) -> dict:
    """What a worker sees on the page: its text line by line, where its links go and its form
    fields (the offline line "离线 · 数据更新于" and the parts marked online-only are left out)."""
    return page.evaluate(
        """() => {
        const main = document.getElementById('main');
        main.querySelectorAll('[data-offline-note], [data-online-only]').forEach(e => e.remove());
        const text = main.innerText;
        const lines = text.split('\\n').map(l => l.replace(/\\s+/g, ' ').trim()).filter(Boolean);
        const links = [...main.querySelectorAll('a[href]')].filter(a => a.offsetParent)
          .map(a => a.getAttribute('href'));
        const fields = [...main.querySelectorAll('input, select, textarea')]
          .filter(f => f.type !== 'hidden' || f.name.endsWith('_id'))
          .map(f => [f.name, f.type === 'checkbox' || f.type === 'radio' ? f.checked : f.value]);
        return {lines, links, fields};
        }"""
    )


def busiest_household(e2e_db, username: str = "worker1") -> Household:
    """A household of the grid with a case, records and a resident on the care schedule."""
    from webapp.models import Case, Visit

    e2e_db.rollback()
    grid_ids = worker_grid_ids(e2e_db, username)
    with_case = e2e_db.scalars(
        select(Case.household_id).where(
            Case.home_grid_id.in_(grid_ids), Case.household_id.is_not(None), Case.status != "closed"
        )
    ).all()
    visited = list(e2e_db.scalars(select(Visit.household_id).where(Visit.grid_id.in_(grid_ids))))
    both = [household_id for household_id in with_case if household_id in visited]
    if both or with_case or visited:
        return e2e_db.get(Household, (both or with_case or visited)[0])
    return cared_for_resident(e2e_db, username).household


@pytest.mark.parametrize(
    "path",
    [
        "/households/{household}",
        "/households/{household}/new/visit",
        "/households/{household}/edit",
        "/buildings/{building}",
        "/grids/{grid}",
        "/grid",
        "/grid/checks",
        "/grid/cases",
        "/grid/unvisited",
    ],
)
def test_online_and_offline_renderings_of_a_page_show_the_same(phone, e2e_db, path):
    """One template, two renderings: the server's page and the page the phone renders from its
    copy must show the same text, links and form fields."""
    page = phone
    household = busiest_household(e2e_db)
    url = path.format(
        household=household.id, building=household.building_id, grid=household.grid_id
    )
    start_controlled(page)
    wait_for_copy(page)
    page.goto(url)
    online = visible(page)
    page.context.set_offline(True)
    page.goto(url)
    expect(page.locator("[data-offline-note]")).to_be_visible()
    offline = visible(page)
    page.context.set_offline(False)
    assert offline["lines"] == online["lines"]
    assert offline["links"] == online["links"]
    if "/new/" not in url:  # a new record's time is "now", which moved between the two
        assert offline["fields"] == online["fields"]
    assert_clean(page)
