"""Departments on a phone (issue 13): street1 accepts an urgent hazard and assigns it to 城管 with
消防 assisting; each department finds it on its own board, signs for it and reports back (城管
with a photo); street1 reviews both reports and the case is resolved. Every step shows who did it.
Pages are looked at at 360×740: no sideways scrolling, the next action first, tap targets ≥ 44 px,
and the triage board's bulk bar only when a case is ticked."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.case_actions import action_box
from tests.e2e.conftest import PHONE, log_in
from webapp.cases.actions import perform
from webapp.models import Grid, Household, User

LEAD, ASSIST = "城管执法中队", "消防救援站"


@pytest.fixture
def street_case(e2e_db):
    """An urgent hazard in worker1's grid, escalated straight to the street office."""
    from tests.factories import gen_hazard_case

    worker = e2e_db.scalar(select(User).where(User.username == "worker1"))
    grid_id = worker.memberships[0].scope_id
    household = e2e_db.scalar(
        select(Household).where(Household.grid_id == grid_id).order_by(Household.id).limit(1)
    )
    assert e2e_db.get(Grid, grid_id) is not None
    case = gen_hazard_case(worker, household, "urgent", f"楼道电线裸露{uuid.uuid4().hex[:4]}")
    perform(case, worker, "request_escalation", {})
    e2e_db.commit()
    return case.id, case.number, case.title


def phone_as(browser, live_server, username):
    context = browser.new_context(
        base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE
    )
    page = context.new_page()
    log_in(page, username)
    return page


def fits_the_phone(page):
    width = page.evaluate("document.scrollingElement.scrollWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > 361).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert width <= 360, f"{page.url} scrolls sideways ({width}px): {wide}"
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] < 64, f"header wraps ({header['height']}px)"


def press(page, verb, fill=None):
    box = action_box(page, verb)
    if fill:
        fill(box)
    button = box.get_by_role("button", name=verb)
    assert button.bounding_box()["height"] >= 44
    button.click()
    expect(page.locator(".flashes")).to_contain_text(f"已完成：{verb}")


def test_a_joint_case_goes_through_both_departments_boards_to_resolved(
    browser, live_server, street_case, screenshot, tmp_path
):
    case_id, number, title = street_case
    clerk = phone_as(browser, live_server, "street1")
    clerk.goto(f"/cases/{case_id}")
    expect(clerk.locator("section.next-action h2")).to_have_text("受理")
    expect(clerk.locator(".case-banner")).to_contain_text("剩余")
    fits_the_phone(clerk)
    screenshot(clerk, "case-page-street-phone")
    press(clerk, "受理")

    def joint(box):
        box.locator("select[name=department]").select_option(LEAD)
        box.locator("input[name=task]").fill("清理楼道、拆除私拉电线")
        box.locator("details.assist > summary").click()
        box.locator("details.assist").get_by_text(ASSIST, exact=True).click()

    press(clerk, "分派", joint)
    expect(clerk.locator("section.parts")).to_contain_text(LEAD)
    expect(clerk.locator("section.parts")).to_contain_text(ASSIST)

    # 城管 finds it on its own board, signs and reports back with a photo.
    city = phone_as(browser, live_server, "dept1")
    assert city.url.endswith("/cases/department")
    row = city.locator("li.case-row", has_text=number)
    expect(row).to_have_count(1)
    fits_the_phone(city)
    screenshot(city, "department-board-phone")
    row.locator("a.case-link").click()
    expect(city.locator("section.next-action h2")).to_have_text("签收")
    fits_the_phone(city)
    press(city, "签收")
    photo = tmp_path / "after.jpg"
    image = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(image, "JPEG")
    photo.write_bytes(image.getvalue())

    def report(box):
        box.locator("textarea[name=result]").fill("私拉电线已拆除，楼道已清理")
        box.locator("input[name=photos]").set_input_files(str(photo))

    press(city, "回单", report)
    expect(city.locator("section.parts li.mine")).to_contain_text("已回单，待审核")
    screenshot(city, "case-page-department-phone")

    # 消防 does its part on its own clock.
    fire = phone_as(browser, live_server, "fire1")
    fire.locator("li.case-row", has_text=number).locator("a.case-link").click()
    press(fire, "签收")
    press(fire, "回单", lambda box: box.locator("textarea[name=result]").fill("复查消防通道合格"))

    # The street reviews each report back; the second approval resolves the case.
    clerk.reload()
    expect(clerk.locator("section.next-action h2")).to_have_text("审核")
    press(clerk, "审核", lambda box: box.get_by_text("通过", exact=True).click())
    press(clerk, "审核", lambda box: box.get_by_text("通过", exact=True).click())
    expect(clerk.locator("dl.facts")).to_contain_text("已办结，待回访")
    timeline = clerk.locator("ol.timeline").inner_text()
    for step in ("部门签收", "部门回单", "街道审核"):
        assert step in timeline
    assert f"（{LEAD}）" in timeline and f"（{ASSIST}）" in timeline
    assert clerk.locator("ol.timeline img").count() == 1  # 城管's photo, shown to the street
    screenshot(clerk, "case-page-resolved-phone")


def test_the_bulk_bar_appears_only_when_a_case_is_ticked(browser, live_server, street_case):
    clerk = phone_as(browser, live_server, "street1")
    bar = clerk.locator(".bulk-bar")
    expect(bar).to_be_hidden()
    fits_the_phone(clerk)
    clerk.locator("li.case-row input[name=case_ids]").first.check()
    expect(bar).to_be_visible()
    assert bar.bounding_box()["height"] < 740 / 4
    clerk.locator("li.case-row input[name=case_ids]").first.uncheck()
    expect(bar).to_be_hidden()


def test_another_streets_department_does_not_see_the_case(browser, live_server, street_case):
    case_id, number, _title = street_case
    page = phone_as(browser, live_server, "fire1")
    # fire1 holds no part of this fresh case: 404, and nothing of it on the board.
    assert page.goto(f"/cases/{case_id}").status == 404
    page.goto("/cases/department")
    assert number not in page.content()
