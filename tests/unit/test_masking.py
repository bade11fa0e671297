import pytest

from webapp.masking import mask_id_number, mask_name, mask_phone


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("张三明", "张*明"), ("张三", "张*"), ("欧阳小明", "欧**明"), ("李", "李"), ("", "")],
)
def test_names_keep_first_and_last_character(raw, masked):
    assert mask_name(raw) == masked


def test_mobile_numbers_keep_three_leading_and_four_trailing_digits():
    assert mask_phone("13812345678") == "138****5678"


def test_short_phone_numbers_show_at_most_the_last_four_digits():
    assert mask_phone("87654321") == "****4321"
    assert mask_phone("123") == "***"


def test_id_numbers_show_at_most_four_characters_each_side():
    assert mask_id_number("110101199003071234") == "1101**********1234"
    assert mask_id_number("11010119900307123X") == "1101**********123X"
    assert mask_id_number("1234567") == "*******"
