"""The search text of what the ORM writes outside a sync (the console, `apply`, a restore)
follows the names and addresses it folds, and a write that changes none of them (a
last-seen time, a licence flag) costs no refold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from tenantsync.store.database import Database
from tenantsync.store.models import Mailbox, MailboxKind
from tenantsync.store.search import searchable
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_rename_refolds_and_an_unrelated_change_writes_no_search_text(db: Database) -> None:
    with db.session() as session:
        org = make_org(session)
        mailbox = Mailbox(
            organization_id=org.id,
            primary_address="jane@contoso.com",
            display_name="Jane Doe",
            kind=MailboxKind.USER,
        )
        session.add(mailbox)
        session.flush()
        mailbox_id = mailbox.id
        assert mailbox.search_text == searchable("Jane Doe", "jane@contoso.com")
    with statements(db) as sent, db.session() as session:
        found = session.get(Mailbox, mailbox_id)
        assert found is not None
        found.last_seen = utcnow() + timedelta(minutes=5)
        found.licensed = True
        session.flush()
    writes = [s for s in sent if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) == 1 and "search_text" not in writes[0], writes
    with db.session() as session:
        found = session.get(Mailbox, mailbox_id)
        assert found is not None
        found.display_name = "Jane Müller"
        session.flush()
    with db.session() as session:
        text = session.scalars(select(Mailbox.search_text).where(Mailbox.id == mailbox_id)).one()
    assert text == searchable("Jane Müller", "jane@contoso.com") and "muller" in text
