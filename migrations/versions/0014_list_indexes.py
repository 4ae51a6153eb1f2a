"""list indexes: the youth list and the referral lists read a page at a time in the order of an index

The youth list pages an agency's records newest added first by (created_at, id) of the agency's link, and
the referral lists an agency's received or sent referrals by (status_changed_at, id); each page is then a
bounded range of one index, whatever the number of rows. The plain indexes on the agency columns are
dropped: each is the leading part of one of these.

Revision ID: 0014_list_indexes
Revises: 0013_report_columns
Create Date: 2026-12-06 12:40:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0014_list_indexes'
down_revision: str | None = '0013_report_columns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    ('youth_link', 'ix_youth_link_agency_created'): ['agency_id', 'created_at', 'id'],
    ('referral', 'ix_referral_to_changed'): ['to_agency_id', 'status_changed_at', 'id'],
    ('referral', 'ix_referral_from_changed'): ['from_agency_id', 'status_changed_at', 'id'],
}
REPLACED = {
    ('youth_link', 'ix_youth_link_agency_id'): 'agency_id',
    ('referral', 'ix_referral_to_agency_id'): 'to_agency_id',
    ('referral', 'ix_referral_from_agency_id'): 'from_agency_id',
}


def upgrade() -> None:
    for (table, name), columns in INDEXES.items():
        op.create_index(name, table, columns, unique=False)
    for table, name in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for (table, name), column in REPLACED.items():
        op.create_index(name, table, [column], unique=False)
    for table, name in reversed(INDEXES):
        op.drop_index(name, table_name=table)
