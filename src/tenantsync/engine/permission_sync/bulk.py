"""Writing many rows at the driver's speed inside the session's transaction: COPY on
PostgreSQL, executemany of plain tuples on SQLite. Values are converted once per distinct
value with the column types' own bind processors, so rows read back exactly as the ORM
would have written them; the per-row cost is the driver's, not SQLAlchemy's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

CHUNK = 50_000

Processor = Callable[[Any], Any]


class BulkWriter:
    """Inserts tuples of ``columns`` into ``table`` through the session's connection."""

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
        iterator = iter(rows)
        while chunk := list(islice(iterator, CHUNK)):
            self.connection.exec_driver_sql(sql, chunk)
            count += len(chunk)
        return count
