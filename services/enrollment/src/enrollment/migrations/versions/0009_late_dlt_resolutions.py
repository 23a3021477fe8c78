"""Resolutions of DLTs confirmed after a signed decision, with their signatures

Revision ID: 0009_late_dlt
Revises: 0008_withdrawals
Create Date: 2026-12-07 20:30:00

A DLT confirmed after the decision on its cohort was signed and the next cohort opened makes the
stored outcomes a history the design cannot produce, and automatic decisions stop (ADR 0017).
The investigator and the safety physician record how they resolved it in
`late_dlt_resolutions` (decision stands, decision revised, cohort expanded), each signing in
`late_dlt_resolution_signatures`. At most one pending and one resolved row per DLT.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009_late_dlt'
down_revision: str | None = '0008_withdrawals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = 'enrollment'


def upgrade() -> None:
    op.create_table(
        'late_dlt_resolutions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('trial_id', sa.String(length=60), nullable=False),
        sa.Column('dlt_id', sa.String(length=80), nullable=False),
        sa.Column('subject_id', sa.String(length=80), nullable=False),
        sa.Column('subject_cohort_number', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Uuid(), nullable=False),
        sa.Column('decision_cohort_number', sa.Integer(), nullable=False),
        sa.Column('last_cohort_number', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=30), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('continue_trial', sa.Boolean(), nullable=True),
        sa.Column('next_dose', sa.Integer(), nullable=True),
        sa.Column('next_cohort_size', sa.Integer(), nullable=True),
        sa.Column('mtd', sa.Integer(), nullable=True),
        sa.Column('revised_decision_id', sa.Uuid(), nullable=True),
        sa.Column('expanded_cohort_number', sa.Integer(), nullable=True),
        sa.Column('added_subjects', sa.Integer(), nullable=True),
        sa.Column('opened_cohort_number', sa.Integer(), nullable=True),
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['decision_id'],
            [f"{SCHEMA}.escalation_decisions.id"],
            name=op.f('fk_late_dlt_resolutions_decision_id_escalation_decisions'),
        ),
        sa.ForeignKeyConstraint(
            ['revised_decision_id'],
            [f"{SCHEMA}.escalation_decisions.id"],
            name=op.f('fk_late_dlt_resolutions_revised_decision_id_escalation_decisions'),
        ),
        sa.ForeignKeyConstraint(
            ['trial_id'],
            [f"{SCHEMA}.trials.id"],
            name=op.f('fk_late_dlt_resolutions_trial_id_trials'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_late_dlt_resolutions')),
        schema=SCHEMA,
    )
    op.create_index(
        op.f('ix_enrollment_late_dlt_resolutions_trial_id'),
        'late_dlt_resolutions',
        ['trial_id'],
        schema=SCHEMA,
    )
    for status in ('resolved', 'pending'):
        op.create_index(
            f"uq_late_dlt_resolutions_{status}_dlt",
            'late_dlt_resolutions',
            ['trial_id', 'dlt_id'],
            unique=True,
            schema=SCHEMA,
            postgresql_where=sa.text(f"status = '{status}'"),
        )
    op.create_table(
        'late_dlt_resolution_signatures',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('resolution_id', sa.Uuid(), nullable=False),
        sa.Column('role', sa.String(length=40), nullable=False),
        sa.Column('signer', sa.String(length=200), nullable=False),
        sa.Column('signer_name', sa.String(length=200), nullable=False),
        sa.Column('meaning', sa.Text(), nullable=False),
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('authenticated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['resolution_id'],
            [f"{SCHEMA}.late_dlt_resolutions.id"],
            name=op.f('fk_late_dlt_resolution_signatures_resolution_id_late_dlt_resolutions'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_late_dlt_resolution_signatures')),
        sa.UniqueConstraint(
            'resolution_id',
            'role',
            name=op.f('uq_late_dlt_resolution_signatures_resolution_id_role'),
        ),
        sa.UniqueConstraint(
            'resolution_id',
            'signer',
            name=op.f('uq_late_dlt_resolution_signatures_resolution_id_signer'),
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table('late_dlt_resolution_signatures', schema=SCHEMA)
    for status in ('pending', 'resolved'):
        op.drop_index(
            f"uq_late_dlt_resolutions_{status}_dlt",
            table_name='late_dlt_resolutions',
            schema=SCHEMA,
        )
    op.drop_index(
        op.f('ix_enrollment_late_dlt_resolutions_trial_id'),
        table_name='late_dlt_resolutions',
        schema=SCHEMA,
    )
    op.drop_table('late_dlt_resolutions', schema=SCHEMA)
