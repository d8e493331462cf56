"""a run's changes found by action and entity: index change records by (run, action, entity)

A run's changes tab (and its CSV export, and the API's change log) narrows the run's change
records by action and entity, and sorts them by action. With only (run_id, id) indexed,
PostgreSQL read every record of a 100,000-change run to find the three it moved (about
85 ms a page); (run_id, action, entity) finds them at once (about 1 ms), narrows the tab's
other filters to their rows (70 ms down to 30 ms), and counts a run's records and sorts
them by action off an index that stays small (a run has few distinct keys, so PostgreSQL
keeps each once). The id is left out on purpose: with it every entry is distinct, the index
grows several times, and the entity filter and the sort by action got slower. An index
only: nothing stored changes, and the downgrade drops it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_change_record_run_action_entity"


def upgrade() -> None:
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.create_index(INDEX, ["run_id", "action", "entity"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("change_record", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
