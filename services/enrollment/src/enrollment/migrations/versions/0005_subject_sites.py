"""Subjects belong to a site

Revision ID: 0005_sites
Revises: 0004
Create Date: 2026-12-07 14:30:00

Subjects registered before sites existed belong to the default site of their trial's protocol in
force: the first of its `sites`, or `default` for a protocol written with one `site:` section.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import yaml
from alembic import op


revision: str = '0005_sites'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEGACY_SITE_ID = 'default'


def _default_site(document: str) -> str:
    parsed = yaml.safe_load(document)
    sites = parsed.get('sites') if isinstance(parsed, dict) else None
    if isinstance(sites, list) and sites and isinstance(sites[0], dict) and sites[0].get('id'):
        return str(sites[0]['id'])
    return LEGACY_SITE_ID


def upgrade() -> None:
    op.add_column(
        'subjects', sa.Column('site_id', sa.String(length=40), nullable=True), schema='enrollment'
    )
    connection = op.get_bind()
    trials = connection.execute(
        sa.text(
            'SELECT t.id, v.document FROM enrollment.trials t'
            ' JOIN enrollment.protocol_versions v ON v.id = t.protocol_version_id'
        )
    ).all()
    for trial_id, document in trials:
        connection.execute(
            sa.text('UPDATE enrollment.subjects SET site_id = :site WHERE trial_id = :trial'),
            {'site': _default_site(document), 'trial': trial_id},
        )
    op.alter_column('subjects', 'site_id', nullable=False, schema='enrollment')
    op.create_index(
        'ix_subjects_trial_id_site_id', 'subjects', ['trial_id', 'site_id'], schema='enrollment'
    )


def downgrade() -> None:
    op.drop_index('ix_subjects_trial_id_site_id', table_name='subjects', schema='enrollment')
    op.drop_column('subjects', 'site_id', schema='enrollment')
