"""The exchange_onprem kind driven as an administrator does it: a YAML file with two
connections, `tenantsync apply`, the connection check line by line, a user sync preview
then the sync, and a permission sync from Active Directory."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, func, select

from tenantsync.store.database import Database
from tenantsync.store.models import DelegateGrant, Mailbox
from tests.integration.cli.test_commands import Cli
from tests.integration.onprem.conftest import OnPrem

CONFIG = """\
organizations:
  - name: corp
    domains: {domains}
    connections:
      - name: ad
        kind: exchange_onprem
        server: {server}
        ca_file: {ca_file}
        bind_user: '{user}'
        password: {{env: AD_PASSWORD}}
      - name: limited
        kind: exchange_onprem
        server: {server}
        ca_file: {ca_file}
        bind_user: '{limited}'
        password: {{env: AD_PASSWORD}}
    definitions:
      - name: users
        type: user_sync
        options:
          sync_groups: true
      - name: delegates
        type: mailbox_permission_sync
    tasks:
      - name: users
        definition: users
        connection: ad
      - name: delegates
        definition: delegates
        connection: ad
"""


def count(cli: Cli, model: type) -> int:
    engine = create_engine(cli.url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_apply_check_preview_sync_and_permissions_from_active_directory(
    onprem: OnPrem, tmp_path: Path
) -> None:
    cli = Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")
    cli.env["AD_PASSWORD"] = onprem.org.service_password
    config = tmp_path / "corp.yaml"
    config.write_text(
        CONFIG.format(
            domains=json.dumps(list(onprem.tenant.domains)),
            server=onprem.dc.host,
            ca_file=onprem.dc.ca_file,
            user=onprem.org.service_user,
            limited=onprem.org.limited_user,
        )
    )
    Database(cli.url).upgrade()
    cli("apply", str(config))
    assert onprem.org.service_password not in config.read_text()

    check = cli("connection", "check", "ad")
    assert check.stdout.count("pass") == 6, check.stdout
    limited = cli("connection", "check", "corp/limited", check=1)
    assert "Replicating Directory Changes" in limited.stdout
    assert onprem.org.service_password not in check.stdout + limited.stdout

    preview = json.loads(cli("task", "run", "users", "--preview", "--wait", "--json").stdout)
    assert preview["status"] == "succeeded", preview
    assert preview["plan"]["counts"]["mailbox.add"] > 0
    assert count(cli, Mailbox) == 0
    synced = cli("task", "run", "users", "--wait")
    assert "succeeded" in synced.stdout
    assert count(cli, Mailbox) >= preview["plan"]["counts"]["mailbox.add"]
    again = json.loads(cli("task", "run", "users", "--wait", "--json").stdout)
    assert again["counts"]["read"] == "delta" and again["counts"]["changes"] == 0

    grants = json.loads(cli("task", "run", "delegates", "--preview", "--wait", "--json").stdout)
    assert grants["status"] in ("succeeded", "warning"), grants
    assert grants["plan"]["counts"]["delegate_grant.add"] > 0
    applied = cli("task", "run", "delegates", "--wait", check=None)
    assert applied.returncode in (0, 10), applied.stdout
    assert count(cli, DelegateGrant) == grants["plan"]["counts"]["delegate_grant.add"]
