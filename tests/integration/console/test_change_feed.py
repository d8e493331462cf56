"""The change feed: a service that consumes the directory follows what changed by cursor,
in commit order, on SQLite and PostgreSQL; grant changes only for super administrators; a
cursor older than the retained history is told to resync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from tenantsync.engine.plan import Change
from tenantsync.settings import Settings
from tenantsync.store import feed
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tenantsync.store.models import Organization, Role, Run
from tenantsync.timeutil import utcnow
from tenantsync.worker.runner import Worker
from tests.support.console import Seeded, console_registry, seed_directory
from tests.support.factory import make_task


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


def run_probe(db: Database, settings: Settings, root: Any, task_id: int) -> int:
    """Run the task now through the worker; the run's id."""
    run_id: int = root.post(f"/api/v1/tasks/{task_id}/run").json()["id"]
    assert Worker(db, settings, console_registry(), name="test-worker").step(run_id)
    return run_id


def probe_task(db: Database, org_id: int, name: str, type_: str = "probe", **options: Any) -> int:
    with db.session() as session:
        org = session.get(Organization, org_id)
        assert org is not None
        return make_task(session, org, name, type_=type_, options=options).id


def follow(client: Any, org_id: int, after: str | None = None, limit: int = 100) -> Any:
    params: dict[str, Any] = {"limit": limit}
    if after is not None:
        params["after"] = after
    return client.get(f"/api/v1/organizations/{org_id}/changes", params=params)


def grant(root: Any, seeded: Seeded) -> int:
    added = root.post(
        f"/api/v1/mailboxes/{seeded.shared_id}/delegates",
        json={"delegate": "adele@contoso.example", "right": "send_as"},
    )
    assert added.status_code == 201, added.text
    grant_id: int = added.json()["id"]
    return grant_id


def test_the_feed_gives_committed_changes_in_order_by_cursor(
    api: Any, db: Database, settings: Settings, seeded: Seeded
) -> None:
    root = api(Role.SUPER_ADMIN)
    url = f"/api/v1/organizations/{seeded.org_id}/changes"
    empty = root.get(url).json()
    assert empty == {"items": [], "next": "0", "more": False, "latest": "0"}

    task = probe_task(db, seeded.org_id, "adds", additions=3)
    first = run_probe(db, settings, root, task)
    stopped = probe_task(db, seeded.org_id, "stops", additions=1, removals=2, threshold=1)
    assert run_probe(db, settings, root, stopped)  # awaiting confirmation: nothing applied
    preview = root.post(f"/api/v1/tasks/{task}/preview").json()["id"]
    assert Worker(db, settings, console_registry()).step(preview)  # a preview applies nothing
    with db.session() as session:  # a transaction that rolls back gives its numbers back
        record_changes(
            session,
            [Change("add", "mailbox", "never@contoso.example")],
            run_id=None,
            organization_id=seeded.org_id,
            actor="test",
        )
        session.rollback()
    grant_id = grant(root, seeded)
    second = run_probe(db, settings, root, task)
    assert root.delete(f"/api/v1/delegate-grants/{grant_id}").status_code == 204

    page = follow(root, seeded.org_id, limit=2).json()
    assert [e["cursor"] for e in page["items"]] == ["1", "2"]
    assert page["next"] == "2" and page["more"] is True and page["latest"] == "8"
    rest = follow(root, seeded.org_id, after=page["next"]).json()
    events = page["items"] + rest["items"]
    assert rest["next"] == "8" and rest["more"] is False
    assert [(e["cursor"], e["entity"], e["action"], e["key"], e["run_id"]) for e in events] == [
        ("1", "mailbox", "add", "new0@contoso.example", first),
        ("2", "mailbox", "add", "new1@contoso.example", first),
        ("3", "mailbox", "add", "new2@contoso.example", first),
        (
            "4",
            "delegate_grant",
            "add",
            "info@contoso.example | adele@contoso.example | send_as",
            None,
        ),
        ("5", "mailbox", "add", "new0@contoso.example", second),
        ("6", "mailbox", "add", "new1@contoso.example", second),
        ("7", "mailbox", "add", "new2@contoso.example", second),
        (
            "8",
            "delegate_grant",
            "remove",
            "info@contoso.example | adele@contoso.example | send_as",
            None,
        ),
    ]
    assert events[3]["actor"] == "root@example.com"
    assert follow(root, seeded.org_id, after="8").json()["items"] == []

    # The cursor is a stored sequence: another process (a restart) answers the same.
    again = Database.from_settings(settings)
    with again.session() as session:
        found = feed.read(session, seeded.org_id, 5, 100, grants=True)
    again.dispose()
    assert isinstance(found, feed.FeedPage)
    assert [e.seq for e in found.events] == [6, 7, 8]


def test_grant_changes_are_left_out_for_other_roles(
    api: Any, db: Database, settings: Settings, seeded: Seeded
) -> None:
    root = api(Role.SUPER_ADMIN)
    task = probe_task(db, seeded.org_id, "adds", additions=1)
    grant(root, seeded)
    run_probe(db, settings, root, task)
    assert [e["entity"] for e in follow(root, seeded.org_id).json()["items"]] == [
        "delegate_grant",
        "mailbox",
    ]
    for role in (Role.ADMIN, Role.READ_ONLY):
        client = api(role)
        page = follow(client, seeded.org_id, limit=1).json()
        assert page == {"items": [], "next": "1", "more": True, "latest": "2"}
        rest = follow(client, seeded.org_id, after=page["next"]).json()
        assert [e["entity"] for e in rest["items"]] == ["mailbox"]
        assert rest["next"] == "2" and rest["more"] is False
    assert follow(api(None), seeded.org_id).status_code == 401


def test_a_cursor_older_than_the_retained_history_is_told_to_resync(
    api: Any, db: Database, settings: Settings, seeded: Seeded
) -> None:
    root = api(Role.SUPER_ADMIN)
    task = probe_task(db, seeded.org_id, "adds", additions=2)
    old = run_probe(db, settings, root, task)
    run_probe(db, settings, root, task)
    with db.session() as session:
        session.execute(
            update(Run).where(Run.id == old).values(finished_at=utcnow() - timedelta(days=400))
        )
    housekeeping = probe_task(db, seeded.org_id, "tidy", "housekeeping")
    run_probe(db, settings, root, housekeeping)  # prunes the old run and its changes

    gone = follow(root, seeded.org_id, after="0")
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    body = gone.json()
    assert body["title"] == "resync needed"
    assert (body["oldest"], body["latest"]) == ("2", "4")
    assert [e["cursor"] for e in follow(root, seeded.org_id, after="2").json()["items"]] == [
        "3",
        "4",
    ]
    assert follow(root, seeded.org_id).json()["items"][0]["cursor"] == "3"  # from the oldest
    assert follow(root, seeded.org_id, after="9").status_code == 410  # a cursor never given
    assert follow(root, seeded.org_id, after="x").status_code == 422

    # Deleting a task deletes its runs' changes: the horizon moves past them.
    assert root.delete(f"/api/v1/tasks/{task}").status_code == 204
    moved = follow(root, seeded.org_id, after="2")
    assert moved.status_code == 410 and moved.json()["oldest"] == "4"
    assert follow(root, seeded.org_id, after="4").json()["items"] == []
