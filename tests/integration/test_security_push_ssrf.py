"""Push subscriptions are not an SSRF (issue 10): anyone may subscribe without an account and
the sender later POSTs to the endpoint, so only known push services on public addresses are
kept, anonymous subscribing is rate-limited, and the sender checks again before each POST."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.integration.fake_push import FakePushService
from webapp.extensions import db
from webapp.models import PushMessage, PushSubscription
from webapp.notify import notify
from webapp.push import keys
from webapp.push.endpoints import (
    DEFAULT_PUSH_ENDPOINT_HOSTS,
    EndpointRefused,
    check_endpoint,
    host_allowed,
)
from webapp.push.sender import send_pending

API = {"X-GridRounds-Client": "1"}
SUBSCRIPTIONS = "/api/v1/push/subscriptions"


@pytest.fixture
def community(gen_street, gen_community, gen_grid):
    street = gen_street()
    community = gen_community(street)
    gen_grid(community)
    db.session.commit()
    return community


@pytest.fixture
def push_service(app, tmp_path):
    app.config["VAPID_KEY_DIR"] = str(tmp_path / "vapid")
    keys.make_keys()
    with FakePushService() as service:
        yield service


def rows() -> list[PushSubscription]:
    return list(db.session.scalars(select(PushSubscription)))


def body_for(service: FakePushService, community, endpoint: str) -> dict:
    return {**service.browser().subscription([f"community:{community.id}"]), "endpoint": endpoint}


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:6379/anything",
        "http://localhost/push/abc",
        "https://127.0.0.1/push/abc",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/push/abc",
        "https://[::1]/push/abc",
        "https://evil.example/push/abc",
        "https://fcm.googleapis.com.evil.example/fcm/send/abc",
        "https://user:pw@fcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com:8443/fcm/send/abc",
        "http://fcm.googleapis.com/fcm/send/abc",
        "gopher://fcm.googleapis.com/abc",
    ],
)
def test_an_anonymous_subscription_to_anything_but_a_push_service_is_refused(
    client, community, push_service, endpoint
):
    response = client.post(
        SUBSCRIPTIONS, json=body_for(push_service, community, endpoint), headers=API
    )

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "endpoint_refused" and error["message"]
    assert rows() == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://localhost/push/abc",  # a name that resolves to loopback
        "https://127.0.0.1/push/abc",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/push/abc",
        "https://[::ffff:127.0.0.1]/push/abc",
        "https://100.64.0.1/push/abc",
    ],
)
def test_a_private_address_is_refused_even_when_its_host_is_on_the_allow_list(app, endpoint):
    app.config["PUSH_ENDPOINT_HOSTS"] = (
        "localhost",
        "127.0.0.1",
        "169.254.169.254",
        "10.1.2.3",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    )
    with pytest.raises(EndpointRefused) as refused:
        check_endpoint(endpoint)
    assert refused.value.message


def test_the_local_push_service_is_allowed_only_in_tests_that_ask_for_it(app, push_service):
    endpoint = push_service.browser().endpoint
    with pytest.raises(EndpointRefused):
        check_endpoint(endpoint)
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    assert check_endpoint(endpoint) == endpoint
    app.config["TESTING"] = False  # the setting means nothing outside tests
    try:
        with pytest.raises(EndpointRefused):
            check_endpoint(endpoint)
    finally:
        app.config["TESTING"] = True


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("fcm.googleapis.com", True),
        ("FCM.googleapis.com.", True),
        ("updates.push.services.mozilla.com", True),
        ("db5p.notify.windows.com", True),
        ("web.push.apple.com", True),
        ("api.push.apple.com", True),
        ("notify.windows.com", False),  # `*.` means below it, not it
        ("evilnotify.windows.com", False),
        ("fcm.googleapis.com.evil.example", False),
        ("googleapis.com", False),
        ("127.0.0.1", False),
    ],
)
def test_the_default_allow_list_names_the_browsers_push_services(host, allowed):
    assert host_allowed(host, DEFAULT_PUSH_ENDPOINT_HOSTS) is allowed


def test_anonymous_subscribing_is_rate_limited_per_address(app, client, community, push_service):
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    app.config["PUSH_SUBSCRIBE_LIMIT"] = "3 per hour"
    topic = [f"community:{community.id}"]
    answers = [
        client.post(
            SUBSCRIPTIONS, json=push_service.browser().subscription(topic), headers=API
        ).status_code
        for _ in range(4)
    ]

    assert answers == [201, 201, 201, 429]
    refused = client.post(
        SUBSCRIPTIONS, json=push_service.browser().subscription(topic), headers=API
    )
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert len(rows()) == 3


def test_the_sender_drops_a_stored_endpoint_it_may_no_longer_post_to(
    app, gen_user, gen_grid, community, push_service
):
    user = gen_user("worker", "grid_worker", gen_grid(community))
    browser = push_service.browser()
    db.session.add(
        PushSubscription(
            endpoint=browser.endpoint,
            endpoint_hash="x" * 64,
            p256dh=browser.keys["p256dh"],
            auth=browser.keys["auth"],
            user_id=user.id,
            topics=[f"user:{user.id}"],
        )
    )
    db.session.commit()
    notify([user], "assigned", "测试", url="/grid", urgent=True)
    db.session.commit()
    assert db.session.scalar(select(PushMessage.id)) is not None

    report = send_pending()
    db.session.commit()

    assert push_service.received == [] and report.sent == 0 and report.gone == 1
    assert rows() == []
