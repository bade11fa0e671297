"""Notices (公告/公示, DESIGN.md §6): who may write which, the life of a notice, and what the
public sees.

Life of a notice. `status` is the stored truth; what people see is derived from it and the clock:

    draft ──publish──▶ published ──withdraw──▶ withdrawn
      │                  │
      └─delete           └─ publish_at in the future: "scheduled" — published, checked by the
                            guard, and invisible until publish_at (no job has to flip it)

A scheduled notice is `published` with a future `publish_at`: it passed the publishing guard when
it was scheduled (and again on every edit), so nothing unchecked can become public by itself when
the time comes. Lists and the staff page call it "Scheduled, visible from …", and the public site
shows a notice only when `status == published and publish_at <= now`.

Who: street staff write for their street (the whole street or some of its communities);
community staff write for their own community only, and see the street-wide notices of their
street and those that include their community. A notice that is not theirs is a 404.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import compute_scope, scoped
from webapp.changes import bump
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import (
    Community,
    Grid,
    Membership,
    Notice,
    NoticeAttachment,
    NoticeCategory,
    NoticeStatus,
    Role,
    ScopeKind,
    Street,
    User,
    notice_communities,
)
from webapp.moments import OutOfWindow, parse_day, parse_moment
from webapp.notices import files, guard
from webapp.ops import Invalid, OutOfScope

TITLE_LENGTH = 200
BODY_LENGTH = 20000
CATEGORIES = tuple(category.value for category in NoticeCategory)
WRITER_ROLES = (Role.COMMUNITY_STAFF, Role.STREET_STAFF)


class NoticeState(enum.StrEnum):
    """What a notice is to people, derived from `status` and `publish_at`."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"  # and visible
    WITHDRAWN = "withdrawn"


class PublicityState(enum.StrEnum):
    UPCOMING = "upcoming"  # 未开始
    ONGOING = "ongoing"  # 公示中
    ENDED = "ended"  # 已结束


class PublishRefused(Exception):
    """The guard found personal numbers; `findings` says where."""

    def __init__(self, findings: list[guard.Finding]):
        super().__init__(f"{len(findings)} personal number(s) found")
        self.findings = findings


# --- the push hook --------------------------------------------------------------------------


def on_notice_published(notice: Notice) -> None:
    """Called after a notice is published or rescheduled, inside the request's transaction
    (before the commit): queue a Web Push message to the subscribers of `community:<id>` for
    each of `public_community_ids(notice)`, not before `notice.publish_at`, replacing what a
    previous schedule left waiting. The sender re-checks `is_visible` (it may be withdrawn
    meanwhile); nothing is sent from here."""
    from webapp.push.queue import enqueue_notice

    enqueue_notice(notice, public_community_ids(notice))


# --- who may do what --------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    """A writer's reach: whole streets (street staff) and single communities (community staff)."""

    street_ids: frozenset[int]
    community_ids: frozenset[int]  # held as community staff
    community_street_ids: frozenset[int]  # the streets of those communities

    @property
    def any(self) -> bool:
        return bool(self.street_ids or self.community_ids)

    def may_write(self, street_id: int, community_ids: set[int]) -> bool:
        if street_id in self.street_ids:
            return True
        return bool(community_ids) and community_ids <= self.community_ids


def authority_of(user: User) -> Authority:
    street_scope = compute_scope(user, roles=[Role.STREET_STAFF])
    community_scope = compute_scope(user, roles=[Role.COMMUNITY_STAFF])
    community_ids = frozenset(community_scope.community_ids)
    community_streets = frozenset(
        db.session.scalars(select(Community.street_id).where(Community.id.in_(community_ids)))
    )
    return Authority(frozenset(street_scope.street_ids), community_ids, community_streets)


def _targets_any_of(community_ids: frozenset[int]) -> Any:
    return exists().where(
        notice_communities.c.notice_id == Notice.id,
        notice_communities.c.community_id.in_(community_ids),
    )


def _street_wide() -> Any:
    return ~exists().where(notice_communities.c.notice_id == Notice.id)


def notices_for(user: User, authority: Authority | None = None) -> Select:
    """The notices `user` may see as a writer: `scoped(Notice)` narrowed for community staff."""
    authority = authority or authority_of(user)
    query = scoped(Notice, scope=compute_scope(user, roles=WRITER_ROLES))
    community_only_streets = authority.community_street_ids - authority.street_ids
    return query.where(
        or_(
            Notice.street_id.in_(authority.street_ids),
            and_(
                Notice.street_id.in_(community_only_streets),
                or_(_street_wide(), _targets_any_of(authority.community_ids)),
            ),
        )
    )


def get_notice(user: User, notice_id: int) -> Notice:
    """The notice if `user` may see it. Raises OutOfScope (a 404 for the views)."""
    notice = db.session.scalar(notices_for(user).where(Notice.id == notice_id))
    if notice is None:
        raise OutOfScope(_("This notice does not exist or is not in your scope."))
    return notice


def may_edit(user: User, notice: Notice, authority: Authority | None = None) -> bool:
    authority = authority or authority_of(user)
    return authority.may_write(notice.street_id, {c.id for c in notice.communities})


def get_editable_notice(user: User, notice_id: int) -> Notice:
    """A notice `user` may change; someone else's (another community's, or street-wide for
    community staff) is the same 404 as one that does not exist."""
    notice = get_notice(user, notice_id)
    if not may_edit(user, notice):
        raise OutOfScope(_("This notice does not exist or is not in your scope."))
    return notice


def writable_streets(authority: Authority) -> list[Street]:
    ids = authority.street_ids | authority.community_street_ids
    return list(db.session.scalars(select(Street).where(Street.id.in_(ids)).order_by(Street.code)))


def writable_communities(authority: Authority) -> list[Community]:
    """Communities a writer may target: all of their streets', and their own."""
    return list(
        db.session.scalars(
            select(Community)
            .where(
                or_(
                    Community.street_id.in_(authority.street_ids),
                    Community.id.in_(authority.community_ids),
                )
            )
            .order_by(Community.code)
        )
    )


# --- state ------------------------------------------------------------------------------------


def state_of(notice: Notice, now: datetime) -> NoticeState:
    if notice.status == NoticeStatus.DRAFT:
        return NoticeState.DRAFT
    if notice.status == NoticeStatus.WITHDRAWN:
        return NoticeState.WITHDRAWN
    if notice.publish_at is not None and notice.publish_at > now:
        return NoticeState.SCHEDULED
    return NoticeState.PUBLISHED


def is_visible(notice: Notice, now: datetime) -> bool:
    return state_of(notice, now) is NoticeState.PUBLISHED


def publicity_state(notice: Notice, today: date) -> PublicityState | None:
    """公示中 / 已结束 / 未开始, for a 公示 with its period."""
    if notice.category != NoticeCategory.PUBLICITY or not notice.period_start:
        return None
    if today < notice.period_start:
        return PublicityState.UPCOMING
    if notice.period_end and today > notice.period_end:
        return PublicityState.ENDED
    return PublicityState.ONGOING


def state_filter(state: NoticeState, now: datetime) -> Any:
    return {
        NoticeState.DRAFT: Notice.status == NoticeStatus.DRAFT,
        NoticeState.WITHDRAWN: Notice.status == NoticeStatus.WITHDRAWN,
        NoticeState.SCHEDULED: and_(
            Notice.status == NoticeStatus.PUBLISHED, Notice.publish_at > now
        ),
        NoticeState.PUBLISHED: and_(
            Notice.status == NoticeStatus.PUBLISHED, Notice.publish_at <= now
        ),
    }[state]


def staff_list(user: User, state: NoticeState | None, now: datetime, limit: int = 200) -> list:
    query = notices_for(user)
    if state is not None:
        query = query.where(state_filter(state, now))
    order = func.coalesce(Notice.publish_at, Notice.updated_at)
    query = query.options(selectinload(Notice.communities))
    return list(db.session.scalars(query.order_by(order.desc(), Notice.id.desc()).limit(limit)))


def attachments_of(notice: Notice) -> list[NoticeAttachment]:
    return list(
        db.session.scalars(
            select(NoticeAttachment)
            .where(NoticeAttachment.notice_id == notice.id)
            .order_by(NoticeAttachment.position, NoticeAttachment.created_at)
        )
    )


# --- writing ----------------------------------------------------------------------------------


@dataclass
class NoticeForm:
    """What the form sends, as typed; `parse` checks it all and lists every problem."""

    title: str = ""
    body: str = ""
    category: str = ""
    street_id: str = ""
    whole_street: bool = False
    community_ids: list[str] = field(default_factory=list)
    publish_at: str = ""
    period_start: str = ""
    period_end: str = ""
    remove_attachment_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: Any) -> NoticeForm:
        return cls(
            title=form.get("title", ""),
            body=form.get("body", ""),
            category=form.get("category", ""),
            street_id=form.get("street_id", ""),
            whole_street=form.get("target") == "street",
            community_ids=form.getlist("community_ids"),
            publish_at=form.get("publish_at", ""),
            period_start=form.get("period_start", ""),
            period_end=form.get("period_end", ""),
            remove_attachment_ids=form.getlist("remove_attachment_ids"),
        )

    @classmethod
    def from_notice(cls, notice: Notice) -> NoticeForm:
        local = notice.publish_at.astimezone(SHANGHAI) if notice.publish_at else None
        return cls(
            title=notice.title,
            body=notice.body,
            category=notice.category,
            street_id=str(notice.street_id),
            whole_street=not notice.communities,
            community_ids=[str(c.id) for c in notice.communities],
            publish_at=local.strftime("%Y-%m-%dT%H:%M") if local else "",
            period_start=notice.period_start.isoformat() if notice.period_start else "",
            period_end=notice.period_end.isoformat() if notice.period_end else "",
        )


@dataclass
class ParsedNotice:
    title: str
    body: str
    category: str
    street_id: int
    communities: list[Community]
    publish_at: datetime | None
    period_start: date | None
    period_end: date | None


def _parse_date(value: str) -> date | None:
    value = (value or "").strip()
    return parse_day(value) if value else None


def _parse_local_datetime(value: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    return parse_moment(value)


def parse_form(form: NoticeForm, authority: Authority) -> ParsedNotice:
    """Check a form against the writer's reach. Raises Invalid with every problem found."""
    errors: dict[str, str] = {}
    title = " ".join(form.title.split())
    body = form.body.replace("\r\n", "\n").strip()
    if not title:
        errors["title"] = _("Give the notice a title.")
    elif len(title) > TITLE_LENGTH:
        errors["title"] = _("At most %(n)d characters.", n=TITLE_LENGTH)
    if not body:
        errors["body"] = _("Write the text of the notice.")
    elif len(body) > BODY_LENGTH:
        errors["body"] = _("At most %(n)d characters.", n=BODY_LENGTH)
    if form.category not in CATEGORIES:
        errors["category"] = _("Please choose one.")

    allowed = {c.id: c for c in writable_communities(authority)}
    communities: list[Community] = []
    street_id: int | None = None
    if form.whole_street:
        try:
            street_id = int(form.street_id) if form.street_id else None
        except ValueError:
            street_id = None
        if street_id is None and len(authority.street_ids) == 1:
            street_id = next(iter(authority.street_ids))
        if street_id is None or street_id not in authority.street_ids:
            errors["target"] = _("Only street office staff can publish to the whole street.")
    else:
        for raw in dict.fromkeys(form.community_ids):
            try:
                community = allowed.get(int(raw))
            except ValueError:
                community = None
            if community is None:
                errors["target"] = _("You cannot publish to this community.")
                break
            communities.append(community)
        if not communities and "target" not in errors:
            errors["target"] = _("Choose the whole street or at least one community.")
        streets = {c.street_id for c in communities}
        if len(streets) > 1:
            errors["target"] = _("Choose communities of one street.")
        elif streets:
            street_id = streets.pop()
            if not authority.may_write(street_id, {c.id for c in communities}):
                errors["target"] = _("You cannot publish to this community.")

    try:
        publish_at = _parse_local_datetime(form.publish_at)
    except OutOfWindow as error:
        publish_at = None
        errors["publish_at"] = str(error)
    except ValueError:
        publish_at = None
        errors["publish_at"] = _("Not a valid date and time.")

    period_start = period_end = None
    if form.category == NoticeCategory.PUBLICITY:
        try:
            period_start = _parse_date(form.period_start)
            period_end = _parse_date(form.period_end)
        except OutOfWindow as error:
            errors["period"] = str(error)
        except ValueError:
            errors["period"] = _("Not a valid date.")
        else:
            if period_start is None or period_end is None:
                errors["period"] = _("A 公示 needs its publicity period: first and last day.")
            elif period_end < period_start:
                errors["period"] = _("The last day cannot be before the first day.")
    if errors:
        raise Invalid(errors)
    return ParsedNotice(
        title, body, form.category, street_id, communities, publish_at, period_start, period_end
    )


def save_notice(
    actor: User,
    notice: Notice | None,
    form: NoticeForm,
    uploads: list[FileStorage],
    now: datetime | None = None,
) -> Notice:
    """Create a draft, or change a draft or a scheduled notice. A scheduled notice is checked
    by the guard again, since it will become public by itself. Raises Invalid, OutOfScope,
    PublishRefused. The caller commits."""
    now = now or clock.now()
    authority = authority_of(actor)
    if not authority.any:
        raise OutOfScope(_("Only community and street office staff write notices."))
    if notice is not None:
        state = state_of(notice, now)
        if state not in (NoticeState.DRAFT, NoticeState.SCHEDULED):
            raise Invalid({"status": _("Only drafts and scheduled notices can be edited.")})
    parsed = parse_form(form, authority)
    if notice is None:
        notice = Notice(author_id=actor.id, status=NoticeStatus.DRAFT, created_at=now)
        db.session.add(notice)
    notice.title, notice.body, notice.category = parsed.title, parsed.body, parsed.category
    notice.street_id = parsed.street_id
    notice.communities = parsed.communities
    notice.period_start, notice.period_end = parsed.period_start, parsed.period_end
    notice.updated_at = now
    scheduled = notice.status == NoticeStatus.PUBLISHED
    if scheduled:
        # Cleared or already past: it becomes visible now, as publishing would have made it.
        notice.publish_at = max(parsed.publish_at or now, now)
    else:
        notice.publish_at = parsed.publish_at
    db.session.flush()

    kept = attachments_of(notice)
    removed = [a for a in kept if str(a.id) in set(form.remove_attachment_ids)]
    if removed:
        files.delete_files_after_commit(removed)
        kept = [a for a in kept if a not in removed]
    kept += files.store_notice_files(actor, notice, uploads, already=len(kept))
    if scheduled:
        check_publishable(notice, kept, now)
        on_notice_published(notice)
    bump(notice)
    return notice


def allowed_public_phones(street_id: int) -> set[str]:
    """Phones that may appear in a notice of this street: the work phones of the active grid
    workers and staff of the street (public by design, 公布联系电话) and community office phones."""
    community_ids = select(Community.id).where(Community.street_id == street_id)
    grid_ids = select(Grid.id).where(Grid.community_id.in_(community_ids))
    in_street = or_(
        and_(Membership.scope_kind == ScopeKind.STREET, Membership.scope_id == street_id),
        and_(Membership.scope_kind == ScopeKind.COMMUNITY, Membership.scope_id.in_(community_ids)),
        and_(Membership.scope_kind == ScopeKind.GRID, Membership.scope_id.in_(grid_ids)),
    )
    phones = set(
        db.session.scalars(
            select(User.work_phone)
            .join(Membership, Membership.user_id == User.id)
            .where(in_street, User.is_active.is_(True), User.work_phone != "")
        )
    )
    phones |= set(
        db.session.scalars(
            select(Community.office_phone).where(
                Community.street_id == street_id, Community.office_phone != ""
            )
        )
    )
    return phones


def findings_for(
    notice: Notice, attachments: list[NoticeAttachment] | None = None, now: datetime | None = None
) -> list[guard.Finding]:
    attachments = attachments if attachments is not None else attachments_of(notice)
    today = (now or clock.now()).astimezone(SHANGHAI).date()
    return guard.scan_notice(
        notice.title,
        notice.body,
        [a.file_name for a in attachments],
        allowed_public_phones(notice.street_id),
        today,
        # What a PDF says is published as much as the body is (issue 10: PDFs were never read).
        file_texts=files.attachment_texts(attachments),
    )


def check_publishable(
    notice: Notice, attachments: list[NoticeAttachment] | None = None, now: datetime | None = None
) -> None:
    findings = findings_for(notice, attachments, now)
    if findings:
        raise PublishRefused(findings)


def publish(actor: User, notice: Notice, now: datetime | None = None) -> Notice:
    """Publish a draft: now, or at its `publish_at` if that is still ahead (scheduled).
    Raises PublishRefused (with where), Invalid (not a draft, or a 公示 without its period)."""
    now = now or clock.now()
    if notice.status != NoticeStatus.DRAFT:
        raise Invalid({"status": _("Only a draft can be published.")})
    if notice.category == NoticeCategory.PUBLICITY and not (
        notice.period_start and notice.period_end
    ):
        raise Invalid({"period": _("A 公示 needs its publicity period: first and last day.")})
    try:
        check_publishable(notice, now=now)
    except PublishRefused as refused:
        record_audit(
            "notice_publish_refused",
            actor=actor,
            target_type="notices",
            target_id=notice.id,
            kinds=sorted({finding.kind for finding in refused.findings}),
        )
        raise
    notice.status = NoticeStatus.PUBLISHED
    if notice.publish_at is None or notice.publish_at < now:
        notice.publish_at = now
    notice.updated_at = now
    bump(notice)
    record_audit(
        "notice_published",
        actor=actor,
        target_type="notices",
        target_id=notice.id,
        publish_at=notice.publish_at.isoformat(),
    )
    on_notice_published(notice)
    return notice


def withdraw(actor: User, notice: Notice, now: datetime | None = None) -> Notice:
    """Take a published or scheduled notice off the public site (its files too)."""
    now = now or clock.now()
    if notice.status != NoticeStatus.PUBLISHED:
        raise Invalid({"status": _("Only a published notice can be withdrawn.")})
    notice.status = NoticeStatus.WITHDRAWN
    notice.updated_at = now
    bump(notice)  # phones drop it at their next pull
    record_audit("notice_withdrawn", actor=actor, target_type="notices", target_id=notice.id)
    return notice


def delete_draft(actor: User, notice: Notice) -> None:
    """A draft was never public, so it goes entirely, files included."""
    if notice.status != NoticeStatus.DRAFT:
        raise Invalid({"status": _("Only a draft can be deleted; withdraw a published notice.")})
    files.delete_files_after_commit(attachments_of(notice))
    record_audit("notice_deleted", actor=actor, target_type="notices", target_id=notice.id)
    db.session.delete(notice)


# --- the public side --------------------------------------------------------------------------


def _visible(now: datetime) -> Any:
    return and_(Notice.status == NoticeStatus.PUBLISHED, Notice.publish_at <= now)


def public_board(
    community: Community, now: datetime, category: str | None, page: int, per_page: int
) -> tuple[list[Notice], bool]:
    """Visible notices for the community or its whole street, newest first; (rows, more)."""
    query = select(Notice).where(
        _visible(now),
        Notice.street_id == community.street_id,
        or_(_street_wide(), _targets_any_of(frozenset({community.id}))),
    )
    if category:
        query = query.where(Notice.category == category)
    rows = list(
        db.session.scalars(
            query.order_by(Notice.publish_at.desc(), Notice.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    return rows[:per_page], len(rows) > per_page


def public_notice(notice_id: int, now: datetime) -> Notice | None:
    return db.session.scalar(select(Notice).where(Notice.id == notice_id, _visible(now)))


def public_community_ids(notice: Notice) -> list[int]:
    if notice.communities:
        return sorted(c.id for c in notice.communities)
    return list(
        db.session.scalars(
            select(Community.id)
            .where(Community.street_id == notice.street_id)
            .order_by(Community.id)
        )
    )


def covers(notice: Notice, community: Community) -> bool:
    if notice.street_id != community.street_id:
        return False
    return not notice.communities or any(c.id == community.id for c in notice.communities)
