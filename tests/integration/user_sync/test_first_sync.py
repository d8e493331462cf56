"""The first sync of a tenant and what a second one does."""

from __future__ import annotations

from tenantsync.sandbox import SandboxTenant
from tenantsync.store.models import MailboxKind
from tests.integration.user_sync.harness import UserSync


def expected_people(tenant: SandboxTenant) -> set[str]:
    """Mailboxes a default sync keeps: members with a mailbox, enabled unless a resource."""
    return {
        u.id
        for u in tenant.users.values()
        if u.mailbox is not None
        and u.user_type == "Member"
        and (u.account_enabled or u.mailbox != "user")
    }


def test_first_sync_stores_every_mailbox_of_the_tenant(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    result = sync.run()
    assert result.status == "succeeded", result.error
    stored = sync.mailboxes()
    users = {sid: m for sid, m in stored.items() if m.kind is not MailboxKind.GROUP}
    assert set(users) == expected_people(tenant)
    assert result.counts["read"] == "full"
    assert result.counts["mailboxes_added"] == len(stored)
    for sid, mailbox in users.items():
        source = tenant.users[sid]
        assert mailbox.kind.value == source.mailbox
        assert mailbox.primary_address == source.mail.lower()
        assert not mailbox.primary_address.endswith(".onmicrosoft.com")
        assert all(not a.address.endswith(".onmicrosoft.com") for a in mailbox.aliases)
        assert mailbox.policy_group is not None and mailbox.policy_group.name == "Main"


def test_shared_and_resource_mailboxes_are_kept_but_never_billable(sync: UserSync) -> None:
    sync.run()
    stored = sync.mailboxes().values()
    resources = [
        m
        for m in stored
        if m.kind
        in (MailboxKind.SHARED, MailboxKind.ROOM, MailboxKind.EQUIPMENT, MailboxKind.SCHEDULING)
    ]
    assert {m.kind for m in resources} >= {MailboxKind.SHARED, MailboxKind.ROOM}
    assert all(not m.billable for m in resources)
    assert all(m.non_billable_reason == f"{m.kind.value} mailbox" for m in resources)
    unlicensed = [m for m in stored if m.kind is MailboxKind.USER and not m.licensed]
    assert unlicensed and all(m.non_billable_reason == "unlicensed" for m in unlicensed)
    assert any(m.billable for m in stored)


def test_distribution_and_dynamic_groups_are_synced_as_group_addresses(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    groups = {m.primary_address for m in sync.where(lambda m: m.kind is MailboxKind.GROUP)}
    dynamic = {d.primary_smtp_address.lower() for d in tenant.dynamic_groups.values()}
    assert dynamic and dynamic <= groups


def test_preview_writes_nothing_and_gives_a_reason_per_user(sync: UserSync) -> None:
    result = sync.run(preview=True)
    assert result.status == "succeeded", result.error
    assert sync.mailboxes(active=False) == {}
    assert sync.change_records(result.id) == []
    assert result.plan is not None
    adds = [c for c in result.plan["changes"] if c["action"] == "add" and c["entity"] == "mailbox"]
    assert len(adds) == result.counts["mailboxes_added"] > 0
    assert all(c["reason"] for c in result.plan["changes"])
    assert {"has no mailbox", "disabled account"} <= set(result.plan["skipped"].values())


def test_second_run_on_an_unchanged_tenant_changes_nothing(sync: UserSync) -> None:
    first = sync.run()
    assert len(sync.change_records(first.id)) == first.counts["changes"] > 0
    second = sync.run()
    assert second.status == "succeeded", second.error
    assert second.counts["read"] == "delta"
    assert second.counts["changes"] == 0
    assert second.texts() == "delta read: no changes at the source"
    assert sync.change_records(second.id) == []
