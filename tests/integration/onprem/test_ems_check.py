"""`tenantsync connection check` of an on-premises connection that reads permissions
through the Exchange Management Shell: the directory's lines, then the Shell's (its
endpoint answers, its certificate verifies, the sign-in, Get-Mailbox -ResultSize 1,
Get-MailboxPermission on that mailbox), the one that fails named with Exchange's reason."""

from __future__ import annotations

import json
from pathlib import Path

from tenantsync.sandbox import ServedSandbox
from tests.integration.onprem.conftest import OnPrem
from tests.integration.onprem.harness import OnPremSync, break_shell, shell_connection
from tests.support.cli import Cli

SHELL_LINES = [
    "reach the Management Shell",
    "Management Shell TLS",
    "Management Shell sign-in",
    "Get-Mailbox",
    "Get-MailboxPermission",
]


def check(
    onprem: OnPrem, served: ServedSandbox, folder: Path, password: str | None = None
) -> dict[str, str]:
    """The check's lines of a connection to ``served``'s Shell, by name: "pass …"/"FAIL …"."""
    connection = shell_connection(onprem, served, folder, password=password)
    sync = OnPremSync(onprem, folder, connection=connection)
    try:
        cli = Cli(folder, f"sqlite:///{folder / 'tenantsync.db'}")
        proc = cli("connection", "check", "ad", "--json", check=None)
    finally:
        sync.close()
    lines = json.loads(proc.stdout)["checks"]
    return {x["name"]: ("pass " if x["ok"] else "FAIL ") + x["detail"] for x in lines}


def test_the_shell_lines_pass_in_order_after_the_directory_lines(
    onprem: OnPrem, ems_sandbox: ServedSandbox, tmp_path: Path
) -> None:
    lines = check(onprem, ems_sandbox, tmp_path)
    names = list(lines)
    assert names[:4] == ["reach the domain controller", "TLS", "bind", "read a mailbox"]
    assert names[4:9] == SHELL_LINES and "read security descriptors" not in names
    assert all(line.startswith("pass") for line in lines.values()), lines
    assert "verified (TLSv1." in lines["Management Shell TLS"]
    assert "signed in to" in lines["Management Shell sign-in"]
    assert "Get-MailboxPermission -Identity" in lines["Get-MailboxPermission"]


def test_a_refused_sign_in_and_a_missing_role_are_named(
    onprem: OnPrem, ems_sandbox: ServedSandbox, tmp_path: Path
) -> None:
    refused = check(onprem, ems_sandbox, tmp_path / "refused", password="wrong")
    assert refused["Management Shell TLS"].startswith("pass")
    assert refused["Management Shell sign-in"].startswith("FAIL"), refused
    assert "refused svc-exchange@" in refused["Management Shell sign-in"]
    assert refused["Get-MailboxPermission"].startswith("FAIL")

    break_shell(ems_sandbox, "ems.Get-MailboxPermission:403@1")
    no_role = check(onprem, ems_sandbox, tmp_path / "no-role")
    assert no_role["Get-Mailbox"].startswith("pass"), no_role
    assert no_role["Get-MailboxPermission"].startswith("FAIL")
    assert "management role" in no_role["Get-MailboxPermission"]
