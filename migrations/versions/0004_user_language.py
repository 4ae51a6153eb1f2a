"""user language: each person reads TellOnce in their own language (en or es)

Revision ID: 0004_user_language
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_user_language'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts read English, as they did before the choice existed.
    op.add_column(
        'user', sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), server_default='en', nullable=False)
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy would drop and recreate "user", which the
    # foreign keys of its sessions, screenings and audit events refuse once there are any.
    op.drop_column('user', 'language')
