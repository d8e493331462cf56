"""Change records: every change a run or a person makes, written at the driver's speed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from tenantsync.store.bulk import BulkWriter
from tenantsync.store.feed import Numbering
from tenantsync.store.models import ChangeRecord
from tenantsync.timeutil import utcnow

_TABLE = cast(Table, ChangeRecord.__table__)
COLUMNS = (
    "run_id",
    "organization_id",
    "at",
    "actor",
    "entity",
    "key",
    "action",
    "before",
    "after",
    "feed_seq",
)


class ChangeLike(Protocol):
    """What a change record is made of (the engine's ``Change``)."""

    @property
    def action(self) -> str: ...

    @property
    def entity(self) -> str: ...

    @property
    def key(self) -> str: ...

    @property
    def before(self) -> dict[str, Any] | None: ...

    @property
    def after(self) -> dict[str, Any] | None: ...


def record_changes(
    session: Session,
    changes: Iterable[ChangeLike],
    *,
    run_id: int | None,
    organization_id: int | None,
    actor: str,
) -> int:
    """One change record per change, in the session's transaction; how many were written.

    Changes of the organization's directory get their change feed numbers here
    (``store.feed``): the organization's feed stays locked until the transaction ends, so
    call this last before committing.
    """
    writer = BulkWriter(session, _TABLE, COLUMNS)
    at = writer.bind("at", utcnow())
    documents = _Documents(writer)
    numbering = Numbering(session, organization_id)
    written = writer.write(
        (
            run_id,
            organization_id,
            at,
            actor,
            c.entity,
            c.key,
            c.action,
            documents.bound("before", c.before),
            documents.bound("after", c.after),
            numbering.number(c.entity),
        )
        for c in changes
    )
    numbering.close()
    return written


class _Documents:
    """Before/after documents bound for the writer, each distinct one serialized once.

    Grant changes repeat a handful of documents (the same group, or none) a million times;
    a mailbox's documents are each its own. Remembering stops once most lookups miss, so a
    run of unique documents does not keep every one of them in memory.
    """

    SAMPLE = 1000

    def __init__(self, writer: BulkWriter) -> None:
        self._writer = writer
        self._seen: dict[tuple[str, tuple[Any, ...]], Any] | None = {}
        self._lookups = 0
        self._hits = 0

    def bound(self, column: str, value: dict[str, Any] | None) -> Any:
        """``value`` as the driver takes it for ``column``."""
        if value is None:
            return None
        if self._seen is None:
            return self._writer.bind(column, value)
        key: tuple[str, tuple[Any, ...]]
        try:
            key = (column, tuple(sorted(value.items())))
            hash(key)
        except TypeError:  # unhashable values: compare by their JSON text
            key = (column, (json.dumps(value, sort_keys=True),))
        self._lookups += 1
        if key in self._seen:
            self._hits += 1
            return self._seen[key]
        bound = self._seen[key] = self._writer.bind(column, value)
        if self._lookups >= self.SAMPLE and self._hits * 2 < self._lookups:
            self._seen = None
        return bound
