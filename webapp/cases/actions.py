"""The case lifecycle (DESIGN.md §4): every `case.action` — from a clerk's form or a worker's
offline outbox — goes through `apply_case_action`, which checks who may do what at which level,
refuses an action that no longer applies with `Conflict` (carrying the current case), and appends
one timeline entry per change.

    open (grid) → escalated → accepted → resolved → closed
                                  ↑__________| dissatisfied follow-up reopens
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import compute_scope
from webapp.cases import limits
from webapp.cases.departments import departments
from webapp.cases.workdays import add_workdays
from webapp.changes import bump
from webapp.extensions import db
from webapp.i18n import SHANGHAI
from webapp.models import Case, CaseEvent, CaseLevel, CaseStatus, Role, User
from webapp.notify import members_for_grid, notify
from webapp.ops import Conflict, Invalid, Op, OutOfScope, parse_uuid

ACTIONS = (
    "note",
    "request_escalation",
    "accept",
    "assign",
    "supervise",
    "pause",
    "resume",
    "request_extension",
    "approve_extension",
    "resolve",
    "follow_up",
    "reopen",
)
# What a grid worker may send, online or from the outbox; the rest are staff actions.
WORKER_ACTIONS = ("note", "request_escalation", "follow_up")
SATISFACTIONS = ("satisfied", "basically_satisfied", "dissatisfied")
NEXT_LEVEL = {CaseLevel.GRID: CaseLevel.COMMUNITY, CaseLevel.COMMUNITY: CaseLevel.STREET}
HANDLER_ROLE = {
    CaseLevel.GRID: Role.COMMUNITY_STAFF,  # staff actions on a grid-level case: the community's
    CaseLevel.COMMUNITY: Role.COMMUNITY_STAFF,
    CaseLevel.STREET: Role.STREET_STAFF,
}
MAX_EXTENSION_DAYS = 30


class Actor:
    """Who is acting, in relation to one case."""

    def __init__(self, user: User | None, case: Case):
        self.user = user
        if user is None:  # the system (sla tick)
            self.roles: set[Role] = {Role.ADMIN}
            return
        self.roles = {
            role
            for role in user.roles()  # only the roles held: each scope costs queries
            if compute_scope(user, roles=[role]).covers_grid(case.home_grid_id)
        }

    def is_(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))

    @property
    def id(self) -> int | None:
        return self.user.id if self.user else None


def case_snapshot(case: Case, now: datetime | None = None) -> dict[str, Any]:
    now = now or clock.now()
    return {
        "id": str(case.id),
        "number": case.number,
        "title": case.title,
        "status": case.status,
        "level": case.level,
        "severity": case.severity,
        "category": case.category,
        "home_grid_id": case.home_grid_id,
        "source_record_id": str(case.source_record_id) if case.source_record_id else None,
        "warn_at": _iso(limits.effective(case.warn_at, case, now)),
        "due_at": _iso(limits.effective(case.due_at, case, now)),
        "sla": limits.sla_state(case, now),
        "supervised": case.supervised,
        "paused": case.paused_at is not None,
        "version": case.version,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class CaseAction:
    """One action being applied: the case, the actor, the payload, and the timeline entry."""

    def __init__(self, case: Case, actor: Actor, action: str, payload: dict, now: datetime):
        self.case, self.actor, self.action, self.payload, self.now = (
            case,
            actor,
            action,
            payload,
            now,
        )
        self.from_status, self.from_level = case.status, case.level
        self.note = str(payload.get("notes") or payload.get("note") or "").strip()[:4000]
        self.data: dict[str, Any] = {}

    def no_longer_applies(self, message: str) -> Conflict:
        return Conflict(message, current=case_snapshot(self.case, self.now))

    def require(self, allowed: bool) -> None:
        if not allowed:
            raise Invalid({"action": _("You cannot do this on this case at its current level.")})

    def require_status(self, *statuses: CaseStatus) -> None:
        if self.case.status not in statuses:
            raise self.no_longer_applies(
                _(
                    "This action no longer applies: the case is now “%(status)s”.",
                    status=_status_text(self.case.status),
                )
            )

    def moment(self, field: str, *, required: bool) -> datetime | None:
        value = self.payload.get(field)
        if value in (None, ""):
            if required:
                raise Invalid({field: _("This field is required.")})
            return None
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise Invalid({field: _("Not a valid date and time.")}) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=SHANGHAI)
        if parsed.astimezone(UTC) <= self.now:
            raise Invalid({field: _("Must be in the future.")})
        return parsed.astimezone(UTC)

    def move(self, status: CaseStatus | None = None, level: CaseLevel | None = None) -> None:
        if level is not None:
            self.case.level = level
        if status is not None:
            self.case.status = status
            limits.start_stage(self.case, self.now)


def _status_text(status: str) -> str:
    from webapp.labels import CASE_STATUS_LABELS

    return str(CASE_STATUS_LABELS.get(status, status))


# --- the actions -------------------------------------------------------------------------------


def _note(a: CaseAction) -> None:
    a.require(a.actor.is_(Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF))
    if a.case.status == CaseStatus.CLOSED:
        raise a.no_longer_applies(_("The case is closed; reopen it to add handling notes."))
    if not a.note:
        raise Invalid({"notes": _("Write what was done.")})


def _request_escalation(a: CaseAction) -> None:
    case = a.case
    if case.level == CaseLevel.GRID:
        a.require(a.actor.is_(Role.GRID_WORKER, Role.COMMUNITY_STAFF))
        a.require_status(CaseStatus.OPEN)
        if case.severity == "urgent":
            # Urgent hazards skip the community (越级) and go straight to the street office.
            a.data["skip_level"] = True
            a.move(CaseStatus.ESCALATED, CaseLevel.STREET)
            return
        if not _has_local_attempt(case):
            raise Invalid(
                {"action": _("Record what you tried locally first (属地处置) before escalating.")}
            )
        a.move(CaseStatus.ESCALATED, CaseLevel.COMMUNITY)
    elif case.level == CaseLevel.COMMUNITY:
        a.require(a.actor.is_(Role.COMMUNITY_STAFF))
        a.require_status(CaseStatus.ACCEPTED, CaseStatus.ESCALATED)
        a.move(CaseStatus.ESCALATED, CaseLevel.STREET)
    else:
        raise a.no_longer_applies(_("The case is already at the street office."))


def _has_local_attempt(case: Case) -> bool:
    return (
        db.session.scalar(
            select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.action == "note")
        )
        is not None
    )


def _accept(a: CaseAction) -> None:
    a.require(a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)]))
    a.require_status(CaseStatus.ESCALATED)
    a.move(CaseStatus.ACCEPTED)


def _assign(a: CaseAction) -> None:
    a.require(a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)]))
    a.require_status(CaseStatus.ACCEPTED, CaseStatus.ESCALATED)
    if a.case.status == CaseStatus.ESCALATED:
        a.move(CaseStatus.ACCEPTED)  # assigning is accepting
    department = str(a.payload.get("department") or "").strip()
    user_id = a.payload.get("user_id")
    if not department and user_id in (None, ""):
        raise Invalid({"department": _("Choose a department or a person.")})
    if department and department not in departments():
        raise Invalid({"department": _("Not one of the allowed choices.")})
    assignee = None
    if user_id not in (None, ""):
        try:
            assignee = db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            assignee = None
        if assignee is None or not assignee.is_active:
            raise Invalid({"user_id": _("This person was not found.")})
    due = a.moment("due_at", required=False)
    a.case.assigned_department = department
    a.case.assigned_user_id = assignee.id if assignee else None
    if due is not None:
        a.case.due_at = due
        a.case.warn_at = min(a.case.warn_at or due, due - timedelta(days=1))
    a.data.update(department=department, user_id=a.case.assigned_user_id, due_at=_iso(due))
    if assignee is not None:
        notify(
            [assignee],
            "assigned",
            _("Case assigned to you: %(title)s", title=a.case.title),
            url=_case_url(a.case),
            case_id=a.case.id,
        )


def _supervise(a: CaseAction) -> None:
    a.require(a.actor.is_(Role.STREET_STAFF))
    if a.case.status == CaseStatus.CLOSED:
        raise a.no_longer_applies(_("The case is closed."))
    deadline = a.moment("deadline", required=True)
    a.case.supervised = True
    a.case.supervise_deadline = deadline
    a.data["deadline"] = _iso(deadline)
    notify(
        _everyone_involved(a.case),
        "supervised",
        _("Under supervision (督办): %(title)s", title=a.case.title),
        url=_case_url(a.case),
        case_id=a.case.id,
        urgent=True,
    )


def _pause(a: CaseAction) -> None:
    a.require(a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)]))
    a.require_status(CaseStatus.OPEN, CaseStatus.ACCEPTED)
    if a.case.paused_at is not None:
        raise a.no_longer_applies(_("The clock is already paused."))
    if not a.note:
        raise Invalid({"notes": _("Say what you are waiting for.")})
    a.case.paused_at = a.now


def _resume(a: CaseAction) -> None:
    a.require(a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)]))
    if a.case.paused_at is None:
        raise a.no_longer_applies(_("The clock is not paused."))
    a.case.paused_seconds = int(limits.paused_for(a.case, a.now).total_seconds())
    a.case.paused_at = None


def _request_extension(a: CaseAction) -> None:
    a.require(a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)]))
    a.require_status(CaseStatus.OPEN, CaseStatus.ACCEPTED)
    days = _positive_days(a.payload.get("days"))
    if not a.note:
        raise Invalid({"notes": _("Give the reason for the extension.")})
    if pending_extension(a.case) is not None:
        raise a.no_longer_applies(_("An extension request is already waiting for approval."))
    a.data["days"] = days
    notify(
        members_for_grid(a.case.home_grid_id, Role.STREET_STAFF),
        "extension_requested",
        _("Extension requested: %(title)s", title=a.case.title),
        url=_case_url(a.case),
        case_id=a.case.id,
    )


def _approve_extension(a: CaseAction) -> None:
    a.require(a.actor.is_(Role.STREET_STAFF))
    request = pending_extension(a.case)
    if request is None:
        raise a.no_longer_applies(_("There is no extension request to approve."))
    days = int(request.data["days"])
    a.case.due_at = add_workdays(a.case.due_at or a.now, days)
    a.case.warn_at = add_workdays(a.case.warn_at or a.now, days)
    a.data.update(days=days, request_event_id=request.id)


def pending_extension(case: Case) -> CaseEvent | None:
    """The latest extension request of the current stage, unless already approved."""
    events = db.session.scalars(
        select(CaseEvent)
        .where(
            CaseEvent.case_id == case.id,
            CaseEvent.action.in_(("request_extension", "approve_extension")),
            CaseEvent.at >= case.stage_started_at,
        )
        .order_by(CaseEvent.id.desc())
    ).first()
    return events if events is not None and events.action == "request_extension" else None


def _positive_days(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise Invalid({"days": _("Must be a whole number.")}) from None
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise Invalid({"days": _("Between 1 and %(n)d working days.", n=MAX_EXTENSION_DAYS)})
    return days


def _resolve(a: CaseAction) -> None:
    assignee = a.actor.user is not None and a.case.assigned_user_id == a.actor.user.id
    a.require(assignee or a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)]))
    a.require_status(CaseStatus.OPEN, CaseStatus.ACCEPTED)
    result = str(a.payload.get("result") or "").strip()
    if not result:
        raise Invalid({"result": _("Write how it was resolved.")})
    a.case.result = result[:4000]
    a.case.resolved_at = a.now
    a.case.paused_at = None
    a.move(CaseStatus.RESOLVED)
    notify(
        members_for_grid(a.case.home_grid_id, Role.GRID_WORKER),
        "follow_up_due",
        _("Follow-up visit due (回访): %(title)s", title=a.case.title),
        url=_case_url(a.case),
        case_id=a.case.id,
    )


def _follow_up(a: CaseAction) -> None:
    a.require(a.actor.is_(Role.GRID_WORKER, Role.COMMUNITY_STAFF))
    a.require_status(CaseStatus.RESOLVED)
    satisfaction = a.payload.get("satisfaction")
    if satisfaction not in SATISFACTIONS:
        raise Invalid({"satisfaction": _("Please choose one.")})
    a.case.satisfaction = satisfaction
    a.data["satisfaction"] = satisfaction
    if satisfaction == "dissatisfied":
        # Back to whoever resolved it: the resident's word, not the file, decides.
        a.case.resolved_at = None
        a.move(CaseStatus.ACCEPTED)
        notify(
            _handlers(a.case),
            "reopened",
            _("Resident dissatisfied, case reopened: %(title)s", title=a.case.title),
            url=_case_url(a.case),
            case_id=a.case.id,
            urgent=True,
        )
    else:
        a.case.closed_at = a.now
        a.move(CaseStatus.CLOSED)


def _reopen(a: CaseAction) -> None:
    a.require(a.actor.is_(HANDLER_ROLE[CaseLevel(a.case.level)], Role.STREET_STAFF))
    a.require_status(CaseStatus.RESOLVED, CaseStatus.CLOSED)
    if not a.note:
        raise Invalid({"notes": _("Say why the case is reopened.")})
    a.case.closed_at = a.case.resolved_at = None
    a.move(CaseStatus.ACCEPTED)


HANDLERS: dict[str, Callable[[CaseAction], None]] = {
    "note": _note,
    "request_escalation": _request_escalation,
    "accept": _accept,
    "assign": _assign,
    "supervise": _supervise,
    "pause": _pause,
    "resume": _resume,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "resolve": _resolve,
    "follow_up": _follow_up,
    "reopen": _reopen,
}


def _case_url(case: Case) -> str:
    return f"/cases/{case.id}"


def _handlers(case: Case) -> list[int]:
    return members_for_grid(case.home_grid_id, HANDLER_ROLE[CaseLevel(case.level)])


def _everyone_involved(case: Case) -> set[int]:
    actors = set(
        db.session.scalars(
            select(CaseEvent.actor_id).where(
                CaseEvent.case_id == case.id, CaseEvent.actor_id.is_not(None)
            )
        )
    )
    actors.update(_handlers(case))
    actors.update(members_for_grid(case.home_grid_id, Role.GRID_WORKER))
    if case.assigned_user_id:
        actors.add(case.assigned_user_id)
    return actors


def notify_escalation(case: Case, at: datetime | None = None) -> None:
    role = HANDLER_ROLE[CaseLevel(case.level)]
    notify(
        members_for_grid(case.home_grid_id, role),
        "escalated",
        _("Escalated to you: %(title)s", title=case.title),
        url=_case_url(case),
        case_id=case.id,
        urgent=case.severity in ("high", "urgent"),
        at=at,
    )


# --- entry points ------------------------------------------------------------------------------


def perform(
    case: Case,
    user: User | None,
    action: str,
    payload: dict,
    *,
    now: datetime | None = None,
    action_id: uuid.UUID | None = None,
) -> CaseEvent:
    """Apply `action` to a case already loaded in scope; append its timeline entry."""
    if action not in HANDLERS:
        raise Invalid({"action": _("Unknown action.")})
    now = now or clock.now()
    step = CaseAction(case, Actor(user, case), action, payload, now)
    HANDLERS[action](step)
    if action_id is not None:
        step.data["action_id"] = str(action_id)
    event = CaseEvent(
        case_id=case.id,
        actor_id=step.actor.id,
        at=now,
        action=action,
        from_status=step.from_status,
        to_status=case.status,
        from_level=step.from_level,
        to_level=case.level,
        note=step.note,
        data=step.data,
    )
    db.session.add(event)
    if case.level != step.from_level:
        notify_escalation(case, at=now)
    bump(case)
    if user is not None:
        record_audit(
            "case_action",
            actor=user,
            target_type="cases",
            target_id=case.id,
            case_action=action,
            from_status=step.from_status,
            to_status=case.status,
        )
    db.session.flush()
    return event


def apply_case_action(actor: User, op: Op) -> Case:
    """`case.action` op: `{"case_id", "action", …}`. Raises Invalid, OutOfScope, Conflict."""
    payload = op.payload if isinstance(op.payload, dict) else {}
    case_id = parse_uuid(payload.get("case_id"), "case_id")
    case = db.session.get(Case, case_id)
    if case is None or not compute_scope(actor).covers_grid(case.home_grid_id):
        raise OutOfScope(_("This case does not exist or is not in your scope."))
    action = payload.get("action")
    action_id = parse_uuid(op.record_id) if op.record_id else None
    perform(case, actor, action, payload, action_id=action_id)
    return case
