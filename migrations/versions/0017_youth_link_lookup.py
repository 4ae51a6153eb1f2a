"""youth link lookup: one index on (youth_id, agency_id) for the question every access check asks

"Does this agency hold a link to this youth record?" is asked by every list, page and export, often once per
row. With an index on youth_id and another led by agency_id, SQLite (which has no statistics unless ANALYZE
runs) answered it by reading all of the agency's links for each row: the dashboard's 101 rows cost 20 ms at an
agency of 700 records, and more with every record added. The index on both columns answers it in one probe on
both engines; it replaces the index on youth_id alone, its leading part.

Revision ID: 0017_youth_link_lookup
Revises: 0016_youth_page
Create Date: 2026-12-06 20:30:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0017_youth_link_lookup'
down_revision: str | None = '0016_youth_page'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_youth_link_youth_agency', 'youth_link', ['youth_id', 'agency_id'], unique=False)
    op.drop_index('ix_youth_link_youth_id', table_name='youth_link')


def downgrade() -> None:
    op.create_index('ix_youth_link_youth_id', 'youth_link', ['youth_id'], unique=False)
    op.drop_index('ix_youth_link_youth_agency', table_name='youth_link')
