"""Replacement slots: the slot a non-evaluable subject opened, withdrawn or flagged later

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('replacement_slots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('trial_id', sa.String(length=60), nullable=False),
    sa.Column('cohort_id', sa.Uuid(), nullable=False),
    sa.Column('replaced_subject_id', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('premise_failed', sa.Text(), nullable=True),
    sa.Column('occupant_subject_id', sa.String(length=80), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['enrollment.cohorts.id'], name=op.f('fk_replacement_slots_cohort_id_cohorts')),
    sa.ForeignKeyConstraint(['replaced_subject_id'], ['enrollment.subjects.id'], name=op.f('fk_replacement_slots_replaced_subject_id_subjects')),
    sa.ForeignKeyConstraint(['trial_id'], ['enrollment.trials.id'], name=op.f('fk_replacement_slots_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_replacement_slots')),
    schema='enrollment'
    )
    op.create_index(op.f('ix_enrollment_replacement_slots_cohort_id'), 'replacement_slots', ['cohort_id'], unique=False, schema='enrollment')
    op.create_index(op.f('ix_enrollment_replacement_slots_replaced_subject_id'), 'replacement_slots', ['replaced_subject_id'], unique=False, schema='enrollment')
    op.create_index(op.f('ix_enrollment_replacement_slots_trial_id'), 'replacement_slots', ['trial_id'], unique=False, schema='enrollment')
    # Slots opened before this table existed: one open row per replaced window.
    op.execute(
        """
        INSERT INTO enrollment.replacement_slots
            (id, trial_id, cohort_id, replaced_subject_id, status, reason, opened_at, version)
        SELECT gen_random_uuid(), w.trial_id, e.cohort_id, w.subject_id, 'open',
               'not DLT-evaluable: ' || coalesce(w.reason, ''), coalesce(w.closed_at, now()), 1
        FROM enrollment.dlt_windows w
        JOIN enrollment.enrolments e ON e.subject_id = w.subject_id
        WHERE w.replaced
        """
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_enrollment_replacement_slots_trial_id'), table_name='replacement_slots', schema='enrollment')
    op.drop_index(op.f('ix_enrollment_replacement_slots_replaced_subject_id'), table_name='replacement_slots', schema='enrollment')
    op.drop_index(op.f('ix_enrollment_replacement_slots_cohort_id'), table_name='replacement_slots', schema='enrollment')
    op.drop_table('replacement_slots', schema='enrollment')
