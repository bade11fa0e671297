"""register imports: .xlsx imports of households and residents, checked off the request path

Revision ID: r12b_register_imports
Revises: s10a_audit_user_agent
Create Date: 2026-11-29 18:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "r12b_register_imports"
down_revision = "s10a_audit_user_agent"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "register_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("new_households", sa.Integer(), nullable=False),
        sa.Column("new_residents", sa.Integer(), nullable=False),
        sa.Column("unchanged_rows", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.JSON(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_register_imports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_imports")),
    )
    with op.batch_alter_table("register_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_register_imports_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("register_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_imports_user_id"))
    op.drop_table("register_imports")
