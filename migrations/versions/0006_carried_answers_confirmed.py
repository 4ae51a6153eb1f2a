"""carried answers are confirmed before they count; a revoked consent keeps its reason

Adds `answer.confirmed_at` / `answer.confirmed_by` (a carried answer is shown but never scored until the
youth keeps it, or staff confirm it in a staff-administered mode) and `consent.revoke_reason_enc`.
Carried answers of screenings completed before this migration were scored then: they count as
confirmed at their last change.

Revision ID: 0006_carried_answers_confirmed
Revises: 0005_screening_revisions
Create Date: 2026-12-06 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models


revision: str = '0006_carried_answers_confirmed'
down_revision: str | None = '0005_screening_revisions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', app.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_answer_confirmed_by_user'), 'user', ['confirmed_by'], ['id'])
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoke_reason_enc', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.execute(
        "UPDATE answer SET confirmed_at = updated_at WHERE source = 'carried' AND screening_id IN "
        "(SELECT id FROM screening WHERE status = 'completed')"
    )


def downgrade() -> None:
    # Going down forgets which carried answers were confirmed and why consents were revoked.
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_column('revoke_reason_enc')
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_answer_confirmed_by_user'), type_='foreignkey')
        batch_op.drop_column('confirmed_by')
        batch_op.drop_column('confirmed_at')
