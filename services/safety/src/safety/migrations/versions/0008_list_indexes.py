"""Indexes that serve the keyset-paginated lists

Revision ID: 0008_list_indexes
Revises: 0007_audit_mac
Create Date: 2026-12-07 20:30:00

Each list reads a page as one ordered index range after the cursor's key (doseline.pagination):
adverse events in the order reported, DLT cases in the order they last changed, with or
without a trial or status filter.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_list_indexes"
down_revision: str | None = "0007_audit_mac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "safety"


def upgrade() -> None:
    op.create_index(
        "ix_adverse_events_created_at_id", "adverse_events", ["created_at", "id"], schema=SCHEMA
    )
    op.create_index(
        "ix_adverse_events_trial_id_created_at_id",
        "adverse_events",
        ["trial_id", "created_at", "id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_adverse_events_subject_id_created_at_id",
        "adverse_events",
        ["subject_id", "created_at", "id"],
        schema=SCHEMA,
    )
    op.create_index("ix_dlt_cases_updated_at_id", "dlt_cases", ["updated_at", "id"], schema=SCHEMA)
    op.create_index(
        "ix_dlt_cases_status_updated_at_id",
        "dlt_cases",
        ["status", "updated_at", "id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_dlt_cases_trial_id_updated_at_id",
        "dlt_cases",
        ["trial_id", "updated_at", "id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_dlt_cases_trial_id_status_updated_at_id",
        "dlt_cases",
        ["trial_id", "status", "updated_at", "id"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_dlt_cases_trial_id_status_updated_at_id", table_name="dlt_cases", schema=SCHEMA
    )
    op.drop_index("ix_dlt_cases_trial_id_updated_at_id", table_name="dlt_cases", schema=SCHEMA)
    op.drop_index("ix_dlt_cases_status_updated_at_id", table_name="dlt_cases", schema=SCHEMA)
    op.drop_index("ix_dlt_cases_updated_at_id", table_name="dlt_cases", schema=SCHEMA)
    op.drop_index(
        "ix_adverse_events_subject_id_created_at_id", table_name="adverse_events", schema=SCHEMA
    )
    op.drop_index(
        "ix_adverse_events_trial_id_created_at_id", table_name="adverse_events", schema=SCHEMA
    )
    op.drop_index("ix_adverse_events_created_at_id", table_name="adverse_events", schema=SCHEMA)
