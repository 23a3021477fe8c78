"""Audit entries chained with keyed MACs: each entry names its algorithm and key id

Revision ID: 0005_audit_mac
Revises: 0004_sites
Create Date: 2026-12-07 17:40:00

Entries written so far keep their plain sha256 links and are marked `sha256`, so their chain
still verifies; entries from now on are chained with HMAC-SHA256 under the key `key_id`
(doseline.audit). Adding a column with a constant default touches no row, so the audit trail's
append-only trigger is not involved. Downgrading drops both columns: keyed entries would then no
longer verify with the older code.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005_audit_mac'
down_revision: str | None = '0004_sites'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = 'notifications'


def upgrade() -> None:
    op.add_column(
        'audit_log',
        sa.Column('algorithm', sa.String(length=20), nullable=False, server_default='sha256'),
        schema=SCHEMA,
    )
    # New entries state their algorithm themselves; the default only labelled the old ones.
    op.alter_column('audit_log', 'algorithm', server_default=None, schema=SCHEMA)
    op.add_column('audit_log', sa.Column('key_id', sa.String(length=64), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column('audit_log', 'key_id', schema=SCHEMA)
    op.drop_column('audit_log', 'algorithm', schema=SCHEMA)
