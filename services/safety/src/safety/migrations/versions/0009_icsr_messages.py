"""ICH E2B(R3) case safety report messages of serious adverse events

Revision ID: 0009_icsr_messages
Revises: 0008_list_indexes
Create Date: 2026-12-07 23:50:00

One row per transmission (initial report, follow-up, nullification) with the facts the message
is built from, so that a message fetched again is the same message.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_icsr_messages"
down_revision: str | None = "0008_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "safety"


def upgrade() -> None:
    op.create_table(
        "icsr_messages",
        sa.Column("ae_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("safety_report_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ae_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["ae_id"],
            [f"{SCHEMA}.adverse_events.id"],
            name=op.f("fk_icsr_messages_ae_id_adverse_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ae_id", "number", name=op.f("pk_icsr_messages")),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("icsr_messages", schema=SCHEMA)
