"""Subjects carry the sex, birth date and height enrollment recorded at screening

Revision ID: 0008_subject_facts
Revises: 0007_fhir_sender
Create Date: 2026-12-07 18:40:00

Lung function and walk test results use them when a request omits them, and check them when it
repeats them. Subjects announced before hold none (nullable): their requests give the facts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_subject_facts"
down_revision: str | None = "0007_fhir_sender"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subjects", sa.Column("sex", sa.String(length=10), nullable=True), schema="imaging")
    op.add_column("subjects", sa.Column("birth_date", sa.Date(), nullable=True), schema="imaging")
    op.add_column("subjects", sa.Column("height_cm", sa.Float(), nullable=True), schema="imaging")


def downgrade() -> None:
    op.drop_column("subjects", "height_cm", schema="imaging")
    op.drop_column("subjects", "birth_date", schema="imaging")
    op.drop_column("subjects", "sex", schema="imaging")
