"""Change records: every change a run or a person makes, written at the driver's speed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from tenantsync.store.bulk import BulkWriter
from tenantsync.store.models import ChangeRecord
from tenantsync.timeutil import utcnow

_TABLE = cast(Table, ChangeRecord.__table__)
COLUMNS = ("run_id", "organization_id", "at", "actor", "entity", "key", "action", "before", "after")


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
    """One change record per change, in the session's transaction; how many were written."""
    writer = BulkWriter(session, _TABLE, COLUMNS)
    at = writer.bind("at", utcnow())
    # Before/after documents repeat (the same group, or none): serialize each once.
    documents: dict[tuple[str, tuple[Any, ...]], Any] = {}

    def document(column: str, value: dict[str, Any] | None) -> Any:
        if value is None:
            return None
        key: tuple[str, tuple[Any, ...]]
        try:
            key = (column, tuple(sorted(value.items())))
            hash(key)
        except TypeError:  # unhashable values: compare by their JSON text
            key = (column, (json.dumps(value, sort_keys=True),))
        if key not in documents:
            documents[key] = writer.bind(column, value)
        return documents[key]

    return writer.write(
        (
            run_id,
            organization_id,
            at,
            actor,
            c.entity,
            c.key,
            c.action,
            document("before", c.before),
            document("after", c.after),
        )
        for c in changes
    )
