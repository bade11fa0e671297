"""Where each role lands after login."""

from __future__ import annotations

from flask import url_for

from webapp.models import Role, User

# Where each role starts its day; a user with several roles starts at the first one held.
ROLE_HOMES: list[tuple[Role, str]] = [
    (Role.ADMIN, "admin.org_tree"),
    (Role.STREET_STAFF, "cases.triage"),
    (Role.COMMUNITY_STAFF, "reports.community_home"),
    (Role.GRID_WORKER, "rounds.home"),
]


def home_url_for(user: User) -> str:
    held = user.roles()
    for role, endpoint in ROLE_HOMES:
        if role in held:
            return url_for(endpoint)
    return url_for("web.no_role")


def nav_links(user: User) -> list[tuple[Role, str]]:
    """One link per role home the user holds, for the header's role switcher."""
    held = user.roles()
    return [(role, url_for(endpoint)) for role, endpoint in ROLE_HOMES if role in held]
