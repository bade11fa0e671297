"""Residents' voice (issue 14, DESIGN.md §6): a resident reports without an account, follows a
number, the grid worker sees it in the pull and on 我的网格, verifies it through the sync API, a
case opens and climbs, and the public page follows it without anyone's personal data. Plus the
abuse limits, staff intake, scoping across two streets and the 民情联系卡's QR code.

World: street S1 has community C1 with grids G1, G2; street S2 has community C2 with grid G3.
worker_g1, worker_g3 hold their grids; staff_c1 is community staff of C1; street2 street staff
of S2.
"""

from __future__ import annotations

import io
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from tests import factories as f
from tests.conftest import csrf_token_from
from tests.integration.sync_api import SyncClient, login, new_op
from tests.racing import while_held_open
from webapp.cases.actions import apply_case_action
from webapp.extensions import db
from webapp.models import (
    Building,
    Case,
    Community,
    ReportPhoto,
    ReportStatus,
    ResidentReport,
    User,
)
from webapp.ops import Op
from webapp.residents import abuse
from webapp.residents.services import verify_report

CALLER_PHONE = "13612345678"
WORKER_PHONE = "13500001111"
OFFICE_PHONE = "010-88886666"
GPS_IFD = 0x8825


@dataclass
class World:
    communities: dict[str, Community]
    buildings: dict[str, Building]
    users: dict[str, User]


@pytest.fixture
def world(app) -> World:
    s1, s2 = f.gen_street(), f.gen_street()
    c1 = f.gen_community(s1, office_phone=OFFICE_PHONE)
    c2 = f.gen_community(s2)
    g1, g2, g3 = f.gen_grid(c1), f.gen_grid(c1), f.gen_grid(c2)
    buildings = {
        "B1": f.gen_building(g1, name="幸福里3号楼", address="和平路3号幸福里3号楼"),
        "B2": f.gen_building(g2, name="幸福里13号楼", address="和平路13号幸福里13号楼"),
        "B3": f.gen_building(g3, name="春风苑1号楼", address="春风路1号"),
    }
    users = {
        "worker_g1": f.gen_user(
            "worker_g1", "grid_worker", g1, display_name="李网格", work_phone=WORKER_PHONE
        ),
        "worker_g2": f.gen_user("worker_g2", "grid_worker", g2),
        "worker_g3": f.gen_user("worker_g3", "grid_worker", g3),
        "staff_c1": f.gen_user("staff_c1", "community_staff", c1),
        "street2": f.gen_user("street2", "street_staff", s2),
    }
    db.session.commit()
    return World({"C1": c1, "C2": c2}, buildings, users)


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (39.0, 54.0, 26.0), 3: "E", 4: (116.0, 23.0, 29.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 160, 40)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def form_page(client, community: Community, **query):
    response = client.get(f"/public/c/{community.id}/report", query_string=query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    token = re.search(r'name="pow_token" value="([^"]+)"', html).group(1)
    return html, token


def report(client, world, building="B1", *, solve=True, answer="", photos=(), **fields):
    """Fill the public form as a browser with the page's script does."""
    community = world.communities["C1" if building != "B3" else "C2"]
    html, token = form_page(client, community, b=world.buildings[building].id)
    data = {
        "csrf_token": csrf_token_from(html),
        "kind": "report",
        "category": "facility",
        "description": "楼道灯坏了，晚上看不见台阶",
        "building_id": str(world.buildings[building].id),
        "contact_phone": CALLER_PHONE,
        "pow_token": token,
        "pow_nonce": abuse.solve(token) if solve else "",
        "pow_answer": answer,
        **fields,
    }
    if photos:
        data["photos"] = [(io.BytesIO(p), f"p{i}.jpg", "image/jpeg") for i, p in enumerate(photos)]
    return client.post(
        f"/public/c/{community.id}/report", data=data, content_type="multipart/form-data"
    )


def number_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return re.search(r"/public/r/([A-Z0-9]+)", response.headers["Location"]).group(1)


def the_report(number: str) -> ResidentReport:
    db.session.expire_all()
    return db.session.scalar(select(ResidentReport).where(ResidentReport.number == number))


def verify_op(report: ResidentReport, outcome: str, **payload) -> dict:
    return new_op("report.verify", {"report_id": str(report.id), "outcome": outcome, **payload})


def assert_nothing_personal(text: str) -> None:
    assert CALLER_PHONE not in text
    assert "楼道灯坏了" not in text  # the resident's own words
    assert not re.search(r"1[3-9]\d{9}", text.replace(WORKER_PHONE, ""))


# --- the story end to end --------------------------------------------------------------------


def test_a_resident_report_from_the_form_to_the_result_page(app, world):
    resident = app.test_client()
    number = number_of(report(resident, world, photos=[jpeg_with_gps()]))
    assert len(number) == 9

    page = resident.get(f"/public/r/{number}?new=1")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert number in text and "幸福里3号楼" in text and "待核实" in text
    assert_nothing_personal(text)

    # The photo went through the field-photo pipeline: re-encoded, no EXIF, outside static/.
    row = the_report(number)
    photo = db.session.scalar(select(ReportPhoto).where(ReportPhoto.report_id == row.id))
    kept = (app.config["UPLOAD_FOLDER"] + "/" + photo.storage_name).encode()
    with open(kept, "rb") as handle:
        data = handle.read()
    assert b"SecretPhoneMaker" not in data and not Image.open(io.BytesIO(data)).getexif()

    # The worker of G1 gets it in the pull, contact phone in full (they call back) …
    worker = app.test_client()
    login(worker, "worker_g1")
    api = SyncClient(worker)
    changes, _cursor = api.pull_all()
    sent = [c for c in changes if c["entity"] == "report"]
    assert [c["id"] for c in sent] == [str(row.id)]
    assert sent[0]["data"]["contact_phone"] == CALLER_PHONE
    assert sent[0]["data"]["photo_count"] == 1
    # … and on 我的网格, with the photo served to them.
    home = worker.get("/grid").get_data(as_text=True)
    assert "居民反映待核实" in home and number in home
    assert worker.get(f"/residents/reports/{row.id}/photos/{photo.id}").status_code == 200

    # Verified offline: the op comes through the sync API and opens a grid-level case.
    result = api.results([verify_op(row, "case", severity="high", notes="灯具损坏，需物业更换")])[0]
    assert result["status"] == "applied", result
    case = db.session.get(Case, uuid.UUID(result["case"]["id"]))
    assert (case.status, case.level, case.home_grid_id) == ("open", "grid", row.grid_id)
    assert case.source_kind == "report" and case.source_record_id == row.id
    text = resident.get(f"/public/r/{number}").get_data(as_text=True)
    assert "处理中" in text and "网格正在处理" in text

    # The ladder applies unchanged: community staff resolve, the worker visits back.
    staff = db.session.get(User, world.users["staff_c1"].id)
    _act(staff, case, "resolve", result="已联系物业更换楼道灯，联系人13987654321")
    _act(
        db.session.get(User, world.users["worker_g1"].id),
        case,
        "follow_up",
        satisfaction="satisfied",
        notes="与居民一起回访，灯已亮",
    )
    text = resident.get(f"/public/r/{number}").get_data(as_text=True)
    assert "已办结" in text and "已联系物业更换楼道灯" in text
    assert "13987654321" not in text  # a phone in a result is masked on the public page
    assert_nothing_personal(text)
    # The same push again is a duplicate, not a second case.
    again = api.results([verify_op(row, "case")])[0]
    assert again["status"] == "conflict" and again["current"]["status"] == "case"


def _act(user, case, action, **payload):
    apply_case_action(
        user,
        Op(
            op_id=uuid.uuid4(),
            type="case.action",
            record_id=uuid.uuid4(),
            payload={"case_id": str(case.id), "action": action, **payload},
        ),
    )
    db.session.commit()


def test_settled_on_the_spot_shows_the_reply_as_the_result(app, world, client):
    number = number_of(report(client, world))
    worker = app.test_client()
    login(worker, "worker_g1")
    result = SyncClient(worker).results(
        [verify_op(the_report(number), "settled", reply="已更换灯泡", notes="王阿姨反映")]
    )[0]
    assert result["status"] == "applied"
    text = client.get(f"/public/r/{number}").get_data(as_text=True)
    assert "已办结" in text and "已更换灯泡" in text and "王阿姨" not in text


def test_a_reply_holding_a_phone_number_is_refused(app, world, client):
    number = number_of(report(client, world))
    worker = app.test_client()
    login(worker, "worker_g1")
    result = SyncClient(worker).results(
        [verify_op(the_report(number), "settled", reply="有事请打13912345678")]
    )[0]
    assert result["status"] == "rejected" and "reply" in result["error"]["fields"]
    assert the_report(number).status == ReportStatus.NEW


def test_duplicate_needs_an_open_case_of_the_workers_grids(app, world, client):
    number = number_of(report(client, world))
    other_street_case = f.gen_case(grid=db.session.get(Building, world.buildings["B3"].id).grid)
    db.session.commit()
    worker = app.test_client()
    login(worker, "worker_g1")
    api = SyncClient(worker)
    row = the_report(number)
    refused = api.results([verify_op(row, "duplicate", case_id=str(other_street_case.id))])[0]
    assert refused["status"] == "rejected" and "case_id" in refused["error"]["fields"]
    own = f.gen_case(grid=db.session.get(Building, world.buildings["B1"].id).grid)
    db.session.commit()
    joined = api.results([verify_op(row, "duplicate", case_id=str(own.id))])[0]
    assert joined["status"] == "applied" and joined["case"]["id"] == str(own.id)


def test_the_online_form_uses_the_same_rule(app, world, client):
    number = number_of(report(client, world))
    worker = app.test_client()
    login(worker, "worker_g1")
    row = the_report(number)
    page = worker.get(f"/residents/reports/{row.id}")
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert 'data-op-form="report.verify"' in html and CALLER_PHONE in html
    response = worker.post(
        f"/residents/reports/{row.id}/verify",
        data={"csrf_token": csrf_token_from(html), "outcome": "not_found"},
    )
    assert response.status_code == 303
    assert the_report(number).status == ReportStatus.NOT_FOUND


# --- scope -------------------------------------------------------------------------------------


def test_a_report_in_the_second_street_never_reaches_the_first_streets_worker(app, world):
    number = number_of(report(app.test_client(), world, building="B3"))
    row = the_report(number)
    assert row.grid_id == world.buildings["B3"].grid_id

    worker = app.test_client()
    login(worker, "worker_g1")
    api = SyncClient(worker)
    changes, _ = api.pull_all()
    assert not [c for c in changes if c["entity"] == "report"]
    assert number not in worker.get("/grid").get_data(as_text=True)
    assert worker.get(f"/residents/reports/{row.id}").status_code == 404
    assert api.results([verify_op(row, "settled")])[0]["status"] == "rejected"
    assert the_report(number).status == ReportStatus.NEW

    theirs = app.test_client()
    login(theirs, "worker_g3")
    changes, _ = SyncClient(theirs).pull_all()
    assert [c["id"] for c in changes if c["entity"] == "report"] == [str(row.id)]


def test_community_staff_pull_the_report_with_the_phone_masked(app, world, client):
    number_of(report(client, world))
    staff = app.test_client()
    login(staff, "staff_c1")
    changes, _ = SyncClient(staff).pull_all()
    sent = [c for c in changes if c["entity"] == "report"]
    assert sent and sent[0]["data"]["contact_phone"] == "136****5678"
    other = app.test_client()
    login(other, "worker_g2")
    changes, _ = SyncClient(other).pull_all()
    assert not [c for c in changes if c["entity"] == "report"]


# --- abuse ---------------------------------------------------------------------------------------


def test_without_the_work_or_the_answer_nothing_is_kept_and_the_text_comes_back(world, client):
    response = report(client, world, solve=False, description="垃圾桶满了没人清")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "垃圾桶满了没人清" in text and "field-error" in text
    assert db.session.scalar(select(ResidentReport.id)) is None


def test_the_question_works_without_javascript(world, client):
    html, token = form_page(client, world.communities["C1"])
    answer = abuse.QUESTIONS[int(token.split(".")[2])][1]
    data = {
        "csrf_token": csrf_token_from(html),
        "kind": "suggestion",
        "description": "建议在小区增加休息座椅",
        "building_id": str(world.buildings["B1"].id),
        "pow_token": token,
        "pow_answer": answer,
    }
    response = client.post(f"/public/c/{world.communities['C1'].id}/report", data=data)
    row = the_report(number_of(response))
    assert (row.kind, row.category, row.source) == ("suggestion", "suggestion", "public")


def test_one_solved_challenge_buys_one_report(world, client):
    html, token = form_page(client, world.communities["C1"])
    data = {
        "csrf_token": csrf_token_from(html),
        "kind": "report",
        "category": "noise",
        "description": "夜间施工噪音",
        "building_id": str(world.buildings["B1"].id),
        "pow_token": token,
        "pow_nonce": abuse.solve(token),
    }
    url = f"/public/c/{world.communities['C1'].id}/report"
    assert client.post(url, data=data).status_code == 303
    assert client.post(url, data=data).status_code == 422
    assert len(db.session.scalars(select(ResidentReport)).all()) == 1


def test_a_device_is_limited_and_gets_a_clear_answer(app, world, client):
    app.config["REPORT_LIMIT_PER_DEVICE"] = "2 per hour"
    number_of(report(client, world))
    number_of(report(client, world))
    third = report(client, world)
    assert third.status_code == 429
    assert "请" in third.get_data(as_text=True)
    # Another device (another browser) from the same address is not held by this one's limit.
    assert report(app.test_client(), world).status_code == 303


def test_an_address_is_limited_too(app, world):
    app.config["REPORT_LIMIT_PER_IP"] = "2 per hour"
    for _ in range(2):
        report(app.test_client(), world, solve=False)  # failures count against the address
    assert report(app.test_client(), world).status_code == 429


def test_staff_mark_spam_and_the_page_says_only_closed(app, world, client):
    number = number_of(report(client, world))
    row = the_report(number)
    worker = app.test_client()
    login(worker, "worker_g1")
    page = worker.get(f"/residents/reports/{row.id}").get_data(as_text=True)
    assert (
        worker.post(
            f"/residents/reports/{row.id}/spam", data={"csrf_token": csrf_token_from(page)}
        ).status_code
        == 403
    )
    staff = app.test_client()
    login(staff, "staff_c1")
    page = staff.get(f"/residents/reports/{row.id}").get_data(as_text=True)
    response = staff.post(
        f"/residents/reports/{row.id}/spam", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 303
    assert the_report(number).status == ReportStatus.SPAM
    text = client.get(f"/public/r/{number}").get_data(as_text=True)
    assert "已关闭" in text
    assert number not in worker.get("/grid").get_data(as_text=True)


def test_an_unknown_number_is_a_404_with_the_lookup_form(client, world):
    response = client.get("/public/r/ZZZZZZZZZ")
    assert response.status_code == 404 and 'name="number"' in response.get_data(as_text=True)
    assert client.get("/public/r?number=abc-def").headers["Location"].endswith("/public/r/ABCDEF")


# --- staff intake --------------------------------------------------------------------------------


def test_a_12345_call_entered_by_community_staff_reaches_the_right_grid(app, world):
    staff = app.test_client()
    login(staff, "staff_c1")
    page = staff.get("/residents/intake", query_string={"q": "13号楼"}).get_data(as_text=True)
    assert "幸福里13号楼" in page and "春风苑" not in page
    response = staff.post(
        "/residents/intake",
        data={
            "csrf_token": csrf_token_from(page),
            "building_id": str(world.buildings["B2"].id),
            "source": "hotline_12345",
            "category": "sanitation",
            "description": "12345转办：小区垃圾清运不及时",
            "contact_name": "赵先生",
            "contact_phone": CALLER_PHONE,
        },
    )
    assert response.status_code == 303
    row = db.session.scalar(select(ResidentReport))
    assert (row.source, row.grid_id) == ("hotline_12345", world.buildings["B2"].grid_id)
    assert row.entered_by_id == world.users["staff_c1"].id
    worker = app.test_client()
    login(worker, "worker_g2")
    assert row.number in worker.get("/grid").get_data(as_text=True)


def test_intake_cannot_route_outside_the_clerks_area(app, world):
    staff = app.test_client()
    login(staff, "staff_c1")
    page = staff.get("/residents/intake").get_data(as_text=True)
    response = staff.post(
        "/residents/intake",
        data={
            "csrf_token": csrf_token_from(page),
            "building_id": str(world.buildings["B3"].id),
            "source": "petition",
            "category": "other",
            "description": "信访件",
        },
    )
    assert response.status_code == 422 and "信访件" in response.get_data(as_text=True)
    assert db.session.scalar(select(ResidentReport.id)) is None


# --- the 民情联系卡 ----------------------------------------------------------------------------


def test_the_card_shows_the_worker_and_a_qr_code_of_the_building_url(app, world):
    import segno
    import zxingcpp

    from webapp.residents.card_views import building_url

    worker = app.test_client()
    login(worker, "worker_g1")
    building = world.buildings["B1"]
    page = worker.get(f"/residents/buildings/{building.id}/card")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "李网格" in html and WORKER_PHONE in html and OFFICE_PHONE in html
    with app.test_request_context():
        url = building_url(building)
    assert url == f"http://localhost/public/b/{building.id}"
    # The card's SVG is segno's rendering of exactly this URL; decode a PNG of the same code.
    code = segno.make(url, error="m")
    assert code.svg_inline(scale=4, border=2, dark="#000", omitsize=True) in html
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=6)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(buffer.getvalue())))
    assert [result.text for result in decoded] == [url]
    # The URL opens the building's public page, with the report button filled for it.
    public = app.test_client().get(f"/public/b/{building.id}").get_data(as_text=True)
    assert f"b={building.id}" in public and "李网格" in public
    # Another grid's worker cannot print this building's card.
    other = app.test_client()
    login(other, "worker_g3")
    assert other.get(f"/residents/buildings/{building.id}/card").status_code == 404


# --- nothing personal on any public response ----------------------------------------------------


def test_no_public_response_of_residents_voice_holds_personal_data(app, world, client):
    number = number_of(report(client, world, photos=[jpeg_with_gps()]))
    c1 = world.communities["C1"]
    urls = [
        f"/public/c/{c1.id}/report",
        f"/public/c/{c1.id}/report?q=3号楼",
        f"/public/c/{c1.id}/report?kind=suggestion",
        f"/public/b/{world.buildings['B1'].id}",
        f"/public/r/{number}",
        "/public/r",
        f"/public/c/{c1.id}",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
        f"/open311/v2/requests/{number}.json",
    ]
    for url in urls:
        response = app.test_client().get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert_nothing_personal(text)
        assert " style=" not in text and "<style" not in text, url
        for script in re.findall(r"<script[^>]*>", text):
            assert 'src="' in script or "application/json" in script, (url, script)


# --- Open311 GeoReport v2 ------------------------------------------------------------------

# The specification's examples (wiki.open311.org/GeoReport_v2): the keys of each answer, and the
# POST body of "POST Service Request", with the address made one of ours.
SPEC_SERVICE_KEYS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
SPEC_REQUEST_KEYS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
SPEC_POST_BODY = {
    "service_code": "sanitation",
    "lat": "37.76524078",
    "long": "-122.4212043",
    "address_string": "幸福里13号楼",
    "email": "smit333@sfgov.edu",
    "device_id": "tt222111",
    "account_id": "123456",
    "first_name": "john",
    "last_name": "smith",
    "phone": CALLER_PHONE,
    "description": "A large sinkhole is destroying the street",
    "media_url": "http://arr.com/img.jpg",
}


@pytest.fixture
def api_key(app, world):
    from webapp.residents.open311 import create_client

    _client, key = create_client("街道 App")
    db.session.commit()
    return key


def xml_of(response):
    from xml.etree import ElementTree

    assert response.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ElementTree.fromstring(response.data)


def test_open311_discovery_and_services_in_json_and_xml(client, world):
    discovery = client.get("/open311/discovery.json").get_json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert discovery["endpoints"][0]["url"] == "http://localhost/open311/v2"
    assert set(discovery["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    services = client.get("/open311/v2/services.json")
    assert services.content_type == "application/json; charset=utf-8"
    body = services.get_json()
    assert {s["service_code"] for s in body} >= {"facility", "sanitation", "suggestion"}
    assert all(set(s) == SPEC_SERVICE_KEYS for s in body)
    root = xml_of(client.get("/open311/v2/services.xml"))
    assert root.tag == "services"
    assert [e.findtext("service_code") for e in root.findall("service")] == [
        s["service_code"] for s in body
    ]
    assert root.find("service/metadata").text == "false"
    assert xml_of(client.get("/open311/v2/discovery.xml")).find("endpoints/endpoint/formats")


def test_open311_post_needs_a_valid_key(client, world, api_key):
    refused = client.post("/open311/v2/requests.json", data={**SPEC_POST_BODY, "api_key": "xyz"})
    assert refused.status_code == 403
    assert refused.get_json() == [{"code": 403, "description": "api_key 无效，无法创建诉求。"}]
    root = xml_of(client.post("/open311/v2/requests.xml", data=SPEC_POST_BODY))
    assert root.tag == "errors" and root.findtext("error/code") == "403"
    assert db.session.scalar(select(ResidentReport.id)) is None


def test_open311_post_as_the_specification_shows_routes_to_the_buildings_grid(
    app, client, world, api_key
):
    response = client.post("/open311/v2/requests.json", data={**SPEC_POST_BODY, "api_key": api_key})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert len(body) == 1 and set(body[0]) == {"service_request_id", "service_notice", "account_id"}
    row = the_report(body[0]["service_request_id"])
    assert (row.source, row.grid_id, row.category) == (
        "open311",
        world.buildings["B2"].grid_id,
        "sanitation",
    )
    assert row.contact_phone == CALLER_PHONE and row.contact_name == "smith john"
    # XML answer of the same call, by building id.
    root = xml_of(
        client.post(
            "/open311/v2/requests.xml",
            data={
                "api_key": api_key,
                "service_code": "noise",
                "address_id": str(world.buildings["B1"].id),
                "description": "夜间噪音",
            },
        )
    )
    assert root.tag == "service_requests" and root.findtext("request/service_request_id")
    unknown = client.post(
        "/open311/v2/requests.json",
        data={**SPEC_POST_BODY, "api_key": api_key, "address_string": "没有这个地方"},
    )
    assert unknown.status_code == 400 and unknown.get_json()[0]["code"] == 400
    # A revoked key stops working.
    from webapp.models import Open311Client, utcnow

    for open311_client in db.session.scalars(select(Open311Client)):
        open311_client.revoked_at = utcnow()
    db.session.commit()
    again = client.post("/open311/v2/requests.json", data={**SPEC_POST_BODY, "api_key": api_key})
    assert again.status_code == 403


def test_open311_lists_public_requests_only_with_public_statuses(app, client, world, api_key):
    open_number = number_of(report(app.test_client(), world))
    closed_number = number_of(report(app.test_client(), world, category="noise"))
    spam_number = number_of(report(app.test_client(), world, category="other"))
    worker = app.test_client()
    login(worker, "worker_g1")
    SyncClient(worker).results([verify_op(the_report(closed_number), "settled", reply="已处理")])
    staff = db.session.get(User, world.users["staff_c1"].id)
    from webapp.residents.services import mark_spam

    mark_spam(staff, the_report(spam_number))
    db.session.commit()

    listed = client.get("/open311/v2/requests.json")
    assert listed.status_code == 200
    body = {entry["service_request_id"]: entry for entry in listed.get_json()}
    assert set(body) == {open_number, closed_number}
    assert all(set(entry) == SPEC_REQUEST_KEYS for entry in body.values())
    assert body[open_number]["status"] == "open" and body[closed_number]["status"] == "closed"
    assert body[closed_number]["status_notes"] == "已处理"
    assert body[open_number]["address"] == "幸福里3号楼"
    assert body[open_number]["requested_datetime"].endswith("+08:00")
    for entry in body.values():
        assert entry["description"] is None and entry["lat"] is None and entry["media_url"] is None
    only_closed = client.get("/open311/v2/requests.json?status=closed").get_json()
    assert [e["service_request_id"] for e in only_closed] == [closed_number]
    by_code = client.get("/open311/v2/requests.json?service_code=noise").get_json()
    assert [e["service_request_id"] for e in by_code] == [closed_number]
    future = client.get("/open311/v2/requests.json?start_date=2099-01-01T00:00:00Z").get_json()
    assert future == []
    bad_date = client.get("/open311/v2/requests.json?start_date=yesterday")
    assert bad_date.status_code == 400

    one = client.get(f"/open311/v2/requests/{open_number}.json").get_json()
    assert [e["service_request_id"] for e in one] == [open_number]
    root = xml_of(client.get(f"/open311/v2/requests/{closed_number}.xml"))
    assert root.findtext("request/status") == "closed"
    assert root.find("request/description").text is None
    assert client.get(f"/open311/v2/requests/{spam_number}.json").status_code == 404
    assert client.get("/open311/v2/requests.csv").status_code == 404


def test_open311_key_cli_prints_a_key_once_and_stores_its_hash(app, world):
    import hashlib

    from webapp.models import Open311Client

    result = app.test_cli_runner().invoke(args=["open311", "key-create", "测试客户端"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().rsplit("api_key=", 1)[1]
    stored = db.session.scalar(select(Open311Client))
    assert stored.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    assert key not in stored.key_sha256


def test_staff_reach_reports_and_every_buildings_card_from_their_list(app, world, client):
    number = number_of(report(client, world))
    staff = app.test_client()
    login(staff, "staff_c1")
    home = staff.get("/residents/reports")
    page = home.get_data(as_text=True)
    assert home.headers["Cache-Control"] == "no-store"
    assert number in page and "/residents/intake" in page
    grid_id = world.buildings["B2"].grid_id
    assert f"/residents/grids/{grid_id}/cards" in page
    assert f"/residents/grids/{world.buildings['B3'].grid_id}/cards" not in page
    cards = staff.get(f"/residents/grids/{grid_id}/cards").get_data(as_text=True)
    assert "幸福里13号楼" in cards and cards.count('class="card"') == 1
    assert staff.get(f"/residents/grids/{world.buildings['B3'].grid_id}/cards").status_code == 404


def test_pull_and_push_answers_with_reports_match_the_spec(app, world, client):
    from tests.integration.test_sync_api import assert_valid

    number = number_of(report(client, world))
    worker = app.test_client()
    login(worker, "worker_g1")
    api = SyncClient(worker)
    body = api.page()
    assert any(c["entity"] == "report" for c in body["changes"])
    assert_valid(body, "/api/v1/sync/pull", "get")
    answer = api.push([verify_op(the_report(number), "case"), verify_op(the_report(number), "x")])
    assert_valid(answer.get_json(), "/api/v1/sync/push", "post")


# --- the resident hears of a change by Web Push (when they asked) ---------------------------


@pytest.fixture
def push_service(app, tmp_path):
    from tests.integration.fake_push import FakePushService
    from webapp.push import keys

    app.config["VAPID_KEY_DIR"] = str(tmp_path / "vapid")
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    keys.make_keys()
    with FakePushService() as service:
        yield service
    assert service.errors == []


def test_a_resident_who_follows_the_report_is_told_when_it_moves(app, world, client, push_service):
    from datetime import timedelta

    from webapp.models import utcnow
    from webapp.push.sender import send_pending

    number = number_of(report(client, world))
    page = client.get(f"/public/r/{number}").get_data(as_text=True)
    assert f'data-push-topics="report:{number}"' in page
    browser = push_service.browser()
    headers = {"X-GridRounds-Client": "1"}
    subscribed = client.post(
        "/api/v1/push/subscriptions",
        json=browser.subscription([f"report:{number}"]),
        headers=headers,
    )
    assert subscribed.status_code == 201, subscribed.get_data(as_text=True)
    refused = client.post(
        "/api/v1/push/subscriptions",
        json=push_service.browser().subscription(["report:ZZZZZZZZZ"]),
        headers=headers,
    )
    assert refused.status_code == 422

    worker = app.test_client()
    login(worker, "worker_g1")
    result = SyncClient(worker).results([verify_op(the_report(number), "case")])[0]
    case = db.session.get(Case, uuid.UUID(result["case"]["id"]))
    staff = db.session.get(User, world.users["staff_c1"].id)
    _act(staff, case, "resolve", result="已更换楼道灯")
    send_pending(now=utcnow() + timedelta(hours=12))
    received = push_service.for_browser(browser)
    assert [r.payload["url"] for r in received] == [f"/public/r/{number}"] * 2
    assert "已办结" in received[-1].payload["title"]
    assert received[-1].payload["body"] == "已更换楼道灯"
    assert CALLER_PHONE not in str([r.payload for r in received])


def test_reports_to_check_are_in_the_workers_offline_download(app, world, client):
    number = number_of(report(client, world))
    row = the_report(number)
    worker = app.test_client()
    login(worker, "worker_g1")
    urls = worker.get("/pwa/offline-urls").get_json()["urls"]
    assert f"/residents/reports/{row.id}" in urls
    other = app.test_client()
    login(other, "worker_g3")
    assert f"/residents/reports/{row.id}" not in other.get("/pwa/offline-urls").get_json()["urls"]


def test_a_file_that_is_not_a_photo_is_refused_clearly_and_nothing_is_kept(app, world, client):
    response = report(client, world, photos=[b"#!/bin/sh\nrm -rf /\n"])
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "第 1 张照片" in text and "楼道灯坏了" in text
    assert db.session.scalar(select(ResidentReport.id)) is None
    assert list((Path(app.config["UPLOAD_FOLDER"])).glob("*.jpg")) == []
    four = report(client, world, photos=[jpeg_with_gps()] * 4)
    assert four.status_code == 422 and "最多 3 张照片" in four.get_data(as_text=True)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="SQLite has one writer at a time; on PostgreSQL writers no longer wait for each other",
)
def test_a_report_verified_twice_at_once_opens_one_case(app, world, client):
    """A clerk's verification still open when the worker's phone sends its own: the phone's
    waits for it and is answered `conflict`, not a second case."""
    number = number_of(report(app.test_client(), world))
    report_id = the_report(number).id

    def clerk() -> None:
        actor = db.session.get(User, world.users["staff_c1"].id)
        op = Op(
            op_id=uuid.uuid4(),
            type="report.verify",
            record_id=uuid.uuid4(),
            payload={"report_id": str(report_id), "outcome": "case"},
        )
        verify_report(actor, op)

    login(client, "worker_g1")
    row = the_report(number)
    answer = while_held_open(
        app, clerk, lambda: SyncClient(client).results([verify_op(row, "case")])
    )
    assert [r["status"] for r in answer] == ["conflict"]
    db.session.expire_all()
    cases = db.session.scalars(select(Case).where(Case.source_record_id == report_id)).all()
    assert len(cases) == 1
