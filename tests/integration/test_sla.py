"""`flask sla tick`: red cases climb one level on schedule, alerts go out once per stage, a second
run changes nothing, and two ticks racing escalate each case once and alert each person once."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import gen_hazard_case
from tests.racing import meet_after, run_together
from webapp.cases import sla
from webapp.cases.sla import tick
from webapp.extensions import db
from webapp.models import Case, CaseEvent, Notification


@pytest.fixture
def org(gen_street, gen_community, gen_grid, gen_household, gen_user):
    street = gen_street()
    community = gen_community(street)
    grid = gen_grid(community)
    household = gen_household(grid=grid)
    worker = gen_user("worker", "grid_worker", grid)
    gen_user("community", "community_staff", community)
    gen_user("street", "street_staff", street)
    db.session.commit()
    return dict(grid=grid, household=household, worker=worker)


def hazard_case(org, severity="medium") -> Case:
    return gen_hazard_case(org["worker"], org["household"], severity, "消防通道被占用")


def reload(case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def auto_escalations(case) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "auto_escalate")
    )


def test_a_case_left_alone_climbs_to_the_street_on_schedule(org):
    case = hazard_case(org)
    assert tick(case.warn_at - timedelta(minutes=1)).escalated == []
    first = tick(case.due_at + timedelta(minutes=1))
    case = reload(case)
    assert first.escalated == [case.number]
    assert (case.status, case.level) == ("escalated", "community")
    second = tick(case.due_at + timedelta(minutes=1))
    case = reload(case)
    assert second.escalated == [case.number]
    assert (case.status, case.level) == ("escalated", "street")
    assert case.home_grid_id == org["grid"].id


def test_running_tick_twice_changes_nothing_the_second_time(org):
    case = hazard_case(org)
    moment = case.due_at + timedelta(minutes=1)
    tick(moment)
    again = tick(moment)
    assert again.escalated == []
    assert auto_escalations(reload(case)) == 1


def test_a_yellow_case_gets_one_due_soon_alert_per_stage(org):
    case = hazard_case(org)
    moment = case.warn_at + timedelta(minutes=1)
    assert tick(moment).due_soon_alerts == 1
    assert tick(moment + timedelta(minutes=5)).due_soon_alerts == 0


def test_red_at_the_street_alerts_once_and_stays(org):
    case = hazard_case(org, severity="urgent")
    case = reload(case)
    for _ in range(2):
        tick(reload(case).due_at + timedelta(minutes=1))
    case = reload(case)
    assert case.level == "street"
    report = tick(case.due_at + timedelta(minutes=1))
    assert report.overdue_alerts == 1 and report.escalated == []
    assert tick(case.due_at + timedelta(hours=1)).overdue_alerts == 0
    overdue = db.session.scalars(select(Notification).where(Notification.kind == "overdue")).all()
    assert len(overdue) == 1


def test_a_paused_case_does_not_escalate(org):
    case = hazard_case(org)
    case.paused_at = case.stage_started_at
    db.session.commit()
    assert tick(case.due_at + timedelta(days=5)).escalated == []


def test_escalation_notifies_the_community_staff(org):
    case = hazard_case(org)
    tick(case.due_at + timedelta(minutes=1))
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.case_id == case.id)
    ).all()
    assert "escalated" in kinds


def test_two_ticks_racing_escalate_each_case_once(org, app):
    cases = [hazard_case(org) for _ in range(12)]
    moment = max(c.due_at for c in cases) + timedelta(minutes=1)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                reports.append(tick(moment))
            except Exception as error:  # surfaced below; a thread must not swallow it
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(len(r.escalated) for r in reports) == len(cases)
    for case in cases:
        assert auto_escalations(reload(case)) == 1
        assert reload(case).level == "community"


def test_the_cli_accepts_now(app, org):
    case = hazard_case(org)
    moment = (case.due_at + timedelta(minutes=1)).isoformat()
    result = app.test_cli_runner().invoke(args=["sla", "tick", "--now", moment])
    assert result.exit_code == 0, result.output
    assert "escalated 1" in result.output
    assert reload(case).level == "community"


def test_the_cli_refuses_a_malformed_time(app):
    result = app.test_cli_runner().invoke(args=["sla", "tick", "--now", "tomorrow"])
    assert result.exit_code != 0


def test_a_late_tick_escalates_on_schedule_through_every_level(org):
    case = hazard_case(org)
    grid_red = case.due_at
    report = tick(grid_red + timedelta(days=60))
    case = reload(case)
    assert report.escalated == [case.number, case.number]
    assert (case.status, case.level) == ("escalated", "street")
    moments = db.session.scalars(
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "auto_escalate")
        .order_by(CaseEvent.id)
    ).all()
    assert moments[0] == grid_red  # when the grid stage went red, not when the tick ran
    assert grid_red < moments[1] < case.stage_started_at + timedelta(seconds=1)


def test_tick_with_now_moves_the_demo_clock_so_pages_agree(app, org, client, login_as):
    case = hazard_case(org)
    far = (case.due_at + timedelta(days=30)).isoformat()
    assert app.test_cli_runner().invoke(args=["sla", "tick", "--now", far]).exit_code == 0
    login_as("street")
    board = client.get("/cases/triage?sla=red").get_data(as_text=True)
    assert case.number in board
    result = app.test_cli_runner().invoke(args=["clock", "reset"])
    assert result.exit_code == 0
    assert case.number not in client.get("/cases/triage?sla=red").get_data(as_text=True)


def test_production_ignores_the_demo_clock(app, org):
    from webapp import clock
    from webapp.models import utcnow

    clock.travel_to(utcnow() + timedelta(days=10))
    db.session.commit()
    assert clock.now() - utcnow() > timedelta(days=9)
    app.config["PRODUCTION"] = True
    assert abs(clock.now() - utcnow()) < timedelta(seconds=5)


def alerts_per_person(case, kind) -> dict[int, int]:
    rows = db.session.execute(
        select(Notification.user_id, func.count())
        .where(Notification.case_id == case.id, Notification.kind == kind)
        .group_by(Notification.user_id)
    )
    return dict(rows.all())


def test_two_ticks_that_both_found_no_due_soon_alert_write_one_per_person(org, app, monkeypatch):
    # No run lock between them (another server's lock file), and each looked before either wrote.
    case = hazard_case(org)
    moment = case.warn_at + timedelta(minutes=1)
    monkeypatch.setattr(sla, "_alerted_in_stage", meet_after(sla._alerted_in_stage))
    reports = run_together(app, lambda: tick(moment), lambda: tick(moment))
    per_person = alerts_per_person(case, "due_soon")
    assert per_person and set(per_person.values()) == {1}
    assert sum(r.due_soon_alerts for r in reports) == 1


def test_two_ticks_that_both_found_no_overdue_alert_write_one_per_person(org, app, monkeypatch):
    case = hazard_case(org, severity="urgent")
    for _ in range(2):
        tick(reload(case).due_at + timedelta(minutes=1))
    case = reload(case)
    assert case.level == "street"
    moment = case.due_at + timedelta(minutes=1)
    monkeypatch.setattr(sla, "_alerted_in_stage", meet_after(sla._alerted_in_stage))
    reports = run_together(app, lambda: tick(moment), lambda: tick(moment))
    per_person = alerts_per_person(case, "overdue")
    assert per_person and set(per_person.values()) == {1}
    assert sum(r.overdue_alerts for r in reports) == 1


def test_alerts_of_a_new_stage_are_not_taken_for_the_old_ones(org):
    case = hazard_case(org)
    tick(case.warn_at + timedelta(minutes=1))
    tick(case.due_at + timedelta(minutes=1))  # escalates: a new stage at the community
    case = reload(case)
    assert tick(case.warn_at + timedelta(minutes=1)).due_soon_alerts == 1
    keys = db.session.scalars(
        select(Notification.dedup_key).where(Notification.kind == "due_soon")
    ).all()
    assert len(set(keys)) == 2
