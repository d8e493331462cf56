"""An on-premises connection that reads permissions through the Exchange Management Shell
(pypsrp to the sandbox's /PowerShell): every right read per mailbox with cmdlets only, a
failing cmdlet leaves that mailbox unread (its grants kept), a wrong password stops the
read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tenantsync.connectors.kinds import connection_kind
from tenantsync.connectors.onprem import kind as onprem
from tenantsync.errors import AuthError, ConfigError
from tenantsync.model.permissions import MailboxAcl, MailboxRef, ReadFailure, Right
from tenantsync.sandbox import SandboxTenant, ServedSandbox, create_app, serve_in_thread
from tenantsync.sandbox.ems import shell_account
from tenantsync.sandbox.entities import User
from tenantsync.sandbox.onprem_layout import account_names

ALL = frozenset(Right)


def _params(served: ServedSandbox, **changes: object) -> onprem.OnPremParams:
    user, _password = shell_account(served.tenant)
    values: dict[str, object] = {
        "server": "dc01.corp.example",
        "auth": "kerberos",
        "permission_path": "ems",
        "ems_url": f"{served.base_url}/PowerShell",
        "ems_auth": "basic",
        "ems_user": user,
        "ems_ca_file": str(served.ca_file),
        **changes,
    }
    return onprem.OnPremParams.model_validate(values)


def _reader(served: ServedSandbox, password: str | None = None) -> onprem.OnPremConnector:
    secret = {"ems_password": password or shell_account(served.tenant)[1]}
    connector = connection_kind("exchange_onprem").open(_params(served), secret)
    assert isinstance(connector, onprem.OnPremConnector)
    return connector


def _refs(tenant: SandboxTenant, users: list[User]) -> list[MailboxRef]:
    return [MailboxRef(i, u.mail or "", source_id=u.id) for i, u in enumerate(users, 1)]


def _granted(tenant: SandboxTenant) -> list[User]:
    return [
        u
        for u in tenant.users.values()
        if u.mailbox and tenant.full_access.get(u.id) and tenant.send_as.get(u.id)
    ][:3]


def test_every_right_is_read_per_mailbox_with_cmdlets(served: ServedSandbox) -> None:
    tenant = served.tenant
    users = _granted(tenant)
    connector = _reader(served)
    results = list(
        connector.permission_source(None, 1).read(_refs(tenant, users), ALL, lambda: False)
    )  # type: ignore[arg-type]
    assert all(isinstance(r, MailboxAcl) for r in results) and len(results) == len(users)
    first = results[0]
    assert isinstance(first, MailboxAcl)
    names = {(e.right, e.trustee.name) for e in first.entries if not e.inherited}
    # Trustees as the DC names them (sAMAccountName); a guest has no on-premises form.
    accounts = account_names(tenant)
    for ref, _flags, _deny in tenant.full_access[users[0].id]:
        if ref in accounts:
            assert (Right.FULL_ACCESS, f"CORP\\{accounts[ref]}") in names
    for ref, _deny in tenant.send_as[users[0].id]:
        if ref in accounts:
            assert (Right.SEND_AS, f"CORP\\{accounts[ref]}") in names
    # Only Send-As among Get-ADPermission's entries (not Change-Password, not SELF's reads).
    assert not any(e.trustee.name == "Everyone" for e in first.entries)


def test_a_failing_cmdlet_leaves_its_mailboxes_unread(
    tenant: SandboxTenant, tmp_path: Path
) -> None:
    app = create_app(tenant, latency=0, faults="ems.Get-ADPermission:503@1/after=1")
    with serve_in_thread(app, data_dir=tmp_path) as served:
        users = _granted(tenant)
        connector = _reader(served)
        source = connector.permission_source(None, 1)  # type: ignore[arg-type]
        results = list(source.read(_refs(tenant, users), ALL, lambda: False))
    assert isinstance(results[0], MailboxAcl)
    failures = results[1:]
    assert failures and all(isinstance(r, ReadFailure) for r in failures)
    assert all(r.retryable for r in failures)  # type: ignore[union-attr]
    assert "Active Directory operation failed" in failures[0].reason  # type: ignore[union-attr]


def test_a_wrong_password_stops_the_read(served: ServedSandbox) -> None:
    users = _granted(served.tenant)
    source = _reader(served, "wrong").permission_source(None, 1)  # type: ignore[arg-type]
    with pytest.raises(AuthError):
        list(source.read(_refs(served.tenant, users), ALL, lambda: False))


def test_basic_sign_in_is_refused_over_http_and_without_a_upn(served: ServedSandbox) -> None:
    # Refused with the parameters, so a connection that breaks them is never saved.
    with pytest.raises(ValidationError, match="ems_url: Basic sign-in is sent only over https"):
        _params(served, ems_url="http://ex01.corp.example/PowerShell")
    with pytest.raises(ValidationError, match=r"ems_user: .*UPN form"):
        _params(served, ems_user="CORP\\svc")
    with pytest.raises(ValidationError, match=r"ems_url: .*needs ems_url"):
        _params(served, ems_url=None)
    with pytest.raises(ValidationError, match="is not an http"):
        _params(served, ems_url="ex01.corp.example/PowerShell")
    # The password is the secret's business: asked for when the connection is opened.
    with pytest.raises(ConfigError, match="password"):
        connection_kind("exchange_onprem").open(_params(served), {})


def test_several_shells_read_side_by_side_what_one_shell_reads(served: ServedSandbox) -> None:
    tenant = served.tenant
    users = [u for u in tenant.users.values() if u.mailbox][:24]
    refs = _refs(tenant, users)

    def read(concurrency: int) -> dict[str, set[tuple[str, str, bool]]]:
        source = _reader(served).permission_source(None, concurrency)  # type: ignore[arg-type]
        out: dict[str, set[tuple[str, str, bool]]] = {}
        for result in source.read(refs, ALL, lambda: False):
            assert isinstance(result, MailboxAcl), result
            out[result.mailbox.address] = {
                (e.right.value, e.trustee.name, e.deny) for e in result.entries
            }
        return out

    shells_before = len(served.app.state.ems.shells) if hasattr(served.app.state, "ems") else 0
    alone = read(1)
    side_by_side = read(4)
    assert side_by_side == alone and len(alone) == len(users)
    # Four Runspace Pools were opened for the second read (the endpoint keeps shells open
    # until the client closes them; these readers were not closed).
    assert len(served.app.state.ems.shells) - shells_before == 1 + 4


def test_a_wrong_password_stops_a_read_of_several_shells(served: ServedSandbox) -> None:
    users = [u for u in served.tenant.users.values() if u.mailbox][:12]
    source = _reader(served, "wrong").permission_source(None, 4)  # type: ignore[arg-type]
    with pytest.raises(AuthError):
        list(source.read(_refs(served.tenant, users), ALL, lambda: False))
