"""youth search keys: keyed blind indexes of name prefixes and case-number parts, per agency link

Adds `youth_search_key` (link id, key). The keys are HMACs made with the index key, which a migration
does not hold, so records created before this migration have none: the app indexes them
(`tellonce reindex-search`, which `tellonce serve` runs at start-up; it is idempotent).

Revision ID: 0007_youth_search_keys
Revises: 0006_carried_answers_confirmed
Create Date: 2026-12-06 05:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0007_youth_search_keys'
down_revision: str | None = '0006_carried_answers_confirmed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('youth_search_key',
    sa.Column('link_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['youth_link.id'], name=op.f('fk_youth_search_key_link_id_youth_link')),
    sa.PrimaryKeyConstraint('link_id', 'key', name=op.f('pk_youth_search_key'))
    )
    with op.batch_alter_table('youth_search_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_youth_search_key_key'), ['key'], unique=False)


def downgrade() -> None:
    # Going down forgets the search keys; upgrading again and running `tellonce reindex-search` rebuilds them.
    with op.batch_alter_table('youth_search_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_youth_search_key_key'))

    op.drop_table('youth_search_key')
