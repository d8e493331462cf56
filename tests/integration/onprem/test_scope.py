"""A task scoped to a DN of the on-premises directory: a DN that does not exist is refused
by name when the task is saved (once the organization has synced DNs) and fails the run
before anything is read; one that exists scopes the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantsync.errors import ConfigError
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync


def missing_dn(onprem: OnPrem) -> str:
    return f"OU=Nowhere,OU=Tenantsync,{onprem.dc.base_dn}"


def test_a_run_scoped_to_a_dn_that_does_not_exist_fails_before_reading(
    onprem: OnPrem, tmp_path: Path
) -> None:
    dn = missing_dn(onprem)
    sync = OnPremSync(onprem, tmp_path, scope={"dn": dn})
    try:
        users = sync.run("users")
        delegates = sync.run("delegates")
        stored = sync.mailboxes()
    finally:
        sync.close()
    assert users.status == "failed"
    assert users.error is not None and dn in users.error and "does not exist" in users.error
    assert users.plan is None and stored == set()
    assert delegates.status == "failed" and "does not exist" in str(delegates.error)


def test_a_run_scoped_to_an_ou_takes_in_its_mailboxes(onprem: OnPrem, tmp_path: Path) -> None:
    sync = OnPremSync(onprem, tmp_path, scope={"dn": onprem.org.resources_ou})
    try:
        result = sync.run("users")
        stored = sync.mailboxes()
    finally:
        sync.close()
    assert result.status == "succeeded", result.error

    def addresses(*kinds: str) -> set[str]:
        return {
            u.mail.lower() for u in onprem.tenant.users.values() if u.mailbox in kinds and u.mail
        }

    # Group addresses are synced whatever the scope; of the mailboxes, the OU's only.
    assert stored & addresses("shared", "room", "equipment")
    assert not stored & addresses("user")


def test_saving_a_task_scoped_to_a_missing_dn_is_refused_once_dns_are_synced(
    onprem: OnPrem, tmp_path: Path
) -> None:
    # Neither groups nor group addresses synced: only the mailboxes carry DNs.
    options = {"sync_groups": False, "sync_group_addresses": False}
    sync = OnPremSync(onprem, tmp_path, options=options)
    try:
        assert sync.run("users").status == "succeeded"
        with pytest.raises(ConfigError) as refused:
            sync.apply({"dn": missing_dn(onprem)})
        sync.apply({"dn": onprem.org.resources_ou})
    finally:
        sync.close()
    assert missing_dn(onprem) in str(refused.value)
    assert "no synced group, mailbox or container" in str(refused.value)
