"""ledger exports: 台账 workbooks made off the request path (issue 11)

Revision ID: r11a_ledger_exports
Revises: r12a_registers
Create Date: 2026-11-29 18:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "r11a_ledger_exports"
down_revision = "r12a_registers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ledger_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("file_name", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_exports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_exports")),
    )
    with op.batch_alter_table("ledger_exports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_exports_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("ledger_exports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_exports_user_id"))
    op.drop_table("ledger_exports")
