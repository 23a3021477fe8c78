"""Doses that do not go as planned: deviations, dose orders, interrupted infusions, re-dosing

Revision ID: 0010_dose_deviations
Revises: 0009_late_dlt
Create Date: 2026-12-07 20:08:16

`protocol_deviations` holds the infusions missed, given outside their window or given short;
`dose_orders` an investigator's holds and reductions. A preparation records the whole dose of
the level (`full_dose_cells`, the dose itself under a reduction), the volume prepared and, when a
later weight re-dosed it, the series weight and the rule. An infusion records the volume given,
the dose per kg and whether the whole dose was given. A cancelled preparation no longer takes
its infusion's place: the unique constraint becomes a partial unique index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010_dose_deviations'
down_revision: str | None = '0009_late_dlt'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dose_orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('trial_id', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('percent_of_dose', sa.Integer(), nullable=True),
    sa.Column('from_infusion', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('ordered_by', sa.String(length=200), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['enrollment.subjects.id'], name=op.f('fk_dose_orders_subject_id_subjects')),
    sa.ForeignKeyConstraint(['trial_id'], ['enrollment.trials.id'], name=op.f('fk_dose_orders_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dose_orders')),
    schema='enrollment'
    )
    op.create_index(op.f('ix_enrollment_dose_orders_subject_id'), 'dose_orders', ['subject_id'], unique=False, schema='enrollment')
    op.create_table('protocol_deviations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subject_id', sa.String(length=80), nullable=False),
    sa.Column('trial_id', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('infusion_number', sa.Integer(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('window_opens', sa.Date(), nullable=False),
    sa.Column('window_closes', sa.Date(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('site_date', sa.Date(), nullable=True),
    sa.Column('infusion_id', sa.Uuid(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['infusion_id'], ['enrollment.infusions.id'], name=op.f('fk_protocol_deviations_infusion_id_infusions')),
    sa.ForeignKeyConstraint(['subject_id'], ['enrollment.subjects.id'], name=op.f('fk_protocol_deviations_subject_id_subjects')),
    sa.ForeignKeyConstraint(['trial_id'], ['enrollment.trials.id'], name=op.f('fk_protocol_deviations_trial_id_trials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_deviations')),
    sa.UniqueConstraint('subject_id', 'kind', 'infusion_number', name=op.f('uq_protocol_deviations_subject_id_kind_infusion_number')),
    schema='enrollment'
    )
    op.create_index(op.f('ix_enrollment_protocol_deviations_subject_id'), 'protocol_deviations', ['subject_id'], unique=False, schema='enrollment')
    op.add_column('dose_preparations', sa.Column('full_dose_cells', sa.Numeric(precision=30, scale=6), nullable=True), schema='enrollment')
    # Every preparation before dose orders was of the whole dose.
    op.execute('UPDATE enrollment.dose_preparations SET full_dose_cells = dose_cells')
    op.alter_column('dose_preparations', 'full_dose_cells', nullable=False, schema='enrollment')
    op.add_column('dose_preparations', sa.Column('percent_of_dose', sa.Integer(), server_default=sa.text('100'), nullable=False), schema='enrollment')
    op.add_column('dose_preparations', sa.Column('dose_order_id', sa.Uuid(), nullable=True), schema='enrollment')
    op.add_column('dose_preparations', sa.Column('series_weight_measurement_id', sa.Uuid(), nullable=True), schema='enrollment')
    op.add_column('dose_preparations', sa.Column('dose_basis', sa.Text(), nullable=True), schema='enrollment')
    op.add_column('dose_preparations', sa.Column('volume_ml', sa.Numeric(precision=8, scale=2), nullable=True), schema='enrollment')
    op.drop_constraint(op.f('uq_dose_preparations_subject_id_infusion_number'), 'dose_preparations', schema='enrollment', type_='unique')
    op.create_index('uq_dose_preparations_active_infusion', 'dose_preparations', ['subject_id', 'infusion_number'], unique=True, schema='enrollment', postgresql_where=sa.text('cancelled_at IS NULL'))
    op.create_foreign_key(op.f('fk_dose_preparations_dose_order_id_dose_orders'), 'dose_preparations', 'dose_orders', ['dose_order_id'], ['id'], source_schema='enrollment', referent_schema='enrollment')
    op.create_foreign_key(op.f('fk_dose_preparations_series_weight_measurement_id_weight_measurements'), 'dose_preparations', 'weight_measurements', ['series_weight_measurement_id'], ['id'], source_schema='enrollment', referent_schema='enrollment')
    op.add_column('infusions', sa.Column('dose_given_per_kg', sa.Numeric(precision=30, scale=6), nullable=True), schema='enrollment')
    op.add_column('infusions', sa.Column('volume_given_ml', sa.Numeric(precision=8, scale=2), nullable=True), schema='enrollment')
    op.add_column('infusions', sa.Column('volume_prepared_ml', sa.Numeric(precision=8, scale=2), nullable=True), schema='enrollment')
    op.add_column('infusions', sa.Column('full_dose', sa.Boolean(), server_default=sa.text('true'), nullable=False), schema='enrollment')


def downgrade() -> None:
    op.drop_column('infusions', 'full_dose', schema='enrollment')
    op.drop_column('infusions', 'volume_prepared_ml', schema='enrollment')
    op.drop_column('infusions', 'volume_given_ml', schema='enrollment')
    op.drop_column('infusions', 'dose_given_per_kg', schema='enrollment')
    op.drop_constraint(op.f('fk_dose_preparations_series_weight_measurement_id_weight_measurements'), 'dose_preparations', schema='enrollment', type_='foreignkey')
    op.drop_constraint(op.f('fk_dose_preparations_dose_order_id_dose_orders'), 'dose_preparations', schema='enrollment', type_='foreignkey')
    op.drop_index('uq_dose_preparations_active_infusion', table_name='dose_preparations', schema='enrollment', postgresql_where=sa.text('cancelled_at IS NULL'))
    op.create_unique_constraint(op.f('uq_dose_preparations_subject_id_infusion_number'), 'dose_preparations', ['subject_id', 'infusion_number'], schema='enrollment', postgresql_nulls_not_distinct=False)
    op.drop_column('dose_preparations', 'volume_ml', schema='enrollment')
    op.drop_column('dose_preparations', 'dose_basis', schema='enrollment')
    op.drop_column('dose_preparations', 'series_weight_measurement_id', schema='enrollment')
    op.drop_column('dose_preparations', 'dose_order_id', schema='enrollment')
    op.drop_column('dose_preparations', 'percent_of_dose', schema='enrollment')
    op.drop_column('dose_preparations', 'full_dose_cells', schema='enrollment')
    op.drop_index(op.f('ix_enrollment_protocol_deviations_subject_id'), table_name='protocol_deviations', schema='enrollment')
    op.drop_table('protocol_deviations', schema='enrollment')
    op.drop_index(op.f('ix_enrollment_dose_orders_subject_id'), table_name='dose_orders', schema='enrollment')
    op.drop_table('dose_orders', schema='enrollment')
