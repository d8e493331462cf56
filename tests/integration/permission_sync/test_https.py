"""The shipped handler end to end: the worker's default registry, MSAL tokens and TLS against
the sandbox served over HTTPS on loopback, as a scheduled run in production would go."""

from __future__ import annotations

from pathlib import Path

from tenantsync.engine.registry import default_registry
from tenantsync.sandbox import create_app, generate_tenant, serve_in_thread
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, ScheduledTask, Trigger
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants


def test_a_scheduled_run_over_https_keeps_grants_in_step_with_exchange(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    tenant = generate_tenant(30, seed=21)
    harness = Harness(db, settings, tenant).setup()
    box = SecretBox.from_key_file(settings.effective_key_file)
    with serve_in_thread(create_app(tenant, latency=0), data_dir=tmp_path) as served:
        creds = served.credentials()
        with db.session() as s:
            connection = s.get_one(Connection, harness.connection_id)
            connection.params = {
                key: creds[key]
                for key in (
                    "tenant_id",
                    "client_id",
                    "authority_host",
                    "graph_url",
                    "exchange_url",
                    "ca_file",
                )
            }
            connection.secret_ciphertext = box.encrypt({"client_secret": creds["client_secret"]})
        task = harness.task("perms", send_as=True, send_on_behalf=True, concurrency=4)
        worker = Worker(db, settings, default_registry())
        with db.session() as s:
            run_id = queue.enqueue(s, s.get_one(ScheduledTask, task), Trigger.MANUAL).id
        assert worker.step(run_id)
    run = harness.result(run_id)
    assert run.status == "succeeded", run.error
    rights = {"full_access", "send_as", "send_on_behalf"}
    assert harness.grants(f"task:{task}") == expected_grants(tenant, rights)
