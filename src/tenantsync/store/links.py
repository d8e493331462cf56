"""Links from each source's ids to our objects: look a mailbox or source group up by the
(connection, kind, source id) a source names it with, and keep those links in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from tenantsync.store.bulk import BulkWriter, chunks
from tenantsync.store.models import LinkKind, SourceLink
from tenantsync.timeutil import utcnow

_TABLE = cast(Table, SourceLink.__table__)
COLUMNS = (
    "organization_id",
    "connection_id",
    "object_kind",
    "mailbox_id",
    "group_id",
    "source_id",
    "linked_at",
)
# Above this many source ids, the connection's links are listed whole instead of by IN lists.
WHOLE_LISTING = 5000


def _object_column(kind: LinkKind) -> Any:
    return SourceLink.mailbox_id if kind is LinkKind.MAILBOX else SourceLink.group_id


def find_linked(session: Session, connection_id: int, kind: LinkKind, source_id: str) -> int | None:
    """Our object's id for one source id of the connection, or None when nothing links it."""
    return find_linked_many(session, connection_id, kind, [source_id]).get(source_id)


def find_linked_many(
    session: Session, connection_id: int, kind: LinkKind, source_ids: Iterable[str]
) -> dict[str, int]:
    """Our objects' ids by source id, for those of ``source_ids`` the connection links."""
    column = _object_column(kind)
    found: dict[str, int] = {}
    for batch in chunks(sorted(set(source_ids))):
        rows = session.execute(
            select(SourceLink.source_id, column).where(
                SourceLink.connection_id == connection_id,
                SourceLink.object_kind == kind,
                SourceLink.source_id.in_(batch),
            )
        )
        found.update((sid, oid) for sid, oid in rows if oid is not None)
    return found


def save_links(
    session: Session,
    *,
    organization_id: int,
    connection_id: int,
    kind: LinkKind,
    links: Mapping[str, int],
) -> int:
    """Make every source id of ``links`` point at its object of ours; the links written.

    New source ids are inserted, links that point elsewhere now are moved, the rest are
    left untouched; links of source ids not given stay (a removed object keeps its link).
    """
    name = "mailbox_id" if kind is LinkKind.MAILBOX else "group_id"
    stored = _stored(session, connection_id, kind, links)
    at = utcnow()
    writer = BulkWriter(session, _TABLE, COLUMNS)
    now = writer.bind("linked_at", at)
    kind_value = writer.bind("object_kind", kind)
    written = writer.write(
        (
            organization_id,
            connection_id,
            kind_value,
            oid if kind is LinkKind.MAILBOX else None,
            oid if kind is LinkKind.GROUP else None,
            sid,
            now,
        )
        for sid, oid in links.items()
        if sid not in stored
    )
    moved = [
        {"id": stored[sid][0], name: oid, "linked_at": at}
        for sid, oid in links.items()
        if sid in stored and stored[sid][1] != oid
    ]
    for part in chunks(moved):
        session.execute(update(SourceLink), part)
    return written + len(moved)


def _stored(
    session: Session, connection_id: int, kind: LinkKind, links: Mapping[str, int]
) -> dict[str, tuple[int, int | None]]:
    """(link id, object id) of the links the connection has for the source ids of ``links``."""
    column = _object_column(kind)
    query = select(SourceLink.source_id, SourceLink.id, column).where(
        SourceLink.connection_id == connection_id, SourceLink.object_kind == kind
    )
    if len(links) > WHOLE_LISTING:
        # A full read names (nearly) every object: one listing beats hundreds of IN lists.
        return {sid: (lid, oid) for sid, lid, oid in session.execute(query) if sid in links}
    stored: dict[str, tuple[int, int | None]] = {}
    for batch in chunks(sorted(links)):
        rows = session.execute(query.where(SourceLink.source_id.in_(batch)))
        stored.update((sid, (lid, oid)) for sid, lid, oid in rows)
    return stored
