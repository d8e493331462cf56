"""the engine core's model: where a mailbox lives, links to each source's ids, per-mailbox
sync state, and what a run needs to stop, wait and report

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
* ``mailbox_sync_state``: per task and mailbox, a watermark or delta link, the last full
  reconciliation and a state (pending, healthy, skipped, attention with the reason).
  Mailbox permission sync kept this as one JSON document per task in ``sync_state``,
  rewritten whole by every run and blind to why a mailbox failed. The documents are moved
  into rows (each remembered mailbox healthy, its change stamp the watermark, its entries
  the row's data) rather than dropped: dropping is safe (the next run would read every
  mailbox again) but costs a full read, one Exchange call per mailbox, right after the
  upgrade. Mailboxes removed from the store since are left out.
* A run can stop at the removal guard and wait for confirmation (status
  ``awaiting_confirmation``, ``stop_reason``, ``review``: the removals to confirm), report
  instead of changing things (``report``), and be queued again after a transient failure
  (``not_before``, ``attempt_log``). Run statuses are stored as text (the enum is not a
  database type, on PostgreSQL either), so the new status needs no ALTER TYPE.
* A grant's origin is stored once. ``delegate_grant`` kept it twice, as ``origin``
  ("task:<id>" or "manual") beside ``origin_task_id``; only ``origin_task_id`` stays (NULL:
  a manual grant, ``granted_by`` the person). With NULL meaning "a person", a deleted
  task's grants can no longer stay behind with their task id set to NULL (they would turn
  into manual grants): they go with their task (ON DELETE CASCADE), and the grants of tasks
  deleted before this revision, which no sync maintained any more, are deleted here. One
  grant per (mailbox, delegate, right, origin) is kept by a unique constraint with the task
  id (per task) and a partial unique index WHERE origin_task_id IS NULL (among manual
  grants, whose NULLs never clash), which SQLite and PostgreSQL both enforce and reflect.
  (A unique index on COALESCE(origin_task_id, 0) would do the same, but SQLite's
  reflection skips expression indexes, so the schema check could not see it.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

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
MAILBOX_STATE = sa.Enum(
    "pending",
    "healthy",
    "skipped",
    "attention",
    name="mailbox_state",
    native_enum=False,
    length=32,
)
PERMISSION_KEY = "permission_sync"
PERMISSION_FEATURE = "mailbox_permission_sync"
CHUNK = 2000

SYNC_STATE = sa.table(
    "sync_state",
    sa.column("task_id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
MAILBOX_SYNC_STATE = sa.table(
    "mailbox_sync_state",
    sa.column("task_id", sa.Integer),
    sa.column("mailbox_id", sa.Integer),
    sa.column("feature", sa.String),
    sa.column("watermark", sa.String),
    sa.column("state", sa.String),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON),
)

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

    op.create_table(
        "mailbox_sync_state",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=64), nullable=False),
        sa.Column("watermark", sa.String(length=255), nullable=True),
        sa.Column("delta_link", sa.Text(), nullable=True),
        sa.Column("last_full_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", MAILBOX_STATE, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailbox.id"],
            name=op.f("fk_mailbox_sync_state_mailbox_id_mailbox"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["scheduled_task.id"],
            name=op.f("fk_mailbox_sync_state_task_id_scheduled_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "mailbox_id", name=op.f("pk_mailbox_sync_state")),
    )
    with op.batch_alter_table("mailbox_sync_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mailbox_sync_state_mailbox_id"), ["mailbox_id"], unique=False
        )
    _permission_state_into_rows()

    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("review", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("report", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_log", sa.JSON(), server_default="[]", nullable=False)
        )

    _grant_origin_stored_once()


def _grant_origin_stored_once() -> None:
    op.execute("DELETE FROM delegate_grant WHERE origin <> 'manual' AND origin_task_id IS NULL")
    op.execute("UPDATE delegate_grant SET origin_task_id = NULL WHERE origin = 'manual'")
    with op.batch_alter_table("delegate_grant", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_delegate_grant_mailbox_id_delegate_id_right_origin", type_="unique"
        )
        batch_op.drop_index("ix_delegate_grant_origin")
        batch_op.drop_constraint(
            "fk_delegate_grant_origin_task_id_scheduled_task", type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_delegate_grant_origin_task_id_scheduled_task"),
            "scheduled_task",
            ["origin_task_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_column("origin")
        batch_op.create_index(
            batch_op.f("ix_delegate_grant_origin_task_id"), ["origin_task_id"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_delegate_grant_mailbox_id_delegate_id_right_origin_task_id"),
            ["mailbox_id", "delegate_id", "right", "origin_task_id"],
        )
    op.create_index(
        "uq_delegate_grant_manual",
        "delegate_grant",
        ["mailbox_id", "delegate_id", "right"],
        unique=True,
        sqlite_where=sa.text("origin_task_id IS NULL"),
        postgresql_where=sa.text("origin_task_id IS NULL"),
    )


def _grant_origin_in_two_columns() -> None:
    """The downgrade's way back: ``origin`` written out again from ``origin_task_id``."""
    op.drop_index("uq_delegate_grant_manual", table_name="delegate_grant")
    with op.batch_alter_table("delegate_grant", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_delegate_grant_mailbox_id_delegate_id_right_origin_task_id", type_="unique"
        )
        batch_op.add_column(sa.Column("origin", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE delegate_grant SET origin = CASE WHEN origin_task_id IS NULL THEN 'manual' "
        "ELSE 'task:' || CAST(origin_task_id AS VARCHAR(20)) END"
    )
    with op.batch_alter_table("delegate_grant", schema=None) as batch_op:
        batch_op.alter_column("origin", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_index(batch_op.f("ix_delegate_grant_origin_task_id"))
        batch_op.drop_constraint(
            "fk_delegate_grant_origin_task_id_scheduled_task", type_="foreignkey"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_delegate_grant_origin_task_id_scheduled_task"),
            "scheduled_task",
            ["origin_task_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_delegate_grant_origin", ["origin"], unique=False)
        batch_op.create_unique_constraint(
            "uq_delegate_grant_mailbox_id_delegate_id_right_origin",
            ["mailbox_id", "delegate_id", "right", "origin"],
        )


def _permission_state_into_rows() -> None:
    """Each permission sync task's remembered mailboxes (state version 2) become rows."""
    conn = op.get_bind()
    live = set(conn.execute(sa.text("SELECT id FROM mailbox")).scalars())
    now = datetime.now(UTC)
    documents = conn.execute(
        sa.select(SYNC_STATE.c.task_id, SYNC_STATE.c.value).where(
            SYNC_STATE.c.key == PERMISSION_KEY
        )
    ).all()
    for task_id, value in documents:
        if not isinstance(value, dict) or value.get("version") != 2:
            continue  # of no version a run reads: it remembers nothing either way
        rows = [
            {
                "task_id": task_id,
                "mailbox_id": int(mid),
                "feature": PERMISSION_FEATURE,
                "watermark": stamp,
                "state": "healthy",
                "updated_at": now,
                "data": {"entries": entries},
            }
            for mid, (stamp, entries) in (value.get("mailboxes") or {}).items()
            if int(mid) in live
        ]
        for start in range(0, len(rows), CHUNK):
            conn.execute(MAILBOX_SYNC_STATE.insert(), rows[start : start + CHUNK])
        task_level = {k: value.get(k) for k in ("last_full_at", "rights", "unresolved")}
        _set_document(conn, task_id, {"version": 3, **task_level}, now)


def _rows_into_permission_state() -> None:
    """The downgrade's way back: healthy rows into each task's document (version 2)."""
    conn = op.get_bind()
    now = datetime.now(UTC)
    documents = conn.execute(
        sa.select(SYNC_STATE.c.task_id, SYNC_STATE.c.value).where(
            SYNC_STATE.c.key == PERMISSION_KEY
        )
    ).all()
    for task_id, value in documents:
        if not isinstance(value, dict) or value.get("version") != 3:
            continue
        rows = conn.execute(
            sa.select(
                MAILBOX_SYNC_STATE.c.mailbox_id,
                MAILBOX_SYNC_STATE.c.watermark,
                MAILBOX_SYNC_STATE.c.data,
            ).where(
                MAILBOX_SYNC_STATE.c.task_id == task_id,
                MAILBOX_SYNC_STATE.c.feature == PERMISSION_FEATURE,
                MAILBOX_SYNC_STATE.c.state == "healthy",
            )
        )
        mailboxes = {
            str(mid): [watermark, (data or {}).get("entries", [])]
            for mid, watermark, data in rows
        }
        _set_document(conn, task_id, {**value, "version": 2, "mailboxes": mailboxes}, now)


def _set_document(conn: Any, task_id: int, value: dict[str, Any], now: datetime) -> None:
    conn.execute(
        SYNC_STATE.update()
        .where(SYNC_STATE.c.task_id == task_id, SYNC_STATE.c.key == PERMISSION_KEY)
        .values(value=value, updated_at=now)
    )


def downgrade() -> None:
    # Before this revision a threshold stop ended as a warning with the reason as its error
    # (which the console read as "awaits confirmation"): runs awaiting one go back to that.
    op.execute(
        "UPDATE run SET status = 'warning', "
        "error = COALESCE(error, stop_reason, 'awaiting confirmation') "
        "WHERE status = 'awaiting_confirmation'"
    )
    # Dropped in place (SQLite 3.35+): a batch copy of run or mailbox would drop the table,
    # and with foreign keys on, SQLite empties it first, cascading to change records,
    # aliases and grants.
    with op.batch_alter_table("run", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("attempt_log")
        batch_op.drop_column("not_before")
        batch_op.drop_column("report")
        batch_op.drop_column("review")
        batch_op.drop_column("stop_reason")
    _grant_origin_in_two_columns()
    _rows_into_permission_state()
    with op.batch_alter_table("mailbox_sync_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_sync_state_mailbox_id"))
    op.drop_table("mailbox_sync_state")
    with op.batch_alter_table("source_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_link_organization_id"))
        batch_op.drop_index(batch_op.f("ix_source_link_mailbox_id"))
        batch_op.drop_index(batch_op.f("ix_source_link_group_id"))
    op.drop_table("source_link")
    with op.batch_alter_table("mailbox", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("recipient_type")
        batch_op.drop_column("location")
