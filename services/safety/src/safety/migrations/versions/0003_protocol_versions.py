"""DLT rules from the protocol: received protocol versions, reviews; assessments cite the version

Safety's own DLT rule sets go: the rules arrive with enrollment's enrollment.protocol.activated
event. Assessments and DLT cases record the protocol version (sequence, version, content hash)
whose rules they applied instead of a rule-set number. Existing assessments and cases were made
under the built-in rule set, which no protocol version identifies: they are marked
"pre-protocol" (sequence 0) rather than attributed to a version they did not use.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "safety"


def upgrade() -> None:
    op.create_table(
        "protocol_versions",
        sa.Column("trial_id", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.String(length=64), nullable=False),
        sa.Column("protocol_version", sa.String(length=40), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("activation", sa.String(length=20), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("trial_id", "sequence", name=op.f("pk_protocol_versions")),
        schema=SCHEMA,
    )
    op.create_table(
        "dlt_protocol_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dlt_id", sa.Uuid(), nullable=False),
        sa.Column("trial_id", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("ae_id", sa.Uuid(), nullable=False),
        sa.Column("ae_version", sa.Integer(), nullable=False),
        sa.Column("adjudication", sa.String(length=20), nullable=False),
        sa.Column("adjudicated_under_version", sa.String(length=40), nullable=False),
        sa.Column(
            "adjudicated_matched_rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False
        ),
        sa.Column("protocol_sequence", sa.Integer(), nullable=False),
        sa.Column("protocol_version", sa.String(length=40), nullable=False),
        sa.Column("protocol_hash", sa.String(length=80), nullable=False),
        sa.Column("would_be_suspected", sa.Boolean(), nullable=False),
        sa.Column("would_match_rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ae_id"],
            [f"{SCHEMA}.adverse_events.id"],
            name=op.f("fk_dlt_protocol_reviews_ae_id_adverse_events"),
        ),
        sa.ForeignKeyConstraint(
            ["dlt_id"],
            [f"{SCHEMA}.dlt_cases.id"],
            name=op.f("fk_dlt_protocol_reviews_dlt_id_dlt_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dlt_protocol_reviews")),
        sa.UniqueConstraint(
            "dlt_id", "protocol_sequence", name=op.f("uq_dlt_protocol_reviews_dlt_id_protocol_sequence")
        ),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_safety_dlt_protocol_reviews_dlt_id"),
        "dlt_protocol_reviews",
        ["dlt_id"],
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_safety_dlt_protocol_reviews_trial_id"),
        "dlt_protocol_reviews",
        ["trial_id"],
        schema=SCHEMA,
    )
    for table in ("dlt_assessments", "dlt_cases"):
        op.alter_column(table, "rule_set_number", new_column_name="protocol_sequence", schema=SCHEMA)
        op.execute(f"UPDATE {SCHEMA}.{table} SET protocol_sequence = 0")
        op.add_column(
            table,
            sa.Column(
                "protocol_version",
                sa.String(length=40),
                nullable=False,
                server_default="pre-protocol",
            ),
            schema=SCHEMA,
        )
        op.add_column(
            table,
            sa.Column(
                "protocol_hash", sa.String(length=80), nullable=False, server_default="none"
            ),
            schema=SCHEMA,
        )
        op.alter_column(table, "protocol_version", server_default=None, schema=SCHEMA)
        op.alter_column(table, "protocol_hash", server_default=None, schema=SCHEMA)
    op.drop_table("dlt_rule_sets", schema=SCHEMA)


def downgrade() -> None:
    op.create_table(
        "dlt_rule_sets",
        sa.Column("trial_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("trial_id", "number", name=op.f("pk_dlt_rule_sets")),
        schema=SCHEMA,
    )
    for table in ("dlt_assessments", "dlt_cases"):
        op.drop_column(table, "protocol_hash", schema=SCHEMA)
        op.drop_column(table, "protocol_version", schema=SCHEMA)
        op.alter_column(table, "protocol_sequence", new_column_name="rule_set_number", schema=SCHEMA)
    op.drop_index(
        op.f("ix_safety_dlt_protocol_reviews_trial_id"),
        table_name="dlt_protocol_reviews",
        schema=SCHEMA,
    )
    op.drop_index(
        op.f("ix_safety_dlt_protocol_reviews_dlt_id"),
        table_name="dlt_protocol_reviews",
        schema=SCHEMA,
    )
    op.drop_table("dlt_protocol_reviews", schema=SCHEMA)
    op.drop_table("protocol_versions", schema=SCHEMA)
