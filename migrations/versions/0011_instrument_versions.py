"""instrument versions: the content hash of every instrument version a screening used

Adds `instrument_version` (instrument id and version as the primary key, the content hash, when it was
first seen). It starts empty: the versions existing screenings used are recorded at the next start-up
from the loaded files (trust on first use), and each new screening records its own from then on.

Revision ID: 0011_instrument_versions
Revises: 0010_audit_chains
Create Date: 2026-12-08 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision: str = '0011_instrument_versions'
down_revision: str | None = '0010_audit_chains'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'instrument_version',
        sa.Column('instrument_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('first_seen_at', app.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('instrument_id', 'version', name=op.f('pk_instrument_version')),
    )


def downgrade() -> None:
    op.drop_table('instrument_version')
