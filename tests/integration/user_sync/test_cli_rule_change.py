"""An administrator edits a filter rule in the configuration file, applies it, and the next
preview and sync move the mailboxes it routes, without reading every user from the source;
`--full` asks for that full read. The sandbox is served over HTTPS and counts its requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tenantsync.sandbox import SandboxTenant, create_app, generate_tenant, sandbox_of
from tenantsync.sandbox.serve import ServedSandbox, serve_in_thread
from tenantsync.store.database import Database
from tests.integration.user_sync.test_cli import CONFIG
from tests.support.cli import Cli

RULE = """\
        options:
          rules:
            - {{field: department, operator: equals, value: {value}, policy_group: {group}}}
"""


@pytest.fixture
def app() -> Starlette:
    return create_app(generate_tenant(30, seed=9), latency=0)


@pytest.fixture
def served(app: Starlette, tmp_path: Path) -> Iterator[ServedSandbox]:
    with serve_in_thread(app, data_dir=tmp_path / "sandbox") as running:
        yield running


def config(served: ServedSandbox, rule: str) -> str:
    tenant = served.tenant
    text = CONFIG.format(
        domains=json.dumps(list(tenant.domains)),
        tenant_id=tenant.tenant_id,
        client_id=tenant.client_id,
        limited_id=tenant.clients[1].client_id,
        base=served.base_url,
        ca_file=served.ca_file,
    )
    start = text.index("        options:")
    end = text.index("    tasks:")
    return text[:start] + rule + text[end:]


def seen(app: Starlette) -> dict[str, int]:
    requests = sandbox_of(app).gate.requests
    taken = dict(requests)
    requests.clear()
    return taken


def biggest_department(tenant: SandboxTenant) -> str:
    people = [u.department for u in tenant.users.values() if u.mailbox == "user" and u.department]
    return max(sorted(set(people)), key=people.count)


def test_an_edited_rule_moves_mailboxes_on_the_next_preview_and_sync_without_a_full_read(
    served: ServedSandbox, app: Starlette, tmp_path: Path
) -> None:
    tenant = served.tenant
    cli = Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")
    cli.env["SANDBOX_SECRET"] = tenant.client_secret
    cli.env["LIMITED_SECRET"] = tenant.clients[1].client_secret
    Database(cli.url).upgrade()
    file = tmp_path / "proseware.yaml"
    dept = biggest_department(tenant)
    file.write_text(config(served, RULE.format(value="Nobody", group="Elsewhere")))
    cli("apply", str(file))
    cli("users", "sync", "users")
    seen(app)
    quiet = json.loads(cli("users", "preview", "users", "--json").stdout)
    assert [m["text"] for m in quiet["messages"]] == ["delta read: no changes at the source"]
    delta_only = seen(app)

    file.write_text(config(served, RULE.format(value=dept, group="Sales")))
    cli("apply", str(file))
    preview = json.loads(cli("users", "preview", "users", "--json").stdout)
    moves = [c for c in preview["plan"]["changes"] if c["action"] == "move"]
    people = [u for u in tenant.users.values() if u.mailbox == "user" and u.department == dept]
    assert moves and len(moves) <= len(people)
    assert all(c["after"] == {"policy_group": "Sales"} for c in moves)
    assert preview["counts"]["read"] == "delta" and preview["counts"]["users_read"] == 0
    assert seen(app) == delta_only

    full = json.loads(cli("users", "preview", "users", "--full", "--json").stdout)
    assert full["counts"]["read"] == "full" and full["counts"]["users_read"] > 0
    assert "full read: asked for with this run" in [m["text"] for m in full["messages"]]
    assert {c["key"] for c in full["plan"]["changes"] if c["action"] == "move"} == {
        c["key"] for c in moves
    }
    listed_mailboxes = seen(app)
    assert "exchange.Get-Mailbox" in listed_mailboxes  # every mailbox listed, unlike a delta
    assert "exchange.Get-Mailbox" not in delta_only

    synced = json.loads(cli("users", "sync", "users", "--json").stdout)
    assert synced["counts"]["mailboxes_moved"] == len(moves)
    listed = json.loads(cli("users", "list", "proseware", "--json").stdout)
    assert {m["address"] for m in listed if m["policy_group"] == "Sales"} == {
        c["key"] for c in moves
    }
    task_preview = json.loads(
        cli("task", "run", "users", "--preview", "--full", "--wait", "--json").stdout
    )
    assert task_preview["counts"]["read"] == "full"
    assert task_preview["plan"]["changes"] == []
