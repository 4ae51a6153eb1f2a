"""youth identifiers: the identifiers a partner's system uses for an agency's youth, to match imported responses

An imported QuestionnaireResponse is matched to a youth by its own subject, never by the URL it was posted
to (issue 12 §2). Besides the recipient's pseudonym, the subject may carry an identifier of the partner's
system (an MRN, a client number): an agency records which of its youth each such identifier stands for.
Only a keyed hash of the value is stored, bound to the agency and the system; one identifier names one
youth per agency.

Revision ID: 0015_youth_identifiers
Revises: 0014_list_indexes
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision: str = '0015_youth_identifiers'
down_revision: str | None = '0014_list_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'youth_identifier',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('youth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('system', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('value_index', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('recorded_at', app.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_youth_identifier_agency_id_agency')),
        sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], name=op.f('fk_youth_identifier_recorded_by_user')),
        sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_youth_identifier_youth_id_youth')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_youth_identifier')),
        sa.UniqueConstraint('agency_id', 'system', 'value_index', name='uq_youth_identifier_value'),
    )
    op.create_index(op.f('ix_youth_identifier_youth_id'), 'youth_identifier', ['youth_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_youth_identifier_youth_id'), table_name='youth_identifier')
    op.drop_table('youth_identifier')
