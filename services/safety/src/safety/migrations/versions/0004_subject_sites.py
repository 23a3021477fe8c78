"""Subjects carry their site; the subject projection is the kit's

Revision ID: 0004_sites
Revises: 0003
Create Date: 2026-12-07 14:40:00

Subjects known before sites existed came from protocols with one site, which enrollment's
migration names `default`; later events carry the site themselves.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004_sites'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'subjects',
        sa.Column('site_id', sa.String(length=40), server_default='default', nullable=False),
        schema='safety',
    )
    op.alter_column('subjects', 'site_id', server_default=None, schema='safety')
    op.create_index('ix_safety_subjects_site_id', 'subjects', ['site_id'], schema='safety')
    # doseline.subject_projection: the columns imaging keeps too.
    for name in ('first_infusion_at', 'last_infusion_at'):
        op.add_column(
            'subjects',
            sa.Column(name, sa.DateTime(timezone=True), nullable=True),
            schema='safety',
        )


def downgrade() -> None:
    for name in ('last_infusion_at', 'first_infusion_at'):
        op.drop_column('subjects', name, schema='safety')
    op.drop_index('ix_safety_subjects_site_id', table_name='subjects', schema='safety')
    op.drop_column('subjects', 'site_id', schema='safety')
