"""`tenantsync connection drift NAME`: an on-premises connection's synced mailboxes read
through the DC's descriptors and through the Management Shell; the whole organization reads
alike through both, and a Full Access grant only Exchange shows is printed for its mailbox
and the command exits 1."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantsync.sandbox import SandboxTenant, ServedSandbox, create_app, serve_in_thread
from tenantsync.sandbox.entities import User
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync, shell_connection
from tests.support.cli import Cli


@pytest.fixture
def exchange(onprem: OnPrem, tmp_path: Path) -> Iterator[ServedSandbox]:
    """A Shell over a copy of the DC's organization, so a grant can be added on its side."""
    app = create_app(copy.deepcopy(onprem.tenant), latency=0)
    with serve_in_thread(app, data_dir=tmp_path / "sandbox") as served:
        yield served


@pytest.fixture
def synced(
    onprem: OnPrem, exchange: ServedSandbox, tmp_path: Path
) -> Iterator[tuple[OnPremSync, Cli]]:
    """The organization's mailboxes synced from the DC by a connection whose permissions
    are read through ``exchange``'s Shell, and the CLI on its store."""
    connection = shell_connection(onprem, exchange, tmp_path)
    sync = OnPremSync(onprem, tmp_path, connection=connection)
    try:
        assert sync.run("users").status == "succeeded"
        yield sync, Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")
    finally:
        sync.close()


def test_a_grant_only_the_shell_shows_is_drift(
    onprem: OnPrem, exchange: ServedSandbox, synced: tuple[OnPremSync, Cli]
) -> None:
    sync, cli = synced
    owner, trustee = _two_mailboxes(onprem, exchange.tenant, sync.mailboxes())
    address = owner.mail or ""
    same = cli("connection", "drift", "ad", "--mailbox", address, check=0)
    exchange.tenant.grant_full_access(owner.id, trustee.id)
    after = cli("connection", "drift", "ad", "--mailbox", address, check=1)
    shown = cli("connection", "drift", "corp/ad", "--mailbox", address, "--json", check=1)
    assert "1 mailboxes compared, 0 differ, 0 not compared" in same.stdout
    report = json.loads(shown.stdout)
    assert report["compared"] == 1 and report["not_compared"] == []
    name = trustee.mail_nickname.lower()
    assert report["drift"] == [
        {"mailbox": address, "only_ad": [], "only_shell": [f"full_access {name}"]}
    ]
    assert f"{address}: only Shell: full_access {name}" in after.stdout
    assert "1 mailboxes compared, 1 differ, 0 not compared" in after.stdout


def _two_mailboxes(onprem: OnPrem, tenant: SandboxTenant, synced: set[str]) -> tuple[User, User]:
    """A user mailbox whose delegates are all users in the directory, and a user it has not
    granted anything."""

    def plain(user: User) -> bool:
        refs = [e[0] for e in tenant.full_access.get(user.id, [])]
        refs += [e[0] for e in tenant.send_as.get(user.id, [])] + list(user.send_on_behalf)
        return all(r in tenant.users and r in onprem.org.dns for r in refs)

    users = [
        u
        for u in tenant.users.values()
        if u.mailbox == "user" and (u.mail or "").lower() in synced and len(u.mail_nickname) < 18
    ]
    owner = next(u for u in users if plain(u))
    granted = {e[0] for e in tenant.full_access.get(owner.id, [])}
    trustee = next(u for u in users if u is not owner and u.id not in granted)
    return owner, trustee


def test_the_whole_organization_reads_alike_through_both_paths(
    synced: tuple[OnPremSync, Cli],
) -> None:
    _sync, cli = synced
    report = json.loads(cli("connection", "drift", "ad", "--json", check=0).stdout)
    # Every mailbox of the organization, every right: the DC's descriptors and Exchange's
    # cmdlets name the same trustees (DOMAIN\\account, a DN and its canonical name).
    assert report["drift"] == [] and report["not_compared"] == []
    assert report["compared"] > 100
