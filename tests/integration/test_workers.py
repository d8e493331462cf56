"""Worker processes sharing one queue: each run exactly once; a killed worker's run survives."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus, ScheduledTask, Trigger
from tenantsync.worker import queue
from tests.support.factory import make_org, make_task
from tests.support.postgres import PostgresServer, start_postgres

WORKER_PROC = Path(__file__).parents[1] / "support" / "worker_proc.py"
REPO = Path(__file__).parents[2]


@dataclass(frozen=True)
class Record:
    pid: int
    event: str
    run_id: int
    task_id: int
    at: float


def read_records(record_dir: Path) -> list[Record]:
    records = []
    for log in record_dir.glob("*.log"):
        for line in log.read_text().splitlines():
            event, run_id, task_id, at = line.split()
            records.append(Record(int(log.stem), event, int(run_id), int(task_id), float(at)))
    return records


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class Workers:
    """Worker processes started from tests/support/worker_proc.py, all stopped at the end."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.tmp = tmp
        self.record_dir = tmp / "records"
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int, *, lease_seconds: float = 30, poll_seconds: float = 0.05) -> None:
        env = {
            **os.environ,
            "TENANTSYNC_DATABASE_URL": self.url,
            "TENANTSYNC_DATA_DIR": str(self.tmp / "data"),
            "TENANTSYNC_LEASE_SECONDS": str(lease_seconds),
            "TENANTSYNC_POLL_SECONDS": str(poll_seconds),
        }
        started = [
            subprocess.Popen(
                [sys.executable, str(WORKER_PROC), str(self.record_dir)],
                env=env,
                cwd=REPO,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(count)
        ]
        self.procs += started
        wait_until(
            lambda: all((self.record_dir / f"{p.pid}.ready").exists() for p in started),
            30,
            "worker processes to start",
        )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[str], Workers]]:
    made: list[Workers] = []

    def make(url: str) -> Workers:
        made.append(Workers(url, tmp_path))
        return made[-1]

    yield make
    for w in made:
        w.stop()


def queue_runs(db: Database, tasks: int, runs: int, seconds: float) -> list[int]:
    """``runs`` manual runs spread over ``tasks`` sleep tasks, oldest first."""
    with db.session() as session:
        org = make_org(session)
        made = [
            make_task(session, org, f"sleep-{i}", type_="sleep", options={"seconds": seconds})
            for i in range(tasks)
        ]
        return [queue.enqueue(session, made[i % tasks], Trigger.MANUAL).id for i in range(runs)]


def unfinished(db: Database) -> int:
    with db.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Run)
                .where(Run.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
            )
            or 0
        )


@pytest.mark.postgres
def test_four_worker_processes_run_each_of_300_runs_exactly_once(
    postgres_server: PostgresServer, workers: Callable[[str], Workers]
) -> None:
    db = Database(postgres_server.create_database(f"w_{uuid.uuid4().hex[:12]}"))
    db.upgrade()
    run_ids = queue_runs(db, tasks=20, runs=300, seconds=0.005)

    pool = workers(db.url)
    pool.start(4)
    wait_until(lambda: unfinished(db) == 0, 45, "every run to finish")
    pool.stop()

    with db.sessions() as session:
        rows = session.execute(select(Run.id, Run.status, Run.attempts, Run.retried)).all()
    assert sorted(r.id for r in rows) == sorted(run_ids)
    assert {(r.status, r.attempts, r.retried) for r in rows} == {(RunStatus.SUCCEEDED, 1, False)}

    records = read_records(pool.record_dir)
    starts = Counter(r.run_id for r in records if r.event == "start")
    ends = Counter(r.run_id for r in records if r.event == "end")
    assert starts == ends == Counter(run_ids)  # none executed twice, none lost
    assert len({r.pid for r in records}) >= 2, "the runs were shared between processes"

    # Two runs of one task never overlap, whichever processes they ran in.
    spans: dict[int, list[tuple[float, float]]] = defaultdict(list)
    begun = {r.run_id: r.at for r in records if r.event == "start"}
    for r in records:
        if r.event == "end":
            spans[r.task_id].append((begun[r.run_id], r.at))
    for task_spans in spans.values():
        task_spans.sort()
        for (_, end), (next_start, _) in itertools.pairwise(task_spans):
            assert next_start >= end
    db.dispose()


def test_a_worker_killed_mid_run_has_its_run_finished_by_another(
    db: Database, workers: Callable[[str], Workers]
) -> None:
    (run_id,) = queue_runs(db, tasks=1, runs=1, seconds=1.5)
    pool = workers(db.url)
    pool.start(2, lease_seconds=1, poll_seconds=0.1)

    wait_until(
        lambda: any(r.event == "start" for r in read_records(pool.record_dir)),
        30,
        "a worker to start the run",
    )
    (victim,) = {r.pid for r in read_records(pool.record_dir)}
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: unfinished(db) == 0, 30, "the run to be finished by the other worker")

    with db.sessions() as session:
        run = session.get(Run, run_id)
        assert run is not None
        task = session.get(ScheduledTask, run.task_id)
        assert task is not None
    assert run.status == RunStatus.SUCCEEDED
    assert run.retried and run.attempts == 2
    records = read_records(pool.record_dir)
    by_victim = [r.event for r in records if r.pid == victim]
    rescuer = {r.pid for r in records} - {victim}
    assert by_victim == ["start"], "the killed worker never finished the run"
    assert len(rescuer) == 1
    assert [r.event for r in records if r.pid in rescuer] == ["start", "end"]
    assert run.counts["pid"] in rescuer


@pytest.mark.postgres
def test_a_worker_outlives_a_database_outage(
    postgres_server: PostgresServer, workers: Callable[[str], Workers]
) -> None:
    # Its own server: stopping the shared one would disturb other tests.
    del postgres_server
    server = start_postgres()
    try:
        db = Database(server.create_database("outage"))
        db.upgrade()
        queue_runs(db, tasks=1, runs=1, seconds=0)
        pool = workers(db.url)
        pool.start(1, poll_seconds=0.1)
        wait_until(lambda: unfinished(db) == 0, 30, "the first run")
        db.dispose()

        server.halt()
        time.sleep(1.5)  # the worker polls a database that is gone
        assert pool.procs[0].poll() is None, "the worker died with the database"
        server.resume()

        with db.session() as session:
            task = session.scalars(select(ScheduledTask)).one()
            queue.enqueue(session, task, Trigger.MANUAL)
        wait_until(lambda: unfinished(db) == 0, 60, "a run queued after the outage")
        assert pool.procs[0].poll() is None
        db.dispose()
    finally:
        pool.stop()
        server.stop()
