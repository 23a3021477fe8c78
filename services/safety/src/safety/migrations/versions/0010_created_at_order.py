"""DLT cases and proposed AEs page in the order they were created, not last changed

Revision ID: 0010_created_at_order
Revises: 0009_icsr_messages
Create Date: 2026-12-07 23:50:00

A keyset on `updated_at` moves a row that changes between two page reads: read again on a later
page, or skipped when its change committed behind the cursor. Both lists now page by
`(created_at, id)`, which never changes. The moment a row was created is its first audit entry
(`dlt.suspected`, `proposed_ae.create`), which every case and proposal has; `updated_at` stands
in for a row without one. The four DLT list indexes follow the new key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_created_at_order"
down_revision: str | None = "0009_icsr_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "safety"
# (table, entity type in the audit trail)
TABLES = (("dlt_cases", "dlt"), ("proposed_adverse_events", "proposed_adverse_event"))
DLT_FILTERS: tuple[tuple[str, ...], ...] = ((), ("status",), ("trial_id",), ("trial_id", "status"))


def _dlt_index(filters: tuple[str, ...], key: str) -> str:
    return "_".join(("ix_dlt_cases", *filters, key, "id"))


def upgrade() -> None:
    for table, entity_type in TABLES:
        op.add_column(
            table, sa.Column("created_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA
        )
        op.execute(
            sa.text(
                f"UPDATE {SCHEMA}.{table} AS row SET created_at = LEAST(row.updated_at, "
                f"COALESCE((SELECT min(entry.occurred_at) FROM {SCHEMA}.audit_log AS entry "
                "WHERE entry.entity_type = :entity_type AND entry.entity_id = row.id::text), "
                "row.updated_at))"
            ).bindparams(entity_type=entity_type)
        )
        op.alter_column(table, "created_at", nullable=False, schema=SCHEMA)
    for filters in DLT_FILTERS:
        op.drop_index(_dlt_index(filters, "updated_at"), table_name="dlt_cases", schema=SCHEMA)
        op.create_index(
            _dlt_index(filters, "created_at"),
            "dlt_cases",
            [*filters, "created_at", "id"],
            schema=SCHEMA,
        )
    op.create_index(
        "ix_proposed_adverse_events_created_at_id",
        "proposed_adverse_events",
        ["created_at", "id"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_proposed_adverse_events_created_at_id",
        table_name="proposed_adverse_events",
        schema=SCHEMA,
    )
    for filters in DLT_FILTERS:
        op.drop_index(_dlt_index(filters, "created_at"), table_name="dlt_cases", schema=SCHEMA)
        op.create_index(
            _dlt_index(filters, "updated_at"),
            "dlt_cases",
            [*filters, "updated_at", "id"],
            schema=SCHEMA,
        )
    for table, _entity_type in TABLES:
        op.drop_column(table, "created_at", schema=SCHEMA)
