"""The search text of what the ORM writes: organizations, mailboxes and source groups.

A bulk write (the user sync's) names each row's ``search_text`` itself
(``store.search.searchable``); the ORM runs no events for those. After every other flush,
the organizations, mailboxes and source groups it wrote, and the mailboxes whose aliases it
added, changed or removed, are folded again from what is now stored (an alias is written
without its mailbox being touched, so its mailbox cannot fold it from its own attributes). A
row whose folded columns did not change is left as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, event, inspect, select, update
from sqlalchemy.orm import InstanceState, Session
from sqlalchemy.orm.attributes import set_committed_value

from tenantsync.store.bulk import chunks
from tenantsync.store.models.directory import Mailbox, MailboxAlias, Organization, SourceGroup
from tenantsync.store.search import searchable

Folded = type[Organization] | type[Mailbox] | type[SourceGroup]
HELD = "tenantsync.search_text.refolded"
# What each kind of row folds, in order (a mailbox's aliases follow its own columns).
PARTS: dict[Folded, tuple[str, ...]] = {
    Organization: ("name", "display_name"),
    Mailbox: ("display_name", "primary_address"),
    SourceGroup: ("name", "mail"),
}


def refold(session: Session, model: Folded, ids: Iterable[int]) -> None:
    """Write ``search_text`` again for the rows of ``model`` with these ids, from what is
    stored (and, after the flush, on the objects the session holds: the UPDATE bypasses
    them)."""
    table = cast(Table, model.__table__)
    connection = session.connection()
    write = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(search_text=bindparam("folded"))
    )
    for batch in chunks(sorted(ids)):
        columns = [table.c[name] for name in PARTS[model]]
        rows = connection.execute(select(table.c.id, *columns).where(table.c.id.in_(batch)))
        aliases = _aliases(connection, batch) if model is Mailbox else {}
        texts = {row[0]: searchable(*row[1:], *aliases.get(row[0], ())) for row in rows}
        if not texts:
            continue
        connection.execute(write, [{"row_id": i, "folded": t} for i, t in texts.items()])
        # Set on the objects the session holds once the flush has done its own bookkeeping
        # (it would put back a new row's server default over a value set now).
        held = session.info.setdefault(HELD, {})
        held.update({(model, row_id): text for row_id, text in texts.items()})


def _aliases(connection: Connection, mailbox_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for mailbox_id, address in connection.execute(
        select(MailboxAlias.mailbox_id, MailboxAlias.address)
        .where(MailboxAlias.mailbox_id.in_(mailbox_ids))
        .order_by(MailboxAlias.address)
    ):
        found[mailbox_id].append(address)
    return found


def _folded_changed(obj: Organization | Mailbox | SourceGroup) -> bool:
    """Whether a flush changed what the row's search text is folded from (its history is
    still there after the flush; a change of, say, a last-seen time folds nothing)."""
    state: InstanceState[Any] = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in PARTS[type(obj)])


@event.listens_for(Session, "after_flush")
def _refold_flushed(session: Session, _context: Any) -> None:
    written: dict[Folded, set[int]] = defaultdict(set)
    deleted = session.deleted
    for obj in (*session.new, *session.dirty, *deleted):
        if isinstance(obj, MailboxAlias):
            if obj.mailbox_id is not None:
                written[Mailbox].add(obj.mailbox_id)
        elif (
            isinstance(obj, Organization | Mailbox | SourceGroup)
            and obj not in deleted
            and (obj in session.new or _folded_changed(obj))
        ):
            written[type(obj)].add(obj.id)
    for model, ids in written.items():
        refold(session, model, ids)


@event.listens_for(Session, "after_flush_postexec")
def _set_refolded(session: Session, _context: Any) -> None:
    for (model, row_id), text in session.info.pop(HELD, {}).items():
        held = session.identity_map.get(session.identity_key(model, row_id))
        if held is not None:
            set_committed_value(held, "search_text", text)
