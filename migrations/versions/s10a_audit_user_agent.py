"""audit log: the client's user agent (blanked by retention like the IP)

Revision ID: s10a_audit_user_agent
Revises: r14a_resident_reports
Create Date: 2026-11-29 18:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 's10a_audit_user_agent'
down_revision = 'r14a_resident_reports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('user_agent', sa.String(length=200), nullable=False, server_default='')
        )


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('user_agent')
