"""the engine core's model: where a mailbox lives

Hybrid planning needs to know where each mailbox lives. Exchange says it exactly
(RecipientTypeDetails), but the store kept only the mailbox's kind, so a RemoteUserMailbox
read as an ordinary user mailbox. ``mailbox.location`` (cloud, on_premises, remote) and
``mailbox.recipient_type`` keep it. Every mailbox synced so far came from Exchange Online
or Graph and starts as cloud with its recipient type unknown; the next full read of its
user sync fills both in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCATION = sa.Enum(
    "cloud", "on_premises", "remote", name="mailbox_location", native_enum=False, length=32
)


def upgrade() -> None:
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("location", LOCATION, server_default="cloud", nullable=False)
        )
        batch_op.add_column(sa.Column("recipient_type", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.drop_column("recipient_type")
        batch_op.drop_column("location")
