"""Permission sync on the mailboxes and groups user sync wrote (objects before relationships):
trustees resolve against what user sync stores, and group address rows are not read."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tenantsync.sandbox import create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import organization_by_name
from tenantsync.store.models import Connection, Mailbox, MailboxKind
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants
from tests.integration.user_sync.harness import UserSync

RIGHTS = {"full_access", "send_as", "send_on_behalf"}


def test_grants_point_at_the_mailboxes_user_sync_wrote(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    tenant = generate_tenant(60, seed=5)
    users = UserSync(db, settings, tenant, create_app(tenant, latency=0), tmp_path)
    assert users.run().status == "succeeded"
    harness = Harness(db, settings, tenant)
    with db.session() as s:
        org = organization_by_name(s, "proseware")
        harness.organization_id = org.id
        harness.connection_id = s.scalars(select(Connection.id)).one()
        rows = s.execute(select(Mailbox.primary_address, Mailbox.kind))
        stored = {row.primary_address: row.kind for row in rows}
    assert MailboxKind.GROUP in stored.values()  # distribution group addresses are rows too

    task = harness.task("perms", send_as=True, send_on_behalf=True)
    run = harness.run(task)
    assert run.status == "succeeded", (run.error, run.messages)
    mailboxes = {a for a, kind in stored.items() if kind is not MailboxKind.GROUP}
    assert run.counts["mailboxes_in_scope"] == len(mailboxes)
    expected = {
        g for g in expected_grants(tenant, RIGHTS) if g[0] in mailboxes and g[1] in mailboxes
    }
    assert len(expected) > 50
    assert harness.grants(f"task:{task}") == expected
    assert any(via for *_, via in harness.grant_rows())
