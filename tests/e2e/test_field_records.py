"""A grid worker logs each record kind on a 360×740 phone and sees it on the household page."""

import io
import re

import pytest
from PIL import Image

from tests.e2e.conftest import log_in


def first_household_url(page) -> str:
    """Walk the grid the way a worker does: my grid → a building → a household."""
    page.goto("/grid")
    page.locator(".grid-work h2 a").first.click()
    page.locator("ul.list a.row").first.click()
    page.locator("a.room").first.click()
    page.wait_for_load_state("networkidle")
    assert re.search(r"/households/\d+$", page.url)
    return page.url


def photo_file(tmp_path):
    path = tmp_path / "hazard.jpg"
    Image.new("RGB", (800, 600), (200, 80, 40)).save(path, "JPEG")
    return str(path)


@pytest.fixture
def worker_at_household(phone):
    log_in(phone, "worker1")
    household_url = first_household_url(phone)
    return phone, household_url


def test_log_a_visit_and_see_it_on_the_household(worker_at_household, screenshot):
    page, household_url = worker_at_household
    page.get_by_role("link", name="记录走访").click()
    page.get_by_text("日常走访").click()
    page.get_by_text("医疗").click()
    page.fill("#notes", "老人血压偏高，已提醒按时服药")
    screenshot(page, "visit-form-360x740")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    assert "已保存：入户走访" in page.locator(".flashes").inner_text()
    assert "入户走访" in page.locator("ul.records").inner_text()
    page.problems.assert_clean()


def test_log_a_dispute_settled_on_site(worker_at_household):
    page, household_url = worker_at_household
    page.get_by_role("link", name="矛盾纠纷").click()
    page.select_option("#category", "neighbour")
    page.locator("input[name=party_name]").first.fill("张三")
    page.fill("#summary", "楼上装修噪音扰民，双方已协商好施工时间")
    page.get_by_text("已当场化解").click()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    assert "已立案" not in page.locator(".flashes").inner_text()
    assert "邻里纠纷" in page.locator("ul.records").inner_text()
    page.problems.assert_clean()


def test_log_a_hazard_with_a_photo_that_opens_a_case(worker_at_household, tmp_path, screenshot):
    page, household_url = worker_at_household
    page.get_by_role("link", name="安全隐患").click()
    page.fill("#place", "2单元3楼楼道")
    page.select_option("#category", "fire")
    page.get_by_text("严重", exact=True).click()
    page.fill("#description", "楼道内堆放电动车电池充电")
    page.set_input_files("#photos", photo_file(tmp_path))
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(household_url)
    flashes = page.locator(".flashes").inner_text()
    assert "已立案" in flashes
    screenshot(page, "hazard-case-opened-360x740")
    page.locator(".flash-case a").click()
    assert "/cases/" in page.url
    assert "隐患" in page.locator("h1").inner_text()
    page.problems.assert_clean()


def test_log_an_elderly_check_from_the_due_list_and_see_it(phone):
    log_in(phone, "worker1")
    # The home page lists the checks that are due; the first one leads to its household.
    phone.locator(".worklist-items a.item").first.click()
    phone.wait_for_load_state("networkidle")
    household_url = phone.url
    phone.get_by_role("link", name="探访").first.click()
    phone.get_by_text("情况良好").click()
    phone.fill("#health_notes", "精神不错")
    phone.get_by_role("button", name="保存").click()
    phone.wait_for_url(household_url)
    assert "老人探访" in phone.locator("ul.records").inner_text()
    phone.problems.assert_clean()


def test_a_missing_required_field_is_explained_in_chinese(worker_at_household):
    page, _ = worker_at_household
    page.get_by_role("link", name="安全隐患").click()
    page.select_option("#category", "gas")
    # Skip the browser's own check to reach the server's, as an old phone without it would.
    page.evaluate("document.querySelector('form.record-form').noValidate = true")
    page.get_by_role("button", name="保存").click()
    assert "请修改标红的项目" in page.locator("[role=alert]").inner_text()
    assert "此项为必填项" in page.locator("#description-error").inner_text()


def test_photo_bytes_are_never_exif_tagged(worker_at_household, tmp_path):
    page, _ = worker_at_household
    path = tmp_path / "gps.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (320, 240), "blue").save(path, "JPEG", exif=exif.tobytes())
    page.get_by_role("link", name="记录走访").click()
    page.set_input_files("#photos", str(path))
    page.get_by_role("button", name="保存").click()
    page.locator(".flashes a.record-link").click()
    image_url = page.locator(".photos img").first.get_attribute("src")
    body = page.request.get(image_url).body()
    assert Image.open(io.BytesIO(body)).getexif() == {}
