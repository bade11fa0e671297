"""Masking, for any input (DESIGN.md §7): never raises, and shows at most what the rule allows —
ID numbers at most 4 leading and 4 trailing characters, phones at most 3 + 4 (4 when short),
names at most the first and last character. The masking table (webapp/privacy.py) is total and
hides everything from the public except masked 公示 names."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.masking import mask_id_number, mask_name, mask_phone
from webapp.privacy import (
    FIELDS,
    HIDDEN,
    MASKING_TABLE,
    PUBLIC_VIEWER,
    REVEALABLE,
    Relation,
    Shown,
    Viewer,
    shown_value,
)

# Anything a form or an import might carry: digits, letters, CJK, whitespace, surrogate-free
# unicode, and ID-number-like strings.
ANY_TEXT = st.one_of(
    st.text(),
    st.from_regex(r"\s*[0-9]{6,20}[0-9Xx]?\s*", fullmatch=True),
    st.text(alphabet="张王李欧阳小明三*-. 0123456789Xx\u200b", max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_an_id_number_shows_at_most_four_leading_and_four_trailing_characters(raw):
    masked = mask_id_number(raw)
    original = raw.strip()
    assert len(masked) == len(original)
    shown = {i for i, ch in enumerate(masked) if ch != "*"}
    assert all(i < 4 or i >= len(original) - 4 for i in shown)
    assert len(shown) <= 8
    assert all(masked[i] == original[i] for i in shown)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_a_phone_shows_at_most_seven_characters_and_four_when_short(raw):
    masked = mask_phone(raw)
    original = raw.strip()
    assert len(masked) == len(original)
    shown = {i for i, ch in enumerate(masked) if ch != "*"}
    assert len(shown) <= (7 if len(original) >= 11 else 4)
    assert all(masked[i] == original[i] for i in shown)
    if 4 < len(original) < 11:
        assert all(i >= len(original) - 4 for i in shown)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_a_name_shows_at_most_its_first_and_last_character(raw):
    masked = mask_name(raw)
    original = raw.strip()
    assert len(masked) == len(original)
    shown = {i for i, ch in enumerate(masked) if ch != "*"}
    if len(original) >= 2:
        assert shown <= {0, len(original) - 1}


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    value=st.one_of(st.none(), ANY_TEXT, st.integers()),
    shown=st.sampled_from(list(Shown)),
)
def test_showing_any_value_never_raises_and_hidden_is_empty(field, value, shown):
    out = shown_value(value, field, shown)
    assert isinstance(out, str)
    if shown is HIDDEN:
        assert out == ""


@settings(max_examples=200, deadline=None)
@given(
    worker=st.frozensets(st.integers(1, 20), max_size=5),
    community=st.frozensets(st.integers(1, 20), max_size=5),
    staff=st.frozensets(st.integers(1, 20), max_size=5),
    everything=st.booleans(),
    grid_id=st.one_of(st.none(), st.integers(-5, 30)),
    field=st.sampled_from(FIELDS),
)
def test_the_closest_relation_wins_and_nothing_outside_any_scope_is_shown(
    worker, community, staff, everything, grid_id, field
):
    viewer = Viewer(worker, community, staff, everything)
    relation = viewer.relation(grid_id)
    if grid_id in worker:
        assert relation is Relation.RESPONSIBLE_WORKER
    elif grid_id in community:
        assert relation is Relation.COMMUNITY_STAFF
    elif grid_id in staff or everything:
        assert relation is Relation.WIDER_STAFF
    else:
        assert relation is Relation.PUBLIC
        assert viewer.show(field, "13812345678", grid_id) in ("", mask_name("13812345678"))
    # A reveal is only ever offered for a field the viewer does not already see in full.
    if viewer.may_reveal(field, grid_id):
        assert not viewer.sees_in_full(field, grid_id)


def test_the_table_covers_every_relation_and_field_and_ids_are_never_full():
    for relation in Relation:
        assert set(MASKING_TABLE[relation]) == set(FIELDS)
        assert MASKING_TABLE[relation]["id_number"] is not Shown.FULL
        assert MASKING_TABLE[relation]["publicity_name"] is Shown.MASKED
        assert relation in REVEALABLE
    assert all(PUBLIC_VIEWER.shown(f, 1) is HIDDEN for f in ("name", "phone", "id_number"))
