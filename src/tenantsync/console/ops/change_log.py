"""A run's change log at any size: its change records narrowed by the changes tab's filters,
sorted by a column (the order they were made unless asked), a page at a time (each field
before → after) or every one streamed as CSV rows in the same order; delegate grant changes
for super administrators only.

Records are read off their run's indexes, never all of them into memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.ops.grant_data import GRANT_ENTITY
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.console.ops.run_view import (
    EntryFilter,
    contains_pattern,
    dialect_of,
    field_changes,
    hides_grants,
)
from tenantsync.console.ops.tables import EXPORT_BATCH, AnySelect, Column, Sort, ordered
from tenantsync.store.models import ChangeRecord

if TYPE_CHECKING:  # annotations only: importing auth would load FastAPI
    from tenantsync.console.auth import Principal

CHANGE_EXPORT_HEADER = ("at", "action", "entity", "key", "actor", "before", "after")
COLUMNS = (
    # The order the changes were made in (their times are equal within a transaction).
    Column("order", "At", ChangeRecord.id),
    Column("action", "Action", ChangeRecord.action),
    Column("entity", "Entity", ChangeRecord.entity),
    Column("address", "Address", ChangeRecord.key),
)
DEFAULT_SORT = Sort("order")


@dataclass(frozen=True)
class ChangeRow:
    """One change record as the page shows it: each field that changed, before → after."""

    at: datetime
    action: str
    entity: str
    key: str
    fields: list[tuple[str, str, str]]


def change_records(
    session: Session,
    run_id: int,
    f: EntryFilter,
    page: int,
    per_page: int,
    viewer: Principal,
    sort: Sort = DEFAULT_SORT,
) -> Page[ChangeRecord]:
    """One page of a run's change records matching ``f`` that ``viewer`` may see, sorted by
    a column then by the order they were made (that order alone by default)."""
    stmt = _changes(session, select(ChangeRecord), run_id, f, viewer, sort)
    return paginate(session, stmt, page, per_page)


def change_rows(found: Page[ChangeRecord]) -> Page[ChangeRow]:
    """A page of :func:`change_records` as the tab shows it: each field before → after."""
    rows = [
        ChangeRow(c.at, c.action, c.entity, c.key, field_changes(c.before, c.after))
        for c in found.items
    ]
    return Page(rows, found.total, found.page, found.per_page)


def change_export_rows(
    session: Session, run_id: int, f: EntryFilter, viewer: Principal, sort: Sort = DEFAULT_SORT
) -> Iterator[tuple[object, ...]]:
    """Every change record of a run matching ``f`` that ``viewer`` may see (the changes
    tab's rule: delegate grants for super administrators only), in the tab's order, as CSV
    rows (:data:`CHANGE_EXPORT_HEADER`) with before and after as compact JSON,
    streamed a batch at a time."""
    columns = select(
        ChangeRecord.at,
        ChangeRecord.action,
        ChangeRecord.entity,
        ChangeRecord.key,
        ChangeRecord.actor,
        ChangeRecord.before,
        ChangeRecord.after,
    )
    stmt = _changes(session, columns, run_id, f, viewer, sort)
    result: Iterable[tuple[Any, ...]] = session.execute(
        stmt.execution_options(yield_per=EXPORT_BATCH)
    )
    for at, action, entity, key, actor, before, after in result:
        yield (
            at.isoformat(timespec="seconds"),
            action,
            entity,
            key,
            actor,
            _compact(before),
            _compact(after),
        )


def _compact(value: Any) -> str:
    if value is None or value == {}:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _changes(
    session: Session,
    stmt: AnySelect,
    run_id: int,
    f: EntryFilter,
    viewer: Principal,
    sort: Sort,
) -> AnySelect:
    """``stmt`` narrowed to a run's change records matching ``f`` that ``viewer`` may see,
    in ``sort``'s order."""
    stmt = ordered(stmt.where(ChangeRecord.run_id == run_id), sort, COLUMNS, ChangeRecord.id)
    if hides_grants(session, run_id, viewer):
        stmt = stmt.where(ChangeRecord.entity != GRANT_ENTITY)
    if f.action:
        stmt = stmt.where(ChangeRecord.action == f.action)
    if f.entity:
        stmt = stmt.where(ChangeRecord.entity == f.entity)
    if f.address:
        # SQLite's LIKE ignores case already; lower() on each of 100,000 keys costs double.
        key = ChangeRecord.key
        matches = key.like if dialect_of(session) == "sqlite" else key.ilike
        stmt = stmt.where(matches(contains_pattern(f.address), escape="\\"))
    return stmt
