"""Indexes that serve the keyset-paginated lists

Revision ID: 0006_list_indexes
Revises: 0005_audit_mac
Create Date: 2026-12-07 20:30:00

A subscription's deliveries filtered by status page as one ordered index range after the
cursor's position (doseline.pagination).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_list_indexes"
down_revision: str | None = "0005_audit_mac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "notifications"


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_subscription_id_status_event_position",
        "deliveries",
        ["subscription_id", "status", "event_position"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_deliveries_subscription_id_status_event_position",
        table_name="deliveries",
        schema=SCHEMA,
    )
