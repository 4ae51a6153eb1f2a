"""screening youth: one index on (youth_id, agency_id, status, completed_at) for a record's own screenings

The record page asks when the agency should screen the youth again (its latest completed screening of them that
is due), and the referral form for the agency's latest completed screening of the youth. With an index on youth_id
alone, SQLite (which has no statistics unless ANALYZE runs) preferred the report index on (status, agency_id,
...), which matches two of the question's terms, and read every completed screening of the agency to find the
youth's: 3 ms at an agency of 4,000 people, and more with every screening. This index matches every term and
gives the newest first on both engines; it replaces the index on youth_id alone, its leading part.

Revision ID: 0020_screening_youth
Revises: 0019_consent_lookup
Create Date: 2026-12-07 14:15:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0020_screening_youth'
down_revision: str | None = '0019_consent_lookup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_screening_youth', 'screening', ['youth_id', 'agency_id', 'status', 'completed_at'], unique=False
    )
    op.drop_index('ix_screening_youth_id', table_name='screening')


def downgrade() -> None:
    op.create_index('ix_screening_youth_id', 'screening', ['youth_id'], unique=False)
    op.drop_index('ix_screening_youth', table_name='screening')
