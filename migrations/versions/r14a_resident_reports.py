"""residents' voice: reports and suggestions, their photos, Open311 clients

Revision ID: r14a_resident_reports
Revises: r13a_departments_calendar
Create Date: 2026-11-29 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'r14a_resident_reports'
down_revision = 'r13a_departments_calendar'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'open311_clients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('key_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_open311_clients')),
        sa.UniqueConstraint('key_sha256', name=op.f('uq_open311_clients_key_sha256')),
    )
    op.create_table(
        'resident_reports',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('number', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.Column('building_id', sa.Integer(), nullable=True),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('location', sa.JSON(), nullable=True),
        sa.Column('contact_name', sa.String(length=50), nullable=False),
        sa.Column('contact_phone', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('case_id', sa.Uuid(), nullable=True),
        sa.Column('reply', sa.Text(), nullable=False),
        sa.Column('verify_notes', sa.Text(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('verified_at', sa.DateTime(), nullable=True),
        sa.Column('verified_by_id', sa.Integer(), nullable=True),
        sa.Column('entered_by_id', sa.Integer(), nullable=True),
        sa.Column('open311_client_id', sa.Integer(), nullable=True),
        sa.Column('challenge', sa.String(length=64), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('change_seq', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_resident_reports_building_id_buildings')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_resident_reports_case_id_cases')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_resident_reports_entered_by_id_users')),
        sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_resident_reports_grid_id_grids')),
        sa.ForeignKeyConstraint(['open311_client_id'], ['open311_clients.id'], name=op.f('fk_resident_reports_open311_client_id_open311_clients')),
        sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_resident_reports_verified_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_reports')),
        sa.UniqueConstraint('challenge', name=op.f('uq_resident_reports_challenge')),
        sa.UniqueConstraint('number', name=op.f('uq_resident_reports_number')),
    )
    with op.batch_alter_table('resident_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_reports_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_reports_change_seq'), ['change_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_reports_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_reports_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_reports_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_reports_status'), ['status'], unique=False)

    op.create_table(
        'resident_report_photos',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('report_id', sa.Uuid(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('storage_name', sa.String(length=64), nullable=False),
        sa.Column('byte_size', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['resident_reports.id'], name=op.f('fk_resident_report_photos_report_id_resident_reports')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_report_photos')),
        sa.UniqueConstraint('storage_name', name=op.f('uq_resident_report_photos_storage_name')),
    )
    with op.batch_alter_table('resident_report_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_report_photos_report_id'), ['report_id'], unique=False)


def downgrade():
    with op.batch_alter_table('resident_report_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_report_photos_report_id'))
    op.drop_table('resident_report_photos')
    with op.batch_alter_table('resident_reports', schema=None) as batch_op:
        for name in ('status', 'source', 'received_at', 'grid_id', 'change_seq', 'case_id'):
            batch_op.drop_index(batch_op.f(f'ix_resident_reports_{name}'))
    op.drop_table('resident_reports')
    op.drop_table('open311_clients')
