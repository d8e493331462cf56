"""Seconds between two stored moments, computed by the database (to sort or filter by).

SQLite keeps a moment as text, so the difference of two is the difference of their Julian
days (rounded to the millisecond: a Julian day's double holds about 50 microseconds, and
two equal durations must compare equal so that the id decides between them); PostgreSQL
subtracts its timestamps exactly. Either side missing gives NULL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SECONDS_A_DAY = 86_400


class _SecondsBetween(FunctionElement[float]):
    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(_SecondsBetween, "sqlite")
def _sqlite(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"round((julianday({end}) - julianday({start})) * {SECONDS_A_DAY}, 3)"


@compiles(_SecondsBetween)
def _postgresql(element: _SecondsBetween, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"extract(epoch from ({end}) - ({start}))"


def seconds_between(start: Any, end: Any) -> ColumnElement[float]:
    """``end - start`` in seconds as the database computes it; NULL if either is NULL."""
    return _SecondsBetween(start, end)
