"""A resident on a 360×740 phone scans the stairwell card (the building's public page), reports a
broken light with a photo without an account, and gets a number; the page's proof of work runs
in the browser (no question asked). The grid worker sees it on 我的网格, checks it through the
outbox, and the resident's page then says 已办结 with the reply."""

from __future__ import annotations

import io
import re

from PIL import Image
from sqlalchemy import select

from tests.e2e.conftest import log_in
from webapp.models import Building, Membership, ResidentReport, Role, ScopeKind, User


def no_sideways_scrolling(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def a_photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 90, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def worker_of(e2e_db, building: Building) -> str:
    return e2e_db.scalar(
        select(User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.role == Role.GRID_WORKER,
            Membership.scope_kind == ScopeKind.GRID,
            Membership.scope_id == building.grid_id,
        )
    )


def test_a_resident_reports_from_the_card_and_follows_it_to_the_result(
    browser, phone, screenshot, e2e_db, live_server
):
    e2e_db.rollback()
    building = e2e_db.scalar(select(Building).order_by(Building.id))
    phone.goto(f"/public/b/{building.id}")
    assert phone.locator("h1").inner_text() == building.name
    screenshot(phone, "resident-building-360x740")
    phone.click("a.button.primary")
    phone.wait_for_load_state()
    assert f"b={building.id}" in phone.url
    # The proof of work finishes while the resident types: the question box goes away.
    phone.wait_for_selector("form[data-pow-done]", timeout=30_000)
    assert phone.locator("[data-pow-fallback]").is_hidden()
    phone.locator("label.choice", has_text="公共设施损坏").click()
    phone.fill("#description", "3单元楼道灯坏了，晚上看不见台阶")
    phone.fill("#place", "3单元2楼")
    phone.set_input_files(
        "#photos", files=[{"name": "light.jpg", "mimeType": "image/jpeg", "buffer": a_photo()}]
    )
    phone.fill("#contact_phone", "13612345678")
    no_sideways_scrolling(phone)
    send = phone.locator("form[data-pow] button[type=submit]")
    assert send.bounding_box()["height"] >= 44
    screenshot(phone, "resident-report-form-360x740")
    send.click()
    phone.wait_for_url(re.compile(r"/public/r/[A-Z0-9]+"))
    number = re.search(r"/public/r/([A-Z0-9]+)", phone.url).group(1)
    text = phone.locator("main").inner_text()
    assert number in text and "待核实" in text and "13612345678" not in text
    no_sideways_scrolling(phone)
    screenshot(phone, "resident-status-new-360x740")
    phone.problems.assert_clean()

    e2e_db.rollback()
    row = e2e_db.scalar(select(ResidentReport).where(ResidentReport.number == number))
    assert row.grid_id == building.grid_id and len(row.photos) == 1

    # The grid worker, on their own phone.
    context = browser.new_context(
        base_url=live_server,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    worker = context.new_page()
    try:
        log_in(worker, worker_of(e2e_db, building))
        worker.goto("/grid")
        assert number in worker.locator("#reports-heading + ul").inner_text()
        worker.click(f"a[href='/residents/reports/{row.id}']")
        worker.wait_for_load_state()
        assert "13612345678" in worker.locator("dl.facts").inner_text()
        worker.locator("label.choice", has_text="现场已解决").click()
        worker.fill("#reply", "已更换楼道灯")
        screenshot(worker, "worker-report-verify-360x740")
        worker.click("form[data-op-form] button[type=submit]")
        worker.wait_for_load_state("networkidle")
        for _ in range(50):
            e2e_db.rollback()
            if (
                e2e_db.scalar(select(ResidentReport.status).where(ResidentReport.id == row.id))
                == "settled"
            ):
                break
            worker.wait_for_timeout(200)
        else:
            raise AssertionError("the check never reached the server")
    finally:
        context.close()

    phone.goto(f"/public/r/{number}")
    text = phone.locator("main").inner_text()
    assert "已办结" in text and "已更换楼道灯" in text
    screenshot(phone, "resident-status-done-360x740")


def test_a_check_made_without_signal_waits_in_the_outbox_and_lands_once_online(
    phone, e2e_db, live_app, screenshot
):
    from tests.e2e.test_offline_outbox import (
        assert_clean,
        outbox,
        start_controlled,
        wait_until_synced,
        worker_grid_ids,
    )
    from webapp.residents import services

    e2e_db.rollback()
    grid_ids = worker_grid_ids(e2e_db, "worker1")
    building = e2e_db.scalar(
        select(Building).where(Building.grid_id.in_(grid_ids)).order_by(Building.id)
    )
    with live_app.test_request_context():
        from webapp.extensions import db

        made = services.submit_report(
            services.ReportForm(
                source="hotline_12345",
                category="fire_safety",
                description="12345转办：楼道堆放纸箱堵住消防通道",
                building_id=building.id,
            )
        )
        report_id, number = made.id, made.number
        db.session.commit()

    start_controlled(phone, "worker1")
    page_url = f"/residents/reports/{report_id}"
    phone.goto(page_url)

    # The signal goes while the page is open (a basement): the check waits in the outbox.
    phone.context.set_offline(True)
    phone.locator("label.choice", has_text="现场已解决").click()
    phone.fill("#reply", "已清理楼道纸箱")
    phone.click("form[data-op-form] button[type=submit]")
    phone.wait_for_function("GridOutbox.all().then(items => items.length === 1)")
    assert outbox(phone)[0]["type"] == "report.verify"
    screenshot(phone, "offline-report-check-waiting")
    e2e_db.rollback()
    assert e2e_db.get(ResidentReport, report_id).status == "new"

    phone.context.set_offline(False)
    phone.goto("/grid")
    wait_until_synced(phone)
    e2e_db.rollback()
    stored = e2e_db.get(ResidentReport, report_id)
    assert (stored.status, stored.reply) == ("settled", "已清理楼道纸箱")
    assert_clean(phone)
    phone.goto(f"/public/r/{number}")
    assert "已办结" in phone.locator("main").inner_text()


def test_the_printed_cards_qr_code_decodes_to_the_buildings_page(
    browser, phone, e2e_db, live_server, screenshot
):
    """What a resident's camera sees: the card as Chromium draws it, decoded by zxing-cpp."""
    import zxingcpp

    e2e_db.rollback()
    building = e2e_db.scalar(select(Building).order_by(Building.id.desc()))
    log_in(phone, worker_of(e2e_db, building))
    assert phone.goto(f"/residents/buildings/{building.id}/card").status == 200
    path = screenshot(phone, "contact-card-360x740")
    decoded = [result.text for result in zxingcpp.read_barcodes(Image.open(path))]
    assert decoded == [f"{live_server}/public/b/{building.id}"]
    phone.goto(decoded[0])
    assert phone.locator("h1").inner_text() == building.name
    phone.problems.assert_clean()
