"""Departments as actors (DESIGN.md §4, issue 13): a case assigned to a department waits on its
board; its staff sign, report back or return it, each part on its own clock; the street reviews
before the case is resolved; joint handling; unresolvable closes and 包案; another street's
department neither sees nor acts."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import gen_hazard_case
from webapp.auth.scope import compute_scope
from webapp.cases import limits
from webapp.cases.departments import department_figures
from webapp.cases.services import leader_list
from webapp.extensions import db
from webapp.models import Attachment, CaseEvent, CasePart, Department, Notification, utcnow
from webapp.ops import Conflict, Invalid, OutOfScope
from webapp.rounds.photos import can_view


@pytest.fixture
def world(gen_street, gen_community, gen_grid, gen_household, gen_user):
    street, other_street = gen_street(), gen_street()
    community = gen_community(street)
    grid = gen_grid(community)
    household = gen_household(grid=grid)
    gen_grid(gen_community(other_street))
    city = Department(street_id=street.id, name="城管")
    fire = Department(street_id=street.id, name="消防")
    other_city = Department(street_id=other_street.id, name="城管")
    db.session.add_all([city, fire, other_city])
    db.session.flush()
    people = dict(
        worker=gen_user("worker", "grid_worker", grid),
        community=gen_user("community", "community_staff", community),
        street=gen_user("street", "street_staff", street),
        dept1=gen_user("dept1", "department_staff", city),
        fire1=gen_user("fire1", "department_staff", fire),
        dept2=gen_user("dept2", "department_staff", other_city),
        street2=gen_user("street2", "street_staff", other_street),
    )
    db.session.commit()
    return dict(household=household, city=city, fire=fire, other_city=other_city, **people)


act = f.act_on_case


def refused(user, case, action, **payload):
    with pytest.raises((Invalid, Conflict, OutOfScope)) as error:
        act(user, case, action, **payload)
    db.session.rollback()
    return error.value


def at_street(world, severity="urgent"):
    """An urgent hazard the worker escalated straight to the street, accepted there."""
    case = gen_hazard_case(world["worker"], world["household"], severity, "消防通道被占用")
    if severity != "urgent":
        act(world["worker"], case, "note", notes="已劝导")
    act(world["worker"], case, "request_escalation")
    if case.level != "street":
        act(world["community"], case, "accept")
        act(world["community"], case, "request_escalation")
    act(world["street"], case, "accept")
    return case


def part_of(case, department) -> CasePart:
    return db.session.scalar(
        select(CasePart).where(
            CasePart.case_id == case.id,
            CasePart.department_id == department.id,
            CasePart.status != "withdrawn",
        )
    )


def test_a_department_signs_reports_back_and_the_street_approves_to_resolve(world):
    case = at_street(world)
    act(world["street"], case, "assign", department="城管", task="清理通道")
    part = part_of(case, world["city"])
    assert (part.status, part.role) == ("assigned", "lead")
    assert "assigned" in [
        n.kind
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == world["dept1"].id)
        )
    ]
    act(world["dept1"], case, "sign")
    assert part.status == "signed" and part.signed_late is False
    # The street cannot settle it over the department's head while the part is open.
    assert isinstance(refused(world["street"], case, "resolve", result="已处理"), Conflict)
    act(world["dept1"], case, "report_back", result="杂物已清运")
    assert part.status == "reported" and part.due_at is None  # its clock stopped
    assert case.status == "accepted"
    act(world["street"], case, "review", decision="approve")
    assert part.status == "approved"
    assert case.status == "resolved"
    assert "城管：杂物已清运" in case.result
    actions = db.session.scalars(
        select(CaseEvent.action).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert actions[-4:] == ["assign", "sign", "report_back", "review"]
    act(world["worker"], case, "follow_up", satisfaction="satisfied")
    assert case.status == "closed"


def test_the_street_sends_a_report_back_for_more_work(world):
    case = at_street(world)
    act(world["street"], case, "assign", department="城管")
    act(world["dept1"], case, "sign")
    act(world["dept1"], case, "report_back", result="已处理")
    assert "notes" in refused(world["street"], case, "review", decision="send_back").errors
    act(world["street"], case, "review", decision="send_back", notes="缺少现场照片")
    part = part_of(case, world["city"])
    assert part.status == "signed" and part.due_at > utcnow()
    assert case.status == "accepted"


def test_a_department_returns_a_case_with_a_reason_and_the_street_reassigns(world):
    case = at_street(world)
    act(world["street"], case, "assign", department="城管")
    assert "reason" in refused(world["dept1"], case, "return").errors
    act(world["dept1"], case, "return", reason="不属于城管职责，应由消防处理")
    assert part_of(case, world["city"]).status == "returned"
    assert case.assigned_department == ""
    # Returned: nothing left for the department to do on it.
    assert isinstance(refused(world["dept1"], case, "sign"), Conflict)
    act(world["street"], case, "assign", department="消防")
    assert part_of(case, world["fire"]).status == "assigned"


def test_joint_handling_gives_each_department_its_own_part_and_clock(world):
    case = at_street(world, severity="high")
    start = utcnow()
    act(world["street"], case, "assign", department="城管", assist=["消防"], task="清运")
    lead, helper = part_of(case, world["city"]), part_of(case, world["fire"])
    assert (lead.role, helper.role) == ("lead", "assist")
    act(world["dept1"], case, "sign")
    # The lead's clock moved on to reporting back; the assistant's still runs for signing.
    assert lead.status == "signed" and helper.status == "assigned"
    assert lead.due_at != helper.due_at
    assert (
        helper.due_at
        == limits.limit_for(
            limits.Stage.SIGN, case.category, case.severity, limits.configured_limits()
        ).deadlines(helper.assigned_at)[1]
    )
    act(world["fire1"], case, "sign")
    act(world["dept1"], case, "report_back", result="杂物清运完毕")
    act(world["street"], case, "review", decision="approve")
    # The assistant has not reported back: the case waits for it.
    assert case.status == "accepted"
    act(world["fire1"], case, "report_back", result="消防通道复查合格")
    act(world["street"], case, "review", decision="approve")
    assert case.status == "resolved"
    assert case.result.index("城管") < case.result.index("消防")
    figures = {
        f.name: f
        for f in department_figures(
            [lead.department.street_id],
            start - timedelta(minutes=1),
            utcnow() + timedelta(minutes=1),
            utcnow(),
        )
    }
    assert figures["城管"].reported == figures["消防"].reported == 1
    assert figures["城管"].reported_on_time == 1


def test_department_figures_count_a_late_sign_and_what_is_overdue_now(world):
    case = at_street(world, severity="urgent")
    act(world["street"], case, "assign", department="城管")
    part = part_of(case, world["city"])
    # Urgent: two hours to sign. Three hours later it is red on the board and in the figures.
    later = part.assigned_at + timedelta(hours=3)
    figures = {
        f.name: f
        for f in department_figures(
            [world["city"].street_id], part.assigned_at - timedelta(days=1), later, later
        )
    }
    assert figures["城管"].overdue_now == 1
    from webapp.cases.actions import perform

    perform(case, world["dept1"], "sign", {}, now=later)
    db.session.commit()
    assert part.signed_late is True
    figures = {
        f.name: f
        for f in department_figures(
            [world["city"].street_id], part.assigned_at - timedelta(days=1), later, later
        )
    }
    assert (figures["城管"].signed, figures["城管"].signed_on_time) == (1, 0)
    assert figures["城管"].average_sign_hours == pytest.approx(3, abs=0.01)


def test_a_department_of_another_street_cannot_see_or_act(world, client, login_as):
    case = at_street(world)
    act(world["street"], case, "assign", department="城管")
    assert isinstance(refused(world["dept2"], case, "sign"), OutOfScope)
    assert not compute_scope(world["dept2"]).covers_case(case)
    # Nor can a department of the same street that holds no part of it.
    assert isinstance(refused(world["fire1"], case, "sign"), OutOfScope)
    login_as("dept2")
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert case.number not in client.get("/cases/department").get_data(as_text=True)


def test_department_staff_see_their_board_and_a_masked_timeline(world, client, login_as):
    case = at_street(world)
    act(world["street"], case, "assign", department="城管")
    login_as("dept1")
    board = client.get("/cases/department")
    assert board.status_code == 200
    assert board.headers["Cache-Control"].startswith("no-store")
    assert case.number in board.get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "签收" in page
    # The street clerk's name comes masked to a department; the department's own in full.
    street_name = world["street"].display_name
    assert street_name not in page
    assert street_name[0] + "*" in page
    # No links into the grid's registers for someone outside the grid.
    assert "/households/" not in page


def test_a_department_reports_back_with_a_photo_on_the_case_page(world, client, login_as):
    import io

    from PIL import Image

    from tests.conftest import csrf_token_from

    case = at_street(world)
    act(world["street"], case, "assign", department="城管")
    act(world["dept1"], case, "sign")
    login_as("dept1")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(image, "JPEG")
    response = client.post(
        f"/cases/{case.id}/action",
        data={
            "csrf_token": csrf_token_from(page),
            "action": "report_back",
            "result": "已清理完毕",
            "photos": (io.BytesIO(image.getvalue()), "after.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.expire_all()
    part = part_of(case, world["city"])
    assert part.status == "reported" and len(part.photo_ids) == 1
    # The street office sees the photo: it belongs to the case's grid now.
    attachment = db.session.get(Attachment, uuid.UUID(part.photo_ids[0]))
    assert attachment.grid_id == case.home_grid_id
    assert can_view(world["street"], attachment)
    assert not can_view(world["street2"], attachment)


def test_closing_as_unresolvable_needs_a_reason_and_measures_and_reaches_the_leaders(world):
    case = at_street(world)
    error = refused(world["street"], case, "close_unresolvable", reason="产权纠纷")
    assert "measures" in error.errors
    act(
        world["street"],
        case,
        "close_unresolvable",
        reason="产权纠纷，需法院判决",
        measures="已设置警示标志，每周巡查",
    )
    assert case.status == "closed"
    unresolvable, _long = leader_list(compute_scope(world["street"]), utcnow())
    assert [(c.id, e.data["measures"]) for c, e in unresolvable] == [
        (case.id, "已设置警示标志，每周巡查")
    ]
    # Not on the other street's list.
    assert leader_list(compute_scope(world["street2"]), utcnow()) == ([], [])


def test_a_case_open_too_long_is_flagged_for_a_leader(world, client, login_as):
    case = at_street(world, severity="high")
    limits.save_leader_workdays(5)
    db.session.commit()
    now = utcnow()
    assert not limits.needs_leader(case, now)
    case.opened_at = now - timedelta(days=14)
    db.session.commit()
    assert limits.needs_leader(case, now)
    _unresolvable, long_running = leader_list(compute_scope(world["street"]), now)
    assert [c.id for c in long_running] == [case.id]
    login_as("street")
    assert "包案" in client.get("/cases/triage").get_data(as_text=True)
    assert "包案" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_the_tick_alerts_a_department_once_when_its_part_goes_red(world):
    from webapp.cases.sla import tick

    case = at_street(world, severity="urgent")
    act(world["street"], case, "assign", department="城管")
    part = part_of(case, world["city"])
    later = part.assigned_at + timedelta(hours=3)
    assert tick(later).department_alerts == 1
    assert tick(later + timedelta(minutes=5)).department_alerts == 0  # idempotent
    kinds = db.session.scalars(
        select(Notification.kind).where(
            Notification.user_id == world["dept1"].id, Notification.case_id == case.id
        )
    ).all()
    assert kinds.count("department_overdue") == 1
    # The part never climbs: the case stays with the street, accepted.
    db.session.expire_all()
    assert (case.level, case.status) == ("street", "accepted")


def test_a_department_nobody_staffs_yet_is_alerted_once_somebody_is(world, gen_user):
    from webapp.cases.sla import tick

    world["fire1"].is_active = False
    db.session.commit()
    case = at_street(world, severity="urgent")
    act(world["street"], case, "assign", department="消防")
    part = part_of(case, world["fire"])
    later = part.assigned_at + timedelta(hours=3)
    assert tick(later).department_alerts == 0  # nobody to tell
    newcomer = gen_user("fire2", "department_staff", world["fire"])
    db.session.commit()
    assert tick(later + timedelta(minutes=1)).department_alerts == 1
    assert tick(later + timedelta(minutes=2)).department_alerts == 0
    kinds = db.session.scalars(
        select(Notification.kind).where(
            Notification.user_id == newcomer.id, Notification.case_id == case.id
        )
    ).all()
    assert kinds == ["department_overdue"]
