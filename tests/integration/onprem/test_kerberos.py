"""An on-premises connection that binds to the domain controller with Kerberos (SASL
GSSAPI over LDAPS) against the Samba DC's own KDC: with the service account's password
(stored encrypted, the ticket asked for in memory), with a keytab, or with the service's
ticket cache; a refused password or an unknown service principal is named in the check.

The host's Kerberos configuration is the DC's (``KRB5_CONFIG``), as an administrator's
``/etc/krb5.conf`` names the realm's KDCs. Needs the optional gssapi package (MIT
Kerberos): outside CI the tests skip without it, with CI=true that is a failure."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from tenantsync.errors import ConfigError
from tenantsync.sandbox import ServedSandbox
from tenantsync.sandbox.ems_kerberos import KerberosAcceptor, enable_kerberos
from tests.conftest import IN_CI
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync
from tests.support.cli import Cli

ACCOUNT = "svc-tenantsync"

if importlib.util.find_spec("gssapi") is None:
    if IN_CI:
        raise RuntimeError("CI=true but gssapi is not installed: pip install '.[kerberos]'")
    pytest.skip(
        "Kerberos tests skipped: the gssapi package is not installed (Debian's libkrb5-dev, "
        "then pip install '.[kerberos]')",
        allow_module_level=True,
    )


@pytest.fixture(autouse=True)
def realm(onprem: OnPrem, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This host's Kerberos configuration names the DC as the realm's KDC; no ticket
    cache of anyone's is used unless a test makes one."""
    monkeypatch.setenv("KRB5_CONFIG", str(onprem.dc.kerberos_config()))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-such-cache'}")


def kerberos(onprem: OnPrem, **params: Any) -> dict[str, Any]:
    """An exchange_onprem connection's parameters for a Kerberos bind to the DC: the
    harness connects to an address, so the DC's name comes from kerberos_host."""
    return {
        "auth": "kerberos",
        "bind_user": f"{ACCOUNT}@{onprem.dc.realm.lower()}",
        "kerberos_host": onprem.dc.fqdn,
        **params,
    }


def check(sync: OnPremSync, folder: Path) -> dict[str, str]:
    """`tenantsync connection check ad --json`, its lines by name: "pass …"/"FAIL …"."""
    cli = Cli(folder, f"sqlite:///{folder / 'tenantsync.db'}")
    proc = cli("connection", "check", "ad", "--json", check=None)
    assert proc.stdout.strip(), proc.stderr
    lines = json.loads(proc.stdout)["checks"]
    return {x["name"]: ("pass " if x["ok"] else "FAIL ") + x["detail"] for x in lines}


def test_a_kerberos_bind_with_the_stored_password_syncs_users_and_permissions(
    onprem: OnPrem, tmp_path: Path
) -> None:
    sync = OnPremSync(
        onprem,
        tmp_path,
        connection=kerberos(onprem),
        delegate_options={"send_as": True, "send_on_behalf": True},
    )
    try:
        lines = check(sync, tmp_path)
        assert all(line.startswith("pass") for line in lines.values()), lines
        assert f"bound as {ACCOUNT}@{onprem.dc.realm.lower()} (Kerberos)" in lines["bind"]
        users = sync.run("users")
        assert users.status == "succeeded", users.error
        assert users.counts["mailboxes_added"] > 100
        delegates = sync.run("delegates")
        assert delegates.status in ("succeeded", "warning"), delegates.error
        assert delegates.counts["mailboxes_failed"] == 0 and sync.grants()
        # Nothing of the password or a ticket reached the run's texts.
        assert onprem.org.service_password not in users.texts() + delegates.texts()
    finally:
        sync.close()


def test_a_keytab_or_the_services_ticket_cache_binds_without_a_stored_password(
    onprem: OnPrem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gssapi

    keytab = onprem.dc.export_keytab(ACCOUNT, tmp_path / "svc.keytab")
    by_keytab = OnPremSync(
        onprem, tmp_path / "keytab", connection=kerberos(onprem, keytab=str(keytab), password=None)
    )
    try:
        lines = check(by_keytab, tmp_path / "keytab")
        assert all(line.startswith("pass") for line in lines.values()), lines
    finally:
        by_keytab.close()

    # The host keeps a ticket for the account in the service's cache (k5start does).
    cache = f"FILE:{tmp_path / 'service-cache'}"
    principal = gssapi.Name(f"{ACCOUNT}@{onprem.dc.realm}", gssapi.NameType.user)
    got = gssapi.raw.acquire_cred_with_password(
        principal, onprem.org.service_password.encode(), usage="initiate"
    )
    gssapi.raw.store_cred_into({"ccache": cache}, got.creds, usage="initiate", overwrite=True)
    monkeypatch.setenv("KRB5CCNAME", cache)
    by_cache = OnPremSync(
        onprem, tmp_path / "cache", connection=kerberos(onprem, bind_user=None, password=None)
    )
    try:
        lines = check(by_cache, tmp_path / "cache")
        assert all(line.startswith("pass") for line in lines.values()), lines
        assert "bound as the ticket cache (Kerberos)" in lines["bind"]
        assert by_cache.run("users").status == "succeeded"
    finally:
        by_cache.close()


def test_a_refused_password_and_an_unknown_service_principal_are_named(
    onprem: OnPrem, tmp_path: Path
) -> None:
    wrong = OnPremSync(
        onprem, tmp_path / "wrong", password="not-the-password", connection=kerberos(onprem)
    )
    try:
        lines = check(wrong, tmp_path / "wrong")
        assert lines["TLS"].startswith("pass")
        assert lines["bind"].startswith("FAIL"), lines
        assert f"no Kerberos ticket for {ACCOUNT}@{onprem.dc.realm}" in lines["bind"]
        run = wrong.run("users")
        assert run.status == "failed" and run.counts.get("mailboxes_added", 0) == 0
    finally:
        wrong.close()

    elsewhere = OnPremSync(
        onprem,
        tmp_path / "spn",
        connection=kerberos(onprem, kerberos_host=f"dc9.{onprem.dc.realm.lower()}"),
    )
    try:
        lines = check(elsewhere, tmp_path / "spn")
        assert lines["bind"].startswith("FAIL"), lines
        assert f"Kerberos sign-in to ldap/dc9.{onprem.dc.realm.lower()} failed" in lines["bind"]
        assert "not found in Kerberos database" in lines["bind"]
    finally:
        elsewhere.close()


def test_a_down_level_name_is_refused_for_kerberos_when_the_connection_is_saved(
    onprem: OnPrem, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"bind_user: .*account@REALM, not 'CORP\\\\svc"):
        OnPremSync(
            onprem,
            tmp_path,
            connection=kerberos(onprem, bind_user=f"{onprem.dc.netbios}\\{ACCOUNT}"),
        )


EXCHANGE = "ex01"


@pytest.fixture
def shell_kerberos(onprem: OnPrem, ems_sandbox: ServedSandbox, tmp_path: Path) -> KerberosAcceptor:
    """The Exchange server's computer account (service principal HTTP/ex01.corp.example)
    and its keytab, with which the sandbox's /PowerShell accepts Kerberos sign-ins by the
    service account (the only one given Exchange's role)."""
    spn = f"HTTP/{EXCHANGE}.{onprem.dc.realm.lower()}"
    if not getattr(onprem, "exchange_server", False):
        onprem.dc.add_service_account(f"svc-{EXCHANGE}", "Exchange-Web-Pass-1", [spn])
        onprem.exchange_server = True  # type: ignore[attr-defined]
    # The keys are the service account's; a ticket for HTTP/ex01… is sealed with them.
    keytab = onprem.dc.export_keytab(f"svc-{EXCHANGE}", tmp_path / "exchange.keytab")
    account = f"{ACCOUNT}@{onprem.dc.realm}"
    return enable_kerberos(ems_sandbox.app, keytab, {account: onprem.tenant.domains[0]})


def shell_by_kerberos(onprem: OnPrem, served: ServedSandbox, **params: Any) -> dict[str, Any]:
    """A connection that binds to the DC and signs in to the Shell with Kerberos, the
    service account's password stored once for both (as ``password`` and ``ems_password``
    it is the same account's)."""
    realm = onprem.dc.realm.lower()
    shell = {
        "permission_path": "ems",
        "ems_url": f"{served.base_url}/PowerShell",
        "ems_auth": "kerberos",
        "ems_user": f"{ACCOUNT}@{realm}",
        "ems_ca_file": str(served.ca_file),
        "ems_kerberos_host": f"{EXCHANGE}.{realm}",
    }
    return kerberos(onprem, **{**shell, **params})


def test_the_management_shell_signs_in_with_kerberos_once_per_connection(
    onprem: OnPrem, ems_sandbox: ServedSandbox, shell_kerberos: KerberosAcceptor, tmp_path: Path
) -> None:
    secret = tmp_path / "svc-password.txt"
    secret.write_text(onprem.org.service_password, encoding="utf-8")
    sync = OnPremSync(
        onprem,
        tmp_path,
        connection=shell_by_kerberos(onprem, ems_sandbox, ems_password={"file": str(secret)}),
        delegate_options={"send_as": True, "send_on_behalf": True},
    )
    try:
        lines = check(sync, tmp_path)
        assert all(line.startswith("pass") for line in lines.values()), lines
        assert (
            f"as {ACCOUNT}@{onprem.dc.realm.lower()} (kerberos)"
            in lines["Management Shell sign-in"]
        )
        assert sync.run("users").status == "succeeded"
        signed_in = shell_kerberos.accepted
        delegates = sync.run("delegates")
        assert delegates.counts["mailboxes_failed"] == 0, delegates.error
        requests = delegates.counts["exchange_requests"]
        assert requests == 3 * delegates.counts["mailboxes_in_scope"] and sync.grants()
        # HTTP Negotiate signs the connection in, not each request: hundreds of cmdlets,
        # one sign-in per Runspace Pool (the task's concurrency, 4, read side by side).
        assert 1 <= shell_kerberos.accepted - signed_in <= 4 < requests
    finally:
        sync.close()


def test_a_shell_account_without_exchanges_role_is_refused_by_name(
    onprem: OnPrem, ems_sandbox: ServedSandbox, shell_kerberos: KerberosAcceptor, tmp_path: Path
) -> None:
    # svc-limited has a ticket (the KDC knows it) but no Exchange role on this server.
    secret = tmp_path / "limited-password.txt"
    secret.write_text(onprem.org.service_password, encoding="utf-8")
    limited = f"svc-limited@{onprem.dc.realm.lower()}"
    sync = OnPremSync(
        onprem,
        tmp_path,
        connection=shell_by_kerberos(
            onprem, ems_sandbox, ems_user=limited, ems_password={"file": str(secret)}
        ),
    )
    try:
        lines = check(sync, tmp_path)
        assert lines["bind"].startswith("pass")
        assert lines["Management Shell sign-in"].startswith("FAIL"), lines
        assert f"refused {limited}" in lines["Management Shell sign-in"]
        assert shell_kerberos.refused >= 1
    finally:
        sync.close()
