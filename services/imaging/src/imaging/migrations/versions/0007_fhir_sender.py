"""FHIR Observations are identified per sending system

Revision ID: 0007_fhir_sender
Revises: 0006_audit_mac
Create Date: 2026-12-07 18:00:00

FHIR ids are unique per server only: two systems may both send Observation "1". Assessments
received before are attributed to the account that recorded them (the subject of its token).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_fhir_sender"
down_revision: str | None = "0006_audit_mac"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "assessments",
        sa.Column("fhir_sender", sa.String(length=200), nullable=True),
        schema="imaging",
    )
    # recorded_by is "Name <subject>"; the sender is the token's subject.
    op.execute(
        "UPDATE imaging.assessments "
        "SET fhir_sender = coalesce(substring(recorded_by from '<([^<>]*)>$'), recorded_by) "
        "WHERE fhir_observation_id IS NOT NULL"
    )
    op.drop_index("uq_assessments_fhir_observation", table_name="assessments", schema="imaging")
    op.create_index(
        "uq_assessments_fhir_observation",
        "assessments",
        ["fhir_sender", "fhir_observation_id"],
        unique=True,
        schema="imaging",
        postgresql_where="fhir_observation_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("uq_assessments_fhir_observation", table_name="assessments", schema="imaging")
    op.create_index(
        "uq_assessments_fhir_observation",
        "assessments",
        ["fhir_observation_id"],
        unique=True,
        schema="imaging",
        postgresql_where="fhir_observation_id IS NOT NULL",
    )
    op.drop_column("assessments", "fhir_sender", schema="imaging")
