"""Where each role lands after login."""

from __future__ import annotations

from flask import url_for

from webapp.models import Role, User

# Where each role starts its day; a user with several roles starts at the first one held.
ROLE_HOMES: list[tuple[Role, str]] = [
    (Role.ADMIN, "admin.org_tree"),
    (Role.STREET_STAFF, "cases.triage"),
    (Role.COMMUNITY_STAFF, "reports.community_home"),
    (Role.DEPARTMENT_STAFF, "cases.department_board"),
    (Role.GRID_WORKER, "rounds.home"),
]


def home_url_for(user: User) -> str:
    held = user.roles()
    for role, endpoint in ROLE_HOMES:
        if role in held:
            return url_for(endpoint)
    return url_for("web.no_role")


# Besides its home, what each role reaches from the header.
ROLE_EXTRA_LINKS: dict[Role, list[tuple[str, str]]] = {
    Role.STREET_STAFF: [
        ("notices", "notices.notice_list"),
        ("reports", "reports.dashboard"),
        ("residents", "residents.report_list"),
    ],
    Role.COMMUNITY_STAFF: [
        ("triage", "cases.triage"),
        ("notices", "notices.notice_list"),
        ("reports", "reports.dashboard"),
        ("residents", "residents.report_list"),
        ("imports", "admin.imports_page"),
    ],
    Role.ADMIN: [
        ("reports", "reports.dashboard"),
        ("users", "admin.users_page"),
        ("imports", "admin.imports_page"),
    ],
}


def nav_links(user: User) -> list[tuple[str, str]]:
    """(label code, url) for the header: each role's home, then its other workspaces, once."""
    held = user.roles()
    links: list[tuple[str, str]] = []
    for role, endpoint in ROLE_HOMES:
        if role in held:
            links.append((role.value, url_for(endpoint)))
    for role, _home in ROLE_HOMES:
        if role in held:
            links.extend(
                (label, url_for(endpoint)) for label, endpoint in ROLE_EXTRA_LINKS.get(role, [])
            )
    seen: set[str] = set()
    return [(label, href) for label, href in links if not (href in seen or seen.add(href))]
