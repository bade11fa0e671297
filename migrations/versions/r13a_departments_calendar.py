"""departments as actors, their parts of cases, and the working-day calendar table (issue 13)

Revision ID: r13a_departments_calendar
Revises: r11a_ledger_exports
Create Date: 2026-11-29 18:30:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "r13a_departments_calendar"
down_revision = "r11a_ledger_exports"
branch_labels = None
depends_on = None

# Seeded from `chinesecalendar` so the admin page shows (and may correct) what the package says.
SEED_FROM_YEAR = 2024


def upgrade():
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_id"], ["streets.id"], name=op.f("fk_departments_street_id_streets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("street_id", "name", name=op.f("uq_departments_street_id")),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_street_id"), ["street_id"], unique=False)

    op.create_table(
        "case_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("stage_started_at", sa.DateTime(), nullable=False),
        sa.Column("warn_at", sa.DateTime(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("signed_late", sa.Boolean(), nullable=True),
        sa.Column("reported_late", sa.Boolean(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("return_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_parts_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_case_parts_department_id_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_parts")),
    )
    with op.batch_alter_table("case_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_parts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_parts_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_parts_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_parts_status"), ["status"], unique=False)

    calendar = op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.bulk_insert(calendar, _package_rows())


def _package_rows():
    from webapp.cases.workdays import package_days

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for year in range(SEED_FROM_YEAR, now.year + 2):
        for day, is_workday, name in package_days(year):
            rows.append(
                {
                    "day": day,
                    "is_workday": is_workday,
                    "name": name,
                    "source": "package",
                    "updated_at": now,
                }
            )
    return rows


def downgrade():
    op.drop_table("calendar_days")
    with op.batch_alter_table("case_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_parts_status"))
        batch_op.drop_index(batch_op.f("ix_case_parts_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_parts_department_id"))
        batch_op.drop_index(batch_op.f("ix_case_parts_case_id"))
    op.drop_table("case_parts")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_street_id"))
    op.drop_table("departments")
