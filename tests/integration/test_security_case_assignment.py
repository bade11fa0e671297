"""A case is assigned only to someone who may see it (issue 10): an assignee outside the case's
home grid, community and street is refused, and learns nothing of it — no notification."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import gen_hazard_case
from webapp.extensions import db
from webapp.models import Notification
from webapp.ops import Invalid


@pytest.fixture
def world(gen_street, gen_community, gen_grid, gen_household, gen_user):
    street, other_street = gen_street(), gen_street()
    community = gen_community(street)
    grid, sibling_grid = gen_grid(community), gen_grid(community)
    far_grid = gen_grid(gen_community(other_street))
    household = gen_household(grid=grid)
    people = dict(
        worker=gen_user("worker", "grid_worker", grid),
        sibling_worker=gen_user("sibling", "grid_worker", sibling_grid),
        clerk=gen_user("clerk", "community_staff", community),
        colleague=gen_user("colleague", "community_staff", community),
        street_staff=gen_user("street", "street_staff", street),
        other_street_staff=gen_user("street2", "street_staff", other_street),
        other_street_worker=gen_user("worker13", "grid_worker", far_grid),
    )
    db.session.commit()
    case = gen_hazard_case(people["worker"], household)
    for action in ("note", "request_escalation"):
        act(people["worker"], case, action, notes="已上门劝导")
    act(people["clerk"], case, "accept")
    return dict(case=case, **people)


act = f.act_on_case


def notifications_of(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id))
    )


@pytest.mark.parametrize(
    "outsider", ["other_street_staff", "other_street_worker", "sibling_worker"]
)
def test_a_case_cannot_be_assigned_to_someone_who_may_not_see_it(world, outsider):
    case, target = world["case"], world[outsider]

    with pytest.raises(Invalid) as refused:
        act(world["clerk"], case, "assign", user_id=target.id)
    db.session.rollback()

    assert "user_id" in refused.value.errors
    db.session.refresh(case)
    assert case.assigned_user_id is None
    assert notifications_of(target) == []


@pytest.mark.parametrize("insider", ["colleague", "street_staff", "worker"])
def test_a_case_can_be_assigned_to_someone_in_its_scope(world, insider):
    case, target = world["case"], world[insider]

    act(world["clerk"], case, "assign", user_id=target.id)

    assert case.assigned_user_id == target.id
    assert "assigned" in notifications_of(target)


def test_the_case_page_form_refuses_an_outsider_with_a_message(world, client, login_as):
    login_as("clerk")
    page = client.get(f"/cases/{world['case'].id}")
    assert page.status_code == 200
    from tests.conftest import csrf_token_from

    response = client.post(
        f"/cases/{world['case'].id}/action",
        data={
            "action": "assign",
            "user_id": str(world["other_street_staff"].id),
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )

    assert response.status_code in (200, 422)
    assert "这个人不在此案件所在的辖区" in response.get_data(as_text=True)
    assert notifications_of(world["other_street_staff"]) == []
