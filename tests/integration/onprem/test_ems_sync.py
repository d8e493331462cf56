"""A permission sync over the Exchange Management Shell, run by the worker as a scheduled
task would be: the mailboxes come from the Samba DC, their permissions from the sandbox's
/PowerShell endpoint. It stores the Full Access and Send As grants the DC's descriptors
give; a cmdlet that fails
for some mailboxes keeps their grants and the run says which and why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tenantsync.sandbox import ServedSandbox, create_app, serve_in_thread
from tenantsync.sandbox.ems import shell_account
from tenantsync.sandbox.faults import parse_faults
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync

EVERY_RIGHT = {"send_as": True, "send_on_behalf": True}


@dataclass
class ShellSync:
    """An exchange_onprem organization whose permissions are read through the Shell."""

    sync: OnPremSync
    served: ServedSandbox

    def break_cmdlet(self, spec: str) -> None:
        """Make the endpoint fail as ``spec`` (a sandbox fault spec) says, from now on."""
        self.served.app.state.sandbox.gate.rules = parse_faults(spec)


def shell_connection(onprem: OnPrem, served: ServedSandbox, folder: Path) -> dict[str, object]:
    """The Shell fields of an exchange_onprem connection to ``served``'s endpoint."""
    user, password = shell_account(onprem.tenant)
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder / "ems-password.txt"
    secret.write_text(password, encoding="utf-8")
    return {
        "permission_path": "ems",
        "ems_url": f"{served.base_url}/PowerShell",
        "ems_auth": "basic",
        "ems_user": user,
        "ems_ca_file": str(served.ca_file),
        "ems_password": {"file": str(secret)},
    }


@pytest.fixture
def shell_sync(onprem: OnPrem, tmp_path: Path) -> Iterator[ShellSync]:
    app = create_app(onprem.tenant, latency=0)
    with serve_in_thread(app, data_dir=tmp_path / "sandbox") as served:
        sync = OnPremSync(
            onprem,
            tmp_path / "ems",
            delegate_options=EVERY_RIGHT,
            connection=shell_connection(onprem, served, tmp_path / "ems"),
        )
        try:
            yield ShellSync(sync, served)
        finally:
            sync.close()


def grants_from_descriptors(onprem: OnPrem, folder: Path) -> set[tuple[str, str, str]]:
    """The grants a permission sync over the DC's descriptors stores."""
    from_ad = OnPremSync(onprem, folder, delegate_options=EVERY_RIGHT)
    try:
        assert from_ad.run("users").status == "succeeded"
        assert from_ad.run("delegates").status == "succeeded"
        return from_ad.grants()
    finally:
        from_ad.close()


def test_a_shell_sync_stores_the_grants_and_keeps_those_it_could_not_read(
    onprem: OnPrem, shell_sync: ShellSync, tmp_path: Path
) -> None:
    sync = shell_sync.sync
    assert sync.run("users").status == "succeeded"
    first = sync.run("delegates")
    assert first.status == "succeeded", first.error
    grants = sync.grants()
    assert {right for _m, _d, right in grants} == {"full_access", "send_as"}
    assert first.counts["mailboxes_failed"] == 0
    # Three cmdlets per mailbox: Get-MailboxPermission, Get-ADPermission, Get-Mailbox.
    assert first.counts["exchange_requests"] == 3 * first.counts["mailboxes_in_scope"]
    # Full Access and Send As as the DC's descriptors give them. Send on Behalf is not
    # stored: Get-Mailbox names its delegates by canonical name (domain/Users/alias), which
    # names no synced mailbox (EMS_NOTES.md, left to do).
    ad = grants_from_descriptors(onprem, tmp_path / "ad")
    assert grants == {g for g in ad if g[2] != "send_on_behalf"}

    # Get-MailboxPermission answers for ten mailboxes, then Exchange's DC is gone.
    shell_sync.break_cmdlet("ems.Get-MailboxPermission:503@1/after=10")
    held = sync.run("delegates")
    assert held.status == "warning", held.error
    assert held.counts["mailboxes_read"] == 10
    assert held.counts["mailboxes_failed"] == held.counts["mailboxes_in_scope"] - 10
    assert held.counts["grants_kept_unread"] > 0 and held.counts["grants_removed"] == 0
    assert sync.grants() == grants
    texts = held.texts()
    assert f"permissions of {held.counts['mailboxes_failed']} mailboxes could not be read" in texts
    assert "their grants were kept" in texts
    assert "Get-MailboxPermission: Active Directory operation failed" in texts

    # Exchange answers again: the next run reads every mailbox and changes nothing.
    shell_sync.break_cmdlet("")
    healed = sync.run("delegates")
    assert healed.status == "succeeded", healed.error
    assert healed.counts["mailboxes_failed"] == 0 and sync.grants() == grants
