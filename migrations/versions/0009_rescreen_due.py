"""rescreen due: when to screen a youth again, stored on the screening that asked for it

Adds `screening.rescreen_due_on` (a UTC day, indexed for the dashboard's due list) and
`screening.rescreen_instrument_id`. Both stay empty on existing rows, which is right: they were taken
under instrument versions 1.0.0-1.2.0, whose next steps set no date (`screen_again` arrives in 1.3.0).

Revision ID: 0009_rescreen_due
Revises: 0008_referrals
Create Date: 2026-12-06 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009_rescreen_due'
down_revision: str | None = '0008_referrals'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN, not batch_alter_table: on SQLite a batch copy drops and recreates "screening",
# which the foreign keys of its answers, results, revisions and referrals refuse once there are any.


def upgrade() -> None:
    op.add_column('screening', sa.Column('rescreen_due_on', sa.Date(), nullable=True))
    op.add_column(
        'screening', sa.Column('rescreen_instrument_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
    )
    op.create_index(op.f('ix_screening_rescreen_due_on'), 'screening', ['rescreen_due_on'], unique=False)


def downgrade() -> None:
    # SQLite (3.35+) drops a column only once no index names it.
    op.drop_index(op.f('ix_screening_rescreen_due_on'), table_name='screening')
    op.drop_column('screening', 'rescreen_instrument_id')
    op.drop_column('screening', 'rescreen_due_on')
