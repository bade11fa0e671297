"""Offline-first on a 360×740 phone (DESIGN.md §5): the service worker keeps the app opening without
signal, every field write waits in the IndexedDB outbox until the server has answered it, and
nothing is lost or doubled by a dead connection, an expired login, a new app version or logout."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from tests.e2e.conftest import DEMO_PASSWORD, log_in, wait_until
from webapp.auth.scope import compute_scope
from webapp.models import (
    Dispute,
    ElderlyCheck,
    Hazard,
    Household,
    LoginSession,
    OpLog,
    Resident,
    Role,
    User,
    Visit,
)
from webapp.models.records import Attachment

PUSH = "**/api/v1/sync/push"
MODELS = {
    "visit.create": Visit,
    "dispute.create": Dispute,
    "elderly_check.create": ElderlyCheck,
    "hazard.create": Hazard,
}
SAVED_OFFLINE = "已保存到本机，联网后自动同步"
# What Chromium logs for a request that failed on purpose here (offline, a routed 500/401/503, a
# reset connection). Anything else in the console fails the test.
EXPECTED_NETWORK_NOISE = re.compile(
    r"Failed to load resource: (net::ERR_INTERNET_DISCONNECTED|net::ERR_CONNECTION_RESET|"
    r"net::ERR_FAILED|the server responded with a status of (500|401|503) )"
)


# --- helpers ----------------------------------------------------------------------------------


def assert_clean(page) -> None:
    """No CSP violation, no uncaught error, no console error but deliberate network failures."""
    assert page.problems.csp_violations() == []
    assert page.problems.page_errors == []
    unexpected = [m for m in page.problems.console_errors if not EXPECTED_NETWORK_NOISE.search(m)]
    assert unexpected == []


def start_controlled(page, username: str = "worker1") -> None:
    """Log in and wait until the service worker controls the page (it installs on the first
    page, precaches the shell, and claims the open pages)."""
    log_in(page, username)
    wait_until(page, "navigator.serviceWorker.controller !== null", timeout=60)


def outbox(page) -> list[dict]:
    return page.evaluate(
        "GridOutbox.all().then(items => items.map(i => ({op_id: i.op_id, type: i.op.type,"
        " record_id: i.op.record_id, state: i.state, attempts: i.attempts, error: i.error})))"
    )


def counter(page):
    return page.locator("[data-outbox-count]")


def wait_until_synced(page) -> None:
    """The counter starts hidden on every page, so its being hidden proves nothing right after a
    navigation; the outbox itself is the truth."""
    wait_until(page, "GridOutbox.all().then(items => items.length === 0)", timeout=30)
    expect(counter(page)).to_be_hidden()


def worker_grid_ids(e2e_db, username: str) -> set[int]:
    user = e2e_db.scalar(select(User).where(User.username == username))
    return set(compute_scope(user, roles=[Role.GRID_WORKER]).grid_ids)


def cared_for_resident(e2e_db, username: str = "worker1") -> Resident:
    """A resident of the worker's grid whose household page offers "探访"."""
    e2e_db.rollback()
    return e2e_db.scalars(
        select(Resident)
        .where(
            Resident.grid_id.in_(worker_grid_ids(e2e_db, username)),
            Resident.moved_out.is_(False),
            Resident.living_alone.is_(True),
        )
        .order_by(Resident.id)
    ).first()


def assert_each_stored_once(e2e_db, items: list[dict]) -> None:
    e2e_db.rollback()
    for item in items:
        model = MODELS[item["type"]]
        record_id = uuid.UUID(item["record_id"])
        assert e2e_db.scalar(select(func.count()).where(model.id == record_id)) == 1, item
        op_id = uuid.UUID(item["op_id"])
        assert e2e_db.scalar(select(func.count()).where(OpLog.op_id == op_id)) == 1, item


def assert_not_stored(e2e_db, items: list[dict]) -> None:
    e2e_db.rollback()
    for item in items:
        model = MODELS[item["type"]]
        assert (
            e2e_db.scalar(select(func.count()).where(model.id == uuid.UUID(item["record_id"]))) == 0
        )


def open_household(page, resident: Resident) -> str:
    """Walk there the way a worker does: my grid → the grid → the building → the room."""
    household = resident.household
    page.goto("/grid")
    page.locator(".grid-work h2 a").first.click()
    page.click(f"a[href='/buildings/{household.building_id}']")
    page.click(f"a[href='/households/{household.id}']")
    page.wait_for_url(f"**/households/{household.id}")
    return page.url


def log_visit(page, household_url: str, notes: str = "入户了解近况", photo=None) -> None:
    page.get_by_role("link", name="记录走访", exact=True).click()
    page.get_by_text("日常走访").click()
    page.fill("#notes", notes)
    if photo:
        page.set_input_files("#photos", str(photo))
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)


def log_dispute(page, household_url: str) -> None:
    page.get_by_role("link", name="矛盾纠纷", exact=True).click()
    page.select_option("#category", "neighbour")
    page.locator("input[name=party_name]").first.fill("李四")
    page.fill("#summary", "楼道堆物引起邻里争执，已现场劝解")
    page.get_by_text("已当场化解").click()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)


def log_elderly_check(page, household_url: str, resident: Resident) -> None:
    page.click(f"a[href='/residents/{resident.id}/check']")
    page.get_by_text("情况良好").click()
    page.fill("#health_notes", "精神不错，按时服药")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)


def wait_for_copy(page) -> None:
    """The download starts by itself after login; it is done when the pull has no more."""
    wait_until(page, "window.GridStore && GridStore.meta().then(m => m.complete === true)", 60)


def visit_pages_online(page, household_url: str, kinds=("visit",)) -> None:
    """Open the pages once online, as a worker does before the basement, and let the phone's copy
    of the grid finish downloading: offline, the forms are rendered from that copy."""
    for kind in kinds:
        page.goto(f"{household_url}/new/{kind}")
    page.goto(household_url)
    wait_for_copy(page)


# --- the field day ------------------------------------------------------------------------------


def test_records_made_offline_wait_and_each_lands_once_when_back_online(
    phone, e2e_db, screenshot, tmp_path
):
    page = phone
    start_controlled(page)
    # The phone's copy of the grid downloads by itself after login (DESIGN.md §5).
    status = page.locator("[data-download-status]")
    expect(status).to_contain_text("上次更新：", timeout=60_000)
    expect(page.locator("[data-copy-counts]")).to_contain_text("户 · ")
    screenshot(page, "offline-download-done-360x740")

    resident = cared_for_resident(e2e_db)
    page.context.set_offline(True)
    household_url = open_household(page, resident)  # every page from the downloaded copy

    photo = tmp_path / "doorway.jpg"
    Image.new("RGB", (640, 480), (90, 120, 160)).save(photo, "JPEG")
    log_visit(page, household_url, photo=photo)  # the photo waits in IndexedDB as a Blob
    expect(page.locator(".flashes")).to_contain_text(SAVED_OFFLINE)
    expect(counter(page)).to_have_text("1 条待同步")
    log_dispute(page, household_url)
    log_elderly_check(page, household_url, resident)
    expect(counter(page)).to_have_text("3 条待同步")
    screenshot(page, "offline-household-3-waiting-360x740")

    page.reload()  # still no signal: the service worker opens the app
    expect(page.locator("h1")).to_have_text(resident.household.address)
    expect(counter(page)).to_have_text("3 条待同步")
    items = outbox(page)
    assert sorted(item["type"] for item in items) == [
        "dispute.create",
        "elderly_check.create",
        "visit.create",
    ]
    assert {item["state"] for item in items} == {"pending"}
    page.goto("/outbox")
    expect(page.locator(".outbox-item")).to_have_count(3)
    screenshot(page, "offline-outbox-page-360x740")
    assert_not_stored(e2e_db, items)

    page.context.set_offline(False)
    expect(counter(page)).to_be_hidden(timeout=30_000)
    expect(page.locator("[data-outbox-empty]")).to_be_visible()
    assert outbox(page) == []
    assert_each_stored_once(e2e_db, items)
    visit_id = next(uuid.UUID(i["record_id"]) for i in items if i["type"] == "visit.create")
    (photo_id,) = e2e_db.get(Visit, visit_id).photo_ids
    assert e2e_db.get(Attachment, uuid.UUID(photo_id)).grid_id == resident.grid_id
    assert_clean(page)


def test_a_page_never_downloaded_shows_the_offline_page_in_chinese(phone, screenshot):
    start_controlled(phone)
    phone.context.set_offline(True)
    # A record's own page is not among the field pages the phone renders from its copy.
    phone.goto("/records/visit/00000000-0000-4000-8000-000000000000")
    expect(phone.locator("h1")).to_have_text("没有网络")
    expect(phone.locator("main")).to_contain_text("当前离线，这个页面还没有下载到本机")
    expect(phone.get_by_role("link", name="我的网格")).to_be_visible()
    expect(phone.get_by_role("link", name="待同步")).to_be_visible()
    screenshot(phone, "offline-page-360x740")
    phone.context.set_offline(False)
    assert_clean(phone)


def test_an_expired_login_keeps_every_item_until_the_worker_logs_in_again(
    phone, e2e_db, screenshot
):
    page = phone
    start_controlled(page)
    resident = cared_for_resident(e2e_db)
    household_url = open_household(page, resident)
    visit_pages_online(page, household_url, kinds=("visit", "hazard"))

    page.context.set_offline(True)
    log_visit(page, household_url, notes="断网时记录的走访")
    page.get_by_role("link", name="安全隐患", exact=True).click()
    page.fill("#place", "1单元楼道")
    page.select_option("#category", "fire")
    page.fill("#description", "楼道里给电动车电池充电")
    page.get_by_text("已当场整改").click()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    items = outbox(page)
    assert len(items) == 2

    # Meanwhile the login ends on the server (revoked, as an expiry or a logout elsewhere would).
    user_id = e2e_db.scalar(select(User.id).where(User.username == "worker1"))
    e2e_db.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    e2e_db.commit()

    page.context.set_offline(False)
    banner = page.locator("[data-auth-banner]")
    expect(banner).to_be_visible(timeout=30_000)
    expect(banner).to_contain_text("登录已过期，请重新登录，待同步的记录不会丢失")
    screenshot(page, "offline-login-expired-360x740")
    assert len(outbox(page)) == 2
    assert_not_stored(e2e_db, items)

    banner.get_by_role("link", name="重新登录").click()
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", "worker1")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(household_url)  # back where they were
    wait_until_synced(page)
    expect(banner).to_be_hidden()
    assert_each_stored_once(e2e_db, items)
    assert_clean(page)


def test_a_new_app_version_installs_while_items_wait_and_loses_none(
    phone, e2e_db, live_app, screenshot
):
    page = phone
    start_controlled(page)
    resident = cared_for_resident(e2e_db)
    household_url = open_household(page, resident)
    visit_pages_online(page, household_url)
    first_shell = page.evaluate("caches.keys()")

    page.route(PUSH, lambda route: route.fulfill(status=503, json={"error": {"code": "busy"}}))
    log_visit(page, household_url, notes="等待新版本时保存的走访")
    expect(page.locator(".flashes")).to_contain_text(SAVED_OFFLINE)
    items = outbox(page)
    assert [item["state"] for item in items] == ["failed"]

    live_app.config["SW_VERSION_SALT"] = f"deploy-{uuid.uuid4().hex}"
    try:
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        update_banner = page.locator("[data-update-banner]")
        expect(update_banner).to_be_visible(timeout=30_000)
        expect(update_banner).to_have_text("有新版本，点击更新")
        screenshot(page, "offline-update-banner-360x740")
        assert len(outbox(page)) == 1  # installed and waiting: nothing touched yet

        with page.expect_event("load"):
            update_banner.get_by_role("button").click()  # activates, then the page reloads
        wait_until(page, "navigator.serviceWorker.controller !== null")
        shells = [name for name in page.evaluate("caches.keys()") if "shell" in name]
        assert len(shells) == 1 and shells[0] not in first_shell  # the old shell was deleted
        assert [item["op_id"] for item in outbox(page)] == [items[0]["op_id"]]
    finally:
        live_app.config.pop("SW_VERSION_SALT", None)

    page.unroute(PUSH)
    page.goto("/outbox")
    page.get_by_role("button", name="立即同步").click()
    expect(counter(page)).to_be_hidden(timeout=30_000)
    assert_each_stored_once(e2e_db, items)
    assert_clean(page)


def test_a_500_a_401_and_a_reset_connection_keep_the_item_until_it_lands(phone, e2e_db, screenshot):
    page = phone
    start_controlled(page)
    resident = cared_for_resident(e2e_db)
    household_url = open_household(page, resident)
    visit_pages_online(page, household_url)

    answers = iter(["500", "401", "reset"])
    pushes = []

    def flaky_server(route):
        answer = next(answers, "continue")
        pushes.append(answer)
        if answer == "500":
            route.fulfill(status=500, json={"error": {"code": "500", "message": ""}})
        elif answer == "401":
            route.fulfill(status=401, json={"error": {"code": "unauthenticated"}})
        elif answer == "reset":
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(PUSH, flaky_server)
    log_visit(page, household_url, notes="服务器出错时保存的走访")
    expect(page.locator(".flashes")).to_contain_text(SAVED_OFFLINE)
    items = outbox(page)
    assert pushes == ["500"] and items[0]["state"] == "failed"

    page.goto("/outbox")
    item = page.locator(".outbox-item")
    expect(item).to_contain_text("服务器出错（500）")
    expect(item).to_contain_text("发送失败，稍后自动重试")
    screenshot(page, "offline-outbox-failed-360x740")

    sync_now = page.get_by_role("button", name="立即同步")
    sync_now.click()
    expect(page.locator("[data-auth-banner]")).to_be_visible()
    assert pushes == ["500", "401"]
    assert [i["state"] for i in outbox(page)] == ["pending"]  # a 401 is not the item's fault

    sync_now.click()
    expect(item).to_contain_text("无法连接服务器")
    assert pushes == ["500", "401", "reset"]
    assert [i["state"] for i in outbox(page)] == ["failed"]
    assert_not_stored(e2e_db, items)

    sync_now.click()
    expect(counter(page)).to_be_hidden(timeout=30_000)
    expect(page.locator("[data-auth-banner]")).to_be_hidden()
    assert pushes == ["500", "401", "reset", "continue"]
    assert_each_stored_once(e2e_db, items)
    assert_clean(page)


def test_a_returned_record_is_fixed_and_resubmitted_without_blocking_the_others(
    phone, e2e_db, screenshot
):
    page = phone
    start_controlled(page)
    resident = cared_for_resident(e2e_db)
    household_url = open_household(page, resident)
    visit_pages_online(page, household_url, kinds=("visit", "dispute"))

    page.context.set_offline(True)
    # A phone whose clock is two days ahead: the server refuses a visit "in the future".
    page.get_by_role("link", name="记录走访", exact=True).click()
    future = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#visited_at", future)
    page.fill("#notes", "时间填错的走访")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    log_dispute(page, household_url)
    bad, good = sorted(outbox(page), key=lambda i: i["type"] != "visit.create")

    page.context.set_offline(False)
    page.goto("/outbox")
    returned = page.locator(".outbox-item.state-rejected")
    expect(returned).to_contain_text("被退回，需要处理", timeout=30_000)
    expect(page.locator(".outbox-item")).to_have_count(1)  # the dispute went through
    assert_each_stored_once(e2e_db, [good])
    screenshot(page, "offline-outbox-returned-360x740")

    returned.get_by_role("button", name="修改后重新提交").click()
    page.wait_for_url(f"{household_url}/new/visit")
    expect(page.locator(".notice")).to_contain_text("正在修改被退回的记录")
    assert page.input_value("#notes") == "时间填错的走访"
    screenshot(page, "offline-resubmit-form-360x740")
    page.fill("#visited_at", datetime.now().strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    expect(page.locator(".flashes")).to_contain_text("已保存：入户走访")
    expect(counter(page)).to_be_hidden()
    assert outbox(page) == []
    assert_not_stored(e2e_db, [bad])
    e2e_db.rollback()
    assert e2e_db.scalar(select(func.count()).where(Visit.notes == "时间填错的走访")) == 1
    assert_clean(page)


def test_a_profile_edit_goes_through_the_outbox_and_a_conflict_is_edited_again(phone, e2e_db):
    page = phone
    start_controlled(page)
    e2e_db.rollback()
    household = e2e_db.scalars(
        select(Household)
        .where(Household.grid_id.in_(worker_grid_ids(e2e_db, "worker1")))
        .order_by(Household.id.desc())
    ).first()
    version = household.version
    page.goto(f"/households/{household.id}")
    page.click(f"a[href='/households/{household.id}/edit']")
    page.check("input[name=occupancy][value=rented_out]")
    page.fill("#notes", "房东已出租给新租户")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"**/households/{household.id}")
    expect(page.locator(".flashes")).to_contain_text("已保存。")
    e2e_db.refresh(household)
    assert (household.occupancy, household.notes) == ("rented_out", "房东已出租给新租户")
    assert household.version == version + 1

    page.click(f"a[href='/households/{household.id}/edit']")
    # Someone else saves first.
    e2e_db.execute(
        update(Household)
        .where(Household.id == household.id)
        .values(version=Household.version + 1, notes="社区核实：租户姓王")
    )
    e2e_db.commit()
    page.fill("#notes", "租户两人，已登记")
    page.get_by_role("button", name="保存").click()
    alert = page.locator("p.alert")
    expect(alert).to_contain_text("有人修改了这份信息")
    assert len(outbox(page)) == 1  # kept, returned, until the worker decides

    alert.get_by_role("button", name="重新编辑").click()
    expect(page.locator(".notice")).to_contain_text("正在修改被退回的记录")
    assert page.input_value("#notes") == "租户两人，已登记"  # the worker's words on the new version
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"**/households/{household.id}")
    wait_until_synced(page)
    e2e_db.rollback()
    e2e_db.refresh(household)
    assert household.notes == "租户两人，已登记"
    assert household.version == version + 3
    assert_clean(page)


def test_logout_wipes_the_phone_and_the_next_worker_sees_nothing(phone, e2e_db, screenshot):
    page = phone
    start_controlled(page)
    resident = cared_for_resident(e2e_db)
    household_url = open_household(page, resident)
    visit_pages_online(page, household_url)
    page.route(PUSH, lambda route: route.fulfill(status=503, json={"error": {"code": "busy"}}))
    log_visit(page, household_url, notes="退出前没同步的走访")
    items = outbox(page)
    assert len(items) == 1

    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.click("form.logout button")
    page.wait_for_url("**/login")
    assert questions == ["还有1条记录未同步，退出将删除这些记录。确定退出？"]
    assert [n for n in page.evaluate("caches.keys()") if n.startswith("gridrounds")] == []
    # The outbox, its bookkeeping and the copy of the grid (a deletion may finish just after the
    # last connection to it closes, as the old page unloads).
    wait_until(
        page,
        "indexedDB.databases().then(list => !list.some(d => ['gridrounds', 'gridrounds-meta',"
        " 'gridrounds-copy'].includes(d.name)))",
        timeout=10,
    )
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('gridrounds'))") == []

    log_in(page, "worker2")
    expect(counter(page)).to_be_hidden()
    page.goto("/outbox")
    expect(page.locator("[data-outbox-empty]")).to_be_visible()
    page.context.set_offline(True)
    page.goto(household_url)  # worker1's household, opened on this phone before
    # worker2's copy of the grid holds nothing of worker1's: the app says so, in Chinese.
    expect(page.locator("h1")).to_have_text("本机没有这一页")
    assert resident.household.address not in page.content()
    page.context.set_offline(False)
    page.unroute(PUSH)
    assert_not_stored(e2e_db, items)  # discarded at logout, as the worker confirmed

    # Nothing waiting: the logout goes at once and the service worker wipes the phone behind it.
    page.goto("/grid")
    page.click("form.logout button")
    page.wait_for_url("**/login")
    wait_until(page, "caches.keys().then(names => !names.some(n => n.startsWith('gridrounds')))")
    wait_until(
        page,
        "indexedDB.databases().then(list => !list.some(d => d.name.startsWith('gridrounds')))",
    )
    assert_clean(page)


@pytest.mark.parametrize("path", ["/offline", "/outbox"])
def test_offline_pages_fit_the_phone(phone, path):
    start_controlled(phone)
    phone.goto(path)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert_clean(phone)
