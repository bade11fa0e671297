import uuid

from flask import render_template
from flask_login import current_user

from webapp.auth.scope import compute_scope, get_scoped_or_404, role_required
from webapp.cases import bp, services
from webapp.models import Case, Role


@bp.get("/triage")
@role_required(Role.STREET_STAFF, Role.ADMIN)
def triage():
    """分拨台. Until the escalation issue lands: the street-level queue, read-only."""
    scope = compute_scope(current_user, roles=[Role.STREET_STAFF, Role.ADMIN])
    return render_template("cases/triage.html", cases=services.street_board_cases(scope))


@bp.get("/<uuid:case_id>")
@role_required(Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.STREET_STAFF, Role.ADMIN)
def case_page(case_id: uuid.UUID):
    return render_template("cases/case.html", case=get_scoped_or_404(Case, case_id))
