"""Reference ranges per trial and site (overrides of the shipped adult defaults)

Revision ID: 0005_reference_ranges
Revises: 0004_sites
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_reference_ranges"
down_revision: str | None = "0004_sites"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "safety"


def upgrade() -> None:
    op.create_table(
        "site_reference_ranges",
        sa.Column("trial_id", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("trial_id", "site_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "reference_ranges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trial_id", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("analyte", sa.String(length=40), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("low", sa.Numeric(), nullable=True),
        sa.Column("high", sa.Numeric(), nullable=True),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id", "site_id"],
            [f"{SCHEMA}.site_reference_ranges.trial_id", f"{SCHEMA}.site_reference_ranges.site_id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_safety_reference_ranges_site",
        "reference_ranges",
        ["trial_id", "site_id", "analyte"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index("ix_safety_reference_ranges_site", table_name="reference_ranges", schema=SCHEMA)
    op.drop_table("reference_ranges", schema=SCHEMA)
    op.drop_table("site_reference_ranges", schema=SCHEMA)
