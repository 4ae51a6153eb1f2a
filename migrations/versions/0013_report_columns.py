"""report columns: each screening's month of completion and its domains' levels, stored for reports; the indexes
each list, report and export reads by

Adds `screening.completed_month` (the first day of the UTC month of completion; filled here from completed_at,
in SQL, so every completed screening is counted at once) and `screening_level` (each domain's level of the
current result: reports by domain never decrypt). Existing results get their domain levels from
`app.screenings.report_levels.backfill`, which needs the encryption keys and so runs at `tellonce serve`,
not here. Replaces `ix_screening_agency_id` and `ix_screening_status` with three indexes that begin with them: an
agency's by start time (the dashboard), by completion time and id (export batches), and completed screenings by
agency, month, instrument and level (aggregate reports, read from the index alone).

Revision ID: 0013_report_columns
Revises: 0012_outcomes
Create Date: 2026-12-07 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0013_report_columns'
down_revision: str | None = '0012_outcomes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    'ix_screening_agency_started': ['agency_id', 'started_at', 'id'],
    'ix_screening_agency_completed': ['agency_id', 'status', 'completed_at', 'id'],
    'ix_screening_report': ['status', 'agency_id', 'completed_month', 'instrument_id', 'overall_level'],
}
REPLACED = {'ix_screening_agency_id': 'agency_id', 'ix_screening_status': 'status'}  # each a prefix of one above


def upgrade() -> None:
    op.add_column('screening', sa.Column('completed_month', sa.Date(), nullable=True))  # plain: see 0009
    if op.get_bind().dialect.name == 'postgresql':
        month = "date_trunc('month', completed_at AT TIME ZONE 'UTC')::date"
    else:  # SQLite keeps naive UTC text; a Date is 'YYYY-MM-DD'
        month = "date(completed_at, 'start of month')"
    op.execute(f'UPDATE screening SET completed_month = {month} WHERE completed_at IS NOT NULL')
    op.create_table(
        'screening_level',
        sa.Column('screening_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('domain_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ['screening_id'], ['screening.id'], name=op.f('fk_screening_level_screening_id_screening')
        ),
        sa.PrimaryKeyConstraint('screening_id', 'domain_id', name=op.f('pk_screening_level')),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, 'screening', columns, unique=False)
    for name in REPLACED:
        op.drop_index(name, table_name='screening')


def downgrade() -> None:
    for name, column in REPLACED.items():
        op.create_index(name, 'screening', [column], unique=False)
    for name in reversed(INDEXES):
        op.drop_index(name, table_name='screening')
    op.drop_table('screening_level')
    op.drop_column('screening', 'completed_month')  # plain, not a batch copy: see 0009
