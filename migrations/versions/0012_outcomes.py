"""outcomes: what was later learned about a screened youth, and each screening's stored total

Adds `outcome` (program evaluation's reference standard, recorded per agency on its youth record; the
person is always read through the record, so undoing a link moves the outcomes with it) and `screening.total_score` (the instrument's
declared total, stored at completion beside the overall level). Screenings completed before this
revision keep no total: the performance report counts them and says so.

Revision ID: 0012_outcomes
Revises: 0011_instrument_versions
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision: str = '0012_outcomes'
down_revision: str | None = '0011_instrument_versions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('screening', sa.Column('total_score', sa.Float(), nullable=True))
    op.create_table(
        'outcome',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('youth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('learned_on', sa.Date(), nullable=False),
        sa.Column('follow_up_months', sa.Integer(), nullable=True),
        sa.Column('note_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('recorded_at', app.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', app.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('withdrawn_reason_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_outcome_agency_id_agency')),
        sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], name=op.f('fk_outcome_recorded_by_user')),
        sa.ForeignKeyConstraint(['withdrawn_by'], ['user.id'], name=op.f('fk_outcome_withdrawn_by_user')),
        sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_outcome_youth_id_youth')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome')),
    )
    for column in ('youth_id', 'agency_id', 'kind', 'learned_on'):
        op.create_index(op.f(f'ix_outcome_{column}'), 'outcome', [column], unique=False)


def downgrade() -> None:
    for column in ('youth_id', 'agency_id', 'kind', 'learned_on'):
        op.drop_index(op.f(f'ix_outcome_{column}'), table_name='outcome')
    op.drop_table('outcome')
    op.drop_column('screening', 'total_score')  # plain, not a batch copy: see 0009
