"""A resident without an account, on a 360×740 phone: picks the community, reads its 公示 with
names masked, and finds the grid worker's phone — each within three taps of the community
board, with no CSP violation. And street1 publishes a notice that then shows on the board."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.e2e.conftest import log_in
from webapp.models import Community, Notice, NoticeCategory, NoticeStatus, Resident
from webapp.notices.publicity import HAN_RUN


def first_community(e2e_db) -> Community:
    e2e_db.rollback()
    return e2e_db.scalar(select(Community).order_by(Community.id))


def no_sideways_scrolling(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_resident_finds_the_publicity_and_the_grid_worker(phone, screenshot, e2e_db):
    community = first_community(e2e_db)
    phone.goto("/public")
    screenshot(phone, "public-choose-360x740")
    # With two streets (the demo's second street), each street's communities fold under it.
    street = phone.locator(f"details.street:has(a[href='/public/c/{community.id}'])")
    if street.count():
        street.locator("summary").click()
    phone.click(f"a[href='/public/c/{community.id}']")
    phone.wait_for_load_state()
    assert phone.url.endswith(f"/public/c/{community.id}")
    assert phone.locator("h1").inner_text() == community.name
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    assert phone.locator(".topbar").count() == 0  # no staff header
    no_sideways_scrolling(phone)
    screenshot(phone, "public-board-360x740")
    board = phone.url

    # 公示: one tap on the category chip, one on the notice.
    phone.click("a.chip[href$='category=publicity']")
    phone.wait_for_load_state()
    phone.locator("ul.board a.item").first.click()
    phone.wait_for_load_state()
    body = phone.locator(".notice-body").inner_text()
    assert "*" in body
    notice_id = int(re.search(r"/public/notices/(\d+)", phone.url).group(1))
    raw = e2e_db.get(Notice, notice_id).body
    resident_names = set(
        e2e_db.scalars(select(Resident.name).where(Resident.name.in_(HAN_RUN.findall(raw))))
    )
    listed = re.findall(r"^\d+ (\S+) ", raw, flags=re.MULTILINE)
    assert listed and set(listed) <= resident_names
    for name in listed:
        assert name not in body
    no_sideways_scrolling(phone)
    screenshot(phone, "public-publicity-360x740")

    # The grid worker: one tap on 找网格员, then search an address (the second tap).
    phone.goto(board)
    phone.click(f"a[href='/public/c/{community.id}/find']")
    phone.wait_for_load_state()
    phone.fill("input[name=q]", "3号楼")
    phone.click("form.search-form button[type=submit]")
    phone.wait_for_load_state()
    call = phone.locator(".grid-answer a[href^='tel:']").first
    assert re.fullmatch(r"tel:1[3-9]\d{9}", call.get_attribute("href"))
    no_sideways_scrolling(phone)
    screenshot(phone, "public-find-360x740")

    phone.goto(f"/public/c/{community.id}/stats")
    assert phone.locator("dl.stats dd").count() == 4
    screenshot(phone, "public-stats-360x740")

    # Remembered: the site opens on this community next time.
    phone.goto("/public")
    assert phone.url.endswith(f"/public/c/{community.id}")
    phone.problems.assert_clean()


def test_the_find_page_answers_an_unknown_address_kindly(phone, screenshot, e2e_db):
    community = first_community(e2e_db)
    phone.goto(f"/public/c/{community.id}/find?q=月亮湾99号楼")
    assert phone.locator(".empty").count() == 1
    assert phone.locator(".empty a[href^='tel:']").count() == 1
    screenshot(phone, "public-find-empty-360x740")
    phone.problems.assert_clean()


def test_street1_publishes_a_notice_that_appears_on_the_public_board(
    phone, browser, live_server, screenshot, e2e_db
):
    community = first_community(e2e_db)
    log_in(phone, "street1")
    phone.goto("/notices/new")
    title = "关于冬季燃气安全检查的通知"
    phone.fill("input[name=title]", title)
    phone.check("input[name=category][value=notice]")
    phone.check("input[name=target][value=street]")
    phone.fill("textarea[name=body]", "12月1日至5日，燃气公司将入户开展安全检查，请居民配合。")
    screenshot(phone, "notices-new-360x740")
    phone.click("button[name=then][value=publish]")
    phone.wait_for_load_state()
    assert re.search(r"/notices/\d+$", phone.url)
    assert phone.locator(".nbadge-published").count() == 1
    screenshot(phone, "notices-published-360x740")
    phone.problems.assert_clean()

    e2e_db.rollback()
    notice = e2e_db.scalar(select(Notice).where(Notice.title == title))
    assert notice.status == NoticeStatus.PUBLISHED and notice.category == NoticeCategory.NOTICE

    resident = browser.new_context(
        base_url=live_server, locale="zh-CN", viewport=phone.viewport_size
    )
    try:
        page = resident.new_page()
        page.goto(f"/public/c/{community.id}")
        assert page.locator("ul.board a.item", has_text=title).count() == 1
    finally:
        resident.close()


def test_the_publishing_guard_shows_where_on_a_phone(phone, screenshot):
    log_in(phone, "street1")
    phone.goto("/notices/new")
    phone.fill("input[name=title]", "失物招领")
    phone.check("input[name=target][value=street]")
    phone.fill(
        "textarea[name=body]", "拾到钱包一个，内有身份证110101199003071233，请失主联系13812345678。"
    )
    phone.click("button[name=then][value=publish]")
    phone.wait_for_load_state()
    assert phone.locator(".guard-blocked li").count() == 2
    assert phone.locator(".guard-blocked mark").first.inner_text() == "1101**********1233"
    no_sideways_scrolling(phone)
    screenshot(phone, "notices-guard-360x740")
    # The refusal is a 422 (the browser logs that status); nothing else may be wrong.
    problems = phone.problems
    assert problems.csp_violations() == [] and problems.page_errors == []
    assert all("422" in message for message in problems.console_errors)


def test_a_board_seen_once_opens_without_signal(phone, e2e_db):
    community = first_community(e2e_db)
    phone.goto(f"/public/c/{community.id}")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()  # now through the service worker, which keeps a copy
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.reload()
    phone.wait_for_load_state("networkidle")
    phone.context.set_offline(True)
    try:
        phone.reload()
        assert phone.locator("h1").inner_text() == community.name
        assert phone.locator("ul.board a.item").count() >= 3
    finally:
        phone.context.set_offline(False)
