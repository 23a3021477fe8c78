"""CTCAE dictionary, subjects, adverse events, DLT adjudication, EHR intake

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 07:07:15.719380
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ctcae_versions',
    sa.Column('version', sa.String(length=16), nullable=False),
    sa.Column('source_file', sa.String(length=300), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('term_count', sa.Integer(), nullable=False),
    sa.Column('soc_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_ctcae_versions')),
    schema='safety'
    )
    op.create_table('dlt_rule_sets',
    sa.Column('trial_id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('trial_id', 'number', name=op.f('pk_dlt_rule_sets')),
    schema='safety'
    )
    op.create_table('subjects',
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('trial_id', sa.String(length=40), nullable=False),
    sa.Column('cohort_number', sa.Integer(), nullable=True),
    sa.Column('dose_level', sa.Integer(), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('site_time_zone', sa.String(length=64), nullable=True),
    sa.Column('protocol_version', sa.String(length=40), nullable=True),
    sa.Column('first_infusion_on', sa.Date(), nullable=True),
    sa.Column('dlt_window_start', sa.Date(), nullable=True),
    sa.Column('dlt_window_end', sa.Date(), nullable=True),
    sa.Column('last_infusion_number', sa.Integer(), nullable=False),
    sa.Column('baseline_pneumonitis_grade', sa.Integer(), nullable=True),
    sa.Column('baseline_oxygen_use', sa.Boolean(), nullable=True),
    sa.Column('baseline_conditions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('subject_id', name=op.f('pk_subjects')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_subjects_trial_id'), 'subjects', ['trial_id'], unique=False, schema='safety')
    op.create_table('adverse_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('trial_id', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('serious', sa.Boolean(), nullable=False),
    sa.Column('aware_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_to_sponsor_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_raised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dlt_evaluation', sa.String(length=30), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['safety.subjects.subject_id'], name=op.f('fk_adverse_events_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adverse_events')),
    schema='safety'
    )
    op.create_index('ix_adverse_events_sae_clock_running', 'adverse_events', ['report_due_at'], unique=False, schema='safety', postgresql_where=sa.text('serious AND reported_to_sponsor_at IS NULL'))
    op.create_index(op.f('ix_safety_adverse_events_subject_id'), 'adverse_events', ['subject_id'], unique=False, schema='safety')
    op.create_index(op.f('ix_safety_adverse_events_trial_id'), 'adverse_events', ['trial_id'], unique=False, schema='safety')
    op.create_table('ctcae_terms',
    sa.Column('ctcae_version', sa.String(length=16), nullable=False),
    sa.Column('meddra_code', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('soc_name', sa.String(length=200), nullable=False),
    sa.Column('soc_code', sa.String(length=16), nullable=True),
    sa.Column('definition', sa.Text(), nullable=True),
    sa.Column('navigational_note', sa.Text(), nullable=True),
    sa.Column('change_note', sa.Text(), nullable=True),
    sa.Column('is_other_specify', sa.Boolean(), nullable=False),
    sa.Column('grade_1', sa.Text(), nullable=True),
    sa.Column('grade_2', sa.Text(), nullable=True),
    sa.Column('grade_3', sa.Text(), nullable=True),
    sa.Column('grade_4', sa.Text(), nullable=True),
    sa.Column('grade_5', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ctcae_version'], ['safety.ctcae_versions.version'], name=op.f('fk_ctcae_terms_ctcae_version_ctcae_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ctcae_version', 'meddra_code', name=op.f('pk_ctcae_terms')),
    schema='safety'
    )
    op.create_index('ix_ctcae_terms_name_key_prefix', 'ctcae_terms', ['ctcae_version', 'name_key'], unique=False, schema='safety', postgresql_ops={'name_key': 'text_pattern_ops'})
    op.create_table('lab_observations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('observation_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('loinc', sa.String(length=20), nullable=False),
    sa.Column('term_code', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Numeric(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('grading_reason', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['safety.subjects.subject_id'], name=op.f('fk_lab_observations_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_observations')),
    sa.UniqueConstraint('observation_id', 'version_id', name=op.f('uq_lab_observations_observation_id_version_id')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_lab_observations_observation_id'), 'lab_observations', ['observation_id'], unique=False, schema='safety')
    op.create_index(op.f('ix_safety_lab_observations_subject_id'), 'lab_observations', ['subject_id'], unique=False, schema='safety')
    op.create_table('subject_hospital_ids',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['safety.subjects.subject_id'], name=op.f('fk_subject_hospital_ids_subject_id_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_subject_hospital_ids')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_subject_hospital_ids_subject_id'), 'subject_hospital_ids', ['subject_id'], unique=False, schema='safety')
    op.create_table('adverse_event_versions',
    sa.Column('ae_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('ctcae_version', sa.String(length=16), nullable=False),
    sa.Column('term_code', sa.String(length=16), nullable=False),
    sa.Column('term_name', sa.String(length=300), nullable=False),
    sa.Column('verbatim', sa.Text(), nullable=False),
    sa.Column('specification', sa.Text(), nullable=True),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('resolution_date', sa.Date(), nullable=True),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('proposed_grade', sa.Integer(), nullable=True),
    sa.Column('proposed_grade_reason', sa.Text(), nullable=True),
    sa.Column('grading_basis', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('seriousness', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('attribution', sa.String(length=20), nullable=False),
    sa.Column('expected', sa.Boolean(), nullable=True),
    sa.Column('action_taken', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('reason_for_change', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['ae_id'], ['safety.adverse_events.id'], name=op.f('fk_adverse_event_versions_ae_id_adverse_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ae_id', 'number', name=op.f('pk_adverse_event_versions')),
    schema='safety'
    )
    op.create_table('dlt_assessments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ae_id', sa.Uuid(), nullable=False),
    sa.Column('ae_version', sa.Integer(), nullable=False),
    sa.Column('rule_set_number', sa.Integer(), nullable=False),
    sa.Column('is_suspected_dlt', sa.Boolean(), nullable=False),
    sa.Column('study_day', sa.Integer(), nullable=True),
    sa.Column('matched_rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ae_id'], ['safety.adverse_events.id'], name=op.f('fk_dlt_assessments_ae_id_adverse_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dlt_assessments')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_dlt_assessments_ae_id'), 'dlt_assessments', ['ae_id'], unique=False, schema='safety')
    op.create_table('dlt_cases',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ae_id', sa.Uuid(), nullable=False),
    sa.Column('trial_id', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('ae_version', sa.Integer(), nullable=False),
    sa.Column('rule_set_number', sa.Integer(), nullable=False),
    sa.Column('matched_rules', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('study_day', sa.Integer(), nullable=False),
    sa.Column('baseline_grade', sa.Integer(), nullable=True),
    sa.Column('adjudication_sequence', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ae_id'], ['safety.adverse_events.id'], name=op.f('fk_dlt_cases_ae_id_adverse_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dlt_cases')),
    sa.UniqueConstraint('ae_id', name=op.f('uq_dlt_cases_ae_id')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_dlt_cases_subject_id'), 'dlt_cases', ['subject_id'], unique=False, schema='safety')
    op.create_index(op.f('ix_safety_dlt_cases_trial_id'), 'dlt_cases', ['trial_id'], unique=False, schema='safety')
    op.create_table('proposed_adverse_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('observation_id', sa.String(length=64), nullable=False),
    sa.Column('observation_version_id', sa.String(length=64), nullable=False),
    sa.Column('trial_id', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('ctcae_version', sa.String(length=16), nullable=False),
    sa.Column('term_code', sa.String(length=16), nullable=False),
    sa.Column('term_name', sa.String(length=300), nullable=False),
    sa.Column('proposed_grade', sa.Integer(), nullable=False),
    sa.Column('grading_reason', sa.Text(), nullable=False),
    sa.Column('grading_basis', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('ae_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ae_id'], ['safety.adverse_events.id'], name=op.f('fk_proposed_adverse_events_ae_id_adverse_events')),
    sa.ForeignKeyConstraint(['subject_id'], ['safety.subjects.subject_id'], name=op.f('fk_proposed_adverse_events_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposed_adverse_events')),
    sa.UniqueConstraint('observation_id', name=op.f('uq_proposed_adverse_events_observation_id')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_proposed_adverse_events_subject_id'), 'proposed_adverse_events', ['subject_id'], unique=False, schema='safety')
    op.create_index(op.f('ix_safety_proposed_adverse_events_trial_id'), 'proposed_adverse_events', ['trial_id'], unique=False, schema='safety')
    op.create_table('dlt_signatures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dlt_id', sa.Uuid(), nullable=False),
    sa.Column('ae_id', sa.Uuid(), nullable=False),
    sa.Column('ae_version', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('meaning', sa.Text(), nullable=False),
    sa.Column('signer_subject', sa.String(length=200), nullable=False),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ae_id'], ['safety.adverse_events.id'], name=op.f('fk_dlt_signatures_ae_id_adverse_events')),
    sa.ForeignKeyConstraint(['dlt_id'], ['safety.dlt_cases.id'], name=op.f('fk_dlt_signatures_dlt_id_dlt_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dlt_signatures')),
    schema='safety'
    )
    op.create_index(op.f('ix_safety_dlt_signatures_dlt_id'), 'dlt_signatures', ['dlt_id'], unique=False, schema='safety')


def downgrade() -> None:
    op.drop_index(op.f('ix_safety_dlt_signatures_dlt_id'), table_name='dlt_signatures', schema='safety')
    op.drop_table('dlt_signatures', schema='safety')
    op.drop_index(op.f('ix_safety_proposed_adverse_events_trial_id'), table_name='proposed_adverse_events', schema='safety')
    op.drop_index(op.f('ix_safety_proposed_adverse_events_subject_id'), table_name='proposed_adverse_events', schema='safety')
    op.drop_table('proposed_adverse_events', schema='safety')
    op.drop_index(op.f('ix_safety_dlt_cases_trial_id'), table_name='dlt_cases', schema='safety')
    op.drop_index(op.f('ix_safety_dlt_cases_subject_id'), table_name='dlt_cases', schema='safety')
    op.drop_table('dlt_cases', schema='safety')
    op.drop_index(op.f('ix_safety_dlt_assessments_ae_id'), table_name='dlt_assessments', schema='safety')
    op.drop_table('dlt_assessments', schema='safety')
    op.drop_table('adverse_event_versions', schema='safety')
    op.drop_index(op.f('ix_safety_subject_hospital_ids_subject_id'), table_name='subject_hospital_ids', schema='safety')
    op.drop_table('subject_hospital_ids', schema='safety')
    op.drop_index(op.f('ix_safety_lab_observations_subject_id'), table_name='lab_observations', schema='safety')
    op.drop_index(op.f('ix_safety_lab_observations_observation_id'), table_name='lab_observations', schema='safety')
    op.drop_table('lab_observations', schema='safety')
    op.drop_index('ix_ctcae_terms_name_key_prefix', table_name='ctcae_terms', schema='safety', postgresql_ops={'name_key': 'text_pattern_ops'})
    op.drop_table('ctcae_terms', schema='safety')
    op.drop_index(op.f('ix_safety_adverse_events_trial_id'), table_name='adverse_events', schema='safety')
    op.drop_index(op.f('ix_safety_adverse_events_subject_id'), table_name='adverse_events', schema='safety')
    op.drop_index('ix_adverse_events_sae_clock_running', table_name='adverse_events', schema='safety', postgresql_where=sa.text('serious AND reported_to_sponsor_at IS NULL'))
    op.drop_table('adverse_events', schema='safety')
    op.drop_index(op.f('ix_safety_subjects_trial_id'), table_name='subjects', schema='safety')
    op.drop_table('subjects', schema='safety')
    op.drop_table('dlt_rule_sets', schema='safety')
    op.drop_table('ctcae_versions', schema='safety')
