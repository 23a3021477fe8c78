"""Lab results are identified per sender, keep their content hash and outcome; conflicting
versions are kept for review

Revision ID: 0006_lab_intake
Revises: 0005_reference_ranges
Create Date: 2026-12-07 17:50:00

Results received before carry no content hash (null: compared as equal), were all graded, and
are attributed to the sender that delivered them (the token subject in `received_by`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_lab_intake"
down_revision: str | None = "0005_reference_ranges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("lab_observations", "proposed_adverse_events"):
        op.add_column(
            table,
            sa.Column("source", sa.String(length=200), server_default="", nullable=False),
            schema="safety",
        )
        op.alter_column(table, "source", server_default=None, schema="safety")
    # received_by is "Name <subject>"; the sender is the token's subject.
    op.execute(
        "UPDATE safety.lab_observations "
        "SET source = coalesce(substring(received_by from '<([^<>]*)>$'), received_by)"
    )
    op.execute(
        "UPDATE safety.proposed_adverse_events p SET source = o.received_by "
        "FROM safety.lab_observations o WHERE o.observation_id = p.observation_id "
        "AND o.version_id = p.observation_version_id"
    )
    op.drop_constraint(
        "uq_lab_observations_observation_id_version_id", "lab_observations", schema="safety"
    )
    op.create_unique_constraint(
        "uq_lab_observations_delivery",
        "lab_observations",
        ["source", "observation_id", "version_id"],
        schema="safety",
    )
    op.drop_constraint(
        "uq_proposed_adverse_events_observation_id", "proposed_adverse_events", schema="safety"
    )
    op.create_unique_constraint(
        "uq_proposed_adverse_events_result",
        "proposed_adverse_events",
        ["source", "observation_id"],
        schema="safety",
    )
    op.add_column(
        "lab_observations",
        sa.Column("outcome", sa.String(length=20), server_default="graded", nullable=False),
        schema="safety",
    )
    op.alter_column("lab_observations", "outcome", server_default=None, schema="safety")
    op.add_column(
        "lab_observations",
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        schema="safety",
    )
    op.alter_column("lab_observations", "term_code", nullable=True, schema="safety")
    op.create_table(
        "lab_intake_conflicts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("observation_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_content_hash", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["safety.subjects.subject_id"],
            name="fk_lab_intake_conflicts_subject_id_subjects",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lab_intake_conflicts"),
        sa.UniqueConstraint(
            "source",
            "observation_id",
            "version_id",
            "content_hash",
            name="uq_lab_intake_conflicts_delivery",
        ),
        schema="safety",
    )
    op.create_index(
        "ix_safety_lab_intake_conflicts_observation_id",
        "lab_intake_conflicts",
        ["observation_id"],
        schema="safety",
    )
    op.create_index(
        "ix_safety_lab_intake_conflicts_subject_id",
        "lab_intake_conflicts",
        ["subject_id"],
        schema="safety",
    )


def downgrade() -> None:
    op.drop_table("lab_intake_conflicts", schema="safety")
    op.drop_constraint(
        "uq_proposed_adverse_events_result", "proposed_adverse_events", schema="safety"
    )
    op.create_unique_constraint(
        "uq_proposed_adverse_events_observation_id",
        "proposed_adverse_events",
        ["observation_id"],
        schema="safety",
    )
    op.drop_constraint("uq_lab_observations_delivery", "lab_observations", schema="safety")
    op.create_unique_constraint(
        "uq_lab_observations_observation_id_version_id",
        "lab_observations",
        ["observation_id", "version_id"],
        schema="safety",
    )
    for table in ("lab_observations", "proposed_adverse_events"):
        op.drop_column(table, "source", schema="safety")
    op.drop_column("lab_observations", "content_hash", schema="safety")
    op.drop_column("lab_observations", "outcome", schema="safety")
