"""A grid worker's home page (我的网格) and its worklists, and the care settings page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest

from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import AuditLog, ElderlyCheck, Setting, Visit
from webapp.rounds import worklists

TODAY = date(2026, 11, 21)
BORN_80_PLUS = date(1940, 5, 1)


@pytest.fixture
def today(monkeypatch):
    """Pin the worker's 'today' (Asia/Shanghai) so due dates do not drift with the calendar."""

    def pin(day: date) -> date:
        monkeypatch.setattr("webapp.rounds.home_views.local_today", lambda: day)
        return day

    pin(TODAY)
    return pin


@pytest.fixture
def grid(gen_grid):
    return gen_grid(name="幸福里第1网格")


@pytest.fixture
def worker(gen_user, grid):
    user = gen_user("gw1", role="grid_worker", scope=grid)
    db.session.commit()
    return user


def shanghai_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), SHANGHAI).astimezone(UTC)


def add_check(resident, author, on: date) -> ElderlyCheck:
    check = ElderlyCheck(
        id=uuid.uuid4(),
        grid_id=resident.grid_id,
        author_id=author.id,
        resident_id=resident.id,
        checked_at=shanghai_noon(on),
        method="in_person",
        status="ok",
    )
    db.session.add(check)
    return check


def add_visit(household, author, at: datetime) -> Visit:
    visit = Visit(
        id=uuid.uuid4(),
        grid_id=household.grid_id,
        author_id=author.id,
        household_id=household.id,
        visited_at=at,
        visit_kind="routine",
    )
    db.session.add(visit)
    return visit


def log_out(client) -> None:
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token_from(html)})


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


# --- the home page --------------------------------------------------------------------------


def test_home_shows_the_counts_and_links_to_each_list(
    client, login_as, worker, grid, gen_household, gen_resident, gen_case, today
):
    household = gen_household(grid=grid, address="幸福里1号楼1单元101")
    overdue = gen_resident(
        household=household, name="李秀英", living_alone=True, birth_date=BORN_80_PLUS
    )
    gen_resident(household=household, name="王建国", birth_date=date(1966, 1, 1), empty_nest=True)
    add_check(overdue, worker, date(2026, 11, 1))  # weekly: due 8 Nov, 13 days overdue
    gen_case(grid=grid, title="楼道堆放杂物", status="open", level="grid")
    db.session.commit()
    login_as("gw1")

    html = page(client, "/grid")

    assert "<h1>我的网格</h1>" in html
    assert html.count('class="grid-work"') == 1  # one grid: its quick records and buildings
    assert 'href="/grid/checks"' in html
    assert 'href="/grid/cases"' in html
    assert 'href="/grid/unvisited"' in html
    assert 'data-v="counts.due_checks">2<' in html  # two checks due
    assert "逾期 1 人" in html
    assert 'data-v="counts.waiting_cases">1<' in html  # one case
    assert 'data-v="counts.unvisited">1<' in html  # one household


def test_home_lists_due_checks_with_masked_name_address_and_lateness(
    client, login_as, worker, grid, gen_household, gen_resident, today
):
    household = gen_household(grid=grid, address="幸福里1号楼1单元101")
    overdue = gen_resident(
        household=household, name="李秀英", living_alone=True, birth_date=BORN_80_PLUS
    )
    due_today = gen_resident(household=household, name="赵德胜", birth_date=BORN_80_PLUS)
    gen_resident(household=household, name="王建国", birth_date=date(1966, 1, 1), empty_nest=True)
    add_check(overdue, worker, date(2026, 11, 1))
    add_check(due_today, worker, date(2026, 10, 22))  # 30 days: due today
    db.session.commit()
    login_as("gw1")

    html = page(client, "/grid")

    # The grid's own worker sees names in full (DESIGN.md §7): a check starts with a call.
    assert "李秀英" in html and "李*英" not in html
    assert "幸福里1号楼1单元101" in html
    assert "逾期13天" in html
    assert "今天到期" in html
    assert "从未探访" in html
    assert "独居" in html
    assert f'href="/households/{household.id}"' in html
    assert html.index("李秀英") < html.index("赵德胜") < html.index("王建国")


def test_home_shows_the_first_five_checks_and_a_link_to_all(
    client, login_as, worker, grid, gen_household, gen_resident, today
):
    for n in range(7):
        gen_resident(household=gen_household(grid=grid), name=f"孙{n}华", living_alone=True)
    db.session.commit()
    login_as("gw1")

    home = page(client, "/grid")
    assert home.count("从未探访") == 5
    assert "查看全部 7 条" in home
    assert page(client, "/grid/checks").count("从未探访") == 7


def test_another_grids_due_checks_never_appear(
    client, login_as, worker, grid, gen_grid, gen_household, gen_resident, today
):
    gen_resident(household=gen_household(grid=grid), name="李秀英", living_alone=True)
    elsewhere = gen_household(grid=gen_grid(), address="和平里9号楼1单元901")
    gen_resident(household=elsewhere, name="周海燕", living_alone=True)
    gen_household(grid=elsewhere.grid)  # an unvisited household of the other grid
    db.session.commit()
    login_as("gw1")

    for path in ("/grid", "/grid/checks", "/grid/unvisited"):
        html = page(client, path)
        assert "周*燕" not in html and "周海燕" not in html and "和平里9号楼" not in html, path
        assert f"/households/{elsewhere.id}" not in html, path


def test_empty_lists_say_what_to_do(client, login_as, worker, today):
    login_as("gw1")
    html = page(client, "/grid")
    assert "今天没有到期的探访。" in html
    assert "可以去走访本季度还没走访的住户。" in html
    assert "没有等待您处理的事件。" in html
    assert "本季度所有住户都已走访。" in html


@pytest.mark.parametrize("path", ["/grid", "/grid/checks", "/grid/cases", "/grid/unvisited"])
def test_worklists_are_for_grid_workers_only(client, login_as, gen_user, gen_community, path):
    gen_user("cs1", role="community_staff", scope=gen_community())
    db.session.commit()
    login_as("cs1")
    assert client.get(path).status_code == 403


# --- cases waiting on the worker ------------------------------------------------------------


def test_cases_waiting_on_the_worker_are_local_ones_and_follow_ups(
    client, login_as, worker, grid, gen_grid, gen_case, today
):
    local = gen_case(grid=grid, title="楼道堆放杂物", status="open", level="grid")
    follow_up = gen_case(grid=grid, title="路灯不亮", status="resolved", level="community")
    gen_case(grid=grid, title="已上报待受理", status="escalated", level="community")
    gen_case(grid=grid, title="社区处理中", status="accepted", level="community")
    gen_case(grid=grid, title="已回访结案", status="closed", level="grid")
    gen_case(grid=gen_grid(), title="别的网格的事", status="open", level="grid")
    db.session.commit()
    login_as("gw1")

    html = page(client, "/grid/cases")

    assert "楼道堆放杂物" in html and "路灯不亮" in html
    for title in ("已上报待受理", "社区处理中", "已回访结案", "别的网格的事"):
        assert title not in html
    assert f'href="/cases/{local.id}"' in html
    assert f'href="/cases/{follow_up.id}"' in html
    assert "已办结，待回访" in html


def test_waiting_cases_with_the_nearest_time_limit_come_first(app, grid, gen_case):
    later = gen_case(grid=grid, status="open", due_at=datetime(2026, 12, 1, tzinfo=UTC))
    sooner = gen_case(grid=grid, status="open", due_at=datetime(2026, 11, 25, tzinfo=UTC))
    no_limit = gen_case(grid=grid, status="resolved")
    assert [c.id for c in worklists.waiting_cases([grid.id])] == [sooner.id, later.id, no_limit.id]


# --- households not visited this quarter ----------------------------------------------------


def test_lived_in_households_without_a_visit_this_quarter_are_listed(
    app, worker, grid, gen_building, gen_household
):
    building = gen_building(grid=grid)
    visited = gen_household(building=building, room="101")
    rented = gen_household(building=building, room="102", occupancy="rented_out")
    gen_household(building=building, room="201", occupancy="vacant")
    gen_household(building=building, room="202", occupancy="moved_out")
    add_visit(visited, worker, shanghai_noon(date(2026, 10, 9)))
    db.session.commit()

    unvisited = worklists.unvisited_households([grid.id], TODAY)

    assert [h.id for h in unvisited] == [rented.id]
    assert worklists.count_unvisited_households([grid.id], TODAY) == 1


def test_a_visit_on_the_last_day_of_the_previous_quarter_does_not_count(
    app, worker, grid, gen_household
):
    household = gen_household(grid=grid)
    add_visit(household, worker, shanghai_noon(date(2026, 9, 30)))
    db.session.commit()
    assert [h.id for h in worklists.unvisited_households([grid.id], TODAY)] == [household.id]


def test_a_visit_at_1700_utc_on_september_30_is_october_1_in_shanghai_and_counts_for_q4(
    app, worker, grid, gen_household
):
    household = gen_household(grid=grid)
    add_visit(household, worker, datetime(2026, 9, 30, 17, 0, tzinfo=UTC))
    db.session.commit()
    assert worklists.unvisited_households([grid.id], date(2026, 10, 15)) == []


def test_a_visit_at_1559_utc_on_september_30_is_still_q3_in_shanghai(
    app, worker, grid, gen_household
):
    household = gen_household(grid=grid)
    add_visit(household, worker, datetime(2026, 9, 30, 15, 59, tzinfo=UTC))  # 23:59 Shanghai
    db.session.commit()
    assert [h.id for h in worklists.unvisited_households([grid.id], date(2026, 10, 15))] == [
        household.id
    ]


def test_unvisited_households_come_in_walking_order(app, grid, gen_building, gen_household):
    first, second = gen_building(grid=grid), gen_building(grid=grid)
    b2 = gen_household(building=second, room="101")
    a1101 = gen_household(building=first, room="1101")
    a501 = gen_household(building=first, room="501")
    a2_101 = gen_household(building=first, unit=2, room="101")
    db.session.commit()
    unvisited = worklists.unvisited_households([grid.id], TODAY)
    assert [h.id for h in unvisited] == [a501.id, a1101.id, a2_101.id, b2.id]


def test_the_unvisited_list_has_pages_of_fifty(
    client, login_as, worker, grid, gen_building, gen_household, today
):
    building = gen_building(grid=grid, name="长乐苑1号楼")
    for n in range(55):
        gen_household(building=building, room=f"{n + 1:03d}")
    db.session.commit()
    login_as("gw1")

    first = page(client, "/grid/unvisited")
    second = page(client, "/grid/unvisited?page=2")

    assert first.count('class="item"') == 50
    assert second.count('class="item"') == 5
    assert "第 1 / 2 页" in first
    assert 'href="/grid/unvisited?page=2"' in first
    assert "长乐苑1号楼1单元001" in first and "长乐苑1号楼1单元051" in second
    assert page(client, "/grid/unvisited?page=9").count('class="item"') == 5  # the last page
    assert "查看全部 55 条" in page(client, "/grid")


def test_the_home_page_counts_unvisited_households_by_the_shanghai_quarter(
    client, login_as, worker, grid, gen_household, today
):
    q3_late = gen_household(grid=grid, address="幸福里1号楼1单元101")
    q4_early = gen_household(grid=grid, address="幸福里1号楼1单元102")
    add_visit(q3_late, worker, datetime(2026, 9, 30, 15, 59, tzinfo=UTC))
    add_visit(q4_early, worker, datetime(2026, 9, 30, 17, 0, tzinfo=UTC))
    db.session.commit()
    today(date(2026, 10, 15))
    login_as("gw1")

    html = page(client, "/grid/unvisited")

    assert "幸福里1号楼1单元101" in html
    assert "幸福里1号楼1单元102" not in html
    assert "上次走访 2026-09-30" in html


# --- care settings --------------------------------------------------------------------------


@pytest.fixture
def admin(gen_user):
    user = gen_user("root", role="admin")
    db.session.commit()
    return user


def settings_form(client) -> dict:
    html = page(client, "/admin/settings/care")
    return {
        "csrf_token": csrf_token_from(html),
        "living_alone_80_plus": "7",
        "living_alone_or_empty_nest": "14",
        "age_80_plus": "30",
        "other_care": "90",
        "community_correction": "30",
        "severe_disability": "30",
        "party_lost_contact": "30",
        "veteran": "0",
    }


def saved_intervals() -> dict | None:
    db.session.expire_all()
    setting = db.session.get(Setting, "care_intervals")
    return setting.value if setting is not None else None


def test_the_settings_page_shows_the_current_values_and_defaults(client, login_as, admin):
    login_as("root")
    html = page(client, "/admin/settings/care")
    assert "<h1>探访周期</h1>" in html
    assert 'name="living_alone_80_plus"' in html and 'value="7"' in html
    assert "默认 90 天" in html


def test_an_admin_saves_new_intervals(client, login_as, admin):
    login_as("root")
    form = settings_form(client) | {"age_80_plus": "21", "other_care": "0"}

    response = client.post("/admin/settings/care", data=form)

    assert response.status_code == 303
    assert saved_intervals() == {
        "living_alone_80_plus": 7,
        "living_alone_or_empty_nest": 14,
        "age_80_plus": 21,
        "other_care": 0,
        "community_correction": 30,
        "severe_disability": 30,
        "party_lost_contact": 30,
        "veteran": 0,
    }
    html = page(client, response.headers["Location"])
    assert "已保存" in html and 'value="21"' in html
    assert db.session.query(AuditLog).filter_by(action="setting_changed").count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("366", "请输入 0 到 365 之间的天数。"),
        ("-1", "请输入 0 到 365 之间的天数。"),
        ("每周", "请输入整数天数。"),
        ("", "请输入天数（0 表示不启用该规则）。"),
    ],
)
def test_intervals_must_be_whole_days_from_0_to_365(client, login_as, admin, value, message):
    login_as("root")
    response = client.post(
        "/admin/settings/care", data=settings_form(client) | {"age_80_plus": value}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert saved_intervals() is None


def test_saving_settings_needs_the_csrf_token(client, login_as, admin):
    login_as("root")
    form = settings_form(client) | {"csrf_token": "forged"}
    assert client.post("/admin/settings/care", data=form).status_code == 400
    assert saved_intervals() is None


def test_only_admins_may_change_the_care_settings(client, login_as, worker):
    login_as("gw1")
    token = csrf_token_from(page(client, "/grid"))
    assert client.get("/admin/settings/care").status_code == 403
    form = {"csrf_token": token, "age_80_plus": "1"}
    assert client.post("/admin/settings/care", data=form).status_code == 403
    assert saved_intervals() is None


def test_a_new_interval_moves_due_dates_on_the_worker_home(
    client, login_as, admin, worker, grid, gen_household, gen_resident, today
):
    resident = gen_resident(
        household=gen_household(grid=grid), name="赵德胜", birth_date=BORN_80_PLUS
    )
    add_check(resident, worker, date(2026, 11, 1))  # 30 days: due 1 December
    db.session.commit()
    login_as("gw1")
    assert "赵德胜" not in page(client, "/grid/checks")

    log_out(client)
    login_as("root")
    client.post("/admin/settings/care", data=settings_form(client) | {"age_80_plus": "14"})
    log_out(client)
    login_as("gw1")

    html = page(client, "/grid/checks")
    assert "赵德胜" in html and "逾期6天" in html
