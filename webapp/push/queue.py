"""Putting messages in the push outbox: the notifier's Web Push channel (alerts for workers and
staff) and the notice hook (residents following a community). Only rows are written here; the
sender delivers them later, outside any request."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, cast, func, select

from webapp import clock
from webapp.dedup import insert_once
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Notice, Notification, PushMessage, PushSubscription, User
from webapp.push.subscriptions import community_topic, user_topic

ALERT_TTL = 4 * 60 * 60  # an alert older than a few hours is read on the messages page instead
NOTICE_TTL = 24 * 60 * 60
NOTICE_BODY = 120  # characters of the notice shown on the lock screen


def _clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(moment: datetime) -> datetime | None:
    """When quiet hours (default 21:00–07:30, Shanghai) hold `moment`: the morning they end."""
    start = _clock_time(current_app.config.get("PUSH_QUIET_START", "21:00"))
    end = _clock_time(current_app.config.get("PUSH_QUIET_END", "07:30"))
    local = moment.astimezone(SHANGHAI)
    day, at = local.date(), local.time()
    if start > end:  # the quiet spans midnight
        if at >= start:
            day += timedelta(days=1)
        elif at >= end:
            return None
    elif not (start <= at < end):
        return None
    return datetime.combine(day, end, tzinfo=SHANGHAI)


def _subscriptions_with_topic(topic: str, **filters) -> list[PushSubscription]:
    # JSON membership is spelled differently by each database; a LIKE on the stored text narrows
    # portably and the check in Python makes it exact.
    query = select(PushSubscription).where(
        cast(PushSubscription.topics, String).like(f'%"{topic}"%')
    )
    for name, value in filters.items():
        query = query.where(getattr(PushSubscription, name) == value)
    return [s for s in db.session.scalars(query) if topic in (s.topics or [])]


class WebPushChannel:
    """The notifier's Web Push channel: one message per browser the user subscribed."""

    name = "webpush"

    def enqueue(self, notification: Notification) -> None:
        self.enqueue_many([notification])

    def enqueue_many(self, notifications: list[Notification]) -> None:
        """All the alerts a batch job's chunk wrote: their users and browsers are read once."""
        user_ids = sorted({n.user_id for n in notifications})
        digest = set(
            db.session.scalars(
                select(User.id).where(User.id.in_(user_ids), User.alert_digest.is_(True))
            )
        )
        # Those going into tomorrow morning's digest (`flask push digest`) are not pushed now.
        pushed = [n for n in notifications if n.urgent or n.user_id not in digest]
        browsers: dict[int, list[PushSubscription]] = {}
        if pushed:
            wanted = sorted({n.user_id for n in pushed})
            query = select(PushSubscription).where(PushSubscription.user_id.in_(wanted))
            for subscription in db.session.scalars(query):
                if user_topic(subscription.user_id) in (subscription.topics or []):
                    browsers.setdefault(subscription.user_id, []).append(subscription)
        rows = []
        for notification in pushed:
            created = notification.created_at or clock.now()
            not_before = None if notification.urgent else quiet_until(created)
            tag = f"case-{notification.case_id}" if notification.case_id else f"n-{notification.id}"
            payload = {
                "title": notification.title,
                "body": notification.body[:NOTICE_BODY],
                "url": notification.url or "/notifications",
                "tag": tag,
            }
            rows.extend(
                dict(
                    subscription_id=subscription.id,
                    notification_id=notification.id,
                    payload=payload,
                    urgency="high" if notification.urgent else "normal",
                    ttl=ALERT_TTL,
                    not_before=not_before,
                    attempts=0,
                    last_error="",
                    created_at=created,
                )
                for subscription in browsers.get(notification.user_id, [])
            )
        # One message per browser per alert, even if this alert is handed over again.
        insert_once(PushMessage, rows, key=["subscription_id", "notification_id"])


def enqueue_to_topic(
    topic: str, payload: dict, *, ttl: int = NOTICE_TTL, urgency: str = "normal"
) -> int:
    """Queue `payload` to every browser following `topic` (a resident's `report:<number>`).
    Returns how many were queued."""
    now = clock.now()
    subscriptions = _subscriptions_with_topic(topic)
    for subscription in subscriptions:
        db.session.add(
            PushMessage(
                subscription_id=subscription.id,
                payload=payload,
                urgency=urgency,
                ttl=ttl,
                not_before=quiet_until(now),
                created_at=now,
            )
        )
    db.session.flush()
    return len(subscriptions)


def notice_url(notice: Notice, community_id: int) -> str:
    return f"/public/notices/{notice.id}?c={community_id}"


def enqueue_notice(notice: Notice, community_ids: list[int], now: datetime | None = None) -> int:
    """Queue the notice to every browser following one of its communities, once per browser;
    a reschedule replaces what was still waiting. Returns how many were queued."""
    now = now or clock.now()
    db.session.execute(
        PushMessage.__table__.delete().where(
            PushMessage.notice_id == notice.id, PushMessage.sent_at.is_(None)
        )
    )
    not_before = notice.publish_at if notice.publish_at and notice.publish_at > now else None
    body = " ".join(notice.body.split())
    queued: set[int] = set()
    for community_id in community_ids:
        for subscription in _subscriptions_with_topic(community_topic(community_id)):
            if subscription.id in queued:
                continue
            queued.add(subscription.id)
            db.session.add(
                PushMessage(
                    subscription_id=subscription.id,
                    notice_id=notice.id,
                    payload={
                        "title": notice.title,
                        "body": body[:NOTICE_BODY],
                        "url": notice_url(notice, community_id),
                        "tag": f"notice-{notice.id}",
                    },
                    urgency="low",
                    ttl=NOTICE_TTL,
                    not_before=not_before,
                    created_at=now,
                )
            )
    db.session.flush()
    return len(queued)


DIGEST_WINDOW = timedelta(hours=24)


def enqueue_digests(now: datetime | None = None) -> int:
    """One push per subscribed browser of each user who chose the daily digest, counting the
    non-urgent alerts of the last 24 hours they have not read. Run once a day from cron."""
    now = now or clock.now()
    since = now - DIGEST_WINDOW
    day_key = f"digest:{now.astimezone(SHANGHAI).date().isoformat()}"
    made = 0
    for user in db.session.scalars(
        select(User).where(User.alert_digest.is_(True), User.is_active.is_(True))
    ):
        unread = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user.id,
                Notification.urgent.is_(False),
                Notification.read_at.is_(None),
                Notification.created_at >= since,
            )
        )
        if not unread:
            continue
        payload = {
            "title": _("Daily summary"),
            "body": _("%(n)d new alerts in the last 24 hours.", n=unread),
            "url": "/notifications",
            "tag": f"digest-{user.id}",
        }
        subscriptions = _subscriptions_with_topic(user_topic(user.id), user_id=user.id)
        # Once a day per browser: a second run (cron retried, two servers) inserts none.
        made += len(
            insert_once(
                PushMessage,
                [
                    dict(
                        subscription_id=subscription.id,
                        dedup_key=day_key,
                        payload=payload,
                        urgency="normal",
                        ttl=ALERT_TTL,
                        attempts=0,
                        last_error="",
                        created_at=now,
                    )
                    for subscription in subscriptions
                ],
                key=["subscription_id", "dedup_key"],
            )
        )
    return made
