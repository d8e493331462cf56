"""Run queue throughput: claim + complete 10,000 no-op runs with 1, 2 and 4 worker processes.

Runs against a throwaway PostgreSQL started from the installed binaries. The floor is the
raw cost of the same database I/O: two bare ``UPDATE … RETURNING`` round trips per run
(one for the claim, one for the completion), autocommit, in a single connection.

    python bench/queue.py [--runs N] [--tasks T] [--workers 1,2,4] [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This file is named queue.py: keep its folder off sys.path so the stdlib `queue` is found.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from sqlalchemy import func, insert, select  # noqa: E402

from tenantsync.engine.run import Outcome  # noqa: E402
from tenantsync.store.database import Database  # noqa: E402
from tenantsync.store.models import Run, RunStatus, ScheduledTask, Trigger  # noqa: E402
from tenantsync.worker import queue  # noqa: E402
from tests.support.factory import make_org, make_task  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402


def fill(db: Database, runs: int, tasks: int) -> None:
    """``runs`` queued manual runs spread over ``tasks`` tasks (one run per task at a time)."""
    with db.session() as s:
        org = make_org(s, f"bench-{uuid.uuid4().hex[:6]}")
        ids = [make_task(s, org, f"noop-{i}", type_="noop").id for i in range(tasks)]
        s.execute(
            insert(Run),
            [
                {"task_id": ids[i % tasks], "trigger": Trigger.MANUAL, "status": RunStatus.QUEUED}
                for i in range(runs)
            ],
        )


DONE = Outcome(RunStatus.SUCCEEDED)


def drain(url: str, name: str, ready: Any, go: Any, done: mp.Queue[int]) -> None:
    """One worker process: claim and complete runs until the queue is empty."""
    db = Database(url)
    with db.engine.connect():
        pass  # connect before the clock starts: process start-up is not queue throughput
    ready.release()
    go.wait()
    handled = 0
    with db.sessions() as s:
        while True:
            claim = queue.claim(s, name, lease_seconds=60)
            if claim is None:
                pending = s.scalar(
                    select(func.count()).select_from(Run).where(Run.status == RunStatus.QUEUED)
                )
                s.commit()
                if not pending:
                    break
                continue
            queue.complete(s, claim, DONE)
            handled += 1
    db.dispose()
    done.put(handled)


def measure_workers(url: str, workers: int) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    done: mp.Queue[int] = ctx.Queue()
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    procs = [
        ctx.Process(target=drain, args=(url, f"w{i}", ready, go, done)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    handled = sum(done.get() for _ in procs)
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    return elapsed, handled


def measure_floor(url: str, runs: int) -> float:
    """Two bare UPDATE … RETURNING round trips per run in one autocommit connection."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM run ORDER BY id LIMIT %s", (runs,))]
        start = time.perf_counter()
        for run_id in ids:
            conn.execute("UPDATE run SET status = 'running' WHERE id = %s RETURNING id", (run_id,))
            conn.execute(
                "UPDATE run SET status = 'succeeded' WHERE id = %s RETURNING id", (run_id,)
            )
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--quick", action="store_true", help="1,000 runs (smoke run)")
    args = parser.parse_args(argv)
    runs = 1_000 if args.quick else args.runs
    counts = [int(w) for w in args.workers.split(",")]

    server = start_postgres()
    try:
        print(f"queue: {runs} no-op runs over {args.tasks} tasks, PostgreSQL, claim + complete")
        floor_url = server.create_database("floor")
        floor_db = Database(floor_url)
        floor_db.upgrade()
        fill(floor_db, runs, args.tasks)
        floor = measure_floor(floor_url, runs)
        floor_db.dispose()
        print(
            f"  floor (2 bare UPDATE…RETURNING per run, 1 connection): {floor:7.2f} s  "
            f"{runs / floor:8.0f} runs/s"
        )
        for workers in counts:
            url = server.create_database(f"q{workers}_{uuid.uuid4().hex[:6]}")
            db = Database(url)
            db.upgrade()
            fill(db, runs, args.tasks)
            elapsed, handled = measure_workers(url, workers)
            with db.sessions() as s:
                left = s.scalar(
                    select(func.count()).select_from(Run).where(Run.status != RunStatus.SUCCEEDED)
                )
                tasks = s.scalar(select(func.count()).select_from(ScheduledTask))
            db.dispose()
            assert handled == runs and left == 0, (handled, left)
            print(
                f"  {workers} worker process{'es' if workers > 1 else '  '}: "
                f"{elapsed:7.2f} s  {runs / elapsed:8.0f} runs/s  "
                f"{elapsed / floor:5.2f}x the floor  ({tasks} tasks)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
