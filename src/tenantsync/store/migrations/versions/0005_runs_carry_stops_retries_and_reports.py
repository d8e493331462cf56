"""runs carry their threshold stop, their retries and their report

A run that meets the removal guard now ends in its own status, awaiting confirmation,
with the stop reason and the keys of the removals it asks to confirm stored on it (the
console and the CLI read them instead of guessing from the status and the error text).
A run whose source failed transiently is queued again with backoff: ``not_before`` holds
it back until then, ``attempt_log`` keeps each failed attempt. ``report`` holds the
output of features whose result is not a list of changes. The status column is a
non-native enum (a string), so the new status needs no change of type.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("review", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("report", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_log", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("attempt_log")
        batch_op.drop_column("not_before")
        batch_op.drop_column("report")
        batch_op.drop_column("review")
        batch_op.drop_column("stop_reason")
