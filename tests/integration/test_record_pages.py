"""Record forms post through the same service as the sync API, and the results show up on the
household page; search never puts personal data in a URL."""

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.models import Attachment, Case, Dispute, Visit


@pytest.fixture
def round_(gen_grid, gen_household, gen_resident, gen_user):
    grid = gen_grid()
    household = gen_household(grid=grid)
    elder = gen_resident(household, name="王桂英", living_alone=True)
    gen_user("w1", "grid_worker", grid)
    db.session.commit()
    return grid, household, elder


def form_page(client, path):
    page = client.get(path)
    assert page.status_code == 200
    return csrf_token_from(page.get_data(as_text=True))


def jpeg_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, "JPEG")
    return buffer.getvalue()


def test_logging_a_visit_from_the_form_shows_it_on_the_household_page(round_, client, login_as):
    _, household, elder = round_
    login_as("w1")
    token = form_page(client, f"/households/{household.id}/new/visit")
    record_id = str(uuid.uuid4())
    response = client.post(
        "/records/visit",
        data={
            "csrf_token": token,
            "record_id": record_id,
            "household_id": household.id,
            "visit_kind": "routine",
            "present_resident_ids": [elder.id],
            "needs": ["medical"],
            "notes": "老人身体尚可",
            "photos": (io.BytesIO(jpeg_bytes()), "door.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/households/{household.id}")
    visit = db.session.get(Visit, uuid.UUID(record_id))
    assert visit.needs == ["medical"]
    assert len(visit.photo_ids) == 1
    assert db.session.get(Attachment, uuid.UUID(visit.photo_ids[0])).grid_id == visit.grid_id
    page = client.get(response.location).get_data(as_text=True)
    assert "已保存" in page
    assert f"/records/visit/{record_id}" in page
    record_page = client.get(f"/records/visit/{record_id}").get_data(as_text=True)
    assert "老人身体尚可" in record_page
    assert "王*英" in record_page


def test_an_invalid_form_comes_back_with_chinese_messages_and_keeps_input(round_, client, login_as):
    grid, _, _ = round_
    login_as("w1")
    token = form_page(client, f"/grids/{grid.id}/new/hazard")
    response = client.post(
        "/records/hazard",
        data={
            "csrf_token": token,
            "grid_id": grid.id,
            "place": "小区东门",
            "severity": "high",
            "description": "",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请修改标红的项目" in body
    assert "此项为必填项" in body
    assert "小区东门" in body  # nothing typed is lost


def test_a_dispute_not_settled_shows_a_link_to_its_case(round_, client, login_as):
    _, household, _ = round_
    login_as("w1")
    token = form_page(client, f"/households/{household.id}/new/dispute")
    response = client.post(
        "/records/dispute",
        data={
            "csrf_token": token,
            "household_id": household.id,
            "category": "neighbour",
            "summary": "噪音扰民",
            "severity": "medium",
            "party_name": ["张三", ""],
            "party_role": ["complainant", "respondent"],
        },
        follow_redirects=True,
    )
    body = response.get_data(as_text=True)
    case = db.session.scalar(select(Case))
    assert case is not None
    assert f"/cases/{case.id}" in body
    assert case.number in body
    assert db.session.scalar(select(Dispute)).parties == [{"name": "张三", "role": "complainant"}]


def test_a_hazard_from_a_household_page_is_tied_to_its_building(round_, client, login_as):
    _, household, _ = round_
    login_as("w1")
    token = form_page(client, f"/households/{household.id}/new/hazard")
    response = client.post(
        "/records/hazard",
        data={
            "csrf_token": token,
            "building_id": household.building_id,
            "household_id": household.id,
            "category": "gas",
            "severity": "urgent",
            "description": "闻到煤气味",
            "fixed_on_site": "on",
        },
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/households/{household.id}")


def test_correcting_a_record_starts_from_its_values(round_, client, login_as):
    _, household, _ = round_
    login_as("w1")
    token = form_page(client, f"/households/{household.id}/new/visit")
    record_id = str(uuid.uuid4())
    client.post(
        "/records/visit",
        data={
            "csrf_token": token,
            "record_id": record_id,
            "household_id": household.id,
            "notes": "原始记录",
        },
    )
    page = client.get(f"/records/visit/{record_id}/correct").get_data(as_text=True)
    assert "原始记录" in page
    assert f'name="corrects" value="{record_id}"' in page


def test_search_finds_by_name_and_phone_tail_inside_scope_only(
    round_, client, login_as, gen_resident
):
    gen_resident(name="王桂芳", phone="13500009999")  # same surname, another grid
    db.session.commit()
    login_as("w1")
    token = form_page(client, "/search")
    by_name = client.post("/search", data={"csrf_token": token, "q": "王桂"}).get_data(as_text=True)
    # The grid's own worker sees names and phones in full (DESIGN.md §7, webapp/privacy.py).
    assert "王桂英" in by_name
    assert "王桂芳" not in by_name and "王*芳" not in by_name
    by_phone = client.post("/search", data={"csrf_token": token, "q": "5678"}).get_data(
        as_text=True
    )
    assert "王桂英" in by_phone
    assert "13500009999" not in client.post(
        "/search", data={"csrf_token": token, "q": "9999"}
    ).get_data(as_text=True)


def test_the_search_form_posts_so_queries_stay_out_of_urls(round_, client, login_as):
    login_as("w1")
    page = client.get("/search").get_data(as_text=True)
    assert 'method="post" action="/search"' in page


def test_another_worker_cannot_open_my_records(round_, client, login_as, gen_user, gen_grid):
    _, household, _ = round_
    gen_user("w2", "grid_worker", gen_grid())
    db.session.commit()
    login_as("w1")
    token = form_page(client, f"/households/{household.id}/new/visit")
    record_id = str(uuid.uuid4())
    client.post(
        "/records/visit",
        data={
            "csrf_token": token,
            "record_id": record_id,
            "household_id": household.id,
            "notes": "机密",
        },
    )
    client.post("/logout", data={"csrf_token": token})
    login_as("w2")
    response = client.get(f"/records/visit/{record_id}")
    assert response.status_code == 404
    assert "机密" not in response.get_data(as_text=True)
    assert client.get(f"/households/{household.id}/new/visit").status_code == 404
