"""`flask sla tick` handles its candidates a chunk at a time: every case of a chunk escalates once
with one timeline entry, every recipient hears of each case once, a case that changes or vanishes
meanwhile is left out without holding back the rest of its chunk, and the statements a tick sends
do not grow with the number of cases it handles."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from tests import factories as f
from tests.integration.test_query_counts import counting
from webapp.cases import sla
from webapp.cases.sla import tick
from webapp.extensions import db
from webapp.models import Case, CaseEvent, Notification, PushMessage, PushSubscription


@pytest.fixture
def district(app):
    """A street of two communities with two grids each; two staff in each community (so an
    alert has several recipients), one at the street, a worker per grid; every staff account has
    a browser subscribed to its alerts."""
    street = f.gen_street()
    homes, staff = [], []
    for c in range(2):
        community = f.gen_community(street)
        staff += [f.gen_user(f"community{c}_{n}", "community_staff", community) for n in range(2)]
        for g in range(2):
            grid = f.gen_grid(community)
            worker = f.gen_user(f"worker{c}_{g}", "grid_worker", grid)
            homes.append((worker, f.gen_household(grid=grid)))
    staff.append(f.gen_user("street_staff", "street_staff", street))
    for user in staff:
        db.session.add(
            PushSubscription(
                endpoint=f"https://push.example/{user.id}",
                endpoint_hash=f"{user.id:064d}",
                p256dh="p",
                auth="a",
                user_id=user.id,
                topics=[f"user:{user.id}"],
            )
        )
    db.session.commit()
    return homes


def open_cases(homes, count: int) -> list[Case]:
    return [
        f.gen_hazard_case(*homes[n % len(homes)], "medium", f"消防通道被占用 {n}")
        for n in range(count)
    ]


def reload(case) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case.id)


def count_of(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def alerts_per_recipient(kind: str) -> set[int]:
    """How many alerts of `kind` each (case, user) pair holds, as a set of the counts."""
    counts = db.session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.kind == kind)
        .group_by(Notification.case_id, Notification.user_id)
    )
    return set(counts.scalars())


def test_many_cases_over_several_chunks_escalate_each_once_with_one_timeline_entry(
    district, monkeypatch
):
    monkeypatch.setattr(sla, "CHUNK", 7)  # 30 cases: five chunks, the last one short
    cases = open_cases(district, 30)
    moment = max(case.due_at for case in cases) + timedelta(minutes=1)

    report = tick(moment)

    assert sorted(report.escalated) == sorted(case.number for case in cases)
    for case in cases:
        case = reload(case)
        assert (case.status, case.level) == ("escalated", "community")
        assert count_of(CaseEvent, CaseEvent.case_id == case.id) == 2  # opened, auto_escalate
    assert count_of(CaseEvent, CaseEvent.action == "auto_escalate") == 30
    # Each of a community's two staff hears of each of its cases once, on each browser once.
    assert count_of(Notification, Notification.kind == "escalated") == 30 * 2
    assert alerts_per_recipient("escalated") == {1}
    assert count_of(PushMessage) == 30 * 2
    assert tick(moment).escalated == []
    assert count_of(CaseEvent, CaseEvent.action == "auto_escalate") == 30


def test_a_chunk_shares_one_change_number(district):
    cases = open_cases(district, 5)
    before = max(reload(case).change_seq for case in cases)
    tick(max(case.due_at for case in cases) + timedelta(minutes=1))
    numbers = {reload(case).change_seq for case in cases}
    assert len(numbers) == 1 and numbers.pop() > before


def test_many_yellow_cases_alert_each_recipient_once(district, monkeypatch):
    monkeypatch.setattr(sla, "CHUNK", 4)
    cases = open_cases(district, 10)
    moment = max(case.warn_at for case in cases) + timedelta(minutes=1)

    assert tick(moment).due_soon_alerts == 10
    assert count_of(Notification, Notification.kind == "due_soon") == 10 * 2
    assert alerts_per_recipient("due_soon") == {1}
    assert tick(moment + timedelta(minutes=1)).due_soon_alerts == 0
    assert count_of(Notification, Notification.kind == "due_soon") == 10 * 2


def meanwhile(monkeypatch, change):
    """Run `change` on its own connection (another clerk, committed) after the tick has read its
    chunk and before it writes."""

    def read_then_change(*args):
        result = original(*args)
        with db.engine.begin() as connection:
            change(connection)
        return result

    original = sla._alerted_in_stage
    monkeypatch.setattr(sla, "_alerted_in_stage", read_then_change)


def test_a_case_closed_meanwhile_is_left_alone_and_the_rest_of_its_chunk_escalates(
    district, monkeypatch
):
    cases = open_cases(district, 6)
    closed = cases[2]
    meanwhile(
        monkeypatch,
        lambda connection: connection.execute(
            update(Case)
            .where(Case.id == closed.id)
            .values(status="closed", version=Case.version + 1)
        ),
    )

    report = tick(max(case.due_at for case in cases) + timedelta(minutes=1))

    assert sorted(report.escalated) == sorted(case.number for case in cases if case != closed)
    assert report.skipped_races == 1
    assert reload(closed).status == "closed"
    assert count_of(CaseEvent, CaseEvent.case_id == closed.id) == 1
    assert count_of(Notification, Notification.case_id == closed.id) == 0
    for case in cases:
        if case != closed:
            assert reload(case).level == "community"


def test_a_case_deleted_meanwhile_does_not_hold_back_its_chunk(district, monkeypatch):
    cases = open_cases(district, 6)
    gone, gone_id = cases[3], cases[3].id

    def delete_case(connection):
        connection.execute(delete(CaseEvent).where(CaseEvent.case_id == gone_id))
        connection.execute(delete(Notification).where(Notification.case_id == gone_id))
        connection.execute(delete(Case).where(Case.id == gone_id))

    meanwhile(monkeypatch, delete_case)
    # Yellow: the tick only alerts, so the vanished case fails the chunk's INSERT, not an UPDATE.
    report = tick(max(case.warn_at for case in cases) + timedelta(minutes=1))

    assert report.due_soon_alerts == 5
    for case in cases:
        if case != gone:
            assert count_of(Notification, Notification.case_id == case.id) == 2
    assert count_of(Notification, Notification.case_id == gone_id) == 0


def statements_of_a_tick(homes, count: int, shift: timedelta) -> int:
    cases = open_cases(homes, count)
    moment = max(case.due_at for case in cases) + shift
    with counting() as statements:
        report = tick(moment)
    assert len(report.escalated) == count
    return len(statements)


def test_the_statements_of_a_tick_do_not_grow_with_its_cases(district):
    # The first cases' new stage (the community's) is not yet yellow when the second tick runs,
    # so each tick escalates and alerts exactly the cases it opened.
    few = statements_of_a_tick(district, 2, timedelta(minutes=1))
    many = statements_of_a_tick(district, 24, timedelta(minutes=2))
    assert many == few
    assert few <= 16
