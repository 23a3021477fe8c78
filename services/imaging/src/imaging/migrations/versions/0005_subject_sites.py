"""Subjects carry their site; the subject projection is the kit's

Revision ID: 0005_sites
Revises: 0004
Create Date: 2026-12-07 14:50:00

Subjects known before sites existed came from protocols with one site, which enrollment's
migration names `default`; later events carry the site themselves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005_sites'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'subjects',
        sa.Column('site_id', sa.String(length=40), server_default='default', nullable=False),
        schema='imaging',
    )
    op.alter_column('subjects', 'site_id', server_default=None, schema='imaging')
    op.create_index('ix_imaging_subjects_site_id', 'subjects', ['site_id'], schema='imaging')
    # doseline.subject_projection: the columns and names safety keeps too.
    op.alter_column(
        'subjects', 'highest_infusion_number', new_column_name='last_infusion_number',
        schema='imaging',
    )
    op.add_column(
        'subjects', sa.Column('protocol_version', sa.String(length=40), nullable=True),
        schema='imaging',
    )
    for name in ('dlt_window_start', 'dlt_window_end'):
        op.add_column('subjects', sa.Column(name, sa.Date(), nullable=True), schema='imaging')


def downgrade() -> None:
    for name in ('dlt_window_end', 'dlt_window_start', 'protocol_version'):
        op.drop_column('subjects', name, schema='imaging')
    op.alter_column(
        'subjects', 'last_infusion_number', new_column_name='highest_infusion_number',
        schema='imaging',
    )
    op.drop_index('ix_imaging_subjects_site_id', table_name='subjects', schema='imaging')
    op.drop_column('subjects', 'site_id', schema='imaging')
