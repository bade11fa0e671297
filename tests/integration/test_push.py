"""Web Push (DESIGN.md §5, §6): keys, who may subscribe to what, the outbox and its sender,
checked end to end against a local push service that verifies VAPID and decrypts like a browser."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token_from
from tests.factories import gen_hazard_case
from tests.integration.fake_push import FakePushService
from webapp.cases.actions import apply_case_action
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Notice, NoticeStatus, PushMessage, PushSubscription, User, utcnow
from webapp.notices import services as notices
from webapp.notify import notify
from webapp.ops import Op
from webapp.push import keys
from webapp.push.queue import enqueue_digests, quiet_until
from webapp.push.sender import send_pending

API = {"X-GridRounds-Client": "1"}
SUBSCRIPTIONS = "/api/v1/push/subscriptions"


@pytest.fixture
def push_keys(app, tmp_path):
    app.config["VAPID_KEY_DIR"] = str(tmp_path / "vapid")
    # The local push service listens on 127.0.0.1 over http: allowed in tests only.
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    return keys.make_keys()


@pytest.fixture
def push_service(push_keys):
    with FakePushService() as service:
        yield service
    assert service.errors == []


@pytest.fixture
def org(gen_street, gen_community, gen_grid, gen_household, gen_user):
    street = gen_street()
    community = gen_community(street)
    other_community = gen_community(street)
    grid = gen_grid(community)
    people = dict(
        worker=gen_user("worker", "grid_worker", grid),
        street_staff=gen_user("street1", "street_staff", street),
        other=gen_user("other", "grid_worker", grid),
    )
    household = gen_household(grid=grid)
    db.session.commit()
    return dict(
        street=street,
        community=community,
        other_community=other_community,
        grid=grid,
        household=household,
        **people,
    )


def subscribe(client, body):
    return client.post(SUBSCRIPTIONS, json=body, headers=API)


def subscription_rows():
    return list(db.session.scalars(select(PushSubscription)))


def pending():
    return list(
        db.session.scalars(
            select(PushMessage).where(PushMessage.sent_at.is_(None)).order_by(PushMessage.id)
        )
    )


def later(hours=0.0):
    # Past any quiet hours: the sender is asked about a moment when everything queued is due.
    return utcnow() + timedelta(hours=hours)


# --- keys -------------------------------------------------------------------------------------


def test_push_keys_writes_a_p256_pair_and_refuses_to_overwrite(app, tmp_path):
    app.config["VAPID_KEY_DIR"] = str(tmp_path / "k")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["push", "keys"])
    assert first.exit_code == 0, first.output
    public = (tmp_path / "k" / "vapid_public.txt").read_text().strip()
    assert len(keys.b64url_decode(public)) == 65 and keys.b64url_decode(public)[0] == 4
    assert (tmp_path / "k" / "vapid_private.pem").read_text().startswith("-----BEGIN PRIVATE KEY")
    again = runner.invoke(args=["push", "keys"])
    assert again.exit_code != 0 and "--force" in again.output
    assert (tmp_path / "k" / "vapid_public.txt").read_text().strip() == public
    forced = runner.invoke(args=["push", "keys", "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "k" / "vapid_public.txt").read_text().strip() != public


def test_the_public_key_is_served_to_anyone(client, push_keys):
    response = client.get("/api/v1/push/key")
    assert response.status_code == 200
    assert response.get_json() == {"public_key": push_keys}


def test_without_keys_the_key_endpoint_says_push_is_unavailable(app, client, tmp_path):
    app.config["VAPID_KEY_DIR"] = str(tmp_path / "none")
    response = client.get("/api/v1/push/key")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "push_unavailable"


# --- who may subscribe to what ------------------------------------------------------------------


def test_an_anonymous_resident_subscribes_to_a_community(client, org, push_service):
    browser = push_service.browser()
    topic = f"community:{org['community'].id}"
    response = subscribe(client, browser.subscription([topic]))
    assert response.status_code == 201
    assert response.get_json() == {"topics": [topic]}
    [row] = subscription_rows()
    assert (row.user_id, row.topics, row.endpoint) == (None, [topic], browser.endpoint)


def test_an_anonymous_caller_cannot_take_a_users_alerts(client, org, push_service):
    browser = push_service.browser()
    response = subscribe(client, browser.subscription([f"user:{org['worker'].id}"]))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "topic_refused"
    assert subscription_rows() == []


@pytest.mark.parametrize("topics", [["community:999999"], ["street:1"], ["anything"], [], None])
def test_an_anonymous_caller_needs_an_existing_community(client, org, push_service, topics):
    response = subscribe(client, push_service.browser().subscription(topics))
    assert response.status_code == 422
    assert subscription_rows() == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"endpoint": "http://push.example.com/abc"}, 400),
        ({"endpoint": "ftp://127.0.0.1/abc"}, 400),
        ({"keys": {"p256dh": "AAAA", "auth": "BBBB"}}, 422),
        ({"keys": {"p256dh": "x" * 87, "auth": "!!!!"}}, 422),
    ],
)
def test_plain_http_endpoints_and_malformed_keys_are_refused(
    client, org, push_service, change, status
):
    body = {**push_service.browser().subscription([f"community:{org['community'].id}"]), **change}
    response = subscribe(client, body)
    assert response.status_code == status


def test_a_signed_in_worker_gets_their_alerts_topic(client, login_as, org, push_service):
    login_as("worker")
    response = subscribe(client, push_service.browser().subscription([]))
    assert response.status_code == 201
    assert response.get_json()["topics"] == [f"user:{org['worker'].id}"]
    assert subscription_rows()[0].user_id == org["worker"].id


def test_a_signed_in_user_cannot_take_someone_elses_alerts(client, login_as, org, push_service):
    login_as("worker")
    response = subscribe(client, push_service.browser().subscription([f"user:{org['other'].id}"]))
    assert response.status_code == 403


def test_subscribing_needs_the_client_header_and_our_origin(client, org, push_service):
    body = push_service.browser().subscription([f"community:{org['community'].id}"])
    assert client.post(SUBSCRIPTIONS, json=body).status_code == 400
    foreign = {**API, "Origin": "https://evil.example"}
    assert client.post(SUBSCRIPTIONS, json=body, headers=foreign).status_code == 403
    assert subscription_rows() == []


def test_subscribing_again_updates_the_same_row_and_delete_removes_it(client, org, push_service):
    browser = push_service.browser()
    c1, c2 = (f"community:{org[k].id}" for k in ("community", "other_community"))
    assert subscribe(client, browser.subscription([c1])).status_code == 201
    again = subscribe(client, browser.subscription([c2]))
    assert again.status_code == 200
    assert again.get_json()["topics"] == sorted([c1, c2])
    assert len(subscription_rows()) == 1
    gone = client.delete(
        SUBSCRIPTIONS, json={"endpoint": browser.endpoint, "topics": [c1]}, headers=API
    )
    assert gone.status_code == 204
    assert subscription_rows()[0].topics == [c2]
    client.delete(SUBSCRIPTIONS, json={"endpoint": browser.endpoint}, headers=API)
    assert subscription_rows() == []


def test_signing_out_and_subscribing_anonymously_drops_the_users_alerts(
    client, login_as, org, push_service
):
    browser = push_service.browser()
    login_as("worker")
    subscribe(client, browser.subscription([f"community:{org['community'].id}"]))
    client.post("/logout", data={})  # whether or not logout succeeds, clear the cookie
    client.delete_cookie("gridrounds", domain="localhost")
    subscribe(client, browser.subscription([f"community:{org['community'].id}"]))
    [row] = subscription_rows()
    assert (row.user_id, row.topics) == (None, [f"community:{org['community'].id}"])


# --- alerts for workers and staff ---------------------------------------------------------------


def subscribed(client, login_as, push_service, username):
    browser = push_service.browser()
    login_as(username)
    assert subscribe(client, browser.subscription([])).status_code == 201
    return browser


def test_an_alert_reaches_the_browser_encrypted_and_signed(client, login_as, org, push_service):
    browser = subscribed(client, login_as, push_service, "worker")
    notify([org["worker"]], "assigned", "新事件指派", body="楼道堆物", url="/cases/x", urgent=True)
    db.session.commit()
    report = send_pending()
    assert report.sent == 1
    [received] = push_service.for_browser(browser)
    assert received.payload["title"] == "新事件指派"
    assert received.payload["body"] == "楼道堆物"
    assert received.payload["url"] == "/cases/x"
    assert received.urgency == "high"
    assert received.ttl > 0
    assert received.vapid_key == keys.public_key()
    assert pending() == []
    assert db.session.scalar(select(PushSubscription.last_success_at)) is not None


def test_other_users_alerts_do_not_reach_the_browser(client, login_as, org, push_service):
    browser = subscribed(client, login_as, push_service, "worker")
    notify([org["other"]], "assigned", "别人的事件", urgent=True)
    db.session.commit()
    send_pending()
    assert push_service.for_browser(browser) == []


def test_a_non_urgent_alert_at_night_waits_for_the_morning(client, login_as, org, push_service):
    subscribed(client, login_as, push_service, "worker")
    night = datetime(2026, 11, 21, 22, 15, tzinfo=SHANGHAI)
    notify([org["worker"]], "due_soon", "即将到期", at=night)
    notify([org["worker"]], "overdue", "已超时", urgent=True, at=night)
    db.session.commit()
    by_urgency = {m.urgency: m for m in pending()}
    morning = datetime(2026, 11, 22, 7, 30, tzinfo=SHANGHAI)
    assert by_urgency["normal"].not_before == morning
    assert by_urgency["high"].not_before is None
    report = send_pending(now=night.astimezone(UTC) + timedelta(minutes=1))
    assert report.sent == 1
    assert [m.urgency for m in pending()] == ["normal"]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((21, 0), (22, 7, 30)),
        ((23, 59), (22, 7, 30)),
        ((3, 0), (21, 7, 30)),
        ((7, 29), (21, 7, 30)),
        ((7, 30), None),
        ((12, 0), None),
        ((20, 59), None),
    ],
)
def test_quiet_hours_run_from_nine_at_night_to_half_past_seven(app, local, expected):
    day = 21
    moment = datetime(2026, 11, day, *local, tzinfo=SHANGHAI)
    until = quiet_until(moment)
    if expected is None:
        assert until is None
    else:
        assert until == datetime(2026, 11, expected[0], expected[1], expected[2], tzinfo=SHANGHAI)


def test_a_gone_subscription_is_deleted_with_its_messages(client, login_as, org, push_service):
    browser = subscribed(client, login_as, push_service, "worker")
    notify([org["worker"]], "assigned", "一", urgent=True)
    notify([org["worker"]], "assigned", "二", urgent=True)
    db.session.commit()
    push_service.answer[browser.endpoint.rsplit("/", 1)[-1]] = (410, {})
    report = send_pending()
    assert report.gone == 1
    assert subscription_rows() == []
    assert db.session.scalar(select(func.count(PushMessage.id))) == 0


@pytest.mark.parametrize("style", ["seconds", "http-date"])
def test_429_holds_the_browser_until_retry_after_and_loses_nothing(
    client, login_as, org, push_service, style
):
    browser = subscribed(client, login_as, push_service, "worker")
    notify([org["worker"]], "assigned", "一", urgent=True)
    notify([org["worker"]], "assigned", "二", urgent=True)
    db.session.commit()
    token = browser.endpoint.rsplit("/", 1)[-1]
    now = utcnow().replace(microsecond=0)
    value = (
        "120" if style == "seconds" else format_datetime(now + timedelta(seconds=120), usegmt=True)
    )
    push_service.answer[token] = (429, {"Retry-After": value})
    report = send_pending(now=now)
    assert report.deferred == 1  # the second waits behind the first: same browser
    [subscription] = subscription_rows()
    assert abs(subscription.retry_after - (now + timedelta(seconds=120))) <= timedelta(seconds=1)
    held = pending()
    assert len(held) == 2
    assert held[0].not_before == subscription.retry_after
    assert send_pending(now=now + timedelta(seconds=60)).sent == 0
    del push_service.answer[token]
    assert send_pending(now=now + timedelta(seconds=121)).sent == 2
    assert sorted(r.payload["title"] for r in push_service.for_browser(browser)) == ["一", "二"]


def test_other_failures_are_retried_with_backoff_and_given_up_after_five(
    client, login_as, org, push_service
):
    browser = subscribed(client, login_as, push_service, "worker")
    notify([org["worker"]], "assigned", "一", urgent=True)
    db.session.commit()
    push_service.answer[browser.endpoint.rsplit("/", 1)[-1]] = (500, {})
    now = utcnow()
    for _ in range(5):
        send_pending(now=now)
        now += timedelta(days=1)
    [message] = db.session.scalars(select(PushMessage))
    assert message.attempts == 5 and message.sent_at is None
    assert "500" in message.last_error
    assert send_pending(now=now + timedelta(days=1)).sent == 0
    assert subscription_rows() != []  # a failing service is not a gone subscription


# --- notices for residents ----------------------------------------------------------------------


def draft_notice(org, communities=None, publish_at=None) -> Notice:
    notice = Notice(
        title="停水通知",
        body="因管道维修，11月25日 9:00-17:00 停水，请提前储水。",
        category="notice",
        street_id=org["street"].id,
        status=NoticeStatus.DRAFT,
        author_id=org["street_staff"].id,
        publish_at=publish_at,
        updated_at=utcnow(),
    )
    notice.communities = communities if communities is not None else [org["community"]]
    db.session.add(notice)
    db.session.flush()
    return notice


def resident(client, push_service, community):
    browser = push_service.browser()
    assert subscribe(client, browser.subscription([f"community:{community.id}"])).status_code == 201
    return browser


def test_publishing_a_notice_reaches_the_communitys_residents(client, org, push_service):
    follower = resident(client, push_service, org["community"])
    elsewhere = resident(client, push_service, org["other_community"])
    notice = notices.publish(org["street_staff"], draft_notice(org))
    db.session.commit()
    assert send_pending().sent == 1
    [received] = push_service.for_browser(follower)
    assert received.payload["title"] == "停水通知"
    assert received.payload["body"].startswith("因管道维修")
    assert received.payload["url"] == f"/public/notices/{notice.id}?c={org['community'].id}"
    assert (received.urgency, received.ttl) == ("low", 24 * 3600)
    assert push_service.for_browser(elsewhere) == []


def test_a_street_wide_notice_reaches_every_community_once(client, org, push_service):
    one = resident(client, push_service, org["community"])
    two = resident(client, push_service, org["other_community"])
    subscribe(client, one.subscription([f"community:{org['other_community'].id}"]))
    notices.publish(org["street_staff"], draft_notice(org, communities=[]))
    db.session.commit()
    assert send_pending().sent == 2
    assert len(push_service.for_browser(one)) == 1 and len(push_service.for_browser(two)) == 1


def test_a_scheduled_notice_waits_for_its_time(client, org, push_service):
    follower = resident(client, push_service, org["community"])
    at = utcnow() + timedelta(hours=3)
    notices.publish(org["street_staff"], draft_notice(org, publish_at=at))
    db.session.commit()
    assert send_pending().sent == 0
    assert pending()[0].not_before == at
    assert send_pending(now=at + timedelta(minutes=1)).sent == 1
    assert len(push_service.for_browser(follower)) == 1


def test_a_notice_withdrawn_before_sending_is_not_pushed(client, org, push_service):
    follower = resident(client, push_service, org["community"])
    at = utcnow() + timedelta(hours=3)
    notice = notices.publish(org["street_staff"], draft_notice(org, publish_at=at))
    notices.withdraw(org["street_staff"], notice)
    db.session.commit()
    report = send_pending(now=at + timedelta(minutes=1))
    assert (report.sent, report.dropped) == (0, 1)
    assert push_service.for_browser(follower) == []


# --- a case escalated to the street -------------------------------------------------------------


def test_street_staff_get_a_push_when_an_urgent_hazard_escalates_to_the_street(
    client, login_as, org, push_service
):
    browser = subscribed(client, login_as, push_service, "street1")
    case = gen_hazard_case(
        org["worker"], org["household"], "urgent", "楼道电动车充电，存在火灾隐患"
    )
    apply_case_action(
        org["worker"],
        Op(
            op_id=uuid.uuid4(),
            type="case.action",
            record_id=uuid.uuid4(),
            payload={"case_id": str(case.id), "action": "request_escalation"},
        ),
    )
    db.session.commit()
    assert (case.status, case.level) == ("escalated", "street")
    send_pending(now=later(hours=12))  # past any quiet hours, should the alert not be urgent
    received = [
        r for r in push_service.for_browser(browser) if r.payload["url"] == f"/cases/{case.id}"
    ]
    assert len(received) == 1
    assert received[0].payload["title"]


# --- daily digest and the development sender thread -------------------------------------------


def test_a_digest_user_gets_one_summary_instead_of_each_alert(client, login_as, org, push_service):
    browser = subscribed(client, login_as, push_service, "worker")
    worker = db.session.get(User, org["worker"].id)
    worker.alert_digest = True
    for n in range(3):
        notify([worker], "due_soon", f"即将到期{n}")
    notify([worker], "supervised", "督办：紧急", urgent=True)
    db.session.commit()
    send_pending(later(12))
    urgent_only = push_service.for_browser(browser)
    assert [m.payload["title"] for m in urgent_only] == ["督办：紧急"]

    assert enqueue_digests(utcnow()) == 1
    db.session.commit()
    send_pending(later(12))
    digest = push_service.for_browser(browser)[-1]
    assert digest.payload["url"] == "/notifications"
    assert "3 条新提醒" in digest.payload["body"]  # the three non-urgent ones, unread


def test_the_digest_choice_is_made_on_the_messages_page(client, login_as, org):
    login_as("worker")
    token = csrf_token_from(client.get("/notifications").get_data(as_text=True))
    response = client.post(
        "/notifications/preferences", data={"csrf_token": token, "delivery": "digest"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, org["worker"].id).alert_digest is True


def test_the_development_thread_drains_the_queue(
    app, client, login_as, org, push_service, monkeypatch
):
    from webapp.push import background

    browser = subscribed(client, login_as, push_service, "worker")
    notify([org["worker"]], "assigned", "线程送达", urgent=True)
    db.session.commit()
    monkeypatch.setattr(background, "INTERVAL_SECONDS", 0.2)
    thread = background.start_sender_thread(app)
    try:
        for _ in range(50):
            if push_service.for_browser(browser):
                break
            time.sleep(0.1)
    finally:
        thread.stop.set()
        thread.join(timeout=5)
    assert [m.payload["title"] for m in push_service.for_browser(browser)] == ["线程送达"]
