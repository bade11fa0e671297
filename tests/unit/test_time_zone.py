from datetime import UTC, datetime

from flask import render_template_string


def test_times_are_shown_in_shanghai_time(app):
    with app.test_request_context("/"):
        late_evening_utc = datetime(2026, 1, 31, 16, 30, tzinfo=UTC)
        assert render_template_string("{{ t|datetime }}", t=late_evening_utc) == "2026-02-01 00:30"
