"""A grid worker logs in on a 360×740 phone and lands on 我的网格, in Chinese, with no CSP
violations and no console errors."""

import re

import pytest

from tests.e2e.conftest import log_in


def test_worker_logs_in_on_a_phone_and_sees_my_grid(phone, screenshot):
    log_in(phone, "worker1")
    assert re.search(r"/grid$", phone.url)
    assert phone.locator("h1").inner_text() == "我的网格"
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    assert phone.locator(".grid-work").count() == 1  # one grid: its quick records and buildings
    screenshot(phone, "worker1-home-360x740")
    phone.problems.assert_clean()


def test_worker_home_fits_the_phone_without_sideways_scrolling(phone):
    log_in(phone, "worker1")
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360


@pytest.mark.parametrize(
    ("username", "path", "heading"),
    [
        ("street1", "/cases/triage", "分拨台"),
        ("community1", "/community", None),  # the community's own name
        ("admin", "/admin/org", "组织架构"),
    ],
)
def test_each_demo_account_lands_on_its_home(phone, username, path, heading):
    log_in(phone, username)
    assert phone.url.endswith(path)
    if heading:
        assert phone.locator("h1").inner_text() == heading
    else:
        assert phone.locator("h1").inner_text().endswith("社区")
    phone.problems.assert_clean()


def test_wrong_password_shows_a_chinese_error(phone):
    log_in(phone, "worker1", "wrong-password")
    assert phone.locator("[role=alert]").inner_text() == "用户名或密码错误。"
    phone.problems.assert_clean()


def test_logout_returns_to_login_and_the_home_page_is_closed(phone):
    log_in(phone, "worker1")
    phone.click("form.logout button")
    phone.wait_for_load_state("networkidle")
    assert phone.url.endswith("/login")
    phone.goto("/grid")
    assert "/login" in phone.url
