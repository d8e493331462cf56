"""One definition of chunked writes: bounded lists for IN clauses, Core inserts in chunks,
and inserts at the driver's speed (COPY on PostgreSQL, executemany of tuples on SQLite).

Every bulk path of the store and the engine goes through here, so a limit (SQLite's bound
parameters, PostgreSQL's message size) is respected in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

# Items per IN list: far below SQLite's 32,766 bound parameters, small enough for a
# PostgreSQL plan to stay cheap.
IN_CHUNK = 500
# Rows per Core INSERT: few round trips, and a run with a hundred thousand rows never holds
# all of them as bound parameters at once.
INSERT_CHUNK = 2000
# Rows per executemany of plain tuples (the driver's own loop, no SQLAlchemy per row).
DRIVER_CHUNK = 50_000

T = TypeVar("T")
Processor = Callable[[Any], Any]


def chunks(items: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, in order (consumes ``items`` lazily)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def insert_chunked(
    session: Session, table: Table, rows: Iterable[dict[str, Any]], size: int = INSERT_CHUNK
) -> int:
    """Insert ``rows`` into ``table`` with Core executemany, ``size`` rows at a time; the count.

    Core, not the ORM: the rows need no identity map, and building them lazily keeps a
    large write from holding every row in memory.
    """
    count = 0
    for batch in chunks(rows, size):
        session.execute(insert(table), batch)
        count += len(batch)
    return count


class BulkWriter:
    """Inserts tuples of ``columns`` into ``table`` through the session's connection.

    Values are converted once per distinct value with the column types' own bind
    processors (:meth:`bind`), so rows read back exactly as the ORM would have written
    them; the per-row cost is the driver's, not SQLAlchemy's.
    """

    def __init__(self, session: Session, table: Table, columns: Sequence[str]) -> None:
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self.table = table
        self.columns = list(columns)
        self._processors: list[Processor | None] = [
            table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect)
            for name in self.columns
        ]

    def bind(self, column: str, value: Any) -> Any:
        """``value`` as the driver gets it for ``column`` (use for values shared by rows)."""
        processor = self._processors[self.columns.index(column)]
        bound = value if processor is None or value is None else processor(value)
        if isinstance(bound, dict | list):
            # JSON the driver would adapt itself (psycopg); COPY takes its text form.
            return json.dumps(bound)
        return bound

    def write(self, rows: Iterable[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (values already bound with :meth:`bind` where types need it)."""
        names = ", ".join(f'"{name}"' for name in self.columns)
        count = 0
        if self.dialect.name == "postgresql":
            driver = self.connection.connection.driver_connection
            assert driver is not None
            copy_sql = f"COPY {self.table.name} ({names}) FROM STDIN"
            with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        marks = ", ".join("?" for _ in self.columns)
        # Names come from the table's metadata, never from input.
        sql = f"INSERT INTO {self.table.name} ({names}) VALUES ({marks})"  # noqa: S608
        for batch in chunks(rows, DRIVER_CHUNK):
            self.connection.exec_driver_sql(sql, batch)
            count += len(batch)
        return count
