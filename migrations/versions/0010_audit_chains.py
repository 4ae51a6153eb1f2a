"""audit chains: one hash chain per agency (and "system"), each with a head row that appends lock

Adds `audit_event.chain` and `audit_event.position` (unique together) and the table `audit_chain`
(name, position, hash): the head of each chain. Every existing event moves, in `seq` order and with its
hash unchanged, to the legacy chain "global" (positions 0, 1, ...), whose head is its last event; nothing
appends to "global" afterwards, and `audit verify` checks it with the digest it was written with.

Downgrading drops the chains: events appended since then were chained per agency, so the single-chain
verifier of 0009 reports a break at the first of them (their hashes cannot be rewritten without forging).

Revision ID: 0010_audit_chains
Revises: 0009_rescreen_due
Create Date: 2026-12-12 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0010_audit_chains'
down_revision: str | None = '0009_rescreen_due'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD COLUMN (with a default, so existing rows satisfy NOT NULL on SQLite); PostgreSQL then drops
# the defaults, which only the legacy rows needed.


def upgrade() -> None:
    op.create_table(
        'audit_chain',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_audit_chain')),
    )
    op.add_column(
        'audit_event',
        sa.Column('chain', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default='global'),
    )
    op.add_column('audit_event', sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
    op.execute(
        "UPDATE audit_event SET position = numbered.n"
        " FROM (SELECT seq, ROW_NUMBER() OVER (ORDER BY seq) - 1 AS n FROM audit_event) AS numbered"
        " WHERE audit_event.seq = numbered.seq"
    )
    op.execute(
        "INSERT INTO audit_chain (name, position, hash)"
        " SELECT 'global', position, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
    )
    op.create_index('ix_audit_event_chain_position', 'audit_event', ['chain', 'position'], unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('audit_event', 'chain', server_default=None)
        op.alter_column('audit_event', 'position', server_default=None)


def downgrade() -> None:
    # SQLite (3.35+) drops a column only once no index names it.
    op.drop_index('ix_audit_event_chain_position', table_name='audit_event')
    op.drop_column('audit_event', 'position')
    op.drop_column('audit_event', 'chain')
    op.drop_table('audit_chain')
