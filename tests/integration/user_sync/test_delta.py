"""Later runs read only what changed through Graph delta links and apply it."""

from __future__ import annotations

from sqlalchemy import select

from tenantsync.sandbox import SandboxTenant
from tenantsync.store.models import MailboxKind, SourceGroup, SourceGroupClosure, SyncState
from tests.integration.user_sync.harness import UserSync


def a_licensed_user(tenant: SandboxTenant, skip: int = 0) -> str:
    ids = [
        u.id
        for u in tenant.users.values()
        if u.mailbox == "user" and u.account_enabled and u.licenses and u.user_type == "Member"
    ]
    return ids[skip]


def test_delta_links_are_saved_after_the_first_sync(sync: UserSync) -> None:
    sync.run()
    with sync.db.session() as session:
        state = session.scalars(select(SyncState)).one().value
    assert state["users_delta"] and state["groups_delta"] and state["last_full_at"]


def test_a_new_user_is_added_by_a_delta_run(sync: UserSync, tenant: SandboxTenant) -> None:
    sync.run()
    new = tenant.add_user("Ada Lovelace", department="Research")
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["read"] == "delta"
    assert result.counts["mailboxes_added"] == 1
    stored = sync.mailboxes()[new.id]
    assert stored.primary_address == new.mail.lower()
    assert stored.billable


def test_a_changed_user_is_updated_with_before_and_after(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    uid = a_licensed_user(tenant)
    old_name = tenant.users[uid].display_name
    tenant.update_user(uid, display_name="Renamed Person", licenses=[])
    result = sync.run()
    assert result.counts["read"] == "delta"
    (record,) = [r for r in sync.change_records(result.id) if r.action == "update"]
    assert record.before is not None and record.after is not None
    assert record.before["display_name"] == old_name
    assert record.after["display_name"] == "Renamed Person"
    assert record.after["non_billable_reason"] == "unlicensed"
    stored = sync.mailboxes()[uid]
    assert stored.display_name == "Renamed Person" and not stored.billable


def test_a_user_removed_in_the_source_is_soft_deleted_and_restorable(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    uid = a_licensed_user(tenant)
    tenant.remove_user(uid)
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["read"] == "delta"
    assert result.counts["mailboxes_removed"] == 1
    gone = sync.mailboxes(active=False)[uid]
    assert gone.deleted_at is not None and gone.restore_until is not None
    assert (gone.restore_until - gone.deleted_at).days == sync.settings.restore_window_days
    assert not gone.billable
    assert uid not in sync.mailboxes()


def test_a_disabled_user_is_removed_then_restored_when_enabled_again(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    uid = a_licensed_user(tenant)
    tenant.update_user(uid, account_enabled=False)
    removed = sync.run()
    assert removed.counts["mailboxes_removed"] == 1
    assert uid not in sync.mailboxes()
    tenant.update_user(uid, account_enabled=True)
    restored = sync.run()
    assert restored.counts["mailboxes_restored"] == 1
    back = sync.mailboxes()[uid]
    assert back.deleted_at is None and back.restore_until is None and back.billable


def test_membership_changes_reach_groups_and_transitive_membership(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    uid = a_licensed_user(tenant)
    group = tenant.add_group("Project Apollo")
    tenant.add_group_member(group.id, uid)
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["read"] == "delta"
    with sync.db.session() as session:
        stored = session.scalars(select(SourceGroup).where(SourceGroup.source_id == group.id)).one()
        mailbox_ids = set(
            session.scalars(
                select(SourceGroupClosure.mailbox_id).where(
                    SourceGroupClosure.group_id == stored.id
                )
            )
        )
    assert mailbox_ids == {sync.mailboxes()[uid].id}


def test_an_expired_delta_token_falls_back_to_a_full_read(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    tenant.expire_delta_tokens()
    uid = a_licensed_user(tenant)
    tenant.remove_user(uid)
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["read"] == "full"
    assert "expired" in result.texts()
    assert result.counts["mailboxes_removed"] == 1
    assert sync.run().counts["read"] == "delta"


def test_a_full_reconciliation_runs_when_due(sync: UserSync) -> None:
    sync.run()
    sync.set_options(full_reconciliation_hours=0.000001)
    result = sync.run()
    assert result.counts["read"] == "full"
    assert "full reconciliation due" in result.texts()
    assert result.counts["changes"] == 0


def test_a_distribution_group_deleted_in_the_source_loses_its_address(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    dg = next(g for g in tenant.groups.values() if g.kind == "distribution" and g.mail)
    assert dg.id in sync.mailboxes()
    tenant.remove_group(dg.id)
    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["mailboxes_removed"] == 1
    assert dg.id not in sync.mailboxes()
    assert all(
        m.kind is not MailboxKind.GROUP or m.source_id != dg.id for m in sync.mailboxes().values()
    )


def test_changed_shared_and_scheduling_mailboxes_keep_their_kind(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    resources = [
        u.id for u in tenant.users.values() if u.mailbox in ("shared", "scheduling", "room")
    ]
    for uid in resources:
        tenant.update_user(uid, display_name=f"Renamed {uid[:8]}")
    result = sync.run()
    assert result.counts["read"] == "delta"
    assert result.counts["mailboxes_removed"] == 0
    assert result.counts["mailboxes_updated"] == len(resources)
    stored = sync.mailboxes()
    assert {stored[uid].kind.value for uid in resources} == {
        tenant.users[uid].mailbox for uid in resources
    }


def test_a_recreated_account_takes_over_the_address_of_the_removed_one(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    old = tenant.users[a_licensed_user(tenant)]
    alias, domain = old.user_principal_name.split("@")
    tenant.remove_user(old.id)
    new = tenant.add_user(old.display_name, alias=alias, domain=domain)
    assert new.mail == old.mail and new.id != old.id
    result = sync.run()
    assert result.status == "succeeded", result.error
    actions = {(c["action"], c["key"]) for c in (result.plan or {})["changes"]}
    address = old.mail.lower()
    assert {("remove", address), ("purge", address), ("add", address)} <= actions
    stored = sync.mailboxes(active=False)
    assert old.id not in stored
    assert stored[new.id].primary_address == address and stored[new.id].deleted_at is None
