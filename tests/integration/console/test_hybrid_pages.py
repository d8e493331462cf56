"""Hybrid deployments in the console: exported files uploaded (a bad one refused with its
line and column, nothing of the upload kept), the cross-premises report with filters and
counts per category, the batches, and the exports; grants for super administrators only."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tenantsync.engine.registry import Registry, default_registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Role
from tests.integration.console.conftest import Client
from tests.integration.hybrid.harness import Hybrid

FIXTURES = Path(__file__).parents[2] / "fixtures" / "exported"


def upload(client: Client, connection_id: int, paths: list[Path], side: str) -> Any:
    client.page(f"/connections/{connection_id}/files")
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    return client.post(
        f"/connections/{connection_id}/files",
        data={"csrf": client.csrf, "side": side},
        files=files,
    )


@pytest.fixture
def hybrid(db: Database, settings: Settings, make_client: Any) -> Hybrid:
    setup = Hybrid(db, settings).setup()
    admin = make_client(Role.ADMIN)
    onprem = upload(admin, setup.connection_id, sorted((FIXTURES / "onprem").iterdir()), "auto")
    assert onprem.status_code == 303, onprem.text
    cloud = upload(admin, setup.connection_id, sorted((FIXTURES / "cloud").iterdir()), "cloud")
    assert cloud.status_code == 303, cloud.text
    return setup


def test_an_upload_with_a_bad_file_keeps_nothing(
    db: Database, settings: Settings, make_client: Any, tmp_path: Path
) -> None:
    setup = Hybrid(db, settings).setup()
    bad = tmp_path / "perms.json"
    bad.write_text('[\n {"User": "a", "Identity": "b", "AccessRights": [1]\n]')
    admin = make_client(Role.ADMIN)
    answer = upload(
        admin, setup.connection_id, [FIXTURES / "onprem" / "mailboxes.csv", bad], "auto"
    )
    assert answer.status_code == 422
    assert "perms.json, line 3, column 1: valid JSON" in answer.text
    assert "No files uploaded yet." in answer.text
    reader = make_client(Role.READ_ONLY)
    denied = upload(reader, setup.connection_id, [FIXTURES / "onprem" / "mailboxes.csv"], "auto")
    assert denied.status_code == 403


def test_the_report_page_filters_and_counts_for_a_super_administrator(
    hybrid: Hybrid, root: Client
) -> None:
    run = hybrid.run(hybrid.task("report", "hybrid_report"))
    assert run.status == "succeeded", run.error
    page = root.page(f"/runs/{run.id}")
    assert f'href="/runs/{run.id}/hybrid"' in page.text
    report = root.page(f"/runs/{run.id}/hybrid")
    assert report.status_code == 200
    assert "ACLable object synchronization" in report.text
    assert "lee@contoso.com" in report.text and "Add-RecipientPermission" in report.text
    only = root.page(f"/runs/{run.id}/hybrid?category=manual&right=&direction=&search=")
    table = only.text.split('id="grants"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # the header and the two Send As grants to pair
    assert "Matching: manual 2" in only.text
    exported = root.get(f"/runs/{run.id}/export?what=grants&format=csv&category=broken")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["category"] for r in rows} == {"broken"} and len(rows) == 3
    as_json = root.get(f"/runs/{run.id}/export?what=grants&format=json&right=folder")
    assert {g["right"] for g in json.loads(as_json.text)} == {"folder"}


def test_other_roles_see_counts_not_grants(hybrid: Hybrid, make_client: Any) -> None:
    run = hybrid.run(hybrid.task("report", "hybrid_report"))
    batches = hybrid.run(hybrid.task("batches", "migration_batches", max_batch_size=2))
    for role in (Role.READ_ONLY, Role.ADMIN):
        client = make_client(role)
        report = client.page(f"/runs/{run.id}/hybrid")
        assert report.status_code == 200
        assert "grant details are visible to super administrators" in report.text
        assert 'id="by-category"' in report.text
        assert "Add-RecipientPermission" not in report.text
        assert 'id="grants"' not in report.text
        assert client.get(f"/runs/{run.id}/export?what=grants").status_code == 403
        assert client.get(f"/runs/{run.id}/export?what=commands").status_code == 403
        plan = client.page(f"/runs/{batches.id}/batches")
        assert plan.status_code == 200 and 'id="service-accounts"' not in plan.text
        assert client.get(f"/runs/{batches.id}/export?what=broken").status_code == 403


def test_batches_pages_and_the_migration_csv(
    hybrid: Hybrid, root: Client, make_client: Any
) -> None:
    run = hybrid.run(hybrid.task("batches", "migration_batches", max_batch_size=2))
    assert run.status == "succeeded", run.error
    page = root.page(f"/runs/{run.id}/batches")
    assert page.status_code == 200 and 'id="batches"' in page.text
    first = run.report["batches"][0]["name"] if run.report else ""
    detail = root.page(f"/runs/{run.id}/batches/{first}")
    assert detail.status_code == 200 and 'id="members"' in detail.text
    reader = make_client(Role.READ_ONLY)
    csv_text = reader.get(f"/runs/{run.id}/export?what=migration&batch={first}")
    assert csv_text.status_code == 200
    lines = csv_text.text.splitlines()
    assert lines[0] == "EmailAddress" and 1 <= len(lines) - 1 <= 2
    assert root.get(f"/runs/{run.id}/batches/nothing").status_code == 404


@pytest.fixture
def registry() -> Registry:
    """Every definition type of the installation: the hybrid ones have forms here."""
    return default_registry()


def test_a_batches_definition_is_made_in_the_console_form(hybrid: Hybrid, root: Client) -> None:
    org = hybrid.organization_id
    form = root.page(f"/organizations/{org}/definitions/new?type=migration_batches")
    assert form.status_code == 200 and 'name="opt.weights"' in form.text
    fields = {
        "name": "waves",
        "type": "migration_batches",
        "opt.max_batch_size": "40",
        "opt.completion_group_size": "10",
        "opt.weights": '{"send_as": 20}',
        "opt.service_accounts": '["svc@contoso.com"]',
        "opt.entra_connect_exchange_hybrid": "on",
    }
    assert root.submit(f"/organizations/{org}/definitions/new", fields).status_code == 303
    bad = root.submit(
        f"/organizations/{org}/definitions/new",
        {**fields, "name": "bad", "opt.completion_group_size": "50"},
    )
    assert bad.status_code == 422
    assert "completion_group_size must not exceed max_batch_size" in bad.text
