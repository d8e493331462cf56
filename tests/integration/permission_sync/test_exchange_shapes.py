"""Exchange output as real tenants give it, and what permission sync may conclude from it:
Send on Behalf named by alias when the organization's listing failed, rights serialized
as numbers, role groups shown without a prefix, one answer cut short, an empty scope."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tenantsync.connectors.http import HttpOptions
from tenantsync.sandbox import SandboxOptions, create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import organization_by_name
from tenantsync.store.models import (
    Connection,
    Mailbox,
    MailboxKind,
    SourceGroup,
    SourceGroupClosure,
)
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants
from tests.integration.user_sync.harness import UserSync

RIGHTS = {"full_access", "send_as", "send_on_behalf"}
QUICK = HttpOptions(backoff_base=0.01, backoff_max=0.02)


def test_send_on_behalf_survives_a_failed_listing_named_by_the_alias_user_sync_keeps(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    tenant = generate_tenant(60, seed=5)
    users = UserSync(db, settings, tenant, create_app(tenant, latency=0), tmp_path)
    assert users.run().status == "succeeded"
    with db.session() as s:
        stored = {m.source_id: m.attributes.get("alias") for m in s.scalars(select(Mailbox))}
    people = {uid: u.mail_nickname for uid, u in tenant.users.items() if uid in stored}
    assert people and all(stored[uid] == alias for uid, alias in people.items())
    harness = Harness(db, settings, tenant, retries=QUICK)
    with db.session() as s:
        harness.organization_id = organization_by_name(s, "proseware").id
        harness.connection_id = s.scalars(select(Connection.id)).one()
        mailboxes = {
            m.primary_address
            for m in s.scalars(select(Mailbox).where(Mailbox.kind != MailboxKind.GROUP))
        }
    task = harness.task("perms", send_as=True, send_on_behalf=True, full_reconciliation_hours=1)
    assert harness.run(task).status == "succeeded"
    expected = {g for g in expected_grants(tenant, RIGHTS) if {g[0], g[1]} <= mailboxes}
    on_behalf = {g for g in expected if g[2] == "send_on_behalf"}
    assert len(on_behalf) > 5
    assert harness.grants() == expected

    # Get-Mailbox fails past every retry: Send on Behalf is read mailbox by mailbox, where
    # Exchange names trustees by alias only.
    harness.app_options = {"faults": "exchange.Get-Mailbox:503@1/count=8"}
    with db.session() as s:
        s.execute(Mailbox.__table__.update().values(source_changed_at=None))
    run = harness.run(task)
    assert "Get-Mailbox listing did not finish" in " ".join(run.warnings())
    assert run.counts["grants_removed"] == 0
    assert harness.grants() == expected


def test_rights_serialized_as_numbers_are_read_per_cmdlet(db: Database, settings: Settings) -> None:
    tenant = generate_tenant(40, seed=8)
    harness = Harness(db, settings, tenant).setup()
    harness.app_options = {"options": SandboxOptions(numeric_enums=True)}
    task = harness.task("perms", send_as=True)
    run = harness.run(task)
    assert run.status == "succeeded", (run.error, run.warnings())
    grants = harness.grants()
    expected = expected_grants(tenant, {"full_access", "send_as"})
    assert any(right == "send_as" for _, _, right in expected)
    assert grants == expected


def test_role_groups_shown_without_a_prefix_are_not_unknown_trustees(
    db: Database, settings: Settings
) -> None:
    tenant = generate_tenant(30, seed=8)
    harness = Harness(db, settings, tenant).setup()
    run = harness.run(harness.task("perms"))
    assert run.status == "succeeded", run.error
    assert not any("Discovery Management" in w for w in run.warnings())
    assert run.counts["skipped"]["system_principal"] > 0


def test_one_permission_answer_cut_short_is_read_again(db: Database, settings: Settings) -> None:
    tenant = generate_tenant(30, seed=8)
    harness = Harness(db, settings, tenant, retries=QUICK).setup()
    harness.app_options = {"faults": "exchange.Get-MailboxPermission:truncate@1/count=1"}
    run = harness.run(harness.task("perms"))
    assert run.status == "succeeded", (run.error, run.warnings())
    assert run.counts["mailboxes_failed"] == 0
    assert harness.grants() == expected_grants(tenant, {"full_access"})


def test_a_group_scope_with_no_mailbox_warns_and_removes_nothing(
    db: Database, settings: Settings
) -> None:
    tenant = generate_tenant(30, seed=8)
    harness = Harness(db, settings, tenant).setup()
    holders = {
        mailbox
        for mailbox, entries in tenant.full_access.items()
        if any(not d for *_, d in entries)
    }
    names = [g.display_name for g in tenant.groups.values()]
    group = next(
        g
        for g in tenant.groups.values()
        if names.count(g.display_name) == 1 and set(tenant.transitive_members(g.id)) & holders
    )
    scoped = harness.task("scoped", scope="group", value=group.display_name)
    first = harness.run(scoped)
    assert first.status == "succeeded", first.error
    held = harness.grants(f"task:{scoped}")
    assert held
    with db.session() as s:
        s.execute(
            SourceGroupClosure.__table__.delete().where(
                SourceGroupClosure.group_id == harness.loaded.groups[group.id]
            )
        )
        from tenantsync.store.models import SourceGroupMember

        s.execute(
            SourceGroupMember.__table__.delete().where(
                SourceGroupMember.group_id == harness.loaded.groups[group.id]
            )
        )
    emptied = harness.run(scoped)
    assert emptied.status == "warning"
    assert "holds no mailbox" in " ".join(emptied.warnings())
    assert harness.grants(f"task:{scoped}") == held


def test_a_sudden_rise_in_unresolved_trustees_is_reported(db: Database, settings: Settings) -> None:
    tenant = generate_tenant(160, seed=8)
    harness = Harness(db, settings, tenant).setup()
    task = harness.task("perms", full_reconciliation_hours=1, removal_guard_percent=100)
    assert harness.run(task).status == "succeeded"
    # The directory loses its groups and half its mailboxes (a user sync that went wrong):
    # the trustees that named them no longer resolve.
    with db.session() as s:
        ids = sorted(s.scalars(select(Mailbox.id)))
        s.execute(
            Mailbox.__table__.update().where(Mailbox.id.in_(ids[::2])).values(deleted_at=func.now())
        )
        s.execute(SourceGroup.__table__.update().values(deleted_at=func.now()))
    run = harness.run(task)
    assert any("unresolved trustees rose from" in w for w in run.warnings()), run.warnings()
