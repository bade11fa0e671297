"""Which push endpoints we will ever POST to (DESIGN.md §7): anyone may subscribe a browser
without an account, and the sender later POSTs to whatever address was given, so an unchecked
endpoint would make this server fetch any URL for an attacker (SSRF: the metadata service,
the database's admin port, an intranet host).

An endpoint is kept only when it is an https URL on the default port, without user info, whose
host is on the allow-list of push services (PUSH_ENDPOINT_HOSTS: exact names or `*.suffix`)
and resolves to public addresses only. Tests may also allow plain-http loopback endpoints for
their local push service (PUSH_ALLOW_LOCAL_ENDPOINTS, honoured only when TESTING is on). The
sender checks again before each POST, so a name that later resolves somewhere private is
dropped rather than fetched.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from webapp.ops import DomainError

MAX_ENDPOINT = 1000
# The services browsers subscribe with: Chrome/Edge/Opera (FCM), Firefox (Mozilla autopush),
# legacy Edge (WNS) and Safari (Apple). Operators add others through the environment.
DEFAULT_PUSH_ENDPOINT_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class EndpointRefused(DomainError):
    """An endpoint that is not a known push service, or that leads to a private address."""

    code = "endpoint_refused"


class EndpointUnreachable(EndpointRefused):
    """The host name did not resolve: perhaps for a moment only, so the sender retries."""


def parse_hosts(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """`a.example, *.b.example` (the environment's spelling) or a list, lower-cased."""
    if value is None:
        return DEFAULT_PUSH_ENDPOINT_HOSTS
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(item.strip().lower().rstrip(".") for item in items if item.strip())


def host_allowed(host: str, patterns: Iterable[str]) -> bool:
    """Exact names, or `*.suffix` for any name below suffix (never suffix itself)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _addresses(host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _local_test_endpoint(parts: Any) -> bool:
    config = current_app.config
    return bool(
        config.get("TESTING")
        and config.get("PUSH_ALLOW_LOCAL_ENDPOINTS")
        and parts.scheme in ("http", "https")
        and parts.hostname in LOOPBACK_NAMES
    )


def well_formed(endpoint: Any) -> str:
    """A URL-shaped string of sane length (enough to find a stored row by it)."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise EndpointRefused(_("Not a push service address."))
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointRefused(_("Not a push service address."))
    return endpoint


def check_endpoint(endpoint: Any) -> str:
    """The endpoint, if it is one we may POST to. Raises EndpointRefused with the reason."""
    endpoint = well_formed(endpoint)
    parts = urlsplit(endpoint)
    if _local_test_endpoint(parts):
        return endpoint
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        raise EndpointRefused(_("Push service addresses must be plain https addresses."))
    host = parts.hostname or ""
    patterns = parse_hosts(current_app.config.get("PUSH_ENDPOINT_HOSTS"))
    if not host_allowed(host, patterns):
        raise EndpointRefused(_("This is not the address of a known push service."))
    try:
        addresses = _addresses(host)
    except (OSError, UnicodeError):
        raise EndpointUnreachable(
            _("The push service could not be found. Try again later.")
        ) from None
    if not addresses or not all(is_public_address(address) for address in addresses):
        raise EndpointRefused(_("Push service addresses must not lead to a private network."))
    return endpoint
