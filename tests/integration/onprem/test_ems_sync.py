"""A permission sync over the Exchange Management Shell, run by the worker as a scheduled
task would be: the mailboxes come from the Samba DC, their permissions first from the DC's
descriptors, then (the connection moved) from the sandbox's /PowerShell endpoint. The
Shell reads the same Full Access, Send As and Send on Behalf grants (Get-Mailbox names
Send on Behalf delegates by canonical name, the DC by DN: both are the same objects); a
delegate dropped at the Shell loses its grant; a cmdlet that fails for some mailboxes keeps
their grants and the run says which and why."""

from __future__ import annotations

from pathlib import Path

from tenantsync.sandbox import ServedSandbox
from tenantsync.sandbox.entities import User
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync, break_shell, shell_connection

EVERY_RIGHT = {"send_as": True, "send_on_behalf": True}


def test_a_connection_moved_to_the_shell_reads_the_same_grants_and_keeps_what_it_cannot(
    onprem: OnPrem, ems_sandbox: ServedSandbox, tmp_path: Path
) -> None:
    sync = OnPremSync(onprem, tmp_path / "ad", delegate_options=EVERY_RIGHT)
    try:
        assert sync.run("users").status == "succeeded"
        assert sync.run("delegates").status == "succeeded"
        from_descriptors = sync.grants()
        on_behalf = {g for g in from_descriptors if g[2] == "send_on_behalf"}
        assert on_behalf, "the generated organization has Send on Behalf delegates"
        assert {right for _m, _d, right in from_descriptors} >= {"full_access", "send_as"}

        # The administrator points the connection's permissions at the Management Shell.
        sync._connection.update(shell_connection(onprem, ems_sandbox, tmp_path / "ems"))
        sync.apply("all")
        moved = sync.run("delegates")
        # Full Access and Send As as Exchange reports them are the grants the DC's
        # descriptors gave: nothing added, nothing removed.
        assert moved.counts["mailboxes_failed"] == 0
        assert moved.counts["grants_added"] == 0 and moved.counts["grants_removed"] == 0
        # Three cmdlets per mailbox: Get-MailboxPermission, Get-ADPermission, Get-Mailbox.
        assert moved.counts["exchange_requests"] == 3 * moved.counts["mailboxes_in_scope"]
        assert sync.grants() == from_descriptors

        # At the Shell, one Send on Behalf delegate is taken away (Set-Mailbox
        # -GrantSendOnBehalfTo @{remove=...}): the next run, by Get-Mailbox's canonical
        # names alone, removes exactly that grant.
        owner_address, delegate_address, _right = sorted(on_behalf)[0]
        owner = onprem.tenant.recipient(owner_address)
        dropped = onprem.tenant.recipient(delegate_address)
        assert isinstance(owner, User) and dropped is not None
        before = list(owner.send_on_behalf)
        owner.send_on_behalf = [d for d in before if d != dropped.id]
        try:
            narrowed = sync.run("delegates")
        finally:
            owner.send_on_behalf = before
        assert narrowed.counts["grants_removed"] == 1, narrowed.counts
        assert sync.grants() == from_descriptors - {(owner_address, delegate_address, _right)}
        restored = sync.run("delegates")
        assert restored.counts["grants_added"] == 1 and sync.grants() == from_descriptors

        # Get-MailboxPermission answers for ten mailboxes, then Exchange's DC is gone.
        break_shell(ems_sandbox, "ems.Get-MailboxPermission:503@1/after=10")
        held = sync.run("delegates")
        assert held.status == "warning", held.error
        assert held.counts["mailboxes_read"] == 10
        assert held.counts["mailboxes_failed"] == held.counts["mailboxes_in_scope"] - 10
        assert held.counts["grants_kept_unread"] > 0 and held.counts["grants_removed"] == 0
        assert sync.grants() == from_descriptors
        texts = held.texts()
        failed = held.counts["mailboxes_failed"]
        assert f"permissions of {failed} mailboxes could not be read" in texts
        assert "their grants were kept" in texts
        assert "Get-MailboxPermission: Active Directory operation failed" in texts

        # Exchange answers again: the next run reads every mailbox and changes nothing.
        break_shell(ems_sandbox, "")
        healed = sync.run("delegates")
        assert healed.counts["mailboxes_failed"] == 0
        assert healed.counts["grants_removed"] == 0 and sync.grants() == from_descriptors
    finally:
        sync.close()
