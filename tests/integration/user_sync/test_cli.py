"""User sync driven as an administrator does it: a YAML file, `tenantsync apply`, a
connection check, a preview, then the sync; the sandbox served over HTTPS with its CA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.store.database import Database
from tests.integration.cli.test_commands import Cli

CONFIG = """\
organizations:
  - name: proseware
    domains: {domains}
    connections:
      - name: m365
        kind: m365
        tenant_id: {tenant_id}
        client_id: {client_id}
        client_secret: {{env: SANDBOX_SECRET}}
        authority_host: {base}
        graph_url: {base}
        exchange_url: {base}
        ca_file: {ca_file}
      - name: limited
        kind: m365
        tenant_id: {tenant_id}
        client_id: {limited_id}
        client_secret: {{env: LIMITED_SECRET}}
        authority_host: {base}
        graph_url: {base}
        exchange_url: {base}
        ca_file: {ca_file}
    definitions:
      - name: users
        type: user_sync
        options:
          rules:
            - {{field: department, operator: equals, value: Sales, policy_group: Sales}}
    tasks:
      - name: users
        definition: users
        connection: m365
"""


def mailbox_count(cli: Cli) -> int:
    from sqlalchemy import create_engine, func, select

    from tenantsync.store.models import Mailbox

    engine = create_engine(cli.url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Mailbox)) or 0)
    finally:
        engine.dispose()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedSandbox]:
    tenant: SandboxTenant = generate_tenant(30, seed=9)
    with serve_in_thread(create_app(tenant, latency=0), data_dir=tmp_path / "sandbox") as running:
        yield running


def test_apply_check_preview_then_sync_from_the_command_line(
    served: ServedSandbox, tmp_path: Path
) -> None:
    tenant = served.tenant
    cli = Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")
    cli.env["SANDBOX_SECRET"] = tenant.client_secret
    cli.env["LIMITED_SECRET"] = tenant.clients[1].client_secret
    config = tmp_path / "proseware.yaml"
    config.write_text(
        CONFIG.format(
            domains=json.dumps(list(tenant.domains)),
            tenant_id=tenant.tenant_id,
            client_id=tenant.client_id,
            limited_id=tenant.clients[1].client_id,
            base=served.base_url,
            ca_file=served.ca_file,
        )
    )
    Database(cli.url).upgrade()
    cli("apply", str(config))

    check = cli("connection", "check", "m365")
    assert check.stdout.count("pass") == 4, check.stdout
    failing = cli("connection", "check", "proseware/limited", check=1)
    assert "FAIL" in failing.stdout and "Exchange.ManageAsApp" in failing.stdout

    preview = json.loads(cli("task", "run", "users", "--preview", "--wait", "--json").stdout)
    assert preview["status"] == "succeeded"
    assert preview["plan"]["counts"]["mailbox.add"] > 0
    assert mailbox_count(cli) == 0

    synced = cli("task", "run", "users", "--wait")
    assert "succeeded" in synced.stdout
    assert mailbox_count(cli) == preview["plan"]["counts"]["mailbox.add"]

    shared = json.loads(cli("users", "list", "proseware", "--non-billable", "--json").stdout)
    kinds = {m["kind"] for m in shared}
    assert {"shared", "room"} <= kinds
    assert all(m["non_billable_reason"] for m in shared)
    assert all(not m["address"].endswith(".onmicrosoft.com") for m in shared)
