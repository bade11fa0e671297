"""Draining the push outbox (`flask push send-pending`): each due message is encrypted
(aes128gcm, RFC 8291), signed with the VAPID key and posted to the browser's push service.

404/410: the browser dropped the subscription, so it goes with everything waiting for it.
429: the service asks us to wait: `Retry-After` holds the message and the whole subscription.
Anything else is retried with a growing pause and given up after MAX_ATTEMPTS.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import or_, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Notice, Notification, PushMessage, PushSubscription
from webapp.notices.services import is_visible
from webapp.push import keys
from webapp.push.endpoints import EndpointRefused, EndpointUnreachable, check_endpoint
from webapp.push.subscriptions import delete_subscription

MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
DEFAULT_RETRY_AFTER = timedelta(minutes=10)
MAX_RETRY_AFTER = timedelta(days=1)
# (connect, read): where a vendor's push service is unreachable (Google's, from mainland China) a
# post fails in seconds instead of holding a drain for minutes.
TIMEOUT_SECONDS = (3.05, 5)
# Posts in flight at once: a drain of a few hundred subscriptions takes seconds, not an hour of
# timeouts one after another. Database work stays on the calling thread.
SENDER_THREADS = 8
KEEP_SENT = timedelta(days=7)


DEFAULT_SUBJECT = "mailto:admin@gridrounds.invalid"


class NoKeys(Exception):
    """`flask push keys` has not been run."""


@dataclass
class SendReport:
    sent: int = 0
    gone: int = 0  # subscriptions deleted (404/410)
    deferred: int = 0  # 429, or a failure to retry later
    given_up: int = 0
    dropped: int = 0  # notices withdrawn before their message left
    errors: list[str] = field(default_factory=list)


def retry_after(value: str | None, now: datetime) -> datetime:
    """`Retry-After` as seconds or an HTTP date, capped; a missing or bad one gets a default."""
    delay = DEFAULT_RETRY_AFTER
    if value:
        value = value.strip()
        try:
            delay = timedelta(seconds=max(int(value), 0))
        except ValueError:
            try:
                delay = parsedate_to_datetime(value) - now
            except (TypeError, ValueError):
                delay = DEFAULT_RETRY_AFTER
    return now + min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def next_due(now: datetime, after_id: int) -> PushMessage | None:
    query = (
        select(PushMessage)
        .join(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
        .where(
            PushMessage.id > after_id,
            PushMessage.sent_at.is_(None),
            PushMessage.attempts < MAX_ATTEMPTS,
            or_(PushMessage.not_before.is_(None), PushMessage.not_before <= now),
            or_(PushSubscription.retry_after.is_(None), PushSubscription.retry_after <= now),
        )
        .order_by(PushMessage.id)
        .limit(1)
    )
    if db.engine.dialect.name == "postgresql":
        # Two drains at once (cron overlapping a slow run, two servers) each claim different
        # messages, so none is posted twice; the lock is held while posting and released by the
        # commit after it. The browser's subscription is claimed with its message: one drain at
        # a time posts to a browser (a 429 holds all of it), and two drains never both update one
        # subscription row, which could deadlock them. (SQLite is one machine: its run lock.)
        query = query.with_for_update(of=[PushMessage, PushSubscription], skip_locked=True)
    return db.session.scalar(query)


@dataclass(frozen=True)
class _Post:
    """Everything one post needs, read from the database and the app before it leaves for a
    thread (which has neither)."""

    endpoint: str
    p256dh: str
    auth: str
    data: str
    private_key: str
    subject: str
    ttl: int
    urgency: str

    def send(self) -> Exception | None:
        try:
            webpush(
                {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}},
                data=self.data,
                vapid_private_key=self.private_key,
                vapid_claims={"sub": self.subject},
                ttl=self.ttl,
                headers={"Urgency": self.urgency},
                content_encoding="aes128gcm",
                timeout=TIMEOUT_SECONDS,
            )
        except Exception as error:  # noqa: BLE001 — judged on the calling thread
            return error
        return None


def _post_of(message: PushMessage, subscription: PushSubscription) -> _Post:
    return _Post(
        endpoint=subscription.endpoint,
        p256dh=subscription.p256dh,
        auth=subscription.auth,
        data=json.dumps(message.payload, ensure_ascii=False),
        private_key=str(keys.private_key_path()),
        subject=current_app.config.get("VAPID_SUBJECT", DEFAULT_SUBJECT),
        ttl=message.ttl,
        urgency=message.urgency,
    )


def _still_wanted(message: PushMessage, now: datetime) -> bool:
    if message.notice_id is None:
        return True
    notice = db.session.get(Notice, message.notice_id)
    return notice is not None and is_visible(notice, now)


def prepare_one(message: PushMessage, now: datetime, report: SendReport) -> _Post | None:
    """The post to make for `message`, or None when it was settled without one."""
    subscription = db.session.get(PushSubscription, message.subscription_id)
    if not _still_wanted(message, now):
        db.session.delete(message)
        report.dropped += 1
        return None
    if not keys.private_key_path().exists():
        raise NoKeys("run `flask push keys` first")
    try:
        # Again at send time: rows kept before the allow-list, or a name that now resolves to a
        # private address, are never fetched (SSRF; see webapp/push/endpoints.py).
        check_endpoint(subscription.endpoint)
    except EndpointUnreachable as error:
        message.last_error = error.message
        _failed(message, now, report)
        return None
    except EndpointRefused:
        delete_subscription(subscription)
        report.gone += 1
        return None
    return _post_of(message, subscription)


def finish_one(
    message: PushMessage, outcome: Exception | None, now: datetime, report: SendReport
) -> bool:
    """Record what the post of `message` came to; True when it was delivered."""
    subscription = db.session.get(PushSubscription, message.subscription_id)
    if subscription is None:  # dropped while the post was in flight (a 404/410 beside it)
        return False
    try:
        if outcome is not None:
            raise outcome
    except WebPushException as error:
        status = error.status_code
        if status in (404, 410):
            delete_subscription(subscription)
            report.gone += 1
            return False
        message.last_error = f"{status}: {str(error)[:500]}"
        if status == 429:
            until = retry_after(error.retry_after, now)
            message.not_before = until
            subscription.retry_after = until
            report.deferred += 1
            return False
        _failed(message, now, report)
        return False
    except Exception as error:  # the network: DNS, refused, timeout…
        message.last_error = f"{type(error).__name__}: {str(error)[:500]}"
        _failed(message, now, report)
        return False
    message.sent_at = now
    message.last_error = ""
    subscription.last_success_at = now
    report.sent += 1
    return True


def mark_delivered(notification_ids: set[int], now: datetime) -> None:
    """Note the Web Push delivery on the alerts. One alert goes to several browsers, which two
    drains may be posting at once: each drain updates the alerts in id order, flushing as it
    goes, so neither can hold one the other waits for while waiting for one it holds."""
    for notification_id in sorted(notification_ids):
        notification = db.session.get(Notification, notification_id)
        if notification is not None:
            notification.deliveries = {
                **(notification.deliveries or {}),
                "webpush": now.isoformat(),
            }
            db.session.flush()


def _failed(message: PushMessage, now: datetime, report: SendReport) -> None:
    message.attempts += 1
    if message.attempts >= MAX_ATTEMPTS:
        report.given_up += 1
        report.errors.append(message.last_error)
        return
    message.not_before = now + BACKOFF[min(message.attempts - 1, len(BACKOFF) - 1)]
    report.deferred += 1


def send_pending(now: datetime | None = None) -> SendReport:
    """Send every due message, up to SENDER_THREADS posts at a time, committing after each wave
    so a crash repeats at most one wave; sent messages older than KEEP_SENT are pruned."""
    report = SendReport()
    now = now or clock.now()
    with ThreadPoolExecutor(max_workers=SENDER_THREADS) as pool:
        while True:
            # Every message a wave handles leaves the due set (sent, deferred, dropped), so each
            # wave starts from the first due message again and the drain ends.
            last_id = 0
            wave: list[tuple[PushMessage, _Post]] = []
            browsers: set[int] = set()
            while len(wave) < SENDER_THREADS and (message := next_due(now, last_id)) is not None:
                last_id = message.id
                if message.subscription_id in browsers:
                    continue  # one post per browser at a time: a 429 holds the ones behind it
                post = prepare_one(message, now, report)
                if post is not None:
                    wave.append((message, post))
                    browsers.add(message.subscription_id)
            if not wave:
                db.session.commit()
                break
            outcomes = list(pool.map(lambda pair: pair[1].send(), wave))
            delivered = set()
            for (message, _), outcome in zip(wave, outcomes, strict=True):
                if finish_one(message, outcome, now, report) and message.notification_id:
                    delivered.add(message.notification_id)
            mark_delivered(delivered, now)
            db.session.commit()
    db.session.execute(PushMessage.__table__.delete().where(PushMessage.sent_at < now - KEEP_SENT))
    db.session.commit()
    return report
