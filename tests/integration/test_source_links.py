"""Links from a source's ids to our objects: found by (connection, kind, source id), kept in
bulk, moved when the source id names another object now, gone with a purged object."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Table, delete, select
from sqlalchemy.exc import IntegrityError

from tenantsync.store.bulk import insert_chunked
from tenantsync.store.database import Database
from tenantsync.store.links import WHOLE_LISTING, find_linked, find_linked_many, save_links
from tenantsync.store.models import (
    Connection,
    GroupKind,
    LinkKind,
    Mailbox,
    MailboxKind,
    SourceGroup,
    SourceLink,
)
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org


def _setup(db: Database) -> tuple[int, int, int, list[int], int]:
    with db.session() as session:
        org = make_org(session)
        cloud = Connection(organization_id=org.id, name="m365", kind="m365")
        onprem = Connection(organization_id=org.id, name="onprem", kind="m365")
        session.add_all([cloud, onprem])
        mailboxes = [
            Mailbox(
                organization_id=org.id,
                primary_address=f"m{i}@contoso.com",
                kind=MailboxKind.USER,
                source_id=f"aad-{i}",
            )
            for i in range(3)
        ]
        session.add_all(mailboxes)
        group = SourceGroup(
            organization_id=org.id, source_id="aad-g", name="Sales", kind=GroupKind.SECURITY
        )
        session.add(group)
        session.flush()
        return org.id, cloud.id, onprem.id, [m.id for m in mailboxes], group.id


def test_a_source_id_finds_our_object_per_connection_and_kind(db: Database) -> None:
    org, cloud, onprem, (m0, m1, _m2), group = _setup(db)
    with db.session() as session:
        link = {"organization_id": org, "kind": LinkKind.MAILBOX}
        assert save_links(session, **link, connection_id=cloud, links={"aad-0": m0, "aad-1": m1})
        # The other side names the same mailbox by its own id.
        save_links(session, **link, connection_id=onprem, links={"guid-0": m0})
        save_links(
            session,
            organization_id=org,
            connection_id=cloud,
            kind=LinkKind.GROUP,
            links={"aad-g": group},
        )
    with db.session() as session:
        assert find_linked(session, cloud, LinkKind.MAILBOX, "aad-0") == m0
        assert find_linked(session, onprem, LinkKind.MAILBOX, "guid-0") == m0
        assert find_linked(session, onprem, LinkKind.MAILBOX, "aad-0") is None
        assert find_linked(session, cloud, LinkKind.GROUP, "aad-g") == group
        assert find_linked(session, cloud, LinkKind.MAILBOX, "aad-g") is None
        assert find_linked_many(session, cloud, LinkKind.MAILBOX, ["aad-0", "aad-1", "x"]) == {
            "aad-0": m0,
            "aad-1": m1,
        }


def test_saving_links_again_writes_only_what_changed(db: Database) -> None:
    org, cloud, _onprem, (m0, m1, m2), _group = _setup(db)
    link = {"organization_id": org, "connection_id": cloud, "kind": LinkKind.MAILBOX}
    with db.session() as session:
        assert save_links(session, **link, links={"aad-0": m0, "aad-1": m1}) == 2
    with db.session() as session:
        assert save_links(session, **link, links={"aad-0": m0, "aad-1": m1}) == 0
        # aad-1 names another mailbox now (the source re-created it); aad-2 is new.
        assert save_links(session, **link, links={"aad-1": m2, "aad-2": m2}) == 2
    with db.session() as session:
        rows = session.execute(
            select(SourceLink.source_id, SourceLink.mailbox_id).order_by(SourceLink.source_id)
        ).all()
    assert [tuple(r) for r in rows] == [("aad-0", m0), ("aad-1", m2), ("aad-2", m2)]


def test_a_purged_object_takes_its_links_along_and_a_source_id_links_once(
    db: Database,
) -> None:
    org, cloud, _onprem, (m0, m1, _m2), _group = _setup(db)
    link = {"organization_id": org, "connection_id": cloud, "kind": LinkKind.MAILBOX}
    with db.session() as session:
        save_links(session, **link, links={"aad-0": m0, "aad-1": m1})
    with db.session() as session:
        session.execute(delete(Mailbox).where(Mailbox.id == m0))
    with db.session() as session:
        assert find_linked(session, cloud, LinkKind.MAILBOX, "aad-0") is None
        assert find_linked(session, cloud, LinkKind.MAILBOX, "aad-1") == m1
    with db.session() as session:
        session.add(
            SourceLink(
                organization_id=org,
                connection_id=cloud,
                object_kind=LinkKind.MAILBOX,
                mailbox_id=m1,
                source_id="aad-1",
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_a_full_read_worth_of_links_is_saved_once_and_moved_one_by_one(db: Database) -> None:
    # More source ids than WHOLE_LISTING: the stored links are listed whole, not by IN lists.
    count = WHOLE_LISTING + 1
    now = utcnow()
    with db.session() as session:
        org = make_org(session)
        connection = Connection(organization_id=org.id, name="m365", kind="m365")
        session.add(connection)
        session.flush()
        rows = (
            {
                "organization_id": org.id,
                "primary_address": f"u{i}@contoso.com",
                "display_name": "",
                "kind": MailboxKind.USER,
                "licensed": True,
                "enabled": True,
                "attributes": {},
                "first_seen": now,
                "last_seen": now,
                "source_id": f"aad-{i}",
            }
            for i in range(count)
        )
        insert_chunked(session, cast(Table, Mailbox.__table__), rows)
        ids = dict(session.execute(select(Mailbox.source_id, Mailbox.id)).all())
        link = {"organization_id": org.id, "connection_id": connection.id}
    with db.session() as session:
        assert save_links(session, **link, kind=LinkKind.MAILBOX, links=ids) == count
    with db.session() as session:
        assert save_links(session, **link, kind=LinkKind.MAILBOX, links=ids) == 0
        moved = ids | {"aad-0": ids["aad-1"]}
        assert save_links(session, **link, kind=LinkKind.MAILBOX, links=moved) == 1
    with db.session() as session:
        found = find_linked_many(session, connection.id, LinkKind.MAILBOX, ids)
    assert found == moved
