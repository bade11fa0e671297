"""Time limits in hours for urgent matters, and the working-day calendar as an admin-editable
table over `chinesecalendar` (DESIGN.md §4, issue 13)."""

from datetime import date, datetime, timedelta

import pytest

from tests.conftest import csrf_token_from
from tests.factories import gen_case
from webapp.cases import limits
from webapp.cases.sla import tick
from webapp.cases.workdays import add_workdays, calendar_source, is_workday
from webapp.extensions import db
from webapp.i18n import SHANGHAI, local_today
from webapp.models import CaseEvent


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def admin(gen_user, client, login_as):
    gen_user("root", "admin")
    db.session.commit()
    login_as("root")
    return client


def add_day(client, day: str, kind: str, name: str):
    token = csrf_token_from(client.get("/admin/settings/calendar").get_data(as_text=True))
    return client.post(
        "/admin/settings/calendar",
        data={"csrf_token": token, "what": "set", "day": day, "kind": kind, "name": name},
    )


# --- hours ----------------------------------------------------------------------------------------


def test_an_urgent_case_counts_hours_through_the_night_and_the_weekend(gen_grid):
    friday_night = shanghai("2026-11-27T22:00")  # a Friday
    case = gen_case(grid=gen_grid(), severity="urgent", opened_at=friday_night)
    limits.start_stage(case, friday_night)
    db.session.commit()
    # Default for urgent handling: yellow after 12 hours, red after 24 — Saturday is no excuse.
    assert case.warn_at == shanghai("2026-11-28T10:00")
    assert case.due_at == shanghai("2026-11-28T22:00")
    assert limits.sla_state(case, shanghai("2026-11-28T09:59")) is limits.SlaState.GREEN
    assert limits.sla_state(case, shanghai("2026-11-28T10:01")) is limits.SlaState.YELLOW
    assert limits.sla_state(case, shanghai("2026-11-28T22:01")) is limits.SlaState.RED
    # A medium case opened at the same moment counts working days: the weekend does not count.
    medium = gen_case(grid=gen_grid(), severity="medium")
    limits.start_stage(medium, friday_night)
    assert medium.warn_at == shanghai("2026-12-02T23:59:59")  # end of the 3rd working day
    assert limits.sla_state(medium, shanghai("2026-11-28T22:01")) is limits.SlaState.GREEN


def test_the_tick_escalates_an_urgent_case_on_saturday_night(gen_grid):
    friday_night = shanghai("2026-11-27T22:00")
    case = gen_case(grid=gen_grid(), severity="urgent", opened_at=friday_night)
    limits.start_stage(case, friday_night)
    db.session.commit()
    assert tick(shanghai("2026-11-28T21:00")).escalated == []
    report = tick(shanghai("2026-11-28T22:30"))
    assert report.escalated == [case.number]
    escalated_at = db.session.scalar(
        CaseEvent.__table__.select()
        .with_only_columns(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "auto_escalate")
    )
    assert escalated_at == shanghai("2026-11-28T22:00")
    assert tick(shanghai("2026-11-28T22:31")).escalated == []  # idempotent


def test_admin_sets_a_limit_in_hours(admin):
    token = csrf_token_from(admin.get("/admin/settings/cases").get_data(as_text=True))
    rows = [
        ("accept", "*", "*", "1", "2", "days"),
        ("handle", "gas", "urgent", "2", "6", "hours"),
        ("handle", "*", "*", "3", "5", "days"),
        ("follow_up", "*", "*", "2", "3", "days"),
    ]
    data = {"csrf_token": token, "departments": "城管", "leader_workdays": "15"}
    for key, index in (("stage", 0), ("category", 1), ("severity", 2)):
        data[key] = [r[index] for r in rows]
    data.update(yellow=[r[3] for r in rows], red=[r[4] for r in rows], unit=[r[5] for r in rows])
    assert admin.post("/admin/settings/cases", data=data).status_code == 303
    chosen = limits.limit_for(limits.Stage.HANDLE, "gas", "urgent", limits.configured_limits())
    assert (chosen.yellow, chosen.red, chosen.unit) == (2, 6, "hours")
    assert limits.leader_workdays() == 15
    start = shanghai("2026-11-27T22:00")
    assert chosen.deadlines(start) == (start + timedelta(hours=2), start + timedelta(hours=6))


def test_too_many_hours_are_refused_with_a_message_and_nothing_changes(admin):
    token = csrf_token_from(admin.get("/admin/settings/cases").get_data(as_text=True))
    before = limits.configured_limits()
    response = admin.post(
        "/admin/settings/cases",
        data={
            "csrf_token": token,
            "departments": "城管",
            "leader_workdays": "20",
            "stage": ["accept", "handle", "follow_up"],
            "category": ["*", "*", "*"],
            "severity": ["*", "*", "*"],
            "yellow": ["1", "1", "1"],
            "red": ["2", "900", "2"],
            "unit": ["days", "hours", "days"],
        },
    )
    assert response.status_code == 422
    assert "720" in response.get_data(as_text=True)
    assert limits.configured_limits() == before


# --- the calendar table ---------------------------------------------------------------------------


def test_the_admin_page_warns_when_the_coming_year_has_no_calendar(admin):
    coming = local_today().year + 1
    if calendar_source(coming) == "package":
        pytest.skip(f"the installed chinesecalendar already knows {coming}")
    page = admin.get("/admin/settings/cases").get_data(as_text=True)
    assert f"{coming} 年" in page or str(coming) in page
    assert "/admin/settings/calendar" in page
    add_day(admin, f"{coming}-01-01", "holiday", "元旦")
    assert calendar_source(coming) == "table"
    warning = admin.get("/admin/settings/cases").get_data(as_text=True)
    assert 'role="alert"' not in warning


def test_a_2027_holiday_added_by_admin_moves_a_due_date(admin):
    start = shanghai("2027-02-04T10:00")  # a Thursday; chinesecalendar has no 2027 data
    assert add_workdays(start, 1).astimezone(SHANGHAI).date() == date(2027, 2, 5)
    response = add_day(admin, "2027-02-05", "holiday", "春节")
    assert response.status_code == 303
    assert not is_workday(date(2027, 2, 5))
    assert add_workdays(start, 1).astimezone(SHANGHAI).date() == date(2027, 2, 8)
    # A make-up Saturday counts again.
    assert add_day(admin, "2027-02-06", "workday", "春节调休").status_code == 303
    assert add_workdays(start, 1).astimezone(SHANGHAI).date() == date(2027, 2, 6)
    page = admin.get("/admin/settings/calendar?year=2027").get_data(as_text=True)
    assert "春节调休" in page


def test_the_table_overrides_the_package_for_a_year_it_covers(admin):
    assert is_workday(date(2026, 10, 9))  # a Friday after National Day
    add_day(admin, "2026-10-09", "holiday", "临时调整")
    assert not is_workday(date(2026, 10, 9))
    # The package's other days of 2026 came along into the table.
    assert not is_workday(date(2026, 10, 5))
    assert is_workday(date(2026, 10, 10))  # the make-up Saturday
    assert calendar_source(2026) == "table"


def test_a_make_up_workday_must_fall_on_a_weekend(admin):
    response = add_day(admin, "2027-03-03", "workday", "调休")
    assert response.status_code == 422
    assert "周末" in response.get_data(as_text=True)
    assert calendar_source(2027) != "table"
