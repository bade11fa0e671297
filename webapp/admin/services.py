"""The org tree for administrators."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import Community, Household, Street, User


def org_tree() -> list[Street]:
    """Streets with communities and grids loaded in three queries."""
    return list(
        db.session.scalars(
            select(Street)
            .options(selectinload(Street.communities).selectinload(Community.grids))
            .order_by(Street.code)
        )
    )


def household_counts_by_grid() -> dict[int, int]:
    rows = db.session.execute(select(Household.grid_id, func.count()).group_by(Household.grid_id))
    return dict(rows.all())


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0
