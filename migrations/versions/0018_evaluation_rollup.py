"""evaluation roll-up: each completed screening as the performance report counts it, kept in step on every write

The performance report classified every screening of its cohort against its person's outcomes, and joined the
cohort with every other screening for agreement, on each request: 5.4 s at a million screenings. `evaluation_fact`
holds each completed screening's classification under the report's defaults, and `evaluation_pair` its nearest
screening of each other instrument, both derived per person by `app.evaluation.rollup` (which keeps them in step
on every write); each has an index led by the cohort's filter that holds everything the report counts by. The
rows of screenings completed before this migration are derived by `tellonce serve` at start (`rollup.backfill`),
through the same code that keeps them.

Revision ID: 0018_evaluation_rollup
Revises: 0017_youth_link_lookup
Create Date: 2026-12-06 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision: str = '0018_evaluation_rollup'
down_revision: str | None = '0017_youth_link_lookup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evaluation_fact',
    sa.Column('screening_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('instrument_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('instrument_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('completed_at', app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('half_year', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('condition_all', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('condition_own', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.ForeignKeyConstraint(['screening_id'], ['screening.id'], name=op.f('fk_evaluation_fact_screening_id_screening')),
    sa.PrimaryKeyConstraint('screening_id', name=op.f('pk_evaluation_fact'))
    )
    with op.batch_alter_table('evaluation_fact', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_fact_cohort', ['instrument_id', 'instrument_version', 'agency_id', 'completed_at', 'level', 'total', 'half_year', 'condition_all', 'condition_own'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_fact_person_id'), ['person_id'], unique=False)

    op.create_table('evaluation_pair',
    sa.Column('screening_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('other_instrument', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('instrument_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('instrument_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('completed_at', app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('code_all', sa.Integer(), nullable=True),
    sa.Column('code_own', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['screening_id'], ['screening.id'], name=op.f('fk_evaluation_pair_screening_id_screening')),
    sa.PrimaryKeyConstraint('screening_id', 'other_instrument', name=op.f('pk_evaluation_pair'))
    )
    with op.batch_alter_table('evaluation_pair', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_pair_cohort', ['instrument_id', 'instrument_version', 'agency_id', 'completed_at', 'other_instrument', 'level', 'code_all', 'code_own'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_pair_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('evaluation_pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_pair_person_id'))
        batch_op.drop_index('ix_evaluation_pair_cohort')

    op.drop_table('evaluation_pair')
    with op.batch_alter_table('evaluation_fact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_fact_person_id'))
        batch_op.drop_index('ix_evaluation_fact_cohort')

    op.drop_table('evaluation_fact')
