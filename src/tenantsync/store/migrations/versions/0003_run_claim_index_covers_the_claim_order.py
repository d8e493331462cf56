"""the claim index covers the whole claim order (status, created_at, id)

A claim takes the oldest queued run ``ORDER BY created_at, id``. With the index on
(status, created_at) only, PostgreSQL sorted every queued run for each claim whenever its
statistics were stale (as right after a burst of runs was queued): 14 ms per claim with
3,000 runs queued. With id in the index the first queued run is read off the index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 22:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index("ix_run_claim")
        batch_op.create_index("ix_run_claim", ["status", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_index("ix_run_claim")
        batch_op.create_index("ix_run_claim", ["status", "created_at"], unique=False)
