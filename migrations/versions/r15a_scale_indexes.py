"""indexes for district-scale pages: households by grid and building, visits by household and
time, open cases by grid, active cases by warning time (webapp/models/indexes.py)

Revision ID: r15a_scale_indexes
Revises: r12b_register_imports
Create Date: 2026-11-29
"""

from alembic import op

revision = "r15a_scale_indexes"
down_revision = "r12b_register_imports"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_households_grid_id_building_id", "households", ["grid_id", "building_id"]),
    ("ix_visits_household_id_visited_at", "visits", ["household_id", "visited_at"]),
    ("ix_cases_home_grid_id_status", "cases", ["home_grid_id", "status"]),
    ("ix_cases_status_warn_at", "cases", ["status", "warn_at"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
