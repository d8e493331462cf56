"""The connection health check comes from the registered "connection_check" type: the
console queues it as a run, and the connection shows the lines the check stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tenantsync.config.export import export_organization
from tenantsync.engine.registry import Registry, default_registry
from tenantsync.sandbox import ServedSandbox, create_app, generate_tenant, serve_in_thread
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Definition, Role, Run, RunStatus
from tenantsync.worker.runner import Worker
from tests.integration.console.test_workflow import run_id_of
from tests.support.console import seed_directory


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    app = create_app(generate_tenant(10, seed=11), latency=0)
    with serve_in_thread(app, data_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def connection_form(served: ServedSandbox, secret: str | None = None) -> dict[str, str]:
    creds = served.credentials()
    return {
        "name": "sandbox",
        "tenant_id": str(creds["tenant_id"]),
        "client_id": str(creds["client_id"]),
        "authority_host": str(creds["authority_host"]),
        "graph_url": str(creds["graph_url"]),
        "exchange_url": str(creds["exchange_url"]),
        "ca_file": str(creds["ca_file"]),
        "client_secret": secret or str(creds["client_secret"]),
    }


def test_without_a_check_type_there_is_no_health_check(
    make_client: Any, db: Database, served: ServedSandbox
) -> None:
    org = seed_directory(db).org_id
    admin = make_client(Role.ADMIN)
    created = admin.submit(f"/organizations/{org}/connections/new", connection_form(served))
    page = admin.page(created.headers["location"])
    assert "Run health check" not in page.text and "no health check" in page.text
    refused = admin.submit(f"{created.headers['location']}/check")
    assert refused.status_code == 422


class TestWithTheShippedTypes:
    @pytest.fixture
    def registry(self) -> Registry:
        return default_registry()

    def test_a_health_check_runs_and_its_lines_show_on_the_connection(
        self,
        make_client: Any,
        db: Database,
        settings: Settings,
        registry: Registry,
        served: ServedSandbox,
    ) -> None:
        org = seed_directory(db).org_id
        worker = Worker(db, settings, registry, name="test-worker")
        admin = make_client(Role.ADMIN)
        created = admin.submit(f"/organizations/{org}/connections/new", connection_form(served))
        conn_url = created.headers["location"]
        assert "Run health check" in admin.page(conn_url).text
        run_id = run_id_of(admin.submit(f"{conn_url}/check"))
        assert worker.step(run_id)
        run = admin.page(f"/runs/{run_id}")
        assert "succeeded" in run.text and "token" in run.text
        page = admin.page(conn_url)
        assert "<strong>token</strong>: ok" in page.text
        assert f"run #{run_id}</a> (succeeded)" in page.text
        # A wrong secret: the check runs again on the same task and names what failed.
        form = connection_form(served, secret="not-the-secret")
        assert admin.submit(conn_url, form).status_code == 303
        again = run_id_of(admin.submit(f"{conn_url}/check"))
        assert worker.step(again)
        failed = admin.page(f"/runs/{again}")
        assert "failed" in failed.text and "not-the-secret" not in failed.text
        assert "<strong>token</strong>: failed" in admin.page(conn_url).text
        with db.session() as session:
            first, second = session.get(Run, run_id), session.get(Run, again)
            assert first is not None and second is not None
            assert first.task_id == second.task_id and second.status is RunStatus.FAILED

    def test_a_health_check_adds_nothing_to_the_lists_and_goes_with_its_connection(
        self,
        make_client: Any,
        api: Any,
        db: Database,
        settings: Settings,
        registry: Registry,
        served: ServedSandbox,
    ) -> None:
        seeded = seed_directory(db)
        org = seeded.org_id
        admin = make_client(Role.ADMIN)
        before = {
            "dashboard": admin.page("/").text,
            "organization": admin.page(f"/organizations/{org}").text,
        }
        created = admin.submit(f"/organizations/{org}/connections/new", connection_form(served))
        conn_url = created.headers["location"]
        run_id = run_id_of(admin.submit(f"{conn_url}/check"))
        assert Worker(db, settings, registry, name="test-worker").step(run_id)
        assert "<strong>token</strong>: ok" in admin.page(conn_url).text

        dashboard = admin.page("/").text
        assert dashboard.count("<tr") == before["dashboard"].count("<tr")
        assert "check" not in dashboard.lower().replace("checked", "")
        organization = admin.page(f"/organizations/{org}").text
        assert "health check" not in organization and "connection check" not in organization
        assert organization.count("/tasks/") == before["organization"].count("/tasks/")
        assert organization.count("/definitions/") == before["organization"].count("/definitions/")
        reader = api(Role.READ_ONLY)
        tasks = reader.get(f"/api/v1/organizations/{org}/tasks").json()["items"]
        definitions = reader.get(f"/api/v1/organizations/{org}/definitions").json()["items"]
        assert [t["name"] for t in tasks] == ["nightly probe"]
        assert "connection check" not in [d["name"] for d in definitions]
        assert "health check" not in reader.get("/api/v1/dashboard").text
        with db.session() as session:
            exported = export_organization(session, "contoso")
        assert "check" not in exported

        refused = api(Role.ADMIN).post(
            f"/api/v1/organizations/{org}/definitions",
            json={"name": "tenantsync: mine", "type": "connection_check"},
        )
        assert refused.status_code == 422 and "kept for tenantsync" in refused.text
        assert admin.submit(f"{conn_url}/delete").status_code == 303
        with db.session() as session:
            assert session.get(Run, run_id) is None
            assert session.scalar(select(func.count()).select_from(Definition)) == 1
