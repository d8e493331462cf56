"""Tables for real sizes: sortable columns with a stable order, page sizes, CSV streamed.

A table declares its columns once (:class:`Column`: key, title, the SQL it sorts by). The
page reads ``sort`` (``name`` or ``-name``) and ``per_page`` from the query string; an
unknown value means the table's default, never an error. Every order ends with the row's id,
so equal values keep one order from page to page; a column may put the rows that have no
value last whichever way it sorts (SQLite and PostgreSQL disagree on where NULL goes). An
export writes the same filtered and sorted set as CSV, row by row from a streamed query, so
its memory does not grow with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# Rows fetched per round from a streamed query (a server-side cursor on PostgreSQL).
EXPORT_BATCH = 1000
# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A statement of any columns (one entity, or several columns).
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Column:
    """A sortable column: its key in the URL, its title, the expression it sorts by, and
    whether rows without a value come last in both directions."""

    key: str
    title: str
    expression: Any
    nulls_last: bool = False


@dataclass(frozen=True)
class Sort:
    """A column key and a direction."""

    key: str
    descending: bool = False

    @property
    def param(self) -> str:
        """How the sort is written in the URL."""
        return f"-{self.key}" if self.descending else self.key

    def toggled(self, key: str) -> str:
        """The URL value that sorts by ``key``: ascending, or the other way if it is this one."""
        return f"-{key}" if key == self.key and not self.descending else key


def parse_sort(text: str, columns: Sequence[Column], default: Sort) -> Sort:
    """The sort ``text`` asks for (``key`` or ``-key``); the default if no column has the key."""
    text = text.strip()
    descending = text.startswith("-")
    key = text.removeprefix("-")
    if any(c.key == key for c in columns):
        return Sort(key, descending)
    return default


def ordered(stmt: AnySelect, sort: Sort, columns: Sequence[Column], tiebreak: Any) -> AnySelect:
    """``stmt`` ordered by the sort's column, then by ``tiebreak`` in the same direction."""
    column = next(c for c in columns if c.key == sort.key)
    first = column.expression.desc() if sort.descending else column.expression.asc()
    if column.nulls_last:
        first = first.nulls_last()
    return stmt.order_by(first, tiebreak.desc() if sort.descending else tiebreak.asc())


def page_size(text: str) -> int:
    """The page size asked for, if it is one offered; the default otherwise."""
    text = text.strip()
    return int(text) if text.isdigit() and int(text) in PAGE_SIZES else DEFAULT_PAGE_SIZE


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a value that would start a formula gets a
    leading apostrophe (the OWASP advice against CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    """The CSV file of ``rows`` under ``header``, as UTF-8 chunks of about a thousand rows.

    A byte-order mark first, so spreadsheet programs read the names' accents right.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    first = True
    for count, row in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in row])
        if count % EXPORT_BATCH == 0:
            yield _drain(buffer, first)
            first = False
    yield _drain(buffer, first)


def _drain(buffer: io.StringIO, first: bool) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return ("\ufeff" + text if first else text).encode()
