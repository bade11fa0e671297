"""indexes for the supervision dashboards: case timeline entries by action and time, a grid's
visits by time (webapp/models/indexes.py)

Revision ID: r15b_case_event_action_index
Revises: r15a_scale_indexes
Create Date: 2026-11-29
"""

from alembic import op

revision = "r15b_case_event_action_index"
down_revision = "r15a_scale_indexes"
branch_labels = None
depends_on = None


INDEXES = (
    ("ix_case_events_action_at", "case_events", ["action", "at"]),
    ("ix_visits_grid_id_visited_at", "visits", ["grid_id", "visited_at"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
