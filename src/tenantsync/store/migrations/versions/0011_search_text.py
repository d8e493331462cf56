"""the header search off an index: names and addresses stored folded, trigram-indexed

The console's search (the header's, a list's search box, ``users list --search``) finds a
name whatever its case and accents. It folded only what was typed and matched every stored
name against a regular expression standing for all its spellings: a read of every name of
every organization, about 85 ms for 100,000 mailboxes on PostgreSQL before the rows were
even sorted. Organizations, mailboxes and source groups now keep their names and addresses
folded in ``search_text`` (one a line; a mailbox's aliases too, so one index answers for
all three; folded by the application's own ``searchable``, imported here so the rows stored
before read exactly as the ones written after), filled in here for every row stored so
far. A search looks for the folded text with ``LIKE``.

On PostgreSQL, where the ``pg_trgm`` extension is installed or can be (it ships with
PostgreSQL's contrib and is trusted: a database owner may create it), a GIN trigram index
on mailbox and source group ``search_text`` finds the rows containing the text without
reading the others (a few milliseconds for 100,000 mailboxes). Where it cannot be created, the indexes are left out: ``LIKE '%…%'`` is served
by no B-tree (a ``text_pattern_ops`` index serves prefixes only, which the search never
asks for), and the search reads the column instead, still cheaper than the regular
expression. Organizations are few: no index. SQLite has no such index either; ``LIKE``
reads the column in C. The downgrade drops the indexes and the columns (the extension
stays: something else may use it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

from tenantsync.store.search import searchable

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table with its columns folded into search_text, in order.
FOLDED = {
    "organization": ("name", "display_name"),
    "mailbox": ("display_name", "primary_address"),
    "source_group": ("name", "mail"),
}
# PostgreSQL with pg_trgm: index name → its table.
TRIGRAM_INDEXES = {
    "ix_mailbox_search_text_trgm": "mailbox",
    "ix_source_group_search_text_trgm": "source_group",
}
BATCH = 5000


def upgrade() -> None:
    for table in FOLDED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("search_text", sa.Text(), server_default="", nullable=False)
            )
    for table, columns in FOLDED.items():
        _fold(table, columns)
    if op.get_bind().dialect.name == "postgresql" and _trigrams():
        for name, table in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (search_text gin_trgm_ops)")


def _fold(table: str, columns: tuple[str, ...]) -> None:
    """Fill ``search_text`` in ``table`` from ``columns`` (and a mailbox's aliases), a batch
    of rows at a time."""
    conn = op.get_bind()
    names = ", ".join(columns)
    # Names come from this module, never from input.
    read = sa.text(
        f"SELECT id, {names} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}"  # noqa: S608
    )
    write = sa.text(f"UPDATE {table} SET search_text = :text WHERE id = :id")  # noqa: S608
    after = 0
    while rows := conn.execute(read, {"after": after}).all():
        aliases = _aliases(rows[0][0], rows[-1][0]) if table == "mailbox" else {}
        conn.execute(
            write,
            [{"id": r[0], "text": searchable(*r[1:], *aliases.get(r[0], ()))} for r in rows],
        )
        after = rows[-1][0]


def _aliases(first: int, last: int) -> dict[int, list[str]]:
    """The aliases of the mailboxes with ids from ``first`` to ``last``, by mailbox."""
    found: dict[int, list[str]] = {}
    for mailbox_id, address in op.get_bind().execute(
        sa.text(
            "SELECT mailbox_id, address FROM mailbox_alias"
            " WHERE mailbox_id BETWEEN :first AND :last ORDER BY address"
        ),
        {"first": first, "last": last},
    ):
        found.setdefault(mailbox_id, []).append(address)
    return found


def _trigrams() -> bool:
    """Whether pg_trgm is there or could be created (in a savepoint: a refusal must not end
    the migration's transaction)."""
    conn = op.get_bind()
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError:
        return False
    return True


def downgrade() -> None:
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for table in reversed(list(FOLDED)):
        with op.batch_alter_table(table, schema=None, recreate="never") as batch_op:
            batch_op.drop_column("search_text")
