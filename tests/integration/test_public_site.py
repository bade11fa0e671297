"""The public site (DESIGN.md §6, §7): reachable without login, small, with only public data —
visible notices (公示 names masked), grid workers' work phones, office phones and figures."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories as f
from tests.integration import notices_world as nw
from tests.integration.notices_world import (
    ID_PATTERN,
    MOBILE_PATTERN,
    OFFICE_PHONE_C1,
    WORKER_PHONE,
    make_notice,
    publicity_notice,
)
from webapp.cases.limits import DEFAULT_LIMITS
from webapp.cases.workdays import add_workdays
from webapp.extensions import db
from webapp.models import Case, CaseEvent, utcnow
from webapp.public.figures import handling_deadline
from webapp.public.views import COMMUNITY_COOKIE

world = nw.world
signed_in = nw.signed_in

PAGE_BUDGET = 30 * 1024


@pytest.fixture
def notices(world):
    """One notice in each state the public site must tell apart."""
    s, c1, c2 = world.streets["S"], world.communities["C1"], world.communities["C2"]
    staff = world.users["staff_c1"]
    return {
        "publicity": publicity_notice(world),
        "c1": make_notice(staff, s, [c1], title="幸福里停水通知", body=f"问网格员{WORKER_PHONE}"),
        "street": make_notice(
            world.users["street_s"], s, title="全街道医保政策", category="policy"
        ),
        "c2": make_notice(world.users["staff_c2"], s, [c2], title="光明社区活动", category="event"),
        "draft": make_notice(staff, s, [c1], title="草稿不可见", status="draft"),
        "scheduled": make_notice(
            staff, s, [c1], title="明天才可见", publish_at=utcnow() + timedelta(days=1)
        ),
        "withdrawn": make_notice(staff, s, [c1], title="已撤回的通知", status="withdrawn"),
    }


def board_ids(client, community) -> set[int]:
    page = client.get(f"/public/c/{community.id}").get_data(as_text=True)
    return {int(n) for n in re.findall(r"/public/notices/(\d+)", page)}


def test_the_board_shows_the_communitys_and_the_streets_visible_notices(client, world, notices):
    ids = board_ids(client, world.communities["C1"])
    assert ids == {notices["publicity"].id, notices["c1"].id, notices["street"].id}
    assert board_ids(client, world.communities["C2"]) == {notices["c2"].id, notices["street"].id}


def test_the_board_is_newest_first_and_filters_by_category(client, world, notices):
    notices["c1"].publish_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    c1 = world.communities["C1"]
    page = client.get(f"/public/c/{c1.id}").get_data(as_text=True)
    assert page.index(f"/public/notices/{notices['c1'].id}") < page.index(
        f"/public/notices/{notices['street'].id}"
    )
    chips = client.get(f"/public/c/{c1.id}?category=publicity").get_data(as_text=True)
    assert f'href="/public/c/{c1.id}?category=publicity"' in chips
    assert set(map(int, re.findall(r"/public/notices/(\d+)", chips))) == {notices["publicity"].id}
    assert "pbadge-ongoing" in chips


def test_scheduled_drafts_and_withdrawn_notices_are_not_public(client, world, notices):
    for key in ("draft", "scheduled", "withdrawn"):
        assert client.get(f"/public/notices/{notices[key].id}").status_code == 404, key


def test_a_scheduled_notice_appears_once_its_time_has_come(client, world, notices):
    scheduled = notices["scheduled"]
    assert scheduled.id not in board_ids(client, world.communities["C1"])
    scheduled.publish_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert scheduled.id in board_ids(client, world.communities["C1"])
    assert client.get(f"/public/notices/{scheduled.id}").status_code == 200


def test_publicity_names_are_masked_on_the_public_page(client, world, notices):
    page = client.get(f"/public/notices/{notices['publicity'].id}").get_data(as_text=True)
    assert "张*明" in page and "赵*年" in page and "李*家庭" in page
    assert "张三明" not in page and "赵大年" not in page
    assert "宋海波" in page and WORKER_PHONE in page  # public by design
    description = re.search(r'<meta name="description" content="([^"]*)"', page).group(1)
    assert "张三明" not in description


def test_a_notice_page_is_share_friendly(client, world, notices):
    notice, c1 = notices["c1"], world.communities["C1"]
    page = client.get(f"/public/notices/{notice.id}?c={c1.id}").get_data(as_text=True)
    assert f"<title>幸福里停水通知 · {c1.name}</title>" in page
    assert '<meta property="og:title" content="幸福里停水通知 · 幸福里社区">' in page
    assert re.search(r'<meta property="og:description" content="[^"]+">', page)
    assert re.search(r'<meta name="description" content="[^"]+">', page)
    street_wide = client.get(f"/public/notices/{notices['street'].id}").get_data(as_text=True)
    assert "<title>全街道医保政策 · 幸福街道</title>" in street_wide


def test_public_pages_need_no_login_and_show_no_staff_header(client, world, notices, signed_in):
    c1 = world.communities["C1"]
    for url in (f"/public/c/{c1.id}", f"/public/notices/{notices['c1'].id}"):
        assert client.get(url).status_code == 200
    staff_view = signed_in("street_s").get(f"/public/c/{c1.id}").get_data(as_text=True)
    assert 'class="topbar"' not in staff_view and 'class="logout"' not in staff_view
    assert "csrf_token" not in staff_view


def test_choosing_a_community_is_remembered(client, world):
    c2 = world.communities["C2"]
    picker = client.get("/public")
    assert picker.status_code == 200
    assert f'href="/public/c/{c2.id}"' in picker.get_data(as_text=True)
    board = client.get(f"/public/c/{c2.id}")
    assert f"{COMMUNITY_COOKIE}={c2.id}" in board.headers["Set-Cookie"]
    again = client.get("/public")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/public/c/{c2.id}")
    assert client.get("/public?choose=1").status_code == 200


def test_find_my_grid_worker_by_building_number(client, world):
    c1 = world.communities["C1"]
    page = client.get(f"/public/c/{c1.id}/find", query_string={"q": "3号楼"}).get_data(as_text=True)
    assert "幸福里第1网格" in page and "幸福里第2网格" not in page  # not 13号楼
    assert f'href="tel:{WORKER_PHONE}"' in page and "宋海波" in page
    same = client.get(f"/public/c/{c1.id}/find", query_string={"q": "幸福里３栋"})
    assert "幸福里第1网格" in same.get_data(as_text=True)


def test_find_by_a_household_address_names_only_the_building(client, world):
    c1 = world.communities["C1"]
    page = client.get(
        f"/public/c/{c1.id}/find", query_string={"q": "幸福里3号楼2单元501"}
    ).get_data(as_text=True)
    assert "幸福里第1网格" in page
    assert "501" not in page.split("</form>")[1]


def test_find_has_an_empty_state_with_the_office_phone(client, world):
    c1 = world.communities["C1"]
    for q in ("月亮湾99号楼", "%", "_"):
        page = client.get(f"/public/c/{c1.id}/find", query_string={"q": q}).get_data(as_text=True)
        assert 'class="empty"' in page, q
        assert f'href="tel:{OFFICE_PHONE_C1.replace("-", "")}"' in page


def test_find_without_a_query_lists_the_communitys_grids(client, world):
    page = client.get(f"/public/c/{world.communities['C1'].id}/find").get_data(as_text=True)
    assert "幸福里第1网格" in page and "幸福里第2网格" in page and "光明第1网格" not in page


def test_find_only_searches_its_own_community(client, world):
    page = client.get(
        f"/public/c/{world.communities['C2'].id}/find", query_string={"q": "幸福里3号楼"}
    ).get_data(as_text=True)
    assert "幸福里第1网格" not in page


# --- figures -----------------------------------------------------------------------------------


def closed_case(grid, opened_days_ago: float, resolved_days_ago: float, satisfaction: str):
    """A grid-level case opened, resolved and closed at the given times (default 5-day limit)."""
    opened = utcnow() - timedelta(days=opened_days_ago)
    resolved = utcnow() - timedelta(days=resolved_days_ago)
    case = f.gen_case(grid, severity="medium", opened_at=opened, title="张三明家门口堆放杂物")
    case.status, case.satisfaction = "closed", satisfaction
    case.resolved_at, case.closed_at = resolved, resolved + timedelta(hours=2)
    for action, at, to_status, data in (
        ("resolve", resolved, "resolved", {}),
        ("follow_up", resolved + timedelta(hours=2), "closed", {"satisfaction": satisfaction}),
    ):
        db.session.add(
            CaseEvent(
                case_id=case.id,
                action=action,
                at=at,
                from_status="open" if action == "resolve" else "resolved",
                to_status=to_status,
                from_level="grid",
                to_level="grid",
                data=data,
            )
        )
    db.session.flush()
    return case


def test_figures_count_on_time_resolution_and_satisfaction(client, world):
    grid = world.grids["G1"]
    quick = closed_case(grid, opened_days_ago=10, resolved_days_ago=9.5, satisfaction="satisfied")
    closed_case(grid, opened_days_ago=40, resolved_days_ago=20, satisfaction="satisfied")
    closed_case(grid, opened_days_ago=200, resolved_days_ago=150, satisfaction="satisfied")  # old
    reopened = f.gen_case(grid, status="accepted", opened_at=utcnow() - timedelta(days=12))
    db.session.add(
        CaseEvent(
            case_id=reopened.id,
            action="follow_up",
            at=utcnow() - timedelta(days=5),
            from_status="resolved",
            to_status="accepted",
            from_level="grid",
            to_level="grid",
            data={"satisfaction": "dissatisfied"},
        )
    )
    db.session.commit()
    page = client.get(f"/public/c/{world.communities['C1'].id}/stats").get_data(as_text=True)
    numbers = re.findall(r"<dd>([^<]+)</dd>", page)
    assert numbers[0] == "2"  # closed in the window
    assert numbers[1] == "50%"  # quick on time, late not
    assert numbers[3] == "67%"  # 2 of 3 follow-up visits satisfied
    assert "张三明" not in page and quick.number not in page


def test_the_handling_deadline_follows_assignments_extensions_and_pauses():
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai

    def event(action, hours, to_status="accepted", from_status="accepted", **data):
        return CaseEvent(
            action=action,
            at=start + timedelta(hours=hours),
            from_status=from_status,
            to_status=to_status,
            data=data,
        )

    case = Case(category="fire", severity="medium")
    assigned_due = start + timedelta(days=3)
    events = [
        event("open", 0, "open", ""),
        event("request_escalation", 1, "escalated", "open"),
        event("accept", 2, "accepted", "escalated"),  # the handling stage starts here
        event("assign", 3, due_at=assigned_due.isoformat()),
        event("approve_extension", 4, days=2),
        event("pause", 5),
        event("resume", 29),  # a day waiting on the resident
        event("resolve", 100, "resolved"),
    ]
    resolved_at, deadline = handling_deadline(case, events, DEFAULT_LIMITS)
    assert resolved_at == events[-1].at
    assert deadline == add_workdays(assigned_due, 2) + timedelta(hours=24)


def test_figures_have_an_empty_state(client, world):
    page = client.get(f"/public/c/{world.communities['C2'].id}/stats").get_data(as_text=True)
    assert 'class="empty"' in page


# --- what every public response may and may not hold -------------------------------------------


def every_public_response(client, world, notices):
    c1, c2 = world.communities["C1"], world.communities["C2"]
    urls = [
        "/public",
        "/public?choose=1",
        f"/public/c/{c1.id}",
        f"/public/c/{c1.id}?category=publicity",
        f"/public/c/{c2.id}",
        f"/public/c/{c1.id}/find",
        f"/public/c/{c1.id}/find?q=3号楼",
        f"/public/c/{c1.id}/find?q=幸福里3号楼2单元501",
        f"/public/c/{c1.id}/find?q=没有这个地方",
        f"/public/c/{c1.id}/stats",
        "/public/c/999999",
        "/public/no-such-page",
        f"/public/notices/{uuid.uuid4().int % 10**6}",
        f"/public/notices/1/files/{uuid.uuid4()}",
    ]
    urls += [f"/public/notices/{n.id}" for n in notices.values()]
    urls += [f"/public/notices/{n.id}?c={c1.id}" for n in notices.values()]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 302, 404), url
        yield url, response


def test_no_public_response_holds_an_id_or_a_residents_mobile(client, world, notices):
    allowed = {WORKER_PHONE, "13500001111"}  # published work phones
    seen_404 = 0
    for url, response in every_public_response(client, world, notices):
        text = response.get_data(as_text=True)
        assert not ID_PATTERN.search(text), url
        phones = {re.sub(r"\D", "", m) for m in MOBILE_PATTERN.findall(text)}
        assert phones <= allowed, (url, phones - allowed)
        for resident in world.residents.values():
            assert resident.name not in text, url
        seen_404 += response.status_code == 404
    assert seen_404 >= 5


def test_public_pages_are_small_and_carry_the_csp(client, world, notices):
    for url, response in every_public_response(client, world, notices):
        if response.status_code == 302:
            continue
        assert len(response.data) < PAGE_BUDGET, (url, len(response.data))
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        text = response.get_data(as_text=True)
        assert " style=" not in text and "<style" not in text, url
        for script in re.findall(r"<script[^>]*>", text):
            assert 'src="' in script or 'type="application/json"' in script, (url, script)
        if response.status_code == 200:
            assert '<html lang="zh-CN">' in text


def test_an_unchanged_public_page_costs_a_304(client, world, notices):
    url = f"/public/c/{world.communities['C1'].id}"
    first = client.get(url)
    assert first.headers["Cache-Control"] == "no-cache" and first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
