"""Supervision dashboards, evaluation and ledgers (issue 11), against a hand-computed world.

The world: street 1 with communities A (grids A1, A2) and B (grid B1); street 2 with grid Z1, so
scoping is tested against someone real to leak to. Period: October 2026, read on 5 November.

Hand-computed figures for grid A1 in October 2026 (no holidays after the 8th):
- case "quick": opened Mon 19 Oct, resolved Wed 21 Oct at grid level (2 working days, limit
  5 working days → on time), 回访 satisfied on 22 Oct, closed.
- case "late": opened Mon 19 Oct, escalated to community, resolved Fri 30 Oct (9 working days,
  past the 26 Oct limit → late), 回访 basically satisfied 31 Oct, closed.
  → closed 2, on time 1 (50 %), median working days (2 + 9) / 2 = 5.5, satisfied 2 of 2,
    settled in the grid 1 of 2.
- care: an 85-year-old living alone (every 7 days) last reached 20 Oct → overdue on 31 Oct;
  an empty-nest resident (every 14 days) reached 25 Oct → on time. A check on 3 Nov, after the
  period, does not count. → 1 of 2 on time.
- visits: households h1, h2, h3 lived in; h1 visited twice on 20 Oct → 1 of 3 covered.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from tests import factories as f
from tests.conftest import csrf_token_from
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import AuditLog, CaseEvent, ElderlyCheck, LedgerExport, Visit
from webapp.public.figures import community_figures
from webapp.reports.dashboard import build_dashboard
from webapp.reports.evaluation import grid_evaluations, save_grade_thresholds, worker_evaluations
from webapp.reports.ledger import summary_values
from webapp.reports.periods import EVERYTHING_SCOPE, parse_area, parse_period

NOW = datetime(2026, 11, 5, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def sh(day: str, hour: int = 10) -> datetime:
    """A Shanghai wall-clock time on an ISO day, as the UTC instant the database keeps."""
    return datetime.combine(
        date.fromisoformat(day), datetime.min.time().replace(hour=hour), SHANGHAI
    ).astimezone(UTC)


class World:
    pass


def closed_case(
    grid, opened, resolved, satisfaction, resolve_level="grid", severity="medium", **kw
):
    case = f.gen_case(grid, severity=severity, opened_at=opened, **kw)
    followed = resolved + timedelta(days=1)
    case.status, case.level, case.satisfaction = "closed", resolve_level, satisfaction
    case.resolved_at, case.closed_at = resolved, followed
    db.session.add_all(
        [
            CaseEvent(
                case_id=case.id,
                action="resolve",
                at=resolved,
                from_status="open",
                to_status="resolved",
                from_level=resolve_level,
                to_level=resolve_level,
                data={},
            ),
            CaseEvent(
                case_id=case.id,
                action="follow_up",
                at=followed,
                from_status="resolved",
                to_status="closed",
                from_level=resolve_level,
                to_level=resolve_level,
                data={"satisfaction": satisfaction},
            ),
        ]
    )
    db.session.flush()
    return case


def visit(worker, household, at):
    db.session.add(
        Visit(
            id=uuid.uuid4(),
            author_id=worker.id,
            grid_id=household.grid_id,
            household_id=household.id,
            visited_at=at,
            visit_kind="routine",
            received_at=at,
        )
    )


def check(worker, resident, at, status="ok"):
    db.session.add(
        ElderlyCheck(
            id=uuid.uuid4(),
            author_id=worker.id,
            grid_id=resident.grid_id,
            resident_id=resident.id,
            checked_at=at,
            method="in_person",
            status=status,
            health_notes="血压偏高",
            received_at=at,
        )
    )


@pytest.fixture
def world(app):
    w = World()
    w.street = f.gen_street(name="东湖街道")
    w.community_a = f.gen_community(w.street, name="幸福里社区")
    w.community_b = f.gen_community(w.street, name="和平社区")
    w.a1 = f.gen_grid(w.community_a, name="幸福里第1网格")
    w.a2 = f.gen_grid(w.community_a, name="幸福里第2网格")
    w.b1 = f.gen_grid(w.community_b, name="和平第1网格")
    w.street2 = f.gen_street(name="西湖街道")
    w.z1 = f.gen_grid(f.gen_community(w.street2, name="西湖社区"), name="西湖第1网格")

    w.street_staff = f.gen_user("street1", "street_staff", w.street)
    w.community_staff = f.gen_user("community1", "community_staff", w.community_a)
    w.worker = f.gen_user("worker1", "grid_worker", w.a1, display_name="李网格")
    w.worker_b = f.gen_user("worker3", "grid_worker", w.b1)
    w.street2_staff = f.gen_user("street2", "street_staff", w.street2)

    w.h1, w.h2, w.h3 = (f.gen_household(w.a1) for _ in range(3))
    w.elder = f.gen_resident(w.h1, name="王秀英", birth_date=date(1941, 5, 1), living_alone=True)
    w.nest = f.gen_resident(w.h2, name="赵建国", birth_date=date(1960, 5, 1), empty_nest=True)
    check(w.worker, w.elder, sh("2026-10-20"))
    check(w.worker, w.elder, sh("2026-11-03"))  # after the period: must not count
    check(w.worker, w.nest, sh("2026-10-25"))
    visit(w.worker, w.h1, sh("2026-10-20", 9))
    visit(w.worker, w.h1, sh("2026-10-20", 15))

    w.quick = closed_case(w.a1, sh("2026-10-19"), sh("2026-10-21"), "satisfied")
    w.late = closed_case(
        w.a1, sh("2026-10-19"), sh("2026-10-30"), "basically_satisfied", resolve_level="community"
    )
    w.b_case = closed_case(w.b1, sh("2026-10-20"), sh("2026-10-22"), "dissatisfied")
    w.other_street = closed_case(w.z1, sh("2026-10-20"), sh("2026-10-22"), "satisfied")
    db.session.commit()
    return w


def board_for(area_code: str, period: str = "2026-10", now: datetime = NOW):
    return build_dashboard(parse_area(area_code, EVERYTHING_SCOPE), parse_period(period, now), now)


def grid_row(board, grid):
    return next(unit for unit in board.grids if unit.id == grid.id)


def test_dashboard_figures_match_the_hand_computed_world(world):
    a1 = grid_row(board_for(f"community:{world.community_a.id}"), world.a1)
    assert (a1.outcomes.closed, a1.outcomes.on_time, a1.outcomes.with_deadline) == (2, 1, 2)
    assert a1.outcomes.on_time_rate == 0.5
    assert a1.outcomes.median_workdays == 5.5
    assert a1.outcomes.satisfied_rate == 1.0
    assert (a1.care_scheduled, a1.care_overdue, a1.care_rate) == (2, 1, 0.5)
    assert (a1.households, a1.visited) == (3, 1)
    assert (a1.resolved, a1.resolved_locally) == (2, 1)


def test_a_street_dashboard_rolls_communities_up_and_leaves_the_other_street_out(world):
    board = board_for(f"street:{world.street.id}")
    assert [row.name for row in board.rows] == ["幸福里社区", "和平社区"]
    assert board.total.outcomes.closed == 3
    assert board.total.outcomes.satisfaction == {
        "satisfied": 1,
        "basically_satisfied": 1,
        "dissatisfied": 1,
    }
    assert world.z1.id not in board.area.grid_ids
    assert sorted(board.total.outcomes.workdays) == [2, 2, 9]


def test_dashboard_and_public_page_give_the_same_figures_for_the_same_window(world):
    # The dashboard's "last 90 days" is the public page's window, computed by the same function.
    board = board_for(f"street:{world.street.id}", period="last90d")
    for community in (world.community_a, world.community_b):
        public = community_figures(community, NOW)
        row = next(row for row in board.rows if row.id == community.id)
        assert row.outcomes.closed == public.closed
        assert row.outcomes.on_time_rate == public.on_time_rate
        assert row.outcomes.average_workdays == public.average_workdays
        assert row.outcomes.satisfied_rate == public.satisfied_rate


def test_the_public_page_and_the_dashboard_page_print_the_same_numbers(client, login_as, world):
    community = world.community_a.id
    public = client.get(f"/public/c/{community}/stats").get_data(as_text=True)
    assert "50%" in public and "5.5" in public  # 1 of 2 on time, (2 + 9) / 2 working days
    login_as("street1")
    page = client.get(f"/reports?period=last90d&area=community:{community}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "50.0%" in html and "5.5" in html


def test_evaluation_does_not_move_when_visits_are_padded(world):
    before = board_for(f"community:{world.community_a.id}")
    for hour in range(9, 18):  # the same door, the same day, again and again
        visit(world.worker, world.h1, sh("2026-10-20", hour))
    db.session.commit()
    after = board_for(f"community:{world.community_a.id}")
    assert grid_evaluations(after) == grid_evaluations(before)
    assert worker_evaluations(after) == worker_evaluations(before)
    assert grid_row(after, world.a1).visited == 1


def test_evaluation_score_and_grade_follow_the_formula_and_thresholds(world):
    rows = {row.name: row for row in grid_evaluations(board_for(f"street:{world.street.id}"))}
    a1 = rows["幸福里第1网格"]
    # 35×0.5 + 25×1.0 + 25×0.5 + 15×0.5 = 62.5 of 100
    assert a1.score == 62.5 and a1.grade == "average"
    assert rows["幸福里第2网格"].grade is None  # nothing to judge: no case, nobody on the schedule
    save_grade_thresholds({"good": 90, "fairly_good": 70, "average": 65})
    db.session.commit()
    rows = {row.name: row for row in grid_evaluations(board_for(f"street:{world.street.id}"))}
    assert rows["幸福里第1网格"].grade == "poor"
    workers = {row.name: row for row in worker_evaluations(board_for(f"street:{world.street.id}"))}
    assert workers["李网格"].score == 62.5


def test_the_evaluation_page_shows_the_formula(client, login_as, world):
    login_as("street1")
    page = client.get(f"/reports/evaluation?period=2026-10&area=street:{world.street.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "35%" in html and "李网格" in html
    assert page.headers["Cache-Control"] == "no-store"


def test_a_community_clerk_sees_only_their_community(client, login_as, world):
    login_as("community1")
    html = client.get("/reports?period=2026-10").get_data(as_text=True)
    assert "幸福里第1网格" in html and "和平第1网格" not in html
    refused = client.get(f"/reports?period=2026-10&area=community:{world.community_b.id}")
    assert refused.status_code == 400
    assert "不在您的管辖范围" in refused.get_data(as_text=True)


def test_a_street_clerk_cannot_read_the_other_street(client, login_as, world):
    login_as("street2")
    html = client.get("/reports?period=2026-10").get_data(as_text=True)
    assert "西湖" in html and "幸福里" not in html
    assert client.get(f"/reports?area=street:{world.street.id}").status_code == 400
    assert client.get(f"/reports?area=grid:{world.a1.id}").status_code == 400


def test_a_bad_period_gets_a_chinese_message(client, login_as, world):
    login_as("street1")
    page = client.get("/reports?period=2026-13")
    assert page.status_code == 400 and "期间" in page.get_data(as_text=True)


def test_a_grid_worker_gets_my_month_and_not_the_street_dashboard(client, login_as, world):
    login_as("worker1")
    page = client.get("/reports/me?period=2026-10")
    assert page.status_code == 200 and "幸福里第1网格" in page.get_data(as_text=True)
    assert client.get("/reports").status_code == 403


def wait_for_export(client, location: str) -> str:
    for _attempt in range(100):
        html = client.get(location, headers={"HX-Request": "true"}).get_data(as_text=True)
        if "/file" in html:
            return html
        time.sleep(0.1)
    raise AssertionError(f"export did not finish: {html}")


def export_as(client, login_as, username: str, area: str):
    login_as(username)  # the fixture's form login, CSRF included
    page = client.get(f"/reports?period=2026-10&area={area}").get_data(as_text=True)
    started = time.perf_counter()
    answer = client.post(
        "/reports/exports",
        data={"period": "2026-10", "area": area, "csrf_token": csrf_token_from(page)},
    )
    assert answer.status_code == 303
    assert time.perf_counter() - started < 5  # answered before the workbook exists
    wait_for_export(client, answer.headers["Location"])
    job_id = answer.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    download = client.get(f"/reports/exports/{job_id}/file")
    assert download.status_code == 200
    return job_id, download


def test_the_ledger_is_made_off_the_request_path_and_matches_the_dashboard(
    client, login_as, world, tmp_path
):
    area = f"street:{world.street.id}"
    job_id, download = export_as(client, login_as, "street1", area)
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(download.data)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:3] == ["汇总", "考评", "情况通报"]
    assert {"入户走访", "矛盾纠纷", "老人探访", "安全隐患", "案件"} <= set(workbook.sheetnames)
    summary = workbook["汇总"]
    assert summary.freeze_panes == "A2" and summary["A1"].value == "单位"
    assert summary.column_dimensions["A"].width > 10

    from webapp import clock

    board = board_for(area, now=clock.now())
    expected = [summary_values(unit) for unit in [*board.rows, board.total]]
    actual = [
        list(row)
        for row in summary.iter_rows(min_row=2, max_row=1 + len(expected), values_only=True)
    ]
    assert actual == expected
    assert actual[0][0] == "幸福里社区" and actual[0][1] == 2

    checks = workbook["老人探访"]
    names = [row[2] for row in checks.iter_rows(min_row=2, values_only=True)]
    assert "王*英" in names and "王秀英" not in names  # street staff see names masked
    assert all(row[6] in (None, "") for row in checks.iter_rows(min_row=2, values_only=True))
    assert checks["A2"].value == datetime(2026, 10, 20, 10, 0)  # Shanghai wall-clock time

    cases = {row[0]: row for row in workbook["案件"].iter_rows(min_row=2, values_only=True)}
    assert cases[world.quick.number][12] == "按期办结"
    assert cases[world.late.number][12] == "超期办结"
    assert "回访（满意）" in cases[world.quick.number][15]
    assert world.other_street.number not in cases

    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "ledger_export"))
    assert audit.detail["masked"] is True and audit.target_id == area


def test_a_community_clerk_gets_full_names_and_the_export_is_audited(
    client, login_as, world, tmp_path
):
    area = f"community:{world.community_a.id}"
    _job, download = export_as(client, login_as, "community1", area)
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(download.data)
    names = [
        row[2]
        for row in openpyxl.load_workbook(path)["老人探访"].iter_rows(min_row=2, values_only=True)
    ]
    assert "王秀英" in names
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "ledger_export"))
    assert audit.detail["masked"] is False and audit.actor_name == "community1"


def test_someone_elses_export_is_not_found(client, login_as, world):
    job_id, _download = export_as(client, login_as, "street1", f"street:{world.street.id}")
    other = client.application.test_client()
    other.post(
        "/login",
        data={
            "username": "street2",
            "password": f.TEST_PASSWORD,
            "csrf_token": csrf_token_from(other.get("/login").get_data(as_text=True)),
        },
    )
    assert other.get(f"/reports/exports/{job_id}").status_code == 404
    assert other.get(f"/reports/exports/{job_id}/file").status_code == 404
    assert db.session.get(LedgerExport, uuid.UUID(job_id)).status == "done"


def test_the_cli_writes_the_ledger_and_refuses_a_bad_period(app, world, tmp_path):
    out = tmp_path / "street.xlsx"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "ledger",
            "export",
            "--period",
            "2026-10",
            "--scope",
            f"street:{world.street.id}",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(out)
    assert workbook["汇总"]["B4"].value == 3  # the street's total: three cases closed
    bad = runner.invoke(
        args=[
            "ledger",
            "export",
            "--period",
            "2026-Q5",
            "--scope",
            f"street:{world.street.id}",
            "--out",
            str(out),
        ]
    )
    assert bad.exit_code != 0 and "2026-Q4" in bad.output


def test_cases_from_residents_reports_count_by_the_channel_they_came_in_by(world):
    from webapp.models import ResidentReport

    hotline_case = f.gen_case(world.a1, source_kind="report", opened_at=sh("2026-10-12"))
    for number, source, case_id in (
        ("R0001", "hotline_12345", hotline_case.id),
        ("R0002", "petition", None),
    ):
        db.session.add(
            ResidentReport(
                number=number,
                kind="report",
                source=source,
                category="environment",
                grid_id=world.a1.id,
                description="垃圾清运不及时",
                case_id=case_id,
                received_at=sh("2026-10-12"),
            )
        )
    db.session.commit()
    board = board_for(f"community:{world.community_a.id}")
    assert dict(board.by_source)["hotline_12345"] == 1
    assert dict(board.by_source)["hazard"] == 2  # the factory's cases, opened from hazards
    assert dict(board.reports_by_source) == {"hotline_12345": 1, "petition": 1}


def test_the_street_dashboard_and_ledger_show_how_its_departments_did(client, login_as, world):
    from webapp.models import CasePart, Department

    department = Department(street_id=world.street.id, name="城管执法队")
    other = Department(street_id=world.street2.id, name="西湖城管")
    db.session.add_all([department, other])
    db.session.flush()
    db.session.add(
        CasePart(
            case_id=world.late.id,
            department_id=department.id,
            status="finished",
            assigned_at=sh("2026-10-20"),
            signed_at=sh("2026-10-20", 15),
            reported_at=sh("2026-10-29"),
            signed_late=False,
            reported_late=True,
        )
    )
    db.session.commit()
    board = board_for(f"street:{world.street.id}")
    assert [(d.name, d.assigned, d.reported_on_time) for d in board.departments] == [
        ("城管执法队", 1, 0)
    ]
    login_as("street1")
    html = client.get(f"/reports?period=2026-10&area=street:{world.street.id}").get_data(
        as_text=True
    )
    assert "城管执法队" in html and "西湖城管" not in html


def test_an_admin_sets_grade_thresholds_and_a_wrong_order_is_refused(client, login_as, world):
    from webapp.reports.evaluation import grade_thresholds

    f.gen_user("admin", "admin")
    db.session.commit()
    login_as("admin")
    token = csrf_token_from(client.get("/admin/settings/evaluation").get_data(as_text=True))
    bad = client.post(
        "/admin/settings/evaluation",
        data={"good": 80, "fairly_good": 85, "average": 60, "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "每个等级的最低分须低于上一等级" in bad.get_data(as_text=True)
    saved = client.post(
        "/admin/settings/evaluation",
        data={"good": 95, "fairly_good": 85, "average": 70, "csrf_token": token},
    )
    assert saved.status_code == 303
    assert grade_thresholds() == {"good": 95, "fairly_good": 85, "average": 70}
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "setting_changed"))


def test_an_export_of_a_foreign_area_is_refused_with_a_chinese_message(client, login_as, world):
    login_as("community1")
    token = csrf_token_from(client.get("/reports?period=2026-10").get_data(as_text=True))
    answer = client.post(
        "/reports/exports",
        data={"period": "2026-10", "area": f"street:{world.street.id}", "csrf_token": token},
    )
    assert answer.status_code == 400
    assert "不在您的管辖范围" in answer.get_data(as_text=True)
    assert db.session.scalar(select(LedgerExport)) is None


def test_the_trend_counts_cases_opened_and_closed_month_by_month(world):
    # Opened in September (Shanghai), closed on 1 October at 07:00 Shanghai, i.e. still
    # 30 September in UTC: the month is the Shanghai one.
    september = closed_case(world.a1, sh("2026-09-28"), sh("2026-09-30", 7), "satisfied")
    september.closed_at = sh("2026-10-01", 7)
    db.session.commit()
    board = board_for(f"street:{world.street.id}")
    trend = {month: (opened, closed) for month, opened, closed in board.trend}
    assert list(trend) == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    # October: quick, late and b_case opened; their follow-ups and September's case closed.
    assert trend["2026-10"] == (3, 4)
    assert trend["2026-09"] == (1, 0)
    assert trend["2026-05"] == (0, 0)


def test_the_overdue_list_shows_the_longest_overdue_first_and_at_most_fifty(world):
    for n in range(55):
        household = f.gen_household(world.a2)
        resident = f.gen_resident(household, birth_date=date(1940, 1, 1), living_alone=True)
        # n = 0 was last reached longest ago: the first due, the first listed.
        check(world.worker, resident, sh("2026-09-01") + timedelta(days=n // 5))
    db.session.commit()
    board = board_for(f"community:{world.community_a.id}")
    a2 = grid_row(board, world.a2)
    assert (a2.care_scheduled, a2.care_overdue) == (55, 55)
    assert board.total.care_overdue == 56  # with the 85-year-old of A1
    listed = board.overdue_checks
    assert len(listed) == 50
    keys = [(check.due_on, check.address, check.resident.id) for check in listed]
    assert keys == sorted(keys)
    assert listed[0].due_on == date(2026, 9, 8)  # 1 September + 7 days
    assert listed[0].days_overdue == (date(2026, 10, 31) - date(2026, 9, 8)).days
    assert listed[0].flags == ["living_alone", "age_80_plus"]
    assert all(check.address for check in listed)


def test_an_urgent_case_is_timed_in_clock_hours_not_working_days(world):
    # Urgent: settle within 24 clock hours, weekends included (黄金24小时). Both open on
    # Saturday 24 October at 10:00; one is settled that evening, one on Monday at noon.
    closed_case(world.a2, sh("2026-10-24"), sh("2026-10-24", 20), "satisfied", severity="urgent")
    closed_case(world.a2, sh("2026-10-24"), sh("2026-10-26", 12), "satisfied", severity="urgent")
    db.session.commit()
    a2 = grid_row(board_for(f"community:{world.community_a.id}"), world.a2)
    assert (a2.outcomes.closed, a2.outcomes.with_deadline, a2.outcomes.on_time) == (2, 2, 1)


def test_the_dashboard_is_the_same_with_its_reads_side_by_side_or_one_by_one(app, world):
    """On PostgreSQL the sections run on their own connections (webapp/side_by_side.py)."""

    def figures(board):
        units = [board.total, *board.rows, *board.grids]
        return (
            [(u.kind, u.id, vars(u.outcomes), u.care_scheduled, u.care_overdue) for u in units],
            [(u.households, u.visited, u.resolved, u.resolved_locally) for u in units],
            [(c.resident.id, c.due_on) for c in board.overdue_checks],
            board.buildings,
            board.by_category,
            board.trend,
        )

    street = f"street:{world.community_a.street_id}"
    app.config["PARALLEL_PAGE_QUERIES"] = True
    side = figures(board_for(street))
    app.config["PARALLEL_PAGE_QUERIES"] = False
    assert figures(board_for(street)) == side
