"""The import and account pages on a 360×740 phone: one-line header, main action first."""

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_community_staff_find_the_import_and_get_the_template(phone, screenshot):
    log_in(phone, "community1")
    phone.get_by_role("link", name="导入台账").first.click()
    expect(phone.locator("h1")).to_have_text("导入台账")
    header = phone.locator("header.topbar").bounding_box()
    assert header["height"] <= 64, "the header wraps onto a second line"
    with phone.expect_download() as download:
        phone.get_by_role("link", name="下载模板").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    screenshot(phone, "register-import-360x740")
    assert phone.problems.csp_violations() == []


def test_admin_users_page_fits_a_phone(phone, screenshot):
    log_in(phone, "admin")
    phone.goto("/admin/users")
    expect(phone.locator("h1")).to_have_text("用户管理")
    phone.get_by_text("新建账号").click()
    button = phone.get_by_role("button", name="创建账号").bounding_box()
    assert button["height"] >= 44
    screenshot(phone, "admin-users-360x740")
    phone.goto("/admin/users?q=worker1")
    phone.locator("ul.list li a").first.click()
    expect(phone.get_by_role("button", name="停用（离职、手机丢失）")).to_be_visible()
    screenshot(phone, "admin-user-360x740")
    assert phone.problems.csp_violations() == []
