"""referrals: closed loop with partner agencies

Adds `referral` (one request to a partner, its status as a FHIR Task code), `referral_screening` (the
screenings it shares, which the access gate reads) and `referral_event` (each status change), and marks
agencies outside TellOnce (`agency.external`, `agency.contact`).

Revision ID: 0008_referrals
Revises: 0007_youth_search_keys
Create Date: 2026-12-06 04:24:46.532222
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision: str = '0008_referrals'
down_revision: str | None = '0007_youth_search_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('person_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('youth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('to_agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('consent_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('urgency', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('recipient_contact_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('prepared_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('preparer_contact_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status_reason_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('status_changed_at', app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipient_case_ref_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('recipient_youth_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_referral_consent_id_consent')),
    sa.ForeignKeyConstraint(['from_agency_id'], ['agency.id'], name=op.f('fk_referral_from_agency_id_agency')),
    sa.ForeignKeyConstraint(['prepared_by'], ['user.id'], name=op.f('fk_referral_prepared_by_user')),
    sa.ForeignKeyConstraint(['recipient_youth_id'], ['youth.id'], name=op.f('fk_referral_recipient_youth_id_youth')),
    sa.ForeignKeyConstraint(['to_agency_id'], ['agency.id'], name=op.f('fk_referral_to_agency_id_agency')),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_referral_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_from_agency_id'), ['from_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status_changed_at'), ['status_changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_to_agency_id'), ['to_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_youth_id'), ['youth_id'], unique=False)

    op.create_table('referral_event',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('referral_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', app.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('by_agency_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.ForeignKeyConstraint(['by_agency_id'], ['agency.id'], name=op.f('fk_referral_event_by_agency_id_agency')),
    sa.ForeignKeyConstraint(['by_user_id'], ['user.id'], name=op.f('fk_referral_event_by_user_id_user')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_event_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_event'))
    )
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_event_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_screening',
    sa.Column('referral_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('screening_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_screening_referral_id_referral')),
    sa.ForeignKeyConstraint(['screening_id'], ['screening.id'], name=op.f('fk_referral_screening_screening_id_screening')),
    sa.PrimaryKeyConstraint('referral_id', 'screening_id', name=op.f('pk_referral_screening'))
    )
    with op.batch_alter_table('referral_screening', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_screening_screening_id'), ['screening_id'], unique=False)

    # Plain ADD COLUMN: a batch copy would recreate "agency", which every foreign key to it refuses.
    op.add_column('agency', sa.Column('external', sa.Boolean(), server_default='0', nullable=False))
    op.add_column('agency', sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))



def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), for the same reason.
    op.drop_column('agency', 'contact')
    op.drop_column('agency', 'external')

    with op.batch_alter_table('referral_screening', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_screening_screening_id'))

    op.drop_table('referral_screening')
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_event_referral_id'))

    op.drop_table('referral_event')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_youth_id'))
        batch_op.drop_index(batch_op.f('ix_referral_to_agency_id'))
        batch_op.drop_index(batch_op.f('ix_referral_status_changed_at'))
        batch_op.drop_index(batch_op.f('ix_referral_status'))
        batch_op.drop_index(batch_op.f('ix_referral_person_id'))
        batch_op.drop_index(batch_op.f('ix_referral_from_agency_id'))
        batch_op.drop_index(batch_op.f('ix_referral_created_at'))

    op.drop_table('referral')
