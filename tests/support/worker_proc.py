"""A worker process for tests: runs a test-only "sleep" definition type and records each run.

Usage: ``python tests/support/worker_proc.py RECORD_DIR`` with the database and timings
taken from the environment like any tenantsync process (``TENANTSYNC_DATABASE_URL``,
``TENANTSYNC_LEASE_SECONDS``, ``TENANTSYNC_POLL_SECONDS``...). Works until SIGTERM.

Every execution of a run appends ``start``/``end`` lines to ``RECORD_DIR/<pid>.log``:
``<event> <run_id> <task_id> <unix time>``. Tests read these files to see which process
executed which run, when, and whether it got to the end.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from tenantsync.engine.feature import ChangeList, Limits, NothingMissing
from tenantsync.engine.plan import Plan
from tenantsync.engine.registry import DefinitionType, Registry
from tenantsync.engine.run import RunContext
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.worker.runner import Worker


class SleepOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = 0.0


def _record(record_dir: Path, event: str, ctx: RunContext) -> None:
    line = f"{event} {ctx.run_id} {ctx.task.id} {time.time():.6f}\n"
    # One write of one short line to an O_APPEND file: lines never interleave.
    with (record_dir / f"{os.getpid()}.log").open("a", encoding="ascii") as fh:
        fh.write(line)


class Sleep:
    """A feature that records its start, sleeps ``seconds`` and records its end."""

    def __init__(self, record_dir: Path) -> None:
        self.record_dir = record_dir

    def limits(self, options: object) -> Limits | None:
        return None

    def read(self, ctx: RunContext, source: object, *, full: str | None = None) -> NothingMissing:
        options = ctx.options
        assert isinstance(options, SleepOptions)
        _record(self.record_dir, "start", ctx)
        deadline = time.monotonic() + options.seconds
        while time.monotonic() < deadline:
            ctx.check_cancelled()
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        _record(self.record_dir, "end", ctx)
        return NothingMissing()

    def plan(self, ctx: RunContext, session: Session, reading: NothingMissing) -> ChangeList:
        options = ctx.options
        assert isinstance(options, SleepOptions)
        return ChangeList(Plan(), {"slept": options.seconds, "pid": os.getpid()})

    def apply(self, ctx: RunContext, session: Session, planned: ChangeList) -> None:
        """Nothing to write."""


def sleep_type(record_dir: Path) -> DefinitionType:
    """A definition type whose runs sleep and record when they start and end."""
    return DefinitionType(
        name="sleep", title="Sleep (tests)", options_model=SleepOptions, feature=Sleep(record_dir)
    )


def main(argv: list[str]) -> int:
    record_dir = Path(argv[0])
    record_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    db = Database.from_settings(settings)
    worker = Worker(db, settings, Registry([sleep_type(record_dir)]))

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop_event.set()

    signal.signal(signal.SIGTERM, stop)
    # Tell the test this process is ready to claim runs.
    (record_dir / f"{os.getpid()}.ready").touch()
    worker.run_forever()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
