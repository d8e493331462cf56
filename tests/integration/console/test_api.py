"""The REST API does what the pages do: set up a task, preview it, read the plan and the
change log, search mailboxes with filters and pages, and manage delegate access."""

from __future__ import annotations

from typing import Any

import pytest

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Role
from tenantsync.worker.runner import Worker
from tests.support.console import Seeded, console_registry, seed_directory


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


def test_a_task_is_set_up_previewed_and_read_back_through_the_api(
    api: Any, seeded: Seeded, db: Database, settings: Settings
) -> None:
    admin = api(Role.ADMIN)
    org = f"/api/v1/organizations/{seeded.org_id}"
    types = {t["name"]: t for t in admin.get("/api/v1/definition-types").json()}
    assert types["probe"]["options_schema"]["properties"]["mode"]["enum"] == ["quick", "thorough"]
    bad = admin.post(
        f"{org}/definitions", json={"name": "d", "type": "probe", "options": {"additions": -1}}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "opt.additions" in bad.json()["errors"]
    definition = admin.post(
        f"{org}/definitions", json={"name": "d", "type": "probe", "options": {"additions": 3}}
    ).json()
    schedule = admin.post(f"{org}/schedules", json={"name": "s", "interval_seconds": 600}).json()
    task = admin.post(
        f"{org}/tasks",
        json={
            "name": "t",
            "definition_id": definition["id"],
            "schedule_id": schedule["id"],
            "scope_kind": "address",
            "scope_value": "helpdesk@contoso.example",
        },
    )
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    assert (
        admin.patch(f"/api/v1/tasks/{task_id}", json={"enabled": False}).json()["enabled"] is False
    )
    tasks = admin.get(f"{org}/tasks", params={"enabled": "false"}).json()
    assert [t["name"] for t in tasks["items"]] == ["t"] and tasks["total"] == 1
    assert admin.get(f"{org}/definitions", params={"type": "probe"}).json()["total"] == 2

    preview = admin.post(f"/api/v1/tasks/{task_id}/preview")
    assert preview.status_code == 202 and preview.json()["status"] == "queued"
    assert Worker(db, settings, console_registry()).step(preview.json()["id"])
    run = admin.get(f"/api/v1/runs/{preview.json()['id']}").json()
    assert run["status"] == "succeeded"
    assert [(g["action"], g["count"]) for g in run["plan"]] == [("add", 3)]
    runs = admin.get("/api/v1/runs", params={"task_id": task_id, "trigger": "preview"}).json()
    assert runs["total"] == 1
    failed = admin.get("/api/v1/runs", params={"status": "failed"}).json()
    assert [r["id"] for r in failed["items"]] == [seeded.failed_run_id]
    dashboard = admin.get("/api/v1/dashboard").json()
    assert dashboard["mailboxes"]["billable"] == 1
    assert any(t["last_failure"] for t in dashboard["tasks"])


def test_mailboxes_are_searched_filtered_and_paged(api: Any, seeded: Seeded) -> None:
    reader = api(Role.READ_ONLY)
    url = f"/api/v1/organizations/{seeded.org_id}/mailboxes"

    def addresses(**params: Any) -> list[str]:
        body = reader.get(url, params=params).json()
        return [m["primary_address"] for m in body["items"]]

    assert addresses(kind="shared") == ["info@contoso.example"]
    assert set(addresses(billable="false")) == {"info@contoso.example", "room1@contoso.example"}
    assert addresses(removed="true") == ["gone@contoso.example"]
    first = reader.get(url, params={"per_page": 2, "page": 1}).json()
    second = reader.get(url, params={"per_page": 2, "page": 2}).json()
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert reader.get(url, params={"per_page": 500}).status_code == 422
    detail = reader.get(f"/api/v1/mailboxes/{seeded.user_id}").json()
    assert detail["aliases"] == ["av@contoso.example"] and detail["groups"][0]["name"] == "Helpdesk"


def test_delegate_access_through_the_api_is_for_super_administrators(
    api: Any, seeded: Seeded
) -> None:
    url = f"/api/v1/mailboxes/{seeded.shared_id}/delegates"
    assert api(Role.ADMIN).get(url).status_code == 403
    root = api(Role.SUPER_ADMIN)
    grants = root.get(url).json()
    assert grants[0]["source"] == "task nightly probe" and grants[0]["via_group"] == "Helpdesk"
    added = root.post(url, json={"delegate": "ROOM1@contoso.example", "right": "send_on_behalf"})
    assert added.status_code == 201 and added.json()["origin"] == "manual"
    assert root.delete(f"/api/v1/delegate-grants/{seeded.grant_id}").status_code == 422
    assert root.delete(f"/api/v1/delegate-grants/{added.json()['id']}").status_code == 204
    assert len(root.get(url).json()) == 1
