"""Screenings record the subject's sex, birth date and height

Revision ID: 0007_subject_facts
Revises: 0006_audit_mac
Create Date: 2026-12-07 18:40:00

The outcome reference equations (GLI, Enright-Sherrill) need these facts; the latest screening's
travel to imaging with the enrolment event. Screenings recorded before hold none (nullable).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_subject_facts'
down_revision: str | None = '0006_audit_mac'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = 'enrollment'


def upgrade() -> None:
    op.add_column('screenings', sa.Column('sex', sa.String(length=10), nullable=True), schema=SCHEMA)
    op.add_column('screenings', sa.Column('birth_date', sa.Date(), nullable=True), schema=SCHEMA)
    op.add_column(
        'screenings', sa.Column('height_cm', sa.Numeric(4, 1), nullable=True), schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_column('screenings', 'height_cm', schema=SCHEMA)
    op.drop_column('screenings', 'birth_date', schema=SCHEMA)
    op.drop_column('screenings', 'sex', schema=SCHEMA)
