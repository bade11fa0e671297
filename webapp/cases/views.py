"""The triage board, the case page and case actions. Actions build the same `case.action` op a
worker's outbox sends and go through webapp.cases.actions."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import clock
from webapp.auth.scope import compute_scope, get_scoped_or_404, role_required, scoped
from webapp.cases import actions, bp, services
from webapp.cases.departments import departments
from webapp.extensions import db
from webapp.labels import CASE_ACTION_LABELS
from webapp.models import Case, Community, Role
from webapp.ops import Conflict, Invalid, Op
from webapp.rounds.views import FIELD_VIEWERS

BOARD_ROLES = (Role.STREET_STAFF, Role.COMMUNITY_STAFF, Role.ADMIN)


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
        departments=departments(),
        now=clock.now(),
    )
    if request.headers.get("HX-Request"):
        return render_template("cases/_board.html", **context)
    communities = db.session.scalars(scoped(Community, scope=scope).order_by(Community.code)).all()
    return render_template("cases/triage.html", communities=communities, **context)


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
@role_required(*FIELD_VIEWERS)
def case_page(case_id: uuid.UUID, errors: dict | None = None, status: int = 200):
    case = get_scoped_or_404(Case, case_id)
    now = clock.now()
    return (
        render_template(
            "cases/case.html",
            case=case,
            source=services.source_record(case),
            sla=actions.limits.sla_state(case, now),
            time_left=actions.limits.time_left(case, now),
            due=actions.limits.effective(case.due_at, case, now),
            offered=services.available_actions(case, current_user),
            departments=departments(),
            people=services.assignable_people(case),
            pending_extension=actions.pending_extension(case),
            errors=errors or {},
            action_labels=CASE_ACTION_LABELS,
            # What a worker may do offline goes through the phone's outbox (DESIGN.md §5).
            worker_actions=actions.WORKER_ACTIONS,
        ),
        status,
    )


@bp.post("/<uuid:case_id>/action")
@role_required(*FIELD_VIEWERS)
def case_action(case_id: uuid.UUID):
    case = get_scoped_or_404(Case, case_id)
    payload = {k: v for k, v in request.form.items() if k not in ("csrf_token", "action_id")}
    payload["case_id"] = str(case.id)
    action_id = request.form.get("action_id") or str(uuid.uuid4())
    op = Op(op_id=uuid.uuid4(), type="case.action", record_id=action_id, payload=payload)
    try:
        actions.apply_case_action(current_user, op)
    except Invalid as error:
        db.session.rollback()
        return case_page(case_id, errors=error.errors, status=422)
    except Conflict as conflict:
        db.session.rollback()
        flash(conflict.message, "case")
        return redirect(url_for("cases.case_page", case_id=case.id), 303)
    db.session.commit()
    label = CASE_ACTION_LABELS.get(payload.get("action", ""), "")
    flash(_("Done: %(action)s.", action=label), "success")
    return redirect(url_for("cases.case_page", case_id=case.id), 303)
