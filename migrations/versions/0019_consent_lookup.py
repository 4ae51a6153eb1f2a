"""consent lookup: one index on (person_id, to_agency_id, from_agency_id) for the question every shared read asks

"Is there a consent about this person from that agency to this one?" is asked, correlated, for each row a shared
page, a referral check or an export reads. With an index on each column alone, SQLite (which has no statistics
unless ANALYZE runs) chose the one on to_agency_id and read every consent to the agency for each row: the check
that cancels lapsed referrals, run before every page that lists referrals, took 0.5 s at an agency with 2,000
referrals and 4,000 consents, and four times as long at twice as many. The index on the three columns answers it
in one probe on both engines; it replaces the index on person_id alone, its leading part.

Revision ID: 0019_consent_lookup
Revises: 0018_evaluation_rollup
Create Date: 2026-12-07 14:10:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0019_consent_lookup'
down_revision: str | None = '0018_evaluation_rollup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_consent_person_to_from', 'consent', ['person_id', 'to_agency_id', 'from_agency_id'], unique=False
    )
    op.drop_index('ix_consent_person_id', table_name='consent')


def downgrade() -> None:
    op.create_index('ix_consent_person_id', 'consent', ['person_id'], unique=False)
    op.drop_index('ix_consent_person_to_from', table_name='consent')
