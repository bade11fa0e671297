"""The server process's collector settings (webapp/gc_tuning.py): read from GC_THRESHOLD, applied
once per process by create_app."""

from __future__ import annotations

import gc

import pytest

from webapp import gc_tuning


def test_threshold_defaults_and_can_be_given_or_left_to_cpython():
    assert gc_tuning.parse_threshold(None) == gc_tuning.DEFAULT_THRESHOLD
    assert gc_tuning.parse_threshold("") == gc_tuning.DEFAULT_THRESHOLD
    assert gc_tuning.parse_threshold("20000,10,10") == (20000, 10, 10)
    assert gc_tuning.parse_threshold("default") is None


@pytest.mark.parametrize("value", ["50000", "0,10,10", "a,b,c", "1,2,3,4"])
def test_a_threshold_that_is_not_three_positive_numbers_is_refused(value):
    with pytest.raises(ValueError):
        gc_tuning.parse_threshold(value)


def test_an_app_built_in_this_process_has_tuned_the_collector(app):
    assert gc.get_threshold() == gc_tuning.DEFAULT_THRESHOLD
    assert gc.get_freeze_count() > 0
