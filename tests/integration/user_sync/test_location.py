"""Where a mailbox lives: user sync keeps Exchange's exact recipient type and the location it
implies (a Remote* mailbox stands for one on the other side of a hybrid organization), and a
mailbox that moves is an update with before and after."""

from __future__ import annotations

from sqlalchemy import update

from tenantsync.sandbox import SandboxTenant
from tenantsync.store.models import Location, Mailbox, MailboxKind
from tests.integration.user_sync.harness import UserSync


def _pick(tenant: SandboxTenant, kind: str) -> str:
    return sorted(
        uid
        for uid, u in tenant.users.items()
        if u.mailbox == kind and u.user_type == "Member" and (u.account_enabled or kind != "user")
    )[0]


def test_remote_mailboxes_are_stored_with_their_exact_recipient_type(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    person, shared = _pick(tenant, "user"), _pick(tenant, "shared")
    tenant.set_remote_mailbox(person)
    tenant.set_remote_mailbox(shared)
    result = sync.run()
    assert result.status == "succeeded", (result.error, result.texts())
    stored = sync.mailboxes()
    assert (stored[person].kind, stored[person].location, stored[person].recipient_type) == (
        MailboxKind.USER,
        Location.REMOTE,
        "RemoteUserMailbox",
    )
    assert (stored[shared].kind, stored[shared].location, stored[shared].recipient_type) == (
        MailboxKind.SHARED,
        Location.REMOTE,
        "RemoteSharedMailbox",
    )
    others = [m for sid, m in stored.items() if sid not in (person, shared)]
    assert others and all(m.location is Location.CLOUD for m in others)
    people = [m for m in others if m.kind is MailboxKind.USER]
    assert people and all(m.recipient_type == "UserMailbox" for m in people)
    added = {r.key: r.after for r in sync.change_records(result.id) if r.action == "add"}
    address = stored[shared].primary_address
    assert added[address] is not None
    assert (added[address]["location"], added[address]["recipient_type"]) == (
        "remote",
        "RemoteSharedMailbox",
    )


def test_a_mailbox_that_moves_to_the_other_side_and_back_is_an_update(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    person = _pick(tenant, "user")
    assert sync.run().status == "succeeded"
    before = sync.mailboxes()[person]
    tenant.set_remote_mailbox(person)
    sync.set_options(full_reconciliation_hours=0.000001)
    moved = sync.run()
    assert moved.status == "succeeded", (moved.error, moved.texts())
    assert moved.counts["read"] == "full"
    assert moved.counts["mailboxes_updated"] == 1
    [record] = [r for r in sync.change_records(moved.id) if r.action == "update"]
    assert record.key == before.primary_address
    assert record.before == {"location": "cloud", "recipient_type": "UserMailbox"}
    assert record.after == {"location": "remote", "recipient_type": "RemoteUserMailbox"}
    after = sync.mailboxes()[person]
    assert (after.location, after.recipient_type) == (Location.REMOTE, "RemoteUserMailbox")
    assert after.billable == before.billable
    tenant.set_remote_mailbox(person, remote=False)
    back = sync.run()
    [record] = [r for r in sync.change_records(back.id) if r.action == "update"]
    assert record.after == {"location": "cloud", "recipient_type": "UserMailbox"}
    assert sync.mailboxes()[person].location is Location.CLOUD
    assert sync.run().counts["changes"] == 0


def test_a_delta_read_that_cannot_tell_where_a_mailbox_lives_keeps_what_is_stored(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    person = _pick(tenant, "user")
    tenant.set_remote_mailbox(person)
    assert sync.run().status == "succeeded"
    # Graph (which a delta read asks for the kind of a changed user) knows nothing of where
    # the mailbox lives: the change of name must not move it back to the cloud.
    tenant.update_user(person, display_name="Renamed Person")
    result = sync.run()
    assert result.counts["read"] == "delta"
    [record] = [r for r in sync.change_records(result.id) if r.action == "update"]
    assert record.after == {"display_name": "Renamed Person"}
    stored = sync.mailboxes()[person]
    assert (stored.location, stored.recipient_type) == (Location.REMOTE, "RemoteUserMailbox")


def test_a_recipient_type_never_stored_is_filled_in_without_a_change(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    assert sync.run().status == "succeeded"
    # Mailboxes synced before the store kept recipient types.
    with sync.db.session() as session:
        session.execute(update(Mailbox).values(recipient_type=None))
    sync.set_options(full_reconciliation_hours=0.000001)
    result = sync.run()
    assert result.counts["read"] == "full"
    assert result.counts["changes"] == 0
    people = [m for m in sync.mailboxes().values() if m.kind is MailboxKind.USER]
    assert people and {m.recipient_type for m in people} == {"UserMailbox"}
