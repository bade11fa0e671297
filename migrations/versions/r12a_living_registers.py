"""living registers: special-register flags, 居住证 fields, leaving status, client UUIDs

Revision ID: r12a_registers
Revises: 0006
Create Date: 2026-11-29 17:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'r12a_registers'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dilapidated', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('client_uuid', sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_households_client_uuid'), ['client_uuid'])

    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community_correction', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('party_member', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('party_lost_contact', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('veteran', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('disability_grade', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('permit_number', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('permit_expires_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('origin_place', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('moved_in_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('left_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('left_notes', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('client_uuid', sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_residents_client_uuid'), ['client_uuid'])
    # Residents already marked moved out keep that meaning under the new status column.
    op.execute("UPDATE residents SET status = 'moved_out' WHERE moved_out")


def downgrade():
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_residents_client_uuid'), type_='unique')
        for column in ('client_uuid', 'left_notes', 'left_on', 'status', 'moved_in_on',
                       'origin_place', 'permit_expires_on', 'permit_number', 'disability_grade',
                       'veteran', 'party_lost_contact', 'party_member', 'community_correction'):
            batch_op.drop_column(column)

    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_households_client_uuid'), type_='unique')
        batch_op.drop_column('client_uuid')
        batch_op.drop_column('dilapidated')
