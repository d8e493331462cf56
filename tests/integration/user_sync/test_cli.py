"""User sync driven as an administrator does it: a YAML file, `tenantsync apply`, a
connection check, a preview, then the sync; the sandbox served over HTTPS with its CA."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus
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
    cli = _configured(served, tmp_path)
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


def _configured(served: ServedSandbox, tmp_path: Path) -> Cli:
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
    return cli


def synced_then_eight_leave(served: ServedSandbox, tmp_path: Path) -> tuple[Cli, int]:
    """The CLI after a first sync, and its mailbox count; then eight people leave the tenant
    (more than the threshold lets a sync remove)."""
    cli = _configured(served, tmp_path)
    cli("task", "run", "users", "--wait")
    before = mailbox_count(cli)
    tenant = served.tenant
    people = sorted(
        uid for uid, u in tenant.users.items() if u.mailbox == "user" and u.account_enabled
    )
    for uid in people[:8]:
        tenant.remove_user(uid)
    tenant.expire_delta_tokens()
    return cli, before


def test_a_threshold_stop_exits_7_and_runs_confirm_applies_it(
    served: ServedSandbox, tmp_path: Path
) -> None:
    cli, before = synced_then_eight_leave(served, tmp_path)
    stopped = cli("task", "run", "users", "--wait", check=7)
    assert stopped.stderr.strip().count("\n") == 0
    assert "ended awaiting_confirmation" in stopped.stderr
    assert mailbox_count(cli) == before
    run_id = json.loads(cli("runs", "list", "--json").stdout)[0]["id"]
    shown = cli("runs", "show", str(run_id))
    assert "awaiting confirmation: this run would remove 8 of" in shown.stdout
    assert "removals to confirm" in shown.stdout
    confirmed = cli("runs", "confirm", str(run_id), "--wait")
    assert "succeeded" in confirmed.stdout
    assert mailbox_count(cli) == before  # removed mailboxes are kept, soft-deleted
    listed = json.loads(cli("users", "list", "proseware", "--json").stdout)
    assert len(listed) == before - 8


def test_a_cancelled_run_exits_8(tmp_path: Path) -> None:
    tenant = generate_tenant(30, seed=9)
    # Slow enough that the run is still working when `runs cancel` (a child process) lands,
    # however busy the machine; the cancel ends the run early, so the test stays short.
    app = create_app(tenant, latency="graph=6,exchange=6")
    with serve_in_thread(app, data_dir=tmp_path / "sandbox") as served:
        cli = _configured(served, tmp_path)
        # A short lease: the worker learns of a cancel request when it renews the lease.
        cli.env["TENANTSYNC_LEASE_SECONDS"] = "1.5"
        waiting = subprocess.Popen(
            [sys.executable, "-m", "tenantsync", "task", "run", "users", "--wait"],
            env=cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        running: int | None = None
        db = Database(cli.url)
        while time.monotonic() < deadline and running is None:
            with db.session() as session:
                running = session.scalar(select(Run.id).where(Run.status == RunStatus.RUNNING))
            time.sleep(0.1)
        db.dispose()
        assert running is not None, "the run never started"
        cli("runs", "cancel", str(running))
        _out, errors = waiting.communicate(timeout=60)
    assert waiting.returncode == 8, errors
    assert "cancelled" in errors
