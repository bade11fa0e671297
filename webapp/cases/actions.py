"""The case lifecycle (DESIGN.md §4): every `case.action` — from a clerk's form, a department's
board or a worker's offline outbox — goes through `perform`, which reads one table (`RULES`) to
decide who may do what at which level and status, refuses an action that no longer applies with
`Conflict` (carrying the current case), and writes the one timeline entry of each change.

    open (grid) → escalated → accepted → resolved → closed
                                  ↑__________| dissatisfied follow-up reopens

A case accepted by the street may be assigned to departments (联合处置: one lead, any assisting);
each part is signed (签收), reported back (回单) or returned (退回) by its department, and the
street reviews (审核) each report back; when the last part is approved the case is resolved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.scope import compute_scope
from webapp.cases import departments as depts
from webapp.cases import limits
from webapp.cases.workdays import add_workdays
from webapp.changes import bump
from webapp.extensions import db
from webapp.models import (
    Case,
    CaseEvent,
    CaseLevel,
    CasePart,
    CaseStatus,
    PartRole,
    PartStatus,
    Role,
    User,
)
from webapp.moments import OutOfWindow, parse_moment
from webapp.notify import Alert, members_for_grid, notify, notify_all
from webapp.ops import Conflict, Invalid, Op, OutOfScope, parse_uuid

SATISFACTIONS = ("satisfied", "basically_satisfied", "dissatisfied")
REVIEW_DECISIONS = ("approve", "send_back")
NEXT_LEVEL = {CaseLevel.GRID: CaseLevel.COMMUNITY, CaseLevel.COMMUNITY: CaseLevel.STREET}
HANDLER_ROLE = {
    CaseLevel.GRID: Role.COMMUNITY_STAFF,  # staff actions on a grid-level case: the community's
    CaseLevel.COMMUNITY: Role.COMMUNITY_STAFF,
    CaseLevel.STREET: Role.STREET_STAFF,
}
MAX_EXTENSION_DAYS = 30
MAX_TEXT = 4000

# --- who may do what: the one table -------------------------------------------------------------

# Besides real roles, a rule may name "handler" (the staff role of the case's level: community
# staff for grid and community cases, street staff for street cases), "assignee" (the person the
# case is assigned to) and "department" (staff of a department holding a part of the case).
HANDLER, ASSIGNEE, DEPARTMENT = "handler", "assignee", "department"
S = CaseStatus
LIVE = frozenset({S.OPEN, S.ESCALATED, S.ACCEPTED, S.RESOLVED})
ANY_LEVEL = frozenset(CaseLevel)
ABOVE_GRID = frozenset({CaseLevel.COMMUNITY, CaseLevel.STREET})


@dataclass(frozen=True)
class Rule:
    action: str
    levels: frozenset[CaseLevel]
    statuses: frozenset[CaseStatus]
    who: frozenset[str]


def _rule(action: str, levels, statuses, *who: str) -> Rule:
    return Rule(action, frozenset(levels), frozenset(statuses), frozenset(who))


G, C, ST = Role.GRID_WORKER.value, Role.COMMUNITY_STAFF.value, Role.STREET_STAFF.value
RULES: tuple[Rule, ...] = (
    _rule("note", ANY_LEVEL, LIVE, G, C, ST, DEPARTMENT),
    _rule("request_escalation", {CaseLevel.GRID}, {S.OPEN}, G, C),
    _rule("request_escalation", {CaseLevel.COMMUNITY}, {S.ESCALATED, S.ACCEPTED}, C),
    _rule("accept", ABOVE_GRID, {S.ESCALATED}, HANDLER),
    _rule("assign", ABOVE_GRID, {S.ESCALATED, S.ACCEPTED}, HANDLER),
    _rule("supervise", ANY_LEVEL, LIVE, ST),
    _rule("pause", ANY_LEVEL, {S.OPEN, S.ACCEPTED}, HANDLER),
    _rule("resume", ANY_LEVEL, {S.OPEN, S.ACCEPTED}, HANDLER),
    _rule("request_extension", ANY_LEVEL, {S.OPEN, S.ACCEPTED}, HANDLER),
    _rule("approve_extension", ANY_LEVEL, {S.OPEN, S.ACCEPTED}, ST),
    _rule("sign", ABOVE_GRID, {S.ACCEPTED}, DEPARTMENT),
    _rule("report_back", ABOVE_GRID, {S.ACCEPTED}, DEPARTMENT),
    _rule("return", ABOVE_GRID, {S.ACCEPTED}, DEPARTMENT),
    _rule("review", ABOVE_GRID, {S.ACCEPTED}, HANDLER),
    _rule("resolve", ANY_LEVEL, {S.OPEN, S.ACCEPTED}, HANDLER, ASSIGNEE),
    _rule("close_unresolvable", ABOVE_GRID, {S.ACCEPTED}, HANDLER),
    _rule("follow_up", ANY_LEVEL, {S.RESOLVED}, G, C),
    _rule("reopen", ANY_LEVEL, {S.RESOLVED, S.CLOSED}, HANDLER, ST),
)
ACTIONS = tuple(dict.fromkeys(rule.action for rule in RULES))
# What a grid worker may send, online or from the outbox; the rest are staff actions.
WORKER_ACTIONS = ("note", "request_escalation", "follow_up")
# Actions a department's staff take on their own part of a case.
DEPARTMENT_ACTIONS = ("sign", "report_back", "return")


class Actor:
    """Who is acting, in relation to one case: the roles that reach it, and the departments
    through which its staff hold a part of it."""

    def __init__(self, user: User | None, case: Case):
        self.user = user
        self.department_ids: set[int] = set()
        if user is None:  # the system (sla tick)
            self.roles: set[Role] = {Role.ADMIN}
            return
        held = user.roles()
        self.roles = {
            role
            for role in held - {Role.DEPARTMENT_STAFF}  # only roles held: each scope costs queries
            if compute_scope(user, roles=[role]).covers_grid(case.home_grid_id)
        }
        if Role.DEPARTMENT_STAFF in held:
            mine = depts.user_department_ids(user)
            self.department_ids = {
                p.department_id for p in depts.case_parts(case) if p.department_id in mine
            }
            if self.department_ids:
                self.roles.add(Role.DEPARTMENT_STAFF)

    def is_(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles & set(roles))

    def is_any(self, who: frozenset[str], case: Case) -> bool:
        for name in who:
            if name == HANDLER and self.is_(HANDLER_ROLE[CaseLevel(case.level)]):
                return True
            if name == ASSIGNEE and self.id is not None and case.assigned_user_id == self.id:
                return True
            # A department acts through its own part: admin does not stand in for one.
            if name == DEPARTMENT and self.department_ids:
                return True
            if name not in (HANDLER, ASSIGNEE, DEPARTMENT) and self.is_(Role(name)):
                return True
        return False

    def covers(self, case: Case) -> bool:
        return bool(self.roles)

    @property
    def id(self) -> int | None:
        return self.user.id if self.user else None


def permission(action: str, actor: Actor, case: Case) -> str:
    """ "ok", "state" (the actor may take it, but not at this level and status: it no longer
    applies) or "role" (never this actor's to take)."""
    mine = [rule for rule in RULES if rule.action == action and actor.is_any(rule.who, case)]
    if not mine:
        return "role"
    if any(case.level in rule.levels and case.status in rule.statuses for rule in mine):
        return "ok"
    return "state"


def available_actions(case: Case, user: User, now: datetime | None = None) -> list[str]:
    """The page's buttons: what the table allows this user at this level and status, and what
    the case's own state (a pending extension, a part waiting) does not rule out. `perform`
    checks the very same two things, so an offered action is an action that succeeds."""
    actor = Actor(user, case)
    offered = []
    for action in ACTIONS:
        if permission(action, actor, case) != "ok":
            continue
        step = CaseAction(case, actor, action, {}, now or clock.now())
        if GUARDS.get(action, _no_guard)(step) is None:
            offered.append(action)
    return offered


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
        self.note = str(payload.get("notes") or payload.get("note") or "").strip()[:MAX_TEXT]
        self.data: dict[str, Any] = {}

    def no_longer_applies(self, message: str | None = None) -> Conflict:
        if message is None:
            message = _(
                "This action no longer applies: the case is now “%(status)s”.",
                status=_status_text(self.case.status),
            )
        return Conflict(message, current=case_snapshot(self.case, self.now))

    def text(self, field: str, message: str) -> str:
        value = str(self.payload.get(field) or "").strip()
        if not value:
            raise Invalid({field: message})
        return value[:MAX_TEXT]

    def moment(self, field: str, *, required: bool) -> datetime | None:
        value = self.payload.get(field)
        if value in (None, ""):
            if required:
                raise Invalid({field: _("This field is required.")})
            return None
        try:
            parsed = parse_moment(value)
        except OutOfWindow as error:
            raise Invalid({field: str(error)}) from None
        except ValueError:
            raise Invalid({field: _("Not a valid date and time.")}) from None
        if parsed <= self.now:
            raise Invalid({field: _("Must be in the future.")})
        return parsed

    def move(self, status: CaseStatus | None = None, level: CaseLevel | None = None) -> None:
        if level is not None:
            self.case.level = level
        if status is not None:
            self.case.status = status
            limits.start_stage(self.case, self.now)

    def my_part(self, *statuses: PartStatus) -> CasePart | None:
        """The acting department's part in one of `statuses` (the one named by `part_id` when
        the payload names one: a person may staff two departments)."""
        wanted = self.payload.get("part_id")
        for part in depts.case_parts(self.case):
            if part.department_id not in self.actor.department_ids or part.status not in statuses:
                continue
            if wanted in (None, "") or str(part.id) == str(wanted):
                return part
        return None

    def part_for_review(self) -> CasePart | None:
        wanted = self.payload.get("part_id")
        for part in depts.case_parts(self.case):
            if part.status == PartStatus.REPORTED and (
                wanted in (None, "") or str(part.id) == str(wanted)
            ):
                return part
        return None


def _status_text(status: str) -> str:
    from webapp.labels import CASE_STATUS_LABELS

    return str(CASE_STATUS_LABELS.get(status, status))


# --- what the case's own state rules out (beyond level and status) -----------------------------
# Each returns the error to raise, or None. The page calls them too, to offer only what works.


def _no_guard(a: CaseAction) -> Exception | None:
    return None


def _escalation_guard(a: CaseAction) -> Exception | None:
    if (
        a.case.level == CaseLevel.GRID
        and a.case.severity != "urgent"
        and not _has_local_attempt(a.case)
    ):
        return Invalid(
            {"action": _("Record what you tried locally first (属地处置) before escalating.")}
        )
    return None


def _has_local_attempt(case: Case) -> bool:
    return (
        db.session.scalar(
            select(CaseEvent.id).where(CaseEvent.case_id == case.id, CaseEvent.action == "note")
        )
        is not None
    )


def _pause_guard(a: CaseAction) -> Exception | None:
    return a.no_longer_applies(_("The clock is already paused.")) if a.case.paused_at else None


def _resume_guard(a: CaseAction) -> Exception | None:
    return None if a.case.paused_at else a.no_longer_applies(_("The clock is not paused."))


def _request_extension_guard(a: CaseAction) -> Exception | None:
    if pending_extension(a.case) is not None:
        return a.no_longer_applies(_("An extension request is already waiting for approval."))
    return None


def _approve_extension_guard(a: CaseAction) -> Exception | None:
    if pending_extension(a.case) is None:
        return a.no_longer_applies(_("There is no extension request to approve."))
    return None


def _sign_guard(a: CaseAction) -> Exception | None:
    if a.my_part(PartStatus.ASSIGNED) is None:
        return a.no_longer_applies(_("Your department has nothing to sign for on this case."))
    return None


def _report_back_guard(a: CaseAction) -> Exception | None:
    if a.my_part(PartStatus.SIGNED) is None:
        return a.no_longer_applies(_("Your department has no signed part to report back on."))
    return None


def _return_guard(a: CaseAction) -> Exception | None:
    if a.my_part(PartStatus.ASSIGNED, PartStatus.SIGNED) is None:
        return a.no_longer_applies(_("Your department has no open part of this case."))
    return None


def _review_guard(a: CaseAction) -> Exception | None:
    if a.part_for_review() is None:
        return a.no_longer_applies(_("No department report is waiting for review."))
    return None


def _resolve_guard(a: CaseAction) -> Exception | None:
    if depts.active_parts(a.case):
        return a.no_longer_applies(
            _("Departments are still handling this case; review their reports to settle it.")
        )
    return None


GUARDS: dict[str, Callable[[CaseAction], Exception | None]] = {
    "request_escalation": _escalation_guard,
    "pause": _pause_guard,
    "resume": _resume_guard,
    "request_extension": _request_extension_guard,
    "approve_extension": _approve_extension_guard,
    "sign": _sign_guard,
    "report_back": _report_back_guard,
    "return": _return_guard,
    "review": _review_guard,
    "resolve": _resolve_guard,
}


# --- the actions: each validates its payload and changes the case ------------------------------


def _note(a: CaseAction) -> None:
    if not a.note:
        raise Invalid({"notes": _("Write what was done.")})


def _request_escalation(a: CaseAction) -> None:
    if a.case.level == CaseLevel.GRID and a.case.severity == "urgent":
        # Urgent hazards skip the community (越级) and go straight to the street office.
        a.data["skip_level"] = True
        a.move(CaseStatus.ESCALATED, CaseLevel.STREET)
    else:
        a.move(CaseStatus.ESCALATED, NEXT_LEVEL[CaseLevel(a.case.level)])


def _accept(a: CaseAction) -> None:
    a.move(CaseStatus.ACCEPTED)


def _assign(a: CaseAction) -> None:
    department = str(a.payload.get("department") or "").strip()
    user_id = a.payload.get("user_id")
    if not department and user_id in (None, ""):
        raise Invalid({"department": _("Choose a department or a person.")})
    street_id = depts.street_of_grid(a.case.home_grid_id)
    lead = None
    if department:
        lead = depts.department_named(street_id, department)
        if lead is None:
            raise Invalid({"department": _("Not one of the allowed choices.")})
    assisting = []
    for name in _names(a.payload.get("assist")):
        helper = depts.department_named(street_id, name)
        if helper is None:
            raise Invalid({"assist": _("Not one of the allowed choices.")})
        if helper.id != (lead.id if lead else None) and helper not in assisting:
            assisting.append(helper)
    if assisting and lead is None:
        raise Invalid({"department": _("Joint handling needs a lead department.")})
    assignee = None
    if user_id not in (None, ""):
        try:
            assignee = db.session.get(User, int(user_id))
        except (TypeError, ValueError):
            assignee = None
        if assignee is None or not assignee.is_active:
            raise Invalid({"user_id": _("This person was not found.")})
        if not assignee_may_see(assignee, a.case):
            raise Invalid(
                {
                    "user_id": _(
                        "This person does not work where this case is; choose someone who does."
                    )
                }
            )
    due = a.moment("due_at", required=False)
    if a.case.status == CaseStatus.ESCALATED:
        a.move(CaseStatus.ACCEPTED)  # assigning is accepting
    a.case.assigned_department = department
    a.case.assigned_user_id = assignee.id if assignee else None
    if due is not None:
        a.case.due_at = due
        a.case.warn_at = min(a.case.warn_at or due, due - timedelta(days=1))
    a.data.update(department=department, user_id=a.case.assigned_user_id, due_at=_iso(due))
    if lead is not None:
        _hand_to_departments(a, lead, assisting)
    if assignee is not None:
        notify(
            [assignee],
            "assigned",
            _("Case assigned to you: %(title)s", title=a.case.title),
            url=_case_url(a.case),
            case_id=a.case.id,
        )


def assignee_may_see(user: User, case: Case) -> bool:
    """Issue 10: a case goes only to someone whose scope holds it; anyone else would be told of
    (and could not open) a case outside their grids, community or street."""
    return compute_scope(user).covers_case(case)


def _names(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if not isinstance(value, list | tuple):
        raise Invalid({"assist": _("Not one of the allowed choices.")})
    return [str(v).strip() for v in value if str(v).strip()]


def _hand_to_departments(a: CaseAction, lead, assisting: list) -> None:
    """A new assignment replaces the parts still open; each department gets its own part and
    clock, starting with the time it has to sign."""
    for part in depts.active_parts(a.case):
        part.status = PartStatus.WITHDRAWN
        part.finished_at = a.now
        depts.stop_part_clock(part)
    lead_task = str(a.payload.get("task") or "").strip()[:MAX_TEXT]
    assist_task = str(a.payload.get("assist_task") or "").strip()[:MAX_TEXT]
    for department, role, task in [(lead, PartRole.LEAD, lead_task)] + [
        (helper, PartRole.ASSIST, assist_task) for helper in assisting
    ]:
        part = CasePart(
            case_id=a.case.id,
            department_id=department.id,
            role=role,
            status=PartStatus.ASSIGNED,
            task=task,
            assigned_at=a.now,
        )
        depts.start_part_stage(part, a.case, limits.Stage.SIGN, a.now)
        db.session.add(part)
        notify(
            depts.department_staff(department.id),
            "assigned",
            _("New case for your department: %(title)s", title=a.case.title),
            url=_case_url(a.case),
            case_id=a.case.id,
            urgent=a.case.severity in ("high", "urgent"),
        )
    a.data["assist"] = [helper.name for helper in assisting]
    db.session.flush()


def _sign(a: CaseAction) -> None:
    part = a.my_part(PartStatus.ASSIGNED)
    part.status = PartStatus.SIGNED
    part.signed_at = a.now
    part.signed_late = part.due_at is not None and a.now > part.due_at
    depts.start_part_stage(part, a.case, limits.Stage.REPORT_BACK, a.now)
    a.data.update(part_id=part.id, department=part.department.name, late=part.signed_late)


def _report_back(a: CaseAction) -> None:
    from webapp.rounds.photos import attach_photos

    part = a.my_part(PartStatus.SIGNED)
    result = a.text("result", _("Write what your department did."))
    photo_ids = attach_photos(a.actor.user, a.payload.get("photo_ids") or [], a.case.home_grid_id)
    part.status = PartStatus.REPORTED
    part.result = result
    part.photo_ids = photo_ids
    part.reported_at = a.now
    part.reported_late = part.due_at is not None and a.now > part.due_at
    depts.stop_part_clock(part)
    a.data.update(
        part_id=part.id,
        department=part.department.name,
        result=result,
        photo_ids=photo_ids,
        late=part.reported_late,
    )
    notify(
        _handlers(a.case),
        "reported_back",
        _(
            "%(department)s reported back: %(title)s",
            department=part.department.name,
            title=a.case.title,
        ),
        url=_case_url(a.case),
        case_id=a.case.id,
    )


def _return(a: CaseAction) -> None:
    part = a.my_part(PartStatus.ASSIGNED, PartStatus.SIGNED)
    reason = a.text("reason", _("Say why your department returns this case."))
    part.status = PartStatus.RETURNED
    part.return_reason = reason
    part.finished_at = a.now
    depts.stop_part_clock(part)
    if part.role == PartRole.LEAD:
        a.case.assigned_department = ""  # the street must choose again
    a.data.update(part_id=part.id, department=part.department.name, reason=reason)
    notify(
        _handlers(a.case),
        "returned",
        _(
            "%(department)s returned: %(title)s",
            department=part.department.name,
            title=a.case.title,
        ),
        url=_case_url(a.case),
        case_id=a.case.id,
        urgent=True,
    )


def _review(a: CaseAction) -> None:
    part = a.part_for_review()
    decision = a.payload.get("decision")
    if decision not in REVIEW_DECISIONS:
        raise Invalid({"decision": _("Please choose one.")})
    a.data.update(part_id=part.id, department=part.department.name, decision=decision)
    if decision == "send_back":
        if not a.note:
            raise Invalid({"notes": _("Say what is still missing.")})
        part.status = PartStatus.SIGNED
        part.reported_at = None
        part.reported_late = None
        depts.start_part_stage(part, a.case, limits.Stage.REPORT_BACK, a.now)
        notify(
            depts.department_staff(part.department_id),
            "sent_back",
            _("Report sent back: %(title)s", title=a.case.title),
            url=_case_url(a.case),
            case_id=a.case.id,
        )
        return
    part.status = PartStatus.APPROVED
    part.finished_at = a.now
    if not depts.active_parts(a.case):
        done = [p for p in depts.case_parts(a.case) if p.status == PartStatus.APPROVED]
        done.sort(key=lambda p: p.role != PartRole.LEAD)
        _settle(a, "\n".join(f"{p.department.name}：{p.result}" for p in done))


def _settle(a: CaseAction, result: str) -> None:
    """办结: record the result and ask the home grid's worker for the follow-up visit."""
    a.case.result = result[:MAX_TEXT]
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


def _close_unresolvable(a: CaseAction) -> None:
    """无法办结: the reason and what was done anyway are kept, and the case goes on the
    leaders' list (webapp.cases.services.leader_list) instead of quietly disappearing."""
    reason = a.text("reason", _("Say why the case cannot be resolved."))
    measures = a.text("measures", _("Say what was done all the same."))
    for part in depts.active_parts(a.case):
        part.status = PartStatus.WITHDRAWN
        part.finished_at = a.now
        depts.stop_part_clock(part)
    a.case.result = _("Cannot be resolved: %(reason)s", reason=reason)[:MAX_TEXT]
    a.case.closed_at = a.now
    a.case.paused_at = None
    a.move(CaseStatus.CLOSED)
    a.data.update(reason=reason, measures=measures, unresolvable=True)
    notify(
        members_for_grid(a.case.home_grid_id, Role.STREET_STAFF),
        "unresolvable",
        _("Closed as unresolvable: %(title)s", title=a.case.title),
        url=_case_url(a.case),
        case_id=a.case.id,
        urgent=True,
    )


def _supervise(a: CaseAction) -> None:
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
    if not a.note:
        raise Invalid({"notes": _("Say what you are waiting for.")})
    a.case.paused_at = a.now


def _resume(a: CaseAction) -> None:
    a.case.paused_seconds = int(limits.paused_for(a.case, a.now).total_seconds())
    a.case.paused_at = None


def _request_extension(a: CaseAction) -> None:
    days = _positive_days(a.payload.get("days"))
    if not a.note:
        raise Invalid({"notes": _("Give the reason for the extension.")})
    a.data["days"] = days
    notify(
        members_for_grid(a.case.home_grid_id, Role.STREET_STAFF),
        "extension_requested",
        _("Extension requested: %(title)s", title=a.case.title),
        url=_case_url(a.case),
        case_id=a.case.id,
    )


def _approve_extension(a: CaseAction) -> None:
    request = pending_extension(a.case)
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
    _settle(a, a.text("result", _("Write how it was resolved.")))


def _follow_up(a: CaseAction) -> None:
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
    "sign": _sign,
    "report_back": _report_back,
    "return": _return,
    "review": _review,
    "resolve": _resolve,
    "close_unresolvable": _close_unresolvable,
    "follow_up": _follow_up,
    "reopen": _reopen,
}
assert set(HANDLERS) == set(ACTIONS), "every action in the table has a handler, and no other"


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
    for part in depts.active_parts(case):
        actors.update(depts.department_staff(part.department_id))
    if case.assigned_user_id:
        actors.add(case.assigned_user_id)
    return actors


def notify_escalation(case: Case, at: datetime | None = None, dedup_key: str | None = None) -> None:
    notify_all([escalation_alert(case, at=at, dedup_key=dedup_key)])


def escalation_alert(
    case: Case,
    at: datetime | None = None,
    dedup_key: str | None = None,
    handlers: list[int] | None = None,
) -> Alert:
    """The alert to the staff of the level a case has just reached (`handlers`, when the caller
    already knows them: a batch job asks for a whole chunk's grids at once)."""
    if handlers is None:
        handlers = members_for_grid(case.home_grid_id, HANDLER_ROLE[CaseLevel(case.level)])
    return Alert(
        handlers,
        "escalated",
        _("Escalated to you: %(title)s", title=case.title),
        url=_case_url(case),
        case_id=case.id,
        urgent=case.severity in ("high", "urgent"),
        at=at,
        dedup_key=dedup_key,
    )


# --- entry points ------------------------------------------------------------------------------


def write_event(
    case: Case,
    action: str,
    *,
    actor_id: int | None,
    at: datetime,
    from_status: str,
    from_level: str,
    note: str = "",
    data: dict | None = None,
) -> CaseEvent:
    """The one way a timeline entry is written: who, when, what, from which state to which."""
    event = CaseEvent(
        **event_row(
            case,
            action,
            actor_id=actor_id,
            at=at,
            from_status=from_status,
            from_level=from_level,
            note=note,
            data=data,
        )
    )
    db.session.add(event)
    return event


def event_row(
    case: Case,
    action: str,
    *,
    actor_id: int | None,
    at: datetime,
    from_status: str,
    from_level: str,
    note: str = "",
    data: dict | None = None,
) -> dict[str, Any]:
    """The timeline entry of a change the case has just made, as column values: `write_event`
    adds one; a batch job collects them and writes a chunk's with `write_events`."""
    return dict(
        case_id=case.id,
        actor_id=actor_id,
        at=at,
        action=action,
        from_status=from_status,
        to_status=case.status,
        from_level=from_level,
        to_level=case.level,
        note=note,
        data=data or {},
    )


def write_events(rows: list[dict[str, Any]]) -> None:
    """`write_event` for many entries at once (rows from `event_row`): one batched INSERT."""
    if rows:
        db.session.execute(insert(CaseEvent), rows)


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
    verdict = permission(action, step.actor, case)
    if verdict == "role":
        raise Invalid({"action": _("You cannot do this on this case at its current level.")})
    if verdict == "state":
        raise step.no_longer_applies()
    problem = GUARDS.get(action, _no_guard)(step)
    if problem is not None:
        raise problem
    HANDLERS[action](step)
    if action_id is not None:
        step.data["action_id"] = str(action_id)
    event = write_event(
        case,
        action,
        actor_id=step.actor.id,
        at=now,
        from_status=step.from_status,
        from_level=step.from_level,
        note=step.note,
        data=step.data,
    )
    if case.level != step.from_level:
        notify_escalation(case, at=now)
    if case.status != step.from_status:
        # Residents who follow a report this case answers hear of the move (webapp/residents).
        from webapp.residents.services import case_moved

        case_moved(case)
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
    # Writers do not queue behind one another (webapp/changes.py): an action waits here for
    # another one on the same case and reads the case it left, instead of failing on its version.
    case = db.session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if case is None or not compute_scope(actor).covers_case(case):
        raise OutOfScope(_("This case does not exist or is not in your scope."))
    action = payload.get("action")
    action_id = parse_uuid(op.record_id) if op.record_id else None
    perform(case, actor, action, payload, action_id=action_id)
    return case
