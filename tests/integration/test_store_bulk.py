"""Chunked writes: every row lands whatever the chunk size, and rows written at the driver's
speed read back exactly as the ORM would have written them."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select

from tenantsync.store.bulk import BulkWriter, chunks, insert_chunked
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, Mailbox, MailboxKind
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org


def test_chunks_keep_order_and_never_exceed_their_size() -> None:
    assert list(chunks(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks([], 3)) == []
    assert list(chunks(iter(range(4)), 2)) == [[0, 1], [2, 3]]


def test_a_chunked_insert_writes_every_row_across_chunk_boundaries(db: Database) -> None:
    now = utcnow()
    with db.session() as session:
        org = make_org(session)
        rows = (
            {
                "organization_id": org.id,
                "primary_address": f"u{i}@contoso.com",
                "display_name": f"User {i}",
                "kind": MailboxKind.USER,
                "licensed": True,
                "enabled": True,
                "attributes": {"n": i},
                "first_seen": now,
                "last_seen": now,
            }
            for i in range(11)
        )
        written = insert_chunked(session, cast(Table, Mailbox.__table__), rows, size=4)
    with db.session() as session:
        stored = session.scalars(select(Mailbox).order_by(Mailbox.id)).all()
    assert written == 11
    assert [m.primary_address for m in stored] == [f"u{i}@contoso.com" for i in range(11)]
    assert [m.attributes for m in stored] == [{"n": i} for i in range(11)]
    assert all(m.billable for m in stored)


def test_rows_written_at_driver_speed_read_back_as_the_orm_writes_them(db: Database) -> None:
    at = utcnow()
    with db.session() as session:
        writer = BulkWriter(
            session,
            cast(Table, AuditEntry.__table__),
            ("at", "actor", "action", "target", "detail"),
        )
        bound_at = writer.bind("at", at)
        count = writer.write(
            (bound_at, f"admin{i}@contoso.com", "test", "", writer.bind("detail", {"i": i}))
            for i in range(3)
        )
    with db.session() as session:
        stored = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert count == 3
    assert [(e.actor, e.detail) for e in stored] == [
        (f"admin{i}@contoso.com", {"i": i}) for i in range(3)
    ]
    assert all(abs((e.at - at).total_seconds()) < 1 and e.at.tzinfo is not None for e in stored)
