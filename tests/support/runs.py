"""Runs written straight into the store, as big as a real one: a plan and its change records
inserted at the driver's speed (the store's own bulk writer), no sync needed."""

from __future__ import annotations

from collections.abc import Iterator

from tenantsync.engine.plan import Change, Plan
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus, ScheduledTask, Trigger
from tenantsync.timeutil import utcnow

PLAN_KEPT = 2000  # what user sync keeps of a plan (its PLAN_LIMIT)
MOVED_TO_SALES = 3


def big_changes(total: int) -> Iterator[Change]:
    """``total`` mailbox changes: 60% added, 30% updated, the rest removed but three moved."""
    adds, updates = total * 6 // 10, total * 3 // 10
    removes = total - adds - updates - MOVED_TO_SALES
    for i in range(adds):
        after = {"kind": "user", "policy_group": "Main", "display_name": f"New Person {i}"}
        yield Change("add", "mailbox", f"user{i}@contoso.example", "in the source", None, after)
    for i in range(updates):
        yield Change(
            "update",
            "mailbox",
            f"staff{i}@contoso.example",
            "changed in the source: display_name",
            {"display_name": f"Staff {i}", "kind": "user"},
            {"display_name": f"Staff Member {i}", "kind": "user"},
        )
    for i in range(MOVED_TO_SALES):
        yield Change(
            "move",
            "mailbox",
            f"seller{i}@contoso.example",
            "department equals Sales",
            {"policy_group": "Main"},
            {"policy_group": "Sales"},
        )
    for i in range(removes):
        before = {"kind": "user", "source_id": f"gone-{i}"}
        yield Change("remove", "mailbox", f"leaver{i}@contoso.example", "gone", before, None)


def store_big_run(db: Database, task_id: int, total: int = 100_000) -> int:
    """A finished run of ``task_id`` that applied ``total`` changes; its id."""
    plan = Plan(list(big_changes(total)))
    now = utcnow()
    with db.session() as session:
        task = session.get_one(ScheduledTask, task_id)
        run = Run(
            task_id=task_id,
            trigger=Trigger.MANUAL,
            status=RunStatus.SUCCEEDED,
            started_at=now,
            finished_at=now,
            counts={"changes": total},
            messages=[{"level": "warning", "text": f"unreadable user {i}"} for i in range(12)],
            plan=plan.to_json(limit=PLAN_KEPT) | {"moved_to": {"Sales": MOVED_TO_SALES}},
        )
        session.add(run)
        session.flush()
        record_changes(
            session,
            plan.changes,
            run_id=run.id,
            organization_id=task.organization_id,
            actor=f"task:{task.name} (run {run.id})",
        )
        return run.id
