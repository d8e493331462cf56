"""A working run's progress reaches the store about once a second, whatever the lease: with a
lease renewed only every twenty seconds, a watcher (and `runs list`) sees the stage and count
move."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tenantsync.cli import app
from tenantsync.engine.feature import ChangeList, Limits, NothingMissing
from tenantsync.engine.plan import Plan
from tenantsync.engine.registry import DefinitionType, Registry
from tenantsync.engine.run import RunContext
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus, Trigger
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.support.factory import make_org, make_task


class CountOptions(BaseModel):
    """How far to count."""

    to: int = 1000


class Count:
    """Counts to ``to``, reporting each step, until the test lets it finish."""

    def __init__(self) -> None:
        self.finish = threading.Event()

    def limits(self, options: object) -> Limits | None:
        return None

    def read(self, ctx: RunContext, source: object, *, full: str | None = None) -> NothingMissing:
        assert isinstance(ctx.options, CountOptions)
        done = 0
        while not self.finish.wait(0.02):
            done = min(done + 1, ctx.options.to)
            ctx.report("counting", done, ctx.options.to)
        return NothingMissing()

    def plan(self, ctx: RunContext, session: Session, reading: Any) -> ChangeList:
        return ChangeList(Plan())

    def apply(self, ctx: RunContext, session: Session, planned: ChangeList) -> None:
        """Nothing to write."""


def test_progress_is_written_every_second_while_the_lease_waits_twenty(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = Count()
    registry = Registry([DefinitionType("count", "Count (tests)", CountOptions, count)])
    with db.session() as session:
        task = make_task(session, make_org(session), "count", type_="count")
        run_id = queue.enqueue(session, task, Trigger.MANUAL).id
    slow_lease = settings.model_copy(update={"lease_seconds": 60})
    worker = Worker(db, slow_lease, registry, name="progress-test")
    working = threading.Thread(target=worker.step, args=(run_id,))
    working.start()
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 15
        while len(seen) < 3 and time.monotonic() < deadline:
            with db.session() as session:
                progress = session.get_one(Run, run_id).progress or {}
            if progress.get("stage") == "counting" and progress.get("done") not in seen:
                assert progress["total"] == 1000 and progress["stage_started_at"]
                seen.append(int(progress["done"]))
            time.sleep(0.1)
        monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
        monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
        listed = CliRunner().invoke(app, ["runs", "list"], env={"COLUMNS": "200"})
        assert "counting: " in listed.output and " of 1,000" in listed.output, listed.output
    finally:
        count.finish.set()
        working.join(timeout=30)
    assert len(seen) >= 3 and seen == sorted(seen), seen
    with db.session() as session:
        assert session.get_one(Run, run_id).status is RunStatus.SUCCEEDED
