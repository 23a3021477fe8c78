"""Events and subscriptions carry sites

Revision ID: 0004_sites
Revises: 0003
Create Date: 2026-12-07 15:00:00

Events logged before sites existed name none: the ones about a subject belonged to the only
site of their trial, which enrollment's migration names `default`. Existing subscriptions keep
receiving every site's events (`["*"]`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '0004_sites'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'event_log', sa.Column('site_id', sa.String(length=40), nullable=True), schema='notifications'
    )
    op.execute(
        "UPDATE notifications.event_log SET site_id = COALESCE("
        "envelope -> 'data' ->> 'site_id', CASE WHEN subject_id IS NOT NULL THEN 'default' END)"
    )
    op.create_index(
        'ix_event_log_site_id_position', 'event_log', ['site_id', 'position'], schema='notifications'
    )
    op.add_column(
        'subscriptions',
        sa.Column(
            'sites',
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[\"*\"]'::jsonb"),
            nullable=False,
        ),
        schema='notifications',
    )
    op.alter_column('subscriptions', 'sites', server_default=None, schema='notifications')


def downgrade() -> None:
    op.drop_column('subscriptions', 'sites', schema='notifications')
    op.drop_index('ix_event_log_site_id_position', table_name='event_log', schema='notifications')
    op.drop_column('event_log', 'site_id', schema='notifications')
