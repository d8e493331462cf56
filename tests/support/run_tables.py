"""The run list and a run's change log as tables, seeded for their tests (the pages' and the
API's): 60 finished runs of two tasks, and one run's changes with a delegate grant among
them; the orders a test expects, and the rows of a CSV answer."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tenantsync.console.ops.grant_data import GRANT_ENTITY
from tenantsync.engine.plan import Change
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus, Trigger
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org, make_task

RUNS = 60
GRANT_KEY = "anna@contoso.example→boss@contoso.example"
# The seeded run's changes in the order they were made: (action, entity, address).
CHANGES = [
    ("update", "mailbox", "av@contoso.example"),
    ("add", GRANT_ENTITY, GRANT_KEY),
    ("add", "mailbox", "room1@contoso.example"),
    ("remove", "mailbox", "old@contoso.example"),
]
COLUMN_OF = {"order": None, "action": 0, "entity": 1, "address": 2}


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded rows."""

    org_id: int
    alpha_id: int
    run_ids: list[int]
    changed_run_id: int


def seed_run_tables(db: Database) -> Seeded:
    """60 finished runs of two tasks (every third failed, queued out of id order), and one
    run's changes: mailboxes and a delegate grant."""
    start = utcnow() - timedelta(days=10)
    with db.session() as session:
        org = make_org(session)
        alpha = make_task(session, org, "alpha")
        beta = make_task(session, org, "beta")
        runs = []
        for i in range(RUNS):
            queued = start + timedelta(minutes=(i * 37) % RUNS)
            run = Run(
                task_id=(alpha if i % 2 else beta).id,
                trigger=Trigger.MANUAL if i % 4 == 0 else Trigger.SCHEDULE,
                status=RunStatus.FAILED if i % 3 == 0 else RunStatus.SUCCEEDED,
                created_at=queued,
                started_at=queued + timedelta(seconds=1),
                finished_at=queued + timedelta(seconds=2 + i),
                requested_by="=cmd|' /C calc'!A0" if i == 5 else None,
            )
            session.add(run)
            runs.append(run)
        session.flush()
        changed = runs[-1]
        record_changes(
            session,
            [
                Change("update", "mailbox", "av@contoso.example", "", {"display_name": "A"}, {}),
                Change("add", GRANT_ENTITY, GRANT_KEY, "granted in the source"),
                Change("add", "mailbox", "room1@contoso.example", "another mailbox"),
                Change("remove", "mailbox", "old@contoso.example", "gone from the source"),
            ],
            run_id=changed.id,
            organization_id=org.id,
            actor="task",
        )
        return Seeded(org.id, alpha.id, [r.id for r in runs], changed.id)


def in_order(sort: str, changes: list[tuple[str, str, str]] = CHANGES) -> list[str]:
    """The addresses of ``changes`` as ``sort`` orders them, the order made breaking ties."""
    column = COLUMN_OF[sort.lstrip("-")]
    made = {c: i for i, c in enumerate(changes)}
    ranked = sorted(changes, key=lambda c: (made[c] if column is None else c[column], made[c]))
    return [c[2] for c in (ranked[::-1] if sort.startswith("-") else ranked)]


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
