"""Several servers without surprises (DESIGN.md §8, §9): production needs one shared SECRET_KEY,
the upload and key folders come from the environment, and cron commands started on two servers
at once do their work once (run locks), and still do it once when the lock is missed (unique keys:
an alert once per person, a digest once a day, a message posted once)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories as f
from tests.integration.fake_push import FakePushService
from tests.racing import meet_after, run_together
from webapp import create_app
from webapp.config import MissingSecretKey
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Notification, PushMessage, PushSubscription, User, utcnow
from webapp.notify import notify
from webapp.push import keys, queue
from webapp.push.queue import enqueue_digests
from webapp.push.sender import send_pending
from webapp.push.subscriptions import endpoint_hash
from webapp.runlock import run_lock

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgres")


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDROUNDS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(MissingSecretKey):
        create_app({"TESTING": True})


def test_production_starts_with_the_shared_key_and_folders_from_the_environment(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("GRIDROUNDS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "shared-by-every-server")
    monkeypatch.setenv("UPLOAD_FOLDER", str(tmp_path / "shared-uploads"))
    monkeypatch.setenv("VAPID_KEY_DIR", str(tmp_path / "keys"))
    app = create_app({"TESTING": True})
    assert app.config["SECRET_KEY"] == "shared-by-every-server"
    assert app.config["UPLOAD_FOLDER"] == str(tmp_path / "shared-uploads")
    assert app.config["VAPID_KEY_DIR"] == str(tmp_path / "keys")


def test_a_second_run_steps_aside_while_the_first_holds_the_lock(app):
    with run_lock("bench-lock") as first:
        with run_lock("bench-lock") as second:
            assert first is True and second is False
        with run_lock("another-command") as other:
            assert other is True
    with run_lock("bench-lock") as again:
        assert again is True  # released when the first run ended


def test_sla_tick_started_while_another_runs_does_nothing(app):
    with run_lock("sla-tick"):
        result = app.test_cli_runner().invoke(args=["sla", "tick"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output


def test_the_daily_digest_is_queued_once_however_often_it_runs(app):
    notify([digest_worker()], "due_soon", "即将到期")
    db.session.commit()
    now = utcnow()
    assert enqueue_digests(now) == 1
    db.session.commit()
    assert enqueue_digests(now) == 0
    db.session.commit()
    assert db.session.query(PushMessage).count() == 1


def digest_worker() -> User:
    worker = f.gen_user("digest_worker", "grid_worker", f.gen_grid(), alert_digest=True)
    db.session.add(
        PushSubscription(
            endpoint="https://fcm.googleapis.com/fcm/send/x",
            endpoint_hash="h" * 64,
            p256dh="p",
            auth="a",
            user_id=worker.id,
            topics=[f"user:{worker.id}"],
        )
    )
    return worker


def test_two_digests_at_the_same_moment_queue_one_summary(app, monkeypatch):
    # Both runs find the browser before either has queued to it: the key keeps the second out.
    notify([digest_worker()], "due_soon", "即将到期")
    db.session.commit()
    monkeypatch.setattr(
        queue, "_subscriptions_with_topic", meet_after(queue._subscriptions_with_topic)
    )
    now = utcnow()
    made = run_together(app, lambda: enqueue_digests(now), lambda: enqueue_digests(now))
    assert sorted(made) == [0, 1]
    assert db.session.query(PushMessage).count() == 1


def test_a_digest_the_next_day_is_queued_again(app):
    worker = digest_worker()
    for day in (30, 31):
        morning = datetime(2026, 12, day, 8, 0, tzinfo=SHANGHAI)
        notify([worker], "due_soon", "即将到期", at=morning - timedelta(hours=1))
        db.session.commit()
        assert enqueue_digests(morning) == 1
        db.session.commit()


def test_an_alert_whose_key_a_person_holds_is_neither_written_nor_pushed_again(app):
    worker = digest_worker()
    worker.alert_digest = False
    first = notify([worker], "overdue", "已超时", urgent=True, dedup_key="overdue:c1:s1")
    again = notify([worker], "overdue", "已超时", urgent=True, dedup_key="overdue:c1:s1")
    other = notify([worker], "overdue", "已超时", urgent=True, dedup_key="overdue:c1:s2")
    db.session.commit()
    assert (len(first), again, len(other)) == (1, [], 1)
    assert db.session.query(Notification).count() == 2
    assert db.session.query(PushMessage).count() == 2  # one per alert written


def test_alerts_without_a_key_may_repeat(app):
    worker = digest_worker()
    for _ in range(2):
        notify([worker], "assigned", "新事件指派")
    db.session.commit()
    assert db.session.query(Notification).count() == 2


def test_the_same_alert_is_queued_once_to_a_browser(app):
    worker = digest_worker()
    worker.alert_digest = False
    [notification] = notify([worker], "assigned", "新事件指派", urgent=True)
    queue.WebPushChannel().enqueue(notification)  # handed over again
    db.session.commit()
    assert db.session.query(PushMessage).count() == 1


@pytest.mark.skipif(not ON_POSTGRESQL, reason="several servers share PostgreSQL, not SQLite")
def test_two_drains_at_once_post_each_message_once(app, tmp_path):
    app.config["VAPID_KEY_DIR"] = str(tmp_path / "vapid")
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    keys.make_keys()
    worker = f.gen_user("drain_worker", "grid_worker", f.gen_grid())
    with FakePushService() as service:
        browsers = [service.browser() for _ in range(6)]
        for browser in browsers:
            db.session.add(
                PushSubscription(
                    endpoint=browser.endpoint,
                    endpoint_hash=endpoint_hash(browser.endpoint),
                    p256dh=browser.keys["p256dh"],
                    auth=browser.keys["auth"],
                    user_id=worker.id,
                    topics=[f"user:{worker.id}"],
                )
            )
        for n in range(4):
            notify([worker], "assigned", f"指派{n}", urgent=True)
        db.session.commit()
        queued = db.session.scalar(select(func.count(PushMessage.id)))
        assert queued == 24
        now = utcnow()
        reports = run_together(app, lambda: send_pending(now), lambda: send_pending(now))
    assert service.errors == []
    posted = [(r.token, r.payload["title"]) for r in service.received]
    assert len(posted) == len(set(posted)) == queued
    assert sum(r.sent for r in reports) == queued
