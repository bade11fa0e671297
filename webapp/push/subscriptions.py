"""Who may subscribe a browser to what (DESIGN.md §5): signed-in users to their own alerts
(`user:<id>`, implied) and to community notices; anonymous residents to `community:<id>` of
existing communities and to `report:<number>` of their own report (DESIGN.md §6) only. One row
per browser, found by a hash of its endpoint."""

from __future__ import annotations

import binascii
import hashlib
import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Community, PushMessage, PushSubscription, ResidentReport, User
from webapp.ops import DomainError, Invalid
from webapp.push.endpoints import check_endpoint, well_formed
from webapp.push.keys import b64url_decode

P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16
MAX_TOPICS = 20
TOPIC = re.compile(r"^(user|community):([0-9]{1,9})$")
# A resident following their own report (webapp/residents): the tracking number is the proof.
REPORT_TOPIC = re.compile(r"^report:([0-9A-Z]{6,16})$")
# Topics an anonymous browser keeps when a signed-in user leaves it.
ANONYMOUS_TOPIC_PREFIXES = ("community:", "report:")


class TopicRefused(DomainError):
    """A topic this caller may not take: someone else's alerts, or alerts without signing in."""

    code = "topic_refused"


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def user_topic(user_id: int) -> str:
    return f"user:{user_id}"


def report_topic(number: str) -> str:
    return f"report:{number}"


def community_topic(community_id: int) -> str:
    return f"community:{community_id}"


def _valid_key(value: Any, length: int) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", value):
        raise ValueError
    try:
        raw = b64url_decode(value.rstrip("="))
    except (binascii.Error, ValueError):
        raise ValueError from None
    if len(raw) != length:
        raise ValueError
    return raw


def _valid_keys(keys: Any) -> tuple[str, str]:
    errors = {}
    keys = keys if isinstance(keys, dict) else {}
    try:
        p256dh = _valid_key(keys.get("p256dh"), P256DH_BYTES)
        if p256dh[0] != 4:
            raise ValueError
    except ValueError:
        errors["keys.p256dh"] = _("Not a browser push key.")
    try:
        _valid_key(keys.get("auth"), AUTH_BYTES)
    except ValueError:
        errors["keys.auth"] = _("Not a browser push key.")
    if errors:
        raise Invalid(errors)
    return keys["p256dh"].rstrip("="), keys["auth"].rstrip("=")


def _valid_topics(topics: Any, user: User | None) -> list[str]:
    if topics is None:
        topics = []
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS:
        raise Invalid({"topics": _("Not a list of topics.")})
    wanted: list[str] = []
    community_ids: set[int] = set()
    report_numbers: set[str] = set()
    for topic in topics:
        report = REPORT_TOPIC.match(topic) if isinstance(topic, str) else None
        if report is not None:
            report_numbers.add(report.group(1))
            wanted.append(topic)
            continue
        match = TOPIC.match(topic) if isinstance(topic, str) else None
        if match is None:
            raise Invalid({"topics": _("Unknown topic.")})
        kind, number = match.group(1), int(match.group(2))
        if kind == "user":
            # Alerts are personal: only your own, and only signed in.
            if user is None or number != user.id:
                raise TopicRefused(_("You may only subscribe to your own alerts."))
        else:
            community_ids.add(number)
        wanted.append(topic)
    if community_ids:
        known = set(db.session.scalars(select(Community.id).where(Community.id.in_(community_ids))))
        if community_ids - known:
            raise Invalid({"topics": _("There is no such community.")})
    if report_numbers:
        known_numbers = set(
            db.session.scalars(
                select(ResidentReport.number).where(ResidentReport.number.in_(report_numbers))
            )
        )
        if report_numbers - known_numbers:
            raise Invalid({"topics": _("There is no report with this number.")})
    if user is not None:
        wanted.append(user_topic(user.id))
    if not wanted:
        raise Invalid({"topics": _("Choose a community to follow.")})
    return sorted(set(wanted))


def find(endpoint: str) -> PushSubscription | None:
    return db.session.scalar(
        select(PushSubscription).where(PushSubscription.endpoint_hash == endpoint_hash(endpoint))
    )


def subscribe(user: User | None, body: Any) -> tuple[PushSubscription, bool]:
    """Create or update the browser's subscription; (subscription, created). Raises Invalid,
    TopicRefused. The browser is now the caller's: a signed-in user takes it over, and an
    anonymous caller keeps only its community topics (the last user has signed out)."""
    if not isinstance(body, dict):
        raise Invalid({"body": _("Expected a JSON object.")})
    # Only known push services on public addresses: the sender will POST to it (SSRF).
    endpoint = check_endpoint(body.get("endpoint"))
    p256dh, auth = _valid_keys(body.get("keys"))
    topics = _valid_topics(body.get("topics"), user)
    subscription = find(endpoint)
    created = subscription is None
    if created:
        subscription = PushSubscription(endpoint=endpoint, endpoint_hash=endpoint_hash(endpoint))
        db.session.add(subscription)
        kept: list[str] = []
    else:
        kept = [t for t in subscription.topics or [] if t.startswith(ANONYMOUS_TOPIC_PREFIXES)]
    subscription.p256dh, subscription.auth = p256dh, auth
    subscription.user_id = user.id if user is not None else None
    subscription.topics = sorted(set(kept) | set(topics))
    subscription.retry_after = None
    db.session.flush()
    return subscription, created


def unsubscribe(user: User | None, body: Any) -> bool:
    """Drop the browser's subscription (the endpoint is its proof of ownership); with `topics`,
    only those, and the whole row when none are left. True when something was there."""
    if not isinstance(body, dict):
        raise Invalid({"body": _("Expected a JSON object.")})
    # Deleting sends nothing anywhere: any stored endpoint may be named, even one now refused.
    endpoint = well_formed(body.get("endpoint"))
    subscription = find(endpoint)
    if subscription is None:
        return False
    topics = body.get("topics")
    if topics:
        if not isinstance(topics, list):
            raise Invalid({"topics": _("Not a list of topics.")})
        remaining = [t for t in subscription.topics or [] if t not in topics]
        if remaining:
            subscription.topics = remaining
            if not any(t.startswith("user:") for t in remaining):
                subscription.user_id = None
            db.session.flush()
            return True
    delete_subscription(subscription)
    return True


def delete_subscription(subscription: PushSubscription) -> None:
    """The subscription and everything still waiting for it."""
    db.session.execute(
        PushMessage.__table__.delete().where(PushMessage.subscription_id == subscription.id)
    )
    db.session.delete(subscription)
    db.session.flush()
