"""User sync links the connection's ids to every mailbox and group it writes, so another
source can name the same objects by its own ids; a removed mailbox keeps its link."""

from __future__ import annotations

from sqlalchemy import select

from tenantsync.sandbox import SandboxTenant
from tenantsync.store.links import find_linked_many
from tenantsync.store.models import (
    LinkKind,
    Mailbox,
    ScheduledTask,
    SourceGroup,
    SourceLink,
)
from tests.integration.user_sync.harness import UserSync


def _links(sync: UserSync, kind: LinkKind) -> dict[str, int]:
    with sync.db.session() as session:
        connection = session.scalars(select(ScheduledTask.connection_id)).one()
        assert connection is not None
        column = SourceLink.mailbox_id if kind is LinkKind.MAILBOX else SourceLink.group_id
        rows = session.execute(
            select(SourceLink.source_id, column).where(
                SourceLink.connection_id == connection, SourceLink.object_kind == kind
            )
        )
        return {sid: oid for sid, oid in rows if oid is not None}


def test_every_mailbox_and_group_a_sync_writes_is_linked_to_the_connection(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    assert sync.run().status == "succeeded"
    with sync.db.session() as session:
        mailboxes = dict(session.execute(select(Mailbox.source_id, Mailbox.id)).all())
        groups = dict(session.execute(select(SourceGroup.source_id, SourceGroup.id)).all())
        connection = session.scalars(select(ScheduledTask.connection_id)).one()
        assert connection is not None
        found = find_linked_many(session, connection, LinkKind.MAILBOX, list(tenant.users))
    assert mailboxes and _links(sync, LinkKind.MAILBOX) == mailboxes
    assert groups and _links(sync, LinkKind.GROUP) == groups
    assert found == {sid: mid for sid, mid in mailboxes.items() if sid in tenant.users}


def test_a_new_mailbox_is_linked_and_a_removed_one_keeps_its_link(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    assert sync.run().status == "succeeded"
    gone = next(m for m in sync.mailboxes().values() if m.kind.value == "user")
    assert gone.source_id is not None
    tenant.remove_user(gone.source_id)
    new = tenant.add_user("Nia Newcomer")
    result = sync.run()
    assert result.counts["read"] == "delta"
    assert result.counts["mailboxes_removed"] == 1 and result.counts["mailboxes_added"] == 1
    links = _links(sync, LinkKind.MAILBOX)
    assert links[gone.source_id] == gone.id
    assert links[new.id] == sync.mailboxes()[new.id].id
    assert sync.run().counts["changes"] == 0
