"""console accounts get a session epoch, so changing a password ends the account's other sessions

Session cookies carry the epoch they were signed in under; raising it on a password change
signs out every session but the one that made the change. Existing rows start at 0, which is
also what cookies issued before this revision are read as, so nobody is signed out by the
upgrade itself.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('console_account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('console_account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
