"""Withdrawal of enrolled subjects; cancelled dose preparations

Revision ID: 0008_withdrawals
Revises: 0007_subject_facts
Create Date: 2026-12-07 18:40:00

A withdrawn subject has one `subject_withdrawals` row (reason, effective site day, whether
safety follow-up continues). Dose preparations gain a cancellation: the withdrawal cancels every
preparation not given yet, so it can no longer be verified or infused.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008_withdrawals'
down_revision: str | None = '0007_subject_facts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = 'enrollment'


def upgrade() -> None:
    op.create_table(
        'subject_withdrawals',
        sa.Column('subject_id', sa.String(length=80), nullable=False),
        sa.Column('trial_id', sa.String(length=60), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('safety_follow_up', sa.Boolean(), nullable=False),
        sa.Column('recorded_by', sa.String(length=200), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['subject_id'],
            [f'{SCHEMA}.subjects.id'],
            name=op.f('fk_subject_withdrawals_subject_id_subjects'),
        ),
        sa.ForeignKeyConstraint(
            ['trial_id'],
            [f'{SCHEMA}.trials.id'],
            name=op.f('fk_subject_withdrawals_trial_id_trials'),
        ),
        sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_subject_withdrawals')),
        schema=SCHEMA,
    )
    op.create_index(
        op.f('ix_enrollment_subject_withdrawals_trial_id'),
        'subject_withdrawals',
        ['trial_id'],
        schema=SCHEMA,
    )
    op.add_column(
        'dose_preparations',
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.add_column(
        'dose_preparations',
        sa.Column('cancellation_reason', sa.Text(), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column('dose_preparations', 'cancellation_reason', schema=SCHEMA)
    op.drop_column('dose_preparations', 'cancelled_at', schema=SCHEMA)
    op.drop_index(
        op.f('ix_enrollment_subject_withdrawals_trial_id'),
        table_name='subject_withdrawals',
        schema=SCHEMA,
    )
    op.drop_table('subject_withdrawals', schema=SCHEMA)
