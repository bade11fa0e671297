"""工作交接: a grid worker leaves and a successor takes over (issue 12).

The leaver's grids pass to the successor (records belong to the grid, so the grid's records, due
checks and cases come with it), and every open case of those grids still waiting on the grid
level, and every live case assigned to the leaver in person, gets a timeline entry saying who
handed it to whom. The leaver's phones drop the grids (a tombstone per grid); the successor's
next pull adds them. Deactivating the leaver is a separate step (webapp/admin/accounts.py).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import or_, select

from webapp import clock
from webapp.audit import record_audit
from webapp.auth.services import AccountError, grant
from webapp.cases.actions import LIVE, write_event
from webapp.changes import bump
from webapp.extensions import db
from webapp.models import Case, CaseLevel, Role, User
from webapp.sync.services import tombstone_grid_for_user


def cases_to_hand_over(leaver: User, grid_ids: list[int]) -> list[Case]:
    """Live cases of the leaver's grids at grid level, and live cases assigned to them."""
    waiting_on_grid = (Case.home_grid_id.in_(grid_ids)) & (Case.level == CaseLevel.GRID)
    return list(
        db.session.scalars(
            select(Case)
            .where(
                Case.status.in_(list(LIVE)),
                or_(waiting_on_grid, Case.assigned_user_id == leaver.id),
            )
            .order_by(Case.opened_at)
        )
    )


def hand_over(actor: User | None, leaver: User, successor: User) -> dict[str, int]:
    """Move the leaver's grids and open cases to the successor. Raises AccountError."""
    if successor.id == leaver.id:
        raise AccountError(_("Choose a successor other than the person leaving."))
    if not successor.is_active:
        raise AccountError(_("The successor's account is deactivated."))
    grids = [m for m in leaver.memberships if m.role == Role.GRID_WORKER and m.scope_id]
    grid_ids = [m.scope_id for m in grids]
    cases = cases_to_hand_over(leaver, grid_ids)
    if not grids and not cases:
        raise AccountError(_("This person holds no grid and no open case to hand over."))
    held = {m.scope_id for m in successor.memberships if m.role == Role.GRID_WORKER}
    for membership in grids:
        tombstone_grid_for_user(leaver.id, membership.scope_id)
        leaver.memberships.remove(membership)
        if membership.scope_id not in held:
            grant(successor, Role.GRID_WORKER, membership.scope_id)
    now = clock.now()
    note = _(
        "Handed over from %(leaver)s to %(successor)s.",
        leaver=leaver.display_name,
        successor=successor.display_name,
    )
    for case in cases:
        if case.assigned_user_id == leaver.id:
            case.assigned_user_id = successor.id
        write_event(
            case,
            "handover",
            actor_id=actor.id if actor is not None else None,
            at=now,
            from_status=case.status,
            from_level=case.level,
            note=note,
            data={"from_user_id": leaver.id, "to_user_id": successor.id},
        )
        bump(case)
    db.session.flush()
    record_audit(
        "user_handover",
        actor=actor,
        target_type="user",
        target_id=leaver.id,
        successor=successor.id,
        grids=grid_ids,
        cases=len(cases),
    )
    return {"grids": len(grid_ids), "cases": len(cases)}
