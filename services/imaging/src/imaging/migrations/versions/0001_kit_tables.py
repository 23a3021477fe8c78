"""Kit tables: outbox, inbox, append-only audit log, idempotency keys

Revision ID: 0001
Revises: 
Create Date: 2026-11-29 06:44:48.897731
"""

from collections.abc import Sequence

from doseline.kit_migrations import create_kit_tables, drop_kit_tables

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_kit_tables('imaging')


def downgrade() -> None:
    drop_kit_tables('imaging')
