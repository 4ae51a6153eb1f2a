"""youth page: the self-administered page a youth last had open, so resuming returns there

Revision ID: 0016_youth_page
Revises: 0015_youth_identifiers
Create Date: 2026-12-06 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016_youth_page'
down_revision: str | None = '0015_youth_identifiers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('screening', sa.Column('youth_page', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('screening', 'youth_page')
