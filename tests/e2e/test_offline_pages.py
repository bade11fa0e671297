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
    wait_for_copy,
    worker_grid_ids,
)
from webapp.models import Household, Resident


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
    fields (the offline line "离线 · 数据更新于", the parts marked online-only and the copy's live
    status card — counts and last update, filled by the phone as the download runs — are left
    out)."""
    return page.evaluate(
        """() => {
        const main = document.getElementById('main');
        main.querySelectorAll('[data-offline-note], [data-online-only], [data-offline-copy]')
          .forEach(e => e.remove());
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


def test_a_field_day_runs_from_the_phones_copy_and_lands_once(phone, e2e_db, screenshot):
    """Log in fresh → the copy downloads by itself → offline: search by name and by phone tail,
    a check from the due list, a visit and a 回访 → 待同步 on the due list and the household →
    reload and reopen offline → online: each lands exactly once and the marks go."""
    from webapp.models import Case, CaseEvent, ElderlyCheck, Visit

    page = phone
    e2e_db.rollback()
    # A worker other than worker1, whose resolved case test_offline_case_action closes.
    for number in range(2, 13):
        username = f"worker{number}"
        grid_ids = worker_grid_ids(e2e_db, username)
        case = e2e_db.scalars(
            select(Case).where(Case.home_grid_id.in_(grid_ids), Case.status == "resolved")
        ).first()
        if case is not None:
            break
    assert case is not None, "the demo data gives some worker a case waiting for 回访"
    # A demo case may already hold a 回访 (dissatisfied, reopened, resolved again): count ours.
    follow_ups_before = len(
        e2e_db.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "follow_up")
        ).all()
    )
    start_controlled(page, username)
    wait_for_copy(page)
    case_url = f"/cases/{case.id}"
    wait_until(page, f"caches.match('{case_url}').then(Boolean)", 60)  # kept after the pull
    caller = e2e_db.scalars(
        select(Resident)
        .where(Resident.grid_id.in_(grid_ids), Resident.phone != "", Resident.moved_out.is_(False))
        .order_by(Resident.id.desc())
    ).first()

    page.context.set_offline(True)
    page.goto("/grid")
    page.fill("main input[name=q]", caller.name)
    page.locator("main .search-form button").click()
    expect(page.locator("main")).to_contain_text(caller.household.address)
    page.fill("main input[name=q]", caller.phone[-4:])
    page.locator("main .search-form button").click()
    expect(page.locator("main")).to_contain_text(caller.name)
    page.get_by_role("link", name=caller.name).first.click()
    expect(page.locator("h1")).to_have_text(caller.household.address)
    expect(page.locator(f"a[href='tel:{caller.phone}']")).to_be_visible()  # a call away

    page.goto("/grid/checks")
    first_due = page.locator(".due-list > li").first
    resident_id = int(first_due.get_attribute("data-pending-key").split(":")[1])
    first_due.locator("a.item").click()
    household_url = page.url
    page.click(f"a[href='/residents/{resident_id}/check']")
    page.get_by_text("情况良好").click()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    page.get_by_role("link", name="记录走访", exact=True).click()
    page.get_by_text("日常走访").click()
    page.fill("#notes", "离线走访")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    expect(page.locator("[data-pending-here] .pending-item")).to_have_count(2)
    page.goto("/grid/checks")
    mark = page.locator(f".due-list > li[data-pending-key='resident:{resident_id}'] .pending-mark")
    expect(mark).to_have_text("待同步")
    screenshot(page, "offline-due-list-pending-360x740")

    page.goto(case_url)  # kept as a page after the pull: case pages have no shell yet
    box = page.locator("form[data-op-form='case.action']").filter(has_text="居民满意度")
    box.get_by_text("满意", exact=True).click()
    box.get_by_role("button", name="回访").click()
    page.wait_for_url(f"**{case_url}")
    expect(page.locator("[data-pending-here] .pending-item")).to_have_count(1)

    page.reload()  # still offline
    expect(page.locator("[data-pending-here] .pending-item")).to_have_count(1)
    reopened = page.context.new_page()  # the app closed and opened again, offline
    page.close()
    page = reopened
    page.goto(household_url)
    expect(page.locator("[data-pending-here] .pending-item")).to_have_count(2)
    screenshot(page, "offline-household-pending-360x740")
    assert len(page.evaluate("GridOutbox.all()")) == 3
    e2e_db.rollback()
    assert e2e_db.get(Case, case.id).status == "resolved"

    page.context.set_offline(False)
    page.reload()
    wait_until(page, "GridOutbox.all().then(items => items.length === 0)", 60)
    page.goto(household_url)
    expect(page.locator("[data-pending-here]")).to_be_hidden()
    e2e_db.rollback()
    checks = e2e_db.scalars(
        select(ElderlyCheck).where(ElderlyCheck.resident_id == resident_id)
    ).all()
    assert [c.status for c in checks].count("ok") >= 1
    household_id = int(household_url.rsplit("/", 1)[1])
    notes = e2e_db.scalars(select(Visit.notes).where(Visit.household_id == household_id)).all()
    assert notes.count("离线走访") == 1
    follow_ups = e2e_db.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "follow_up")
    ).all()
    assert len(follow_ups) == follow_ups_before + 1
    assert e2e_db.get(Case, case.id).status == "closed"
