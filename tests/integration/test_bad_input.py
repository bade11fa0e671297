"""Bad input is a 400/404/422 with a clear message, never a 500 (issue 10).

Dates: year 1 and year 9999 in every date field (record forms, ops, case actions, notices) are
refused by the one parser for client times (webapp/moments.py); a 405 says what is `Allow`ed;
`limit` below 1 is refused as the spec says.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.conftest import csrf_token_from
from tests.integration import notices_world as nw
from tests.integration.notices_world import post_notice
from tests.integration.sync_api import SyncClient, make_world, new_op, visit_op
from webapp.extensions import db
from webapp.models import Case, Visit

OUT_OF_WINDOW = ("0001-01-01T00:00:00", "9999-12-31T23:59:59", "1899-12-31T08:00:00+08:00")
WINDOW_MESSAGE = "2000"  # "请填写 2000 年至 2100 年之间的日期" or the English text


@pytest.fixture
def sync_world(app):
    return make_world()


@pytest.fixture
def api(client, login_as, sync_world) -> SyncClient:
    login_as("worker_g1")
    return SyncClient(client)


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", OUT_OF_WINDOW)
def test_a_visit_time_outside_2000_to_2100_is_rejected_alone(api, sync_world, moment):
    household = sync_world.households["G1"][0]
    good = visit_op(household)
    bad = visit_op(household, visited_at=moment)
    results = api.results([bad, good])
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert WINDOW_MESSAGE in results[0]["error"]["message"]


@pytest.mark.parametrize("moment", OUT_OF_WINDOW)
def test_a_client_time_outside_the_window_rejects_only_its_op(api, sync_world, moment):
    household = sync_world.households["G1"][0]
    late = new_op("visit.create", {"household_id": household.id}, client_time=moment)
    results = api.results([late, visit_op(household)])
    assert [r["status"] for r in results] == ["rejected", "applied"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_the_online_visit_form_refuses_a_year_1_or_9999_time_with_a_message(
    client, login_as, sync_world, moment
):
    login_as("worker_g1")
    household = sync_world.households["G1"][0]
    page = client.get(f"/households/{household.id}/new/visit")
    response = client.post(
        "/records/visit",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "household_id": household.id,
            "record_id": str(uuid.uuid4()),
            "visited_at": moment,
            "visit_kind": "routine",
        },
    )
    assert response.status_code == 422
    assert WINDOW_MESSAGE in response.get_data(as_text=True)
    assert db.session.scalar(select(Visit.id)) is None


@pytest.mark.parametrize("due", ["9999-12-31T23:59", "0001-01-01T00:00", "2101-01-01T09:00"])
def test_a_case_due_date_outside_the_window_is_refused_and_the_case_page_still_works(
    client, login_as, app, due
):
    street = f.gen_street()
    grid = f.gen_grid(f.gen_community(street))
    case = f.gen_case(grid, level="street", status="escalated")
    f.gen_user("street_clerk", "street_staff", street)
    db.session.commit()
    login_as("street_clerk")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200
    response = client.post(
        f"/cases/{case.id}/action",
        data={
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            "action": "assign",
            "department": "城管",
            "due_at": due,
        },
    )
    assert response.status_code == 422
    assert WINDOW_MESSAGE in response.get_data(as_text=True)
    db.session.expire_all()
    assert (
        db.session.get(Case, case.id).due_at is None
        or db.session.get(Case, case.id).due_at.year < 2101
    )
    assert client.get(f"/cases/{case.id}").status_code == 200


world = nw.world
signed_in = nw.signed_in


@pytest.mark.parametrize(
    "fields",
    [
        {"publish_at": "0001-01-01T00:00"},
        {"publish_at": "9999-12-31T23:59"},
        {"category": "publicity", "period_start": "0001-01-01", "period_end": "9999-12-31"},
    ],
)
def test_a_notice_with_a_date_outside_the_window_is_refused_with_a_message(
    world, signed_in, fields
):
    client = signed_in("street_s")
    response = post_notice(client, target="street", **fields)
    assert response.status_code in (400, 422)
    assert WINDOW_MESSAGE in response.get_data(as_text=True)


# --- HTTP details --------------------------------------------------------------------------------


def test_a_405_from_the_api_names_the_allowed_methods(api):
    response = api.client.get("/api/v1/sync/push", headers={"X-GridRounds-Client": "1"})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_a_405_page_names_the_allowed_methods(client, login_as, sync_world):
    login_as("worker_g1")
    response = client.post("/grid", data={})
    assert response.status_code in (400, 405)  # CSRF may speak first on a POST without a token
    response = client.delete("/grid")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "²", "1.5"])
def test_a_pull_limit_below_1_or_not_a_whole_number_is_refused(api, limit):
    response = api.pull(limit=limit)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_a_huge_pull_limit_is_capped_not_an_error(api):
    assert api.pull(limit="99999999999999999999999").status_code == 200


def test_a_dispute_party_without_a_resident_is_null_or_absent_as_the_spec_says(api, sync_world):
    household = sync_world.households["G1"][0]
    op = new_op(
        "dispute.create",
        {
            "household_id": household.id,
            "category": "neighbour",
            "summary": "噪音",
            "resolved_on_site": True,
            "parties": [{"name": "王五", "role": "complainant", "resident_id": None}],
        },
    )
    assert api.results([op])[0]["status"] == "applied"
    changes, _ = api.pull_all()
    [dispute] = [c["data"] for c in changes if c["entity"] == "dispute"]
    assert dispute["parties"][0].get("resident_id") is None


def test_an_out_of_scope_op_is_rejected_alone_and_its_denial_audited(api, sync_world):
    from webapp.models import AuditLog

    theirs = sync_world.households["G3"][0]  # another community's household
    results = api.results([visit_op(theirs), visit_op(sync_world.households["G1"][0])])
    assert [r["status"] for r in results] == ["rejected", "applied"]
    [denial] = db.session.scalars(select(AuditLog).where(AuditLog.action == "access_denied")).all()
    assert denial.actor_name == "worker_g1" and denial.detail == {"op": "visit.create"}
    assert denial.target_id == results[0]["op_id"]
