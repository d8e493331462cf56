"""the console's tables at real sizes: indexes for the mailbox list's sorts and counts

The mailbox list sorts by a column, then id, one page at a time, and counts what its
filters match. Without an index per sortable column, every page of an organization of
100,000 mailboxes sorted all of them (a jump to page 1,000 by name took 0.6 s on SQLite);
with (organization, column, id, deleted_at) the page's ids are read off the index alone
(deleted_at is the list's live-or-removed filter). The count of live or removed mailboxes
reads (organization, deleted_at, id). A mailbox page's history finds the changes naming
the mailbox by (organization, entity, key) instead of reading every change record of the
organization. Indexes only: nothing stored
changes, and the downgrade drops them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_mailbox_org_deleted": ["organization_id", "deleted_at", "id"],
    "ix_mailbox_org_address": ["organization_id", "primary_address", "id", "deleted_at"],
    "ix_mailbox_org_name": ["organization_id", "display_name", "id", "deleted_at"],
    "ix_mailbox_org_kind": ["organization_id", "kind", "id", "deleted_at"],
    "ix_mailbox_org_last_seen": ["organization_id", "last_seen", "id", "deleted_at"],
    # Sorted by policy group, a page is read group by group, each in id order.
    "ix_mailbox_org_policy": ["organization_id", "policy_group_id", "id", "deleted_at"],
}


CHANGE_INDEX = "ix_change_record_org_entity_key"


def upgrade() -> None:
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.create_index(CHANGE_INDEX, ["organization_id", "entity", "key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.drop_index(CHANGE_INDEX)
    with op.batch_alter_table("mailbox", schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
