"""The 公示 guard is not bypassed (issue 10): numbers written with hyphens, dots, slashes,
spaces, groups of four, full-width digits or zero-width characters are read joined; titles are
scanned; the text of PDF attachments is scanned; a PDF the guard cannot read (encrypted,
broken, too big) is refused at upload with a clear message, never a 500."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from tests.integration.notices_world import (  # noqa: F401
    RESIDENT_ID,
    action,
    csrf,
    notice_form,
    signed_in,
    world,
)
from tests.integration.pdf_samples import blank_pdf, encrypted_pdf, text_pdf
from webapp.notices import files
from webapp.notices.guard import Kind, scan_notice, scan_text

TODAY = date(2026, 11, 21)
VALID_ID = "110101199003071233"


def kinds(text: str) -> list[str]:
    return [finding.kind for finding in scan_text("body", text, [], TODAY)]


@pytest.mark.parametrize(
    "written",
    [
        "110101-19900307-1233",
        "110101.19900307.1233",
        "110101 1990 0307 1233",
        "1101 0119 9003 0712 33",  # groups of four
        "11 01 01 19 90 03 07 12 33",
        "110101/19900307/1233",
        "110101\u200b19900307\u200b1233",  # zero-width spaces
        "1101\u20600119\ufeff9003\u00ad071233",  # word joiner, BOM, soft hyphen
        "１１０１０１－１９９００３０７－１２３３",  # full-width digits and hyphen
        "１１０１０１．１９９００３０７．１２３３",
    ],
)
def test_an_id_number_in_disguise_is_found(written):
    findings = scan_text("body", f"张三明 身份证 {written} 住3号楼", [], TODAY)
    assert [f.kind for f in findings] == [Kind.ID_NUMBER]
    assert findings[0].masked == "1101**********1233"
    # The span is the number as written, so the warning can point at it.
    text = f"张三明 身份证 {written} 住3号楼"
    assert text[findings[0].start : findings[0].end] == written


@pytest.mark.parametrize(
    "written",
    [
        "138.1234.5678",
        "138/1234/5678",
        "138 1234 5678",
        "138-1234-5678",
        "138 - 1234 - 5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "+86.138.1234.5678",
        "138·1234·5678",
        "138\u200b1234\u200b5678",
        "１３８．１２３４．５６７８",
        "1 3 8 1 2 3 4 5 6 7 8",
    ],
)
def test_a_mobile_number_in_disguise_is_found(written):
    findings = scan_text("body", f"联系电话：{written}。", [], TODAY)
    assert [(f.kind, f.masked) for f in findings] == [(Kind.MOBILE, "138****5678")]


def test_a_mobile_next_to_another_number_is_still_found():
    assert kinds("序号 1 13812345678 张三明") == [Kind.MOBILE]


@pytest.mark.parametrize("written", ["6222.0212.3456.7894", "6222/0212/3456/7894"])
def test_a_bank_card_in_groups_of_four_with_dots_or_slashes_is_found(written):
    assert kinds(f"卡号{written}") == [Kind.BANK_CARD]


@pytest.mark.parametrize(
    "text",
    [
        "2026.11.21 9:00-17:00",
        "027-87654321",
        "第1、2、3号楼",
        "补助1,380.00元",
        "案件编号AJ20261121-0001",
        "0 1 2 3 4 5 6 7 8 9 1 2 3 4 5 6",
        "2026/11/21 - 2026/11/28",
    ],
)
def test_ordinary_numbers_written_with_separators_still_pass(text):
    assert kinds(text) == []


def test_a_published_work_phone_written_with_dots_is_still_allowed():
    assert scan_text("body", "网格员电话139.1111.2222", ["13911112222"], TODAY) == []


def test_a_title_in_disguise_is_scanned():
    findings = scan_notice("张三明138.1234.5678低保公示", "正文", [], [], TODAY)
    assert [(f.field, f.kind) for f in findings] == [("title", Kind.MOBILE)]


def test_the_text_of_a_pdf_is_scanned():
    findings = scan_notice(
        "低保公示",
        "名单见附件。",
        ["名单.pdf"],
        [],
        TODAY,
        file_texts=[("名单.pdf", "1 Zhang 110101-19900307-1233 138.1234.5678")],
    )
    assert [(f.field, f.kind) for f in findings] == [
        ("file:名单.pdf", Kind.ID_NUMBER),
        ("file:名单.pdf", Kind.MOBILE),
    ]


def test_pdf_text_reads_a_real_pdf():
    text = files.pdf_text(text_pdf("No. 1  ID 110101-19900307-1233"), "名单.pdf")
    assert "110101-19900307-1233" in text


# --- through the notice pages ------------------------------------------------------------------


def upload(client, world, content: bytes, name: str):  # noqa: F811
    data = notice_form(community_ids=[str(world.communities["C1"].id)])
    data["csrf_token"] = csrf(client)
    data["attachments"] = [(io.BytesIO(content), name)]
    return client.post("/notices/new", data=data, content_type="multipart/form-data")


def test_publishing_is_refused_for_a_pdf_listing_an_id_number(world, signed_in):  # noqa: F811
    client = signed_in("staff_c1")
    pdf = text_pdf("Low-income list", f"1  Zhang San  {RESIDENT_ID[:6]}-{RESIDENT_ID[6:]}")
    created = upload(client, world, pdf, "名单.pdf")
    assert created.status_code == 303
    notice_id = int(re.search(r"/notices/(\d+)$", created.headers["Location"]).group(1))

    response = action(client, notice_id, "publish")

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-kind="id_number" data-field="file:名单.pdf"' in page
    assert RESIDENT_ID not in page


def test_publishing_a_clean_pdf_works(world, signed_in):  # noqa: F811
    client = signed_in("staff_c1")
    created = upload(client, world, text_pdf("Water off 9:00-17:00, 2026-11-21"), "通知.pdf")
    notice_id = int(re.search(r"/notices/(\d+)$", created.headers["Location"]).group(1))
    assert action(client, notice_id, "publish").status_code == 303


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (encrypted_pdf(), "密码"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\nthis is not a PDF body at all\n", "无法读取"),
        (blank_pdf(files.MAX_PDF_PAGES + 1), str(files.MAX_PDF_PAGES)),
    ],
    ids=["encrypted", "broken", "too-many-pages"],
)
def test_a_pdf_the_guard_cannot_read_is_refused_at_upload(world, signed_in, content, says):  # noqa: F811
    client = signed_in("staff_c1")
    response = upload(client, world, content, "名单.pdf")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="attachments-error"' in page and says in page
