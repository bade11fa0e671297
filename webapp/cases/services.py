"""Case queries for staff. The case lifecycle (DESIGN.md §4) lands with the escalation issue."""

from __future__ import annotations

from sqlalchemy import case as sql_case

from webapp.auth.scope import Scope, scoped
from webapp.extensions import db
from webapp.models import Case, CaseLevel, CaseStatus

SEVERITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}


def street_board_cases(scope: Scope, limit: int = 200) -> list[Case]:
    """Cases waiting at or for the street level, most severe first, oldest first within."""
    severity_order = sql_case(SEVERITY_RANK, value=Case.severity, else_=9)
    query = (
        scoped(Case, scope=scope)
        .where(Case.status != CaseStatus.CLOSED)
        .where(
            (Case.level == CaseLevel.STREET)
            | ((Case.level == CaseLevel.COMMUNITY) & (Case.status == CaseStatus.ESCALATED))
        )
        .order_by(severity_order, Case.opened_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))
