"""`tenantsync connection check NAME --permissions [--mailbox ADDRESS]`: reads one mailbox's
permissions with the connection's credentials over HTTPS, and reports success or the exact
failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantsync.cli import app
from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection
from tenantsync.store.secretbox import SecretBox
from tests.support.factory import make_org


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return generate_tenant(10, seed=3)


@pytest.fixture(scope="module")
def served(
    tenant: SandboxTenant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedSandbox]:
    app = create_app(tenant, latency=0)
    with serve_in_thread(app, data_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def connection(
    db: Database, settings: Settings, served: ServedSandbox, monkeypatch: pytest.MonkeyPatch
) -> Connection:
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    creds = served.credentials()
    box = SecretBox.from_key_file(settings.effective_key_file, create=True)
    with db.session() as s:
        org = make_org(s)
        row = Connection(
            organization_id=org.id,
            name="sandbox",
            kind="m365",
            params={
                k: creds[k]
                for k in ("tenant_id", "client_id", "authority_host", "graph_url", "exchange_url")
            }
            | {"ca_file": str(Path(creds["ca_file"]))},
            secret_ciphertext=box.encrypt({"client_secret": creds["client_secret"]}),
        )
        s.add(row)
        s.flush()
        s.expunge(row)
        return row


def check(*args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(app, ["connection", "check", "sandbox", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def line(report: dict[str, object]) -> dict[str, object]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return next(c for c in checks if c["name"] == "mailbox permissions")


def shared_address(tenant: SandboxTenant) -> str:
    return next(u.mail for u in tenant.users.values() if u.mailbox == "shared" and u.mail)


@pytest.mark.usefixtures("connection")
def test_it_reads_the_named_mailboxs_permissions(tenant: SandboxTenant) -> None:
    address = shared_address(tenant)
    code, report = check("--permissions", "--mailbox", address)
    assert code == 0, report
    found = line(report)
    assert found["ok"] is True
    assert f"Get-MailboxPermission on {address} answered" in str(found["detail"])


@pytest.mark.usefixtures("connection")
def test_without_a_mailbox_it_reads_the_first_one_listed() -> None:
    code, report = check("--permissions")
    assert code == 0, report
    assert line(report)["ok"] is True


@pytest.mark.usefixtures("connection")
def test_an_unknown_mailbox_fails_with_exchanges_own_words() -> None:
    code, report = check("--permissions", "--mailbox", "nobody@example.com")
    assert code == 1
    found = line(report)
    assert found["ok"] is False
    assert "nobody@example.com" in str(found["detail"])
    assert "couldn't be found" in str(found["detail"])


def test_a_missing_exchange_role_is_named(
    connection: Connection, db: Database, settings: Settings, tenant: SandboxTenant
) -> None:
    without_role = tenant.clients[2]  # has Exchange.ManageAsApp, no directory role
    box = SecretBox.from_key_file(settings.effective_key_file)
    with db.session() as s:
        row = s.get_one(Connection, connection.id)
        row.params = {**row.params, "client_id": without_role.client_id}
        row.secret_ciphertext = box.encrypt({"client_secret": without_role.client_secret})
    code, report = check("--permissions", "--mailbox", shared_address(tenant))
    assert code == 1
    detail = str(line(report)["detail"])
    assert "Exchange Recipient Administrator" in detail and "403" in detail
