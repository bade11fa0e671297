"""The escalation path end to end, in a browser: a hazard worker1 leaves alone climbs to the street
office on schedule (`sla tick --now` moved forward), street1 sees it red on the board, accepts,
assigns, marks it 督办 and resolves it, and worker1 closes it with a follow-up visit (回访)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.case_actions import action_box
from tests.e2e.conftest import log_in
from webapp import create_app
from webapp.extensions import db
from webapp.models import Case


@pytest.fixture
def cli_app(e2e_database_url):
    """The same database as the live server, for running `flask …` commands; the demo clock is
    put back afterwards so other browser tests see real time."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": e2e_database_url})
    yield app
    app.test_cli_runner().invoke(args=["clock", "reset"])
    with app.app_context():
        db.engine.dispose()


def test_a_hazard_left_alone_reaches_the_street_and_is_closed_after_follow_up(
    browser, live_server, cli_app, screenshot
):
    def phone_page():
        context = browser.new_context(
            base_url=live_server,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 360, "height": 740},
            is_mobile=True,
            has_touch=True,
        )
        return context.new_page()

    # worker1 records a hazard that cannot be fixed on the spot.
    worker = phone_page()
    log_in(worker, "worker1")
    worker.goto("/grid")
    worker.locator(".grid-work h2 a").first.click()
    worker.locator("ul.list a.row").first.click()
    worker.locator("a.room").first.click()
    worker.get_by_role("link", name="安全隐患").click()
    worker.fill("#place", "1单元楼道")
    worker.select_option("#category", "fire")
    worker.get_by_text("严重", exact=True).click()
    worker.fill("#description", "消防通道被杂物堵塞，住户不愿清理")
    worker.get_by_role("button", name="保存").click()
    case_url = worker.locator(".flash-case a").get_attribute("href")
    case_id = re.search(r"/cases/([0-9a-f-]{36})", case_url).group(1)

    # Nobody acts; cron runs `flask sla tick` a month later.
    with cli_app.app_context():
        case = db.session.scalar(select(Case).where(Case.id == __import__("uuid").UUID(case_id)))
        later = (case.due_at + timedelta(days=30)).isoformat()
    result = cli_app.test_cli_runner().invoke(args=["sla", "tick", "--now", later])
    assert result.exit_code == 0, result.output
    with cli_app.app_context():
        db.session.expire_all()
        case = db.session.get(Case, case.id)
        assert (case.level, case.status) == ("street", "escalated")
        number = case.number

    # street1 finds it red on the board.
    clerk = browser.new_context(
        base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai"
    ).new_page()
    log_in(clerk, "street1")
    assert clerk.url.endswith("/cases/triage")
    clerk.select_option("select[name=sla]", "red")
    clerk.wait_for_url(re.compile(r"sla=red"))
    row = clerk.locator("li.case-row", has_text=number)
    assert row.count() == 1
    assert "sla-row-red" in row.get_attribute("class")
    screenshot(clerk, "triage-board-red")
    row.locator("a.case-link").click()

    def do(verb, fill=None):
        box = action_box(clerk, verb)
        if fill:
            fill(box)
        box.get_by_role("button", name=verb).click()
        assert f"已完成：{verb}" in clerk.locator(".flashes").inner_text()

    # The buttons say what they do (受理, 分派), and the one the status calls for comes first.
    assert clerk.locator("section.next-action h2").inner_text() == "受理"
    do("受理")
    do(
        "分派",
        lambda box: (
            box.locator("select[name=department]").select_option("城管执法中队"),
            box.locator("input[name=due_at]").fill("2030-01-01T10:00"),
        ),
    )
    do("督办", lambda box: box.locator("input[name=deadline]").fill("2030-01-02T10:00"))

    # The department is an actor (wave 2): it signs for the case and reports back; the street
    # reviews the report, and the last approval settles the case (办结).
    city = browser.new_context(
        base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai"
    ).new_page()
    log_in(city, "dept1")
    city.goto(f"/cases/{case_id}")
    for verb, fill in (
        ("签收", None),
        ("回单", lambda box: box.locator("textarea[name=result]").fill("消防通道已清理")),
    ):
        box = action_box(city, verb)
        if fill:
            fill(box)
        box.get_by_role("button", name=verb).click()
        expect(city.locator(".flashes")).to_contain_text(f"已完成：{verb}")
    clerk.reload()
    do("审核", lambda box: box.get_by_text("通过", exact=True).click())
    assert "已办结，待回访" in clerk.locator("dl.facts").inner_text()

    # worker1 sees the follow-up on the home page and closes the case.
    worker.goto("/grid")
    assert number in worker.content() or worker.locator(f"a[href='/cases/{case_id}']").count() > 0
    worker.goto(f"/cases/{case_id}")
    box = action_box(worker, "回访")
    box.get_by_text("满意", exact=True).click()
    box.locator("textarea[name=notes]").fill("居民对处理结果满意")
    box.get_by_role("button", name="回访").click()
    # The worker's 回访 goes through the phone's outbox, then back to the case page.
    expect(worker.locator(".flashes")).to_contain_text("已完成：回访")
    expect(worker.locator("dl.facts")).to_contain_text("已结案")
    screenshot(worker, "case-closed-after-follow-up")


def test_the_board_shows_a_new_escalation_without_a_reload(browser, live_server, cli_app):
    clerk = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
    log_in(clerk, "street1")
    rows_before = clerk.locator("li.case-row").count()

    # Meanwhile worker1 escalates an urgent hazard straight to the street office.
    worker = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
    log_in(worker, "worker1")
    worker.goto("/grid")
    worker.locator(".grid-work h2 a").first.click()
    worker.get_by_role("link", name="其他地点的隐患").click()
    worker.fill("#place", "小区南门配电箱")
    worker.select_option("#category", "electrical")
    worker.get_by_text("紧急", exact=True).click()
    worker.fill("#description", "配电箱门损坏，电线裸露")
    worker.get_by_role("button", name="保存").click()
    worker.locator(".flash-case a").click()
    action_box(worker, "申请上报").get_by_role("button", name="申请上报").click()
    expect(worker.locator(".flashes")).to_contain_text("已完成：申请上报")
    expect(worker.locator("dl.facts")).to_contain_text("已上报，待受理")

    # The clerk's board, untouched, picks it up by itself.
    clerk.locator("li.case-row", has_text="配电箱门损坏").wait_for(timeout=15000)
    assert clerk.locator("li.case-row").count() == rows_before + 1
