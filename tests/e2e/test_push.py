"""Web Push in a real Chromium: the service worker shows a pushed message as a notification that
leads to the page it names, and the subscribe switches appear without breaking the CSP.

Headless Chromium has no push service (Chrome's goes through Google), so the push is delivered
through the DevTools protocol, as the browser would after decrypting it; subscribing for real is
covered against a local push service in tests/integration/test_push.py."""

from __future__ import annotations

import json

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import log_in
from webapp.models import Community


def registration_id(page, cdp) -> str:
    found: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(
            r["registrationId"] for r in event["registrations"] if not r.get("isDeleted")
        ),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(200)
    for _ in range(50):
        if found:
            return found[-1]
        page.wait_for_timeout(100)
    raise AssertionError("no service worker registration reported")


def push_and_wait(page, cdp, live_server: str, payload: dict) -> dict:
    """Deliver `payload` as a push through DevTools and return the notification it shows. A
    delivery that races the worker's start-up is lost by Chromium, so it is tried up to 3 times;
    the tag makes a repeat replace, not add, a notification."""
    registration = registration_id(page, cdp)
    for _attempt in range(3):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server, "registrationId": registration, "data": json.dumps(payload)},
        )
        found = shown_notifications(page, payload["tag"], seconds=5)
        if found:
            return found[0]
    raise AssertionError(f"no notification tagged {payload['tag']!r} was shown")


def shown_notifications(page, tag: str, seconds: int = 10) -> list[dict]:
    """The notifications with `tag`, read the moment they appear (polled inside the page for up to
    10 s): the push is handled after the DevTools call returns, and headless Chromium may close a
    notification soon after showing it."""
    found = page.evaluate(
        """async ([tag, rounds]) => {
          const registration = await navigator.serviceWorker.ready;
          for (let i = 0; i < rounds; i += 1) {
            const list = await registration.getNotifications({ tag: tag });
            if (list.length) {
              return list.map(n => ({ title: n.title, body: n.body, tag: n.tag,
                                      url: n.data && n.data.url, icon: n.icon }));
            }
            await new Promise(resolve => setTimeout(resolve, 100));
          }
          return [];
        }""",
        [tag, seconds * 10],
    )
    return found


def test_a_pushed_alert_shows_a_notification_that_names_its_page(phone, live_server):
    context = phone.context
    context.grant_permissions(["notifications"], origin=live_server)
    log_in(phone, "street1")
    phone.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    cdp = context.new_cdp_session(phone)
    payload = {
        "title": "事件升级到街道",
        "body": "楼道电动车充电",
        "url": "/notifications",
        "tag": "case-e2e",
    }
    shown = push_and_wait(phone, cdp, live_server, payload)
    assert shown["title"] == "事件升级到街道"
    assert shown["body"] == "楼道电动车充电"
    assert shown["tag"] == "case-e2e"
    assert shown["url"] == "/notifications"
    assert shown["icon"].endswith("/static/icons/icon-192.png")

    # Tapping it: the click handler's routing, driven inside the service worker (headless
    # Chromium has no notification to click), sends the open app window to the named page.
    [worker] = context.service_workers
    worker.evaluate("url => self.openNotificationTarget(url)", shown["url"])
    phone.wait_for_url(f"{live_server}/notifications")
    assert phone.locator("h1").inner_text() == "消息"


def test_a_push_naming_another_site_only_opens_our_own_pages(phone, live_server):
    context = phone.context
    context.grant_permissions(["notifications"], origin=live_server)
    log_in(phone, "street1")
    phone.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    cdp = context.new_cdp_session(phone)
    shown = push_and_wait(
        phone, cdp, live_server, {"title": "钓鱼", "url": "https://evil.example/x", "tag": "evil"}
    )
    assert shown["url"] == "/"


def test_the_board_offers_to_follow_the_community(phone, e2e_db):
    e2e_db.rollback()
    community = e2e_db.scalar(select(Community).order_by(Community.id))
    phone.goto(f"/public/c/{community.id}")
    switch = phone.locator("[data-push-topics]")
    expect(switch).to_have_attribute("data-push-topics", f"community:{community.id}")
    expect(switch.locator("[data-push-on]")).to_be_visible(timeout=30_000)
    expect(switch.locator("[data-push-on]")).to_have_text("订阅本社区公告")
    expect(switch).to_contain_text("部分手机可能收不到推送")
    phone.problems.assert_clean()


def test_the_messages_page_offers_alerts_on_this_phone(phone):
    log_in(phone, "worker1")
    phone.goto("/notifications")
    switch = phone.locator("[data-push-topics]")
    expect(switch.locator("[data-push-on]")).to_be_visible(timeout=30_000)
    expect(switch.locator("[data-push-on]")).to_have_text("接收提醒")
    expect(switch).to_contain_text("部分手机可能收不到推送，消息页始终可查看")
    phone.problems.assert_clean()
