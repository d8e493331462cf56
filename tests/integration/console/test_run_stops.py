"""A threshold stop through the API as through the page: confirm with the count of removals
(a wrong count confirms nothing), reject (the run ends cancelled, nothing removed, audited),
and a run's progress as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, Role, Run, RunStatus, Trigger
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.support.console import console_registry, seed_directory
from tests.support.factory import make_org, make_task


@pytest.fixture
def stopped(db: Database, settings: Settings) -> tuple[int, int]:
    """Two runs of a probe task that removes 30 mailboxes, both stopped at its threshold."""
    seed_directory(db)
    with db.session() as session:
        org = make_org(session, "fabrikam")
        task = make_task(session, org, "remover", type_="probe", options={"removals": 30})
        ids = [queue.enqueue(session, task, Trigger.MANUAL, requested_by="t").id for _ in "ab"]
    worker = Worker(db, settings, console_registry(), name="test-worker")
    for run_id in ids:
        assert worker.step(run_id)
    return ids[0], ids[1]


def test_the_api_confirms_a_stop_only_with_its_count_and_rejects_another(
    api: Any, db: Database, stopped: tuple[int, int]
) -> None:
    first, second = stopped
    root, admin = api(Role.SUPER_ADMIN), api(Role.ADMIN)
    progress = admin.get(f"/api/v1/runs/{first}/progress").json()
    assert progress["status"] == "awaiting_confirmation" and progress["finished"]
    assert admin.post(f"/api/v1/runs/{first}/confirm", json={"count": 30}).status_code == 403
    wrong = root.post(f"/api/v1/runs/{first}/confirm", json={"count": 3})
    assert wrong.status_code == 422 and "type the number of removals, 30" in wrong.text
    assert root.post(f"/api/v1/runs/{first}/confirm", json={}).status_code == 422
    confirmed = root.post(f"/api/v1/runs/{first}/confirm", json={"count": 30})
    assert confirmed.status_code == 202 and confirmed.json()["confirms_run_id"] == first
    assert root.post(f"/api/v1/runs/{first}/reject").status_code == 422  # already confirmed

    rejected = root.post(f"/api/v1/runs/{second}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "cancelled"
    assert "nothing was removed" in rejected.json()["error"]
    assert root.post(f"/api/v1/runs/{second}/confirm", json={"count": 30}).status_code == 422
    with db.session() as session:
        assert session.get_one(Run, second).status is RunStatus.CANCELLED
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["run.confirm", "run.reject"]


def test_the_run_list_and_dashboard_count_stops_and_page_polls_read_progress(
    root: Any, stopped: tuple[int, int]
) -> None:
    first, second = stopped
    assert "2 runs stopped at the deletion threshold wait for confirmation" in root.page("/").text
    asked = f"{first},{second},999999,99999999999999999999,x"
    polled = root.get(f"/runs/progress?ids={asked}").json()["runs"]
    assert [(p["run_id"], p["status"]) for p in polled] == [
        (first, "awaiting_confirmation"),
        (second, "awaiting_confirmation"),
    ]


def test_the_api_pages_a_runs_plan_and_changes_narrowed_like_the_page(
    api: Any, db: Database, settings: Settings, stopped: tuple[int, int]
) -> None:
    first, _second = stopped
    root = api(Role.SUPER_ADMIN)
    plan = root.get(f"/api/v1/runs/{first}/plan?action=remove&address=OLD2&per_page=5").json()
    assert plan["total"] == 11  # old2, old20 … old29
    assert [e["key"] for e in plan["items"]][:2] == [
        "old2@contoso.example",
        "old20@contoso.example",
    ]
    confirming = root.post(f"/api/v1/runs/{first}/confirm", json={"count": 30}).json()["id"]
    assert Worker(db, settings, console_registry(), name="test-worker").step(confirming)
    changes = root.get(f"/api/v1/runs/{confirming}/changes?action=add").json()
    assert changes["total"] == 2 and {c["action"] for c in changes["items"]} == {"add"}
    narrowed = root.get(f"/api/v1/runs/{confirming}/changes?entity=mailbox&address=old29@")
    assert [c["key"] for c in narrowed.json()["items"]] == ["old29@contoso.example"]
