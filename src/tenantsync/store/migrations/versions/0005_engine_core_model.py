"""the engine core's model: where a mailbox lives, and links to each source's ids

Hybrid planning, calendar replication and the on-premises connection all plug into what
this revision adds.

* Where a mailbox lives. Exchange says it exactly (RecipientTypeDetails), but the store
  kept only the mailbox's kind, so a RemoteUserMailbox read as an ordinary user mailbox.
  ``mailbox.location`` (cloud, on_premises, remote) and ``mailbox.recipient_type`` keep
  it. Every mailbox synced so far came from Exchange Online or Graph and starts as cloud
  with its recipient type unknown; the next full read of its user sync fills both in.
* ``source_link``: which of our mailboxes and source groups each connection's ids name,
  so a second source (on-premises Exchange and AD) can name the same objects by its own
  ids. Mailboxes synced so far are linked here to their task's connection; source groups
  are linked by the next run of the user sync that reads them (which connection read a
  group was never stored).

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
LINK_KIND = sa.Enum("mailbox", "group", name="link_kind", native_enum=False, length=32)

# Every mailbox a task synced through a connection, once per source id (the oldest row).
BACKFILL_LINKS = """
INSERT INTO source_link
    (organization_id, connection_id, object_kind, mailbox_id, group_id, source_id, linked_at)
SELECT m.organization_id, t.connection_id, 'mailbox', MIN(m.id), NULL, m.source_id,
       CURRENT_TIMESTAMP
FROM mailbox m JOIN scheduled_task t ON t.id = m.synced_by_task_id
WHERE m.source_id IS NOT NULL AND t.connection_id IS NOT NULL
GROUP BY m.organization_id, t.connection_id, m.source_id
"""


def upgrade() -> None:
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("location", LOCATION, server_default="cloud", nullable=False)
        )
        batch_op.add_column(sa.Column("recipient_type", sa.String(length=64), nullable=True))

    op.create_table(
        "source_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("object_kind", LINK_KIND, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.String(length=255), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(object_kind = 'mailbox' AND mailbox_id IS NOT NULL AND group_id IS NULL) OR "
            "(object_kind = 'group' AND group_id IS NOT NULL AND mailbox_id IS NULL)",
            name=op.f("ck_source_link_one_object"),
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connection.id"],
            name=op.f("fk_source_link_connection_id_connection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["source_group.id"],
            name=op.f("fk_source_link_group_id_source_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
            name=op.f("fk_source_link_mailbox_id_mailbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_source_link_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_link")),
        sa.UniqueConstraint(
            "connection_id",
            "object_kind",
            "source_id",
            name=op.f("uq_source_link_connection_id_object_kind_source_id"),
        ),
    )
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_link_group_id"), ["group_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_source_link_mailbox_id"), ["mailbox_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_source_link_organization_id"), ["organization_id"], unique=False
        )
    op.execute(BACKFILL_LINKS)


def downgrade() -> None:
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_link_organization_id"))
        batch_op.drop_index(batch_op.f("ix_source_link_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_source_link_group_id"))
    op.drop_table("source_link")
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        batch_op.drop_column("recipient_type")
        batch_op.drop_column("location")
