"""CT analyses remember when their work order was last announced

Revision ID: 0010_ct_announced_at
Revises: 0009_list_indexes
Create Date: 2026-12-07 20:30:00

A worker measures an analysis when the `imaging.ct.uploaded` event reaches it; the sweeper
announces it again only when no worker finished it within a lease of the last announcement.
Analyses queued before this migration hold none (nullable): the sweeper counts from created_at.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_ct_announced_at"
down_revision: str | None = "0009_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ct_analyses",
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        schema="imaging",
    )


def downgrade() -> None:
    op.drop_column("ct_analyses", "announced_at", schema="imaging")
