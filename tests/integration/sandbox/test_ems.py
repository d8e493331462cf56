"""The sandbox's Exchange Management Shell endpoint (/PowerShell) answers pypsrp's own
client as an on-premises Exchange server does: cmdlets with parameters only, Exchange's
objects in the output, errors in the error stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

from tenantsync.sandbox import SandboxTenant, ServedSandbox
from tenantsync.sandbox.ems import shell_account
from tenantsync.sandbox.entities import User
from tenantsync.sandbox.onprem_layout import account_names


def _wsman(served: ServedSandbox, password: str | None = None) -> WSMan:
    user, secret = shell_account(served.tenant)
    return WSMan(
        "127.0.0.1",
        port=served.port,
        path="PowerShell",
        ssl=True,
        auth="basic",
        username=user,
        password=password or secret,
        cert_validation=str(served.ca_file),
    )


@pytest.fixture
def pool(served: ServedSandbox) -> Iterator[RunspacePool]:
    with RunspacePool(_wsman(served), configuration_name="Microsoft.Exchange") as opened:
        yield opened


def _granted(tenant: SandboxTenant) -> User:
    return next(u for u in tenant.users.values() if u.mailbox and tenant.full_access.get(u.id))


def _props(obj: Any) -> dict[str, Any]:
    return dict(obj.extended_properties)


def test_get_mailbox_permission_answers_exchange_ace_objects(
    pool: RunspacePool, tenant: SandboxTenant
) -> None:
    mailbox = _granted(tenant)
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-MailboxPermission").add_parameter("Identity", mailbox.mail)
    rows = ps.invoke()
    assert ps.state == PSInvocationState.COMPLETED and not ps.had_errors
    assert rows[0].types[0] == (
        "Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject"
    )
    first = _props(rows[0])
    assert first["User"] == "NT AUTHORITY\\SELF"
    assert first["AccessRights"][0].to_string == "FullAccess, ReadPermission"
    assert {"User", "AccessRights", "IsInherited", "Deny", "Identity"} <= first.keys()
    delegates = {
        _props(r)["User"]
        for r in rows
        if not _props(r)["IsInherited"] and _props(r)["User"].startswith("CORP\\")
    }
    # Trustees as the DC names them (sAMAccountName); a guest has no on-premises form.
    accounts = account_names(tenant)
    granted = [ref for ref, _f, _d in tenant.full_access[mailbox.id] if ref in tenant.users]
    expected = {f"CORP\\{accounts[ref]}" for ref in granted if ref in accounts}
    assert expected and expected <= delegates
    guests = {tenant.users[r].mail_nickname for r in granted if r not in accounts}
    assert not any(d.split("\\", 1)[1] in guests for d in delegates)


def test_get_ad_permission_shows_send_as_as_an_extended_right(
    pool: RunspacePool, tenant: SandboxTenant
) -> None:
    mailbox = next(u for u in tenant.users.values() if u.mailbox and tenant.send_as.get(u.id))
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-ADPermission").add_parameter("Identity", mailbox.mail)
    rows = [_props(r) for r in ps.invoke()]
    send_as = {r["User"] for r in rows if r["ExtendedRights"] == ["Send-As"]}
    trustee = next(ref for ref, _deny in tenant.send_as[mailbox.id] if ref in tenant.users)
    assert f"CORP\\{tenant.users[trustee].mail_nickname}" in send_as
    assert any(r["ExtendedRights"] == ["Change-Password"] for r in rows)


def test_a_script_is_refused_as_exchange_refuses_it(pool: RunspacePool) -> None:
    ps = PowerShell(pool)
    ps.add_script("Get-Mailbox | Select-Object Name")
    assert ps.invoke() == []
    assert ps.state == PSInvocationState.FAILED
    assert [str(e) for e in ps.streams.error] == [
        "The syntax is not supported by this runspace. This can occur if the runspace is in "
        "no-language mode."
    ]


def test_an_unknown_mailbox_is_an_error_record_and_the_pipeline_completes(
    pool: RunspacePool,
) -> None:
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-MailboxPermission").add_parameter("Identity", "nobody@nowhere.example")
    assert ps.invoke() == []
    assert ps.state == PSInvocationState.COMPLETED
    assert "couldn't be found" in str(ps.streams.error[0])


def test_a_cmdlet_the_endpoint_lacks_is_not_recognized(pool: RunspacePool) -> None:
    ps = PowerShell(pool)
    ps.add_cmdlet("Remove-Mailbox").add_parameter("Identity", "x")
    ps.invoke()
    assert "is not recognized as the name of a cmdlet" in str(ps.streams.error[0])


def test_a_wrong_password_is_refused(served: ServedSandbox) -> None:
    with pytest.raises(AuthenticationError):
        RunspacePool(_wsman(served, "wrong"), configuration_name="Microsoft.Exchange").open()


def test_another_configuration_is_not_served(served: ServedSandbox) -> None:
    with pytest.raises(WSManFaultError, match="resource URI"):
        RunspacePool(_wsman(served), configuration_name="Microsoft.PowerShell").open()
