"""The connection check over HTTPS with MSAL: each line passes, or names what is missing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select

from tenantsync.config.apply import apply_document
from tenantsync.config.loader import parse_document
from tenantsync.connectors import CheckLine, check_connection
from tenantsync.engine.registry import default_registry
from tenantsync.sandbox import ServedSandbox, create_app, sandbox_of, serve_in_thread
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.directory import find_task
from tenantsync.store.models import Connection, Run, RunStatus, Trigger
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.integration.connectors.conftest import connector_for_app


def check(served: ServedSandbox, index: int = 0, secret: str | None = None) -> list[CheckLine]:
    async def run() -> list[CheckLine]:
        async with connector_for_app(served, index, secret) as connector:
            return await check_connection(connector)

    return asyncio.run(run())


def test_a_fully_granted_app_passes_every_check(served: ServedSandbox) -> None:
    lines = check(served)
    assert [line.name for line in lines] == [
        "token",
        "read users",
        "read mailbox settings",
        "Exchange admin API",
    ]
    assert all(line.ok for line in lines), lines


def test_a_wrong_secret_fails_the_token_line_and_skips_the_rest(served: ServedSandbox) -> None:
    lines = check(served, secret="not-the-secret")
    assert not lines[0].ok
    assert "invalid_client" in lines[0].detail
    assert all(line.detail == "skipped: no token" for line in lines[1:])


def test_a_missing_exchange_app_role_is_named(served: ServedSandbox) -> None:
    lines = {line.name: line for line in check(served, 1)}
    assert lines["read users"].ok
    assert not lines["Exchange admin API"].ok
    assert "Exchange.ManageAsApp" in lines["Exchange admin API"].detail


def test_a_missing_exchange_directory_role_is_named(served: ServedSandbox) -> None:
    lines = {line.name: line for line in check(served, 2)}
    assert not lines["Exchange admin API"].ok
    assert "directory role" in lines["Exchange admin API"].detail


def test_a_missing_mailbox_settings_permission_is_named(served: ServedSandbox) -> None:
    lines = {line.name: line for line in check(served, 3)}
    assert lines["token"].ok and lines["read users"].ok
    assert not lines["read mailbox settings"].ok
    assert "MailboxSettings.Read" in lines["read mailbox settings"].detail


def test_a_scheduled_connection_check_records_its_result_on_the_connection(
    served: ServedSandbox, db: Database, settings: Settings, tmp_path: Path
) -> None:
    tenant = served.tenant
    secret = tmp_path / "secret.txt"
    secret.write_text(tenant.client_secret)
    org = {
        "name": "proseware",
        "domains": list(tenant.domains),
        "connections": [
            {
                "name": "m365",
                "tenant_id": tenant.tenant_id,
                "client_id": tenant.client_id,
                "client_secret": {"file": str(secret)},
                "authority_host": served.base_url,
                "graph_url": served.base_url,
                "exchange_url": served.base_url,
                "ca_file": str(served.ca_file),
            }
        ],
        "definitions": [{"name": "health", "type": "connection_check"}],
        "tasks": [{"name": "health", "definition": "health", "connection": "m365"}],
    }
    loaded = parse_document(json.dumps({"organizations": [org]}), "health.yaml")
    registry = default_registry()
    with db.session() as session:
        apply_document(
            session, loaded, registry, SecretBox.from_key_file(settings.effective_key_file)
        )
        run_id = queue.enqueue(session, find_task(session, "health"), Trigger.MANUAL).id
    Worker(db, settings, registry).step(run_id)
    with db.session() as session:
        run = session.get(Run, run_id)
        connection = session.scalars(select(Connection)).one()
        assert run is not None and run.status is RunStatus.SUCCEEDED, run and run.error
        assert run.counts == {"passed": 4, "failed": 0}
        assert connection.last_check_ok is True
        assert connection.last_check_lines is not None and len(connection.last_check_lines) == 4


def test_an_unavailable_token_endpoint_is_retried(served: ServedSandbox, tmp_path: Path) -> None:
    flaky = create_app(served.tenant, latency=0, faults="token:503@1/count=2")
    with serve_in_thread(flaky, data_dir=tmp_path) as again:
        lines = check(again)
    assert all(line.ok for line in lines), lines
    assert sandbox_of(flaky).gate.injected == {"503": 2}
