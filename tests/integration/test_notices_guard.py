"""The publishing guard (DESIGN.md §6): ID numbers, residents' mobile numbers and bank card
numbers stop a notice, with where they are; the long numbers notices legitimately hold pass."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.notices import guard
from webapp.notices.guard import Kind, scan_notice, scan_text

TODAY = date(2026, 11, 21)
VALID_ID = "110101199003071233"
VALID_ID_X = "44030619851220000X"
CARD_16 = "6222021234567894"
CARD_19 = "6228480012345678911"
WORK_PHONE = "13911112222"


def kinds(text: str, allowed=()) -> list[str]:
    return [finding.kind for finding in scan_text("body", text, allowed, TODAY)]


@pytest.mark.parametrize(
    "text",
    [
        f"身份证号：{VALID_ID}。",
        f"身份证号{VALID_ID_X}",
        f"身份证号{VALID_ID_X.lower()}",
        "身份证 110101 19900307 1233",
        "身份证号１１０１０１１９９００３０７１２３３",  # full-width digits
        "老身份证110101900307123",  # 15 digits, 1990-03-07
    ],
)
def test_an_id_number_is_blocked(text):
    assert kinds(text) == [Kind.ID_NUMBER]


@pytest.mark.parametrize(
    "text",
    [
        "订单号110101199003071234",  # ID-shaped, wrong check digit, fails Luhn too
        "流水号202611210000000000",  # 18 digits: no province 20, fails Luhn
        "编号110101901307123",  # 15 digits, month 13
        "编号990101199003071233",  # no province 99
    ],
)
def test_a_number_failing_the_id_rules_is_not_an_id(text):
    assert kinds(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "联系电话13812345678",
        "联系电话：138-1234-5678",
        "联系电话 138 1234 5678",
        "Tel: +86 138 1234 5678",
        "手机8613812345678",
        "电话１３８１２３４５６７８",
    ],
)
def test_a_residents_mobile_number_is_blocked(text):
    assert kinds(text) == [Kind.MOBILE]


def test_a_mobile_inside_a_longer_digit_run_is_not_a_mobile():
    assert kinds("单号2026113812345678900") == []  # 19 digits, fails Luhn


def test_a_published_work_phone_is_allowed():
    assert kinds(f"请联系网格员宋海波，电话{WORK_PHONE}", allowed=[WORK_PHONE]) == []
    assert kinds("请联系网格员，电话139-1111-2222", allowed=[WORK_PHONE]) == []
    assert kinds(f"网格员{WORK_PHONE}，居民13812345678", allowed=[WORK_PHONE]) == [Kind.MOBILE]


def test_a_community_office_mobile_is_allowed():
    assert kinds("社区值班手机 13700001111", allowed=["137-0000-1111"]) == []


@pytest.mark.parametrize(
    "text",
    [f"卡号{CARD_16}", f"卡号{CARD_19}", "卡号 6222 0212 3456 7894", "卡号6222-0212-3456-7894"],
)
def test_a_bank_card_number_is_blocked(text):
    assert kinds(text) == [Kind.BANK_CARD]


def test_a_card_shaped_number_failing_luhn_is_not_a_card():
    assert kinds("卡号6222021234567895") == []


@pytest.mark.parametrize(
    "text",
    [
        "案件编号AJ20261121-0001已办结",
        "于20261121完成",
        "咨询电话010-12345678",
        "咨询电话（027）87654321",
        "补助金额1380000元",
        "信用代码91MA01ABCD2X",  # 12 characters, letters and digits
        "统一社会信用代码91350100M000100Y43",
        "统一社会信用代码911101085957489062",  # all digits; passes Luhn, but a valid 信用代码
        "医保服务热线12393，政务热线12345",
        "2026年11月21日9:00-17:00",
    ],
)
def test_numbers_notices_legitimately_hold_pass(text):
    assert kinds(text) == []


def test_a_finding_says_where_and_masks_the_number_and_its_neighbours():
    text = f"第一户：张三明，身份证{VALID_ID}，电话13812345678，住3号楼。"
    findings = scan_text("body", text, [], TODAY)
    assert [f.kind for f in findings] == [Kind.ID_NUMBER, Kind.MOBILE]
    id_finding, phone_finding = findings
    assert id_finding.field == "body"
    assert id_finding.masked == "1101**********1233"
    assert text[id_finding.start : id_finding.end] == VALID_ID
    assert phone_finding.masked == "138****5678"
    # Neither excerpt repeats either number in full.
    for finding in findings:
        excerpt = finding.before + finding.masked + finding.after
        assert VALID_ID not in excerpt and "13812345678" not in excerpt
    assert "身份证" in id_finding.before and "电话" in id_finding.after


def test_title_and_file_names_are_scanned_too():
    findings = scan_notice(
        "张三明13812345678低保公示",
        "正文",
        ["名单.pdf", f"{VALID_ID}.jpg"],
        [],
        TODAY,
    )
    assert [(f.field, f.kind) for f in findings] == [
        ("title", Kind.MOBILE),
        ("file:1101**********1233.jpg", Kind.ID_NUMBER),
    ]


def test_birth_dates_in_the_future_are_not_ids():
    future = "11010120301231001"
    assert not guard.is_id_number_18(future + guard.id_check_char(future), TODAY)
