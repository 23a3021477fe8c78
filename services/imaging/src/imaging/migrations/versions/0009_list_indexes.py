"""Indexes that serve the keyset-paginated lists

Revision ID: 0009_list_indexes
Revises: 0008_subject_facts
Create Date: 2026-12-07 20:30:00

A subject's assessments (any kind) and CT analyses page as one ordered index range after the
cursor's key (doseline.pagination).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_list_indexes"
down_revision: str | None = "0008_subject_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "imaging"


def upgrade() -> None:
    op.create_index(
        "ix_assessments_subject_id_performed_at_id",
        "assessments",
        ["subject_id", "performed_at", "id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_ct_analyses_subject_id_created_at_id",
        "ct_analyses",
        ["subject_id", "created_at", "id"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_ct_analyses_subject_id_created_at_id", table_name="ct_analyses", schema=SCHEMA
    )
    op.drop_index(
        "ix_assessments_subject_id_performed_at_id", table_name="assessments", schema=SCHEMA
    )
