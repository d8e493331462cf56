"""Runs of the hybrid definition types through the worker, over an exported-files
connection (a folder of files, and files uploaded to the connection)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenantsync.engine.registry import default_registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, Organization, Run, ScheduledTask, Trigger
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.support.factory import make_org, make_task


@dataclass
class Finished:
    """A finished run as the store keeps it."""

    id: int
    status: str
    counts: dict[str, Any]
    messages: list[dict[str, Any]]
    error: str | None
    report: dict[str, Any] | None


@dataclass
class Hybrid:
    """An organization with an exported-files connection and hybrid tasks."""

    db: Database
    settings: Settings
    folder: Path | None = None
    organization_id: int = 0
    connection_id: int = 0
    tasks: dict[str, int] = field(default_factory=dict)

    def setup(self, org: str = "contoso") -> Hybrid:
        box = SecretBox.from_key_file(self.settings.effective_key_file, create=True)
        with self.db.session() as s:
            organization: Organization = make_org(s, org)
            self.organization_id = organization.id
            conn = Connection(
                organization_id=organization.id,
                name="exported",
                kind="exported_files",
                params={"folder": str(self.folder) if self.folder else None, "side": "on_premises"},
                secret_ciphertext=box.encrypt({}),
            )
            s.add(conn)
            s.flush()
            self.connection_id = conn.id
        return self

    def task(self, name: str, type_: str, **options: Any) -> int:
        with self.db.session() as s:
            org = s.get_one(Organization, self.organization_id)
            task = make_task(s, org, name, type_=type_, options=options)
            task.connection_id = self.connection_id
            self.tasks[name] = task.id
            return task.id

    def run(self, task_id: int, *, preview: bool = False) -> Finished:
        worker = Worker(self.db, self.settings, default_registry())
        with self.db.session() as s:
            task = s.get_one(ScheduledTask, task_id)
            trigger = Trigger.PREVIEW if preview else Trigger.MANUAL
            run_id = queue.enqueue(s, task, trigger).id
        assert worker.step(run_id)
        with self.db.session() as s:
            run = s.get_one(Run, run_id)
            return Finished(
                run.id, run.status.value, run.counts, run.messages, run.error, run.report
            )


def grant_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's grants as dicts with addresses."""
    addresses = [m[0] for m in report["mailboxes"]]
    columns = report["grant_columns"]
    rows = []
    for row in report["grants"]:
        item = dict(zip(columns, row, strict=True))
        item["mailbox"] = addresses[item["mailbox"]]
        item["trustee"] = addresses[item["trustee"]]
        rows.append(item)
    return rows
