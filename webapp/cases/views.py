"""The triage board, the department board, the leaders' list, the case page and case actions.
Actions build the same `case.action` op a worker's outbox sends and go through
webapp.cases.actions, which also decides which buttons a page offers."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp import clock
from webapp.auth.scope import (
    compute_scope,
    current_scope,
    get_scoped_or_404,
    role_required,
    scoped,
)
from webapp.cases import actions, bp, services
from webapp.cases import departments as depts
from webapp.extensions import db
from webapp.labels import CASE_ACTION_VERBS
from webapp.models import Case, Community, Department, Role
from webapp.ops import Conflict, Invalid, Op
from webapp.rounds.views import FIELD_VIEWERS

BOARD_ROLES = (Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.ADMIN)
CASE_VIEWERS = (*FIELD_VIEWERS, Role.DEPARTMENT_STAFF)


def _board_scope():
    return compute_scope(current_user, roles=BOARD_ROLES)


@bp.get("/triage")
@role_required(*BOARD_ROLES)
def triage():
    """分拨台: street staff see their street, community staff their community. The list
    refreshes itself (htmx polling), so a new escalation appears without a reload."""
    scope = _board_scope()
    filters = services.BoardFilters.from_args(request.args)
    rows = services.board_rows(scope, filters, clock.now())
    context = dict(
        rows=rows,
        counts=services.sla_counts(rows),
        filters=filters,
        departments=depts.departments(),
        now=clock.now(),
    )
    if request.headers.get("HX-Request"):
        return render_template("cases/_board.html", **context)
    communities = db.session.scalars(scoped(Community, scope=scope).order_by(Community.code)).all()
    return render_template("cases/triage.html", communities=communities, **context)


@bp.get("/department")
@role_required(Role.DEPARTMENT_STAFF)
def department_board():
    """A department's own board: the parts of cases waiting on it, most urgent first, each on
    the department's own clock; and what it finished lately."""
    now = clock.now()
    ids = depts.user_department_ids(current_user)
    names = db.session.scalars(
        select(Department.name).where(Department.id.in_(list(ids))).order_by(Department.name)
    ).all()
    context = dict(
        rows=depts.department_board(ids, now),
        done=depts.department_board(ids, now, done=True),
        department_names=names,
        now=now,
    )
    if request.headers.get("HX-Request"):
        return render_template("cases/_department_board.html", **context)
    return render_template("cases/department.html", **context)


@bp.get("/leaders")
@role_required(*BOARD_ROLES)
def leader_list():
    """领导督办清单: cases closed as unresolvable, and cases open past the 包案 threshold."""
    unresolvable, long_running = services.leader_list(_board_scope(), clock.now())
    return render_template(
        "cases/leaders.html",
        unresolvable=unresolvable,
        long_running=long_running,
        threshold=actions.limits.leader_workdays(),
        now=clock.now(),
    )


@bp.post("/bulk-assign")
@role_required(*BOARD_ROLES)
def bulk_assign():
    ids = request.form.getlist("case_ids")
    payload = {
        "department": request.form.get("department", ""),
        "due_at": request.form.get("due_at", ""),
    }
    done, failed = [], []
    for raw_id in ids:
        try:
            case_id = uuid.UUID(raw_id)
        except ValueError:
            continue
        op = Op(
            op_id=uuid.uuid4(),
            type="case.action",
            record_id=uuid.uuid4(),
            payload={"case_id": str(case_id), "action": "assign", **payload},
        )
        try:
            case = actions.apply_case_action(current_user, op)
            db.session.commit()
            done.append(case.number)
        except (Invalid, Conflict) as error:
            db.session.rollback()
            case = db.session.get(Case, case_id)
            failed.append(f"{case.number if case else raw_id}：{error.message}")
    if not ids:
        flash(_("Tick the cases to assign first."), "info")
    if done:
        flash(_("Assigned %(n)d case(s).", n=len(done)), "success")
    for message in failed:
        flash(_("Not assigned: %(reason)s", reason=message), "case")
    return redirect(request.referrer or url_for("cases.triage"), 303)


@bp.get("/<uuid:case_id>")
@role_required(*CASE_VIEWERS)
def case_page(case_id: uuid.UUID, errors: dict | None = None, status: int = 200):
    case = get_scoped_or_404(Case, case_id)
    now = clock.now()
    scope = current_scope()
    offered = services.available_actions(case, current_user)
    first = services.next_action(offered, case)
    # Department staff see the case from outside its grid: no links into the grid's registers.
    inside = scope.covers_grid(case.home_grid_id)
    parts = services.part_views(case, current_user, now)
    sla = actions.limits.sla_state(case, now)
    time_left = actions.limits.time_left(case, now)
    due = actions.limits.effective(case.due_at, case, now)
    # A department's banner shows its own clock, not the street's.
    running = [p for p in parts if p.mine and p.sla != "done"]
    if running and not inside:
        sla, time_left, due = running[0].sla, running[0].time_left, running[0].part.due_at
    return (
        render_template(
            "cases/case.html",
            case=case,
            source=services.source_record(case) if inside else None,
            inside=inside,
            sla=sla,
            time_left=time_left,
            due=due,
            leader=actions.limits.needs_leader(case, now),
            unresolvable=services.unresolvable_event(case),
            first=first,
            more=[a for a in offered if a != first],
            parts=parts,
            timeline=services.timeline(case, current_user, scope),
            departments=depts.departments(),
            people=services.assignable_people(case),
            pending_extension=actions.pending_extension(case),
            errors=errors or {},
            # What a worker may do offline goes through the phone's outbox (DESIGN.md §5).
            worker_actions=actions.WORKER_ACTIONS,
        ),
        status,
    )


@bp.post("/<uuid:case_id>/action")
@role_required(*CASE_VIEWERS)
def case_action(case_id: uuid.UUID):
    case = get_scoped_or_404(Case, case_id)
    payload = {k: v for k, v in request.form.items() if k not in ("csrf_token", "action_id")}
    payload["case_id"] = str(case.id)
    if "assist" in request.form:
        payload["assist"] = request.form.getlist("assist")
    action_id = request.form.get("action_id") or str(uuid.uuid4())
    op = Op(op_id=uuid.uuid4(), type="case.action", record_id=action_id, payload=payload)
    try:
        if payload.get("action") == "report_back":
            from webapp.rounds.photos import store_uploaded_files

            # Photos go through the same checks and re-encoding as a worker's; grid None: the
            # report back ties them to the case's grid once it is accepted.
            payload["photo_ids"] = store_uploaded_files(
                current_user, request.files.getlist("photos"), None
            )
        actions.apply_case_action(current_user, op)
    except Invalid as error:
        db.session.rollback()
        return case_page(case_id, errors=error.errors, status=422)
    except Conflict as conflict:
        db.session.rollback()
        flash(conflict.message, "case")
        return redirect(url_for("cases.case_page", case_id=case.id), 303)
    db.session.commit()
    label = CASE_ACTION_VERBS.get(payload.get("action", ""), "")
    flash(_("Done: %(action)s.", action=label), "success")
    return redirect(url_for("cases.case_page", case_id=case.id), 303)
