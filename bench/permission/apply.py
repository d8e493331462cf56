"""Permission sync benchmark, part 3: applying a plan of N grants (the first sync of a large
tenant) to SQLite and PostgreSQL, against the floor of a bare executemany (SQLite) / COPY
(PostgreSQL) of the same grant rows into the same table; each side in its own process so
its peak memory is its own. Run by `bench/permission_sync.py`."""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select

from bench.support.memory import peak_mb
from tenantsync.engine.permission_sync import PermissionSyncOptions
from tenantsync.engine.permission_sync.apply import Names, apply_grant_plan, plan_changes
from tenantsync.engine.permission_sync.diff import GrantPlan
from tenantsync.engine.run import RunContext, TaskInfo
from tenantsync.model.permissions import Grant, Right
from tenantsync.settings import Settings
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database
from tenantsync.store.models import (
    ChangeRecord,
    DelegateGrant,
    Mailbox,
    MailboxKind,
    ScheduledTask,
    Trigger,
)
from tenantsync.worker import queue
from tests.support.factory import make_org, make_task

PER_MAILBOX = 50
COLUMNS = (
    "organization_id",
    "mailbox_id",
    "delegate_id",
    "right",
    "origin_task_id",
    "via_group_id",
    "created_at",
    "run_id",
)


def prepare(url: str, grants: int) -> tuple[int, int, int, list[int]]:
    """A migrated store with enough mailboxes for ``grants``: (org, task, run, mailbox ids)."""
    db = Database(url)
    db.upgrade()
    mailboxes = max(PER_MAILBOX + 1, grants // PER_MAILBOX)
    with db.session() as s:
        org = make_org(s, "bench")
        task = make_task(s, org, "perms", type_="mailbox_permission_sync")
        run = queue.enqueue(s, s.get_one(ScheduledTask, task.id), Trigger.MANUAL)
        s.execute(
            insert(Mailbox),
            [
                {
                    "organization_id": org.id,
                    "primary_address": f"m{i}@contoso.com",
                    "kind": MailboxKind.USER,
                    "attributes": {},
                }
                for i in range(mailboxes)
            ],
        )
        ids = list(s.scalars(select(Mailbox.id).order_by(Mailbox.id)))
        result = (org.id, task.id, run.id, ids)
    db.dispose()
    return result


def the_grants(ids: list[int], grants: int) -> list[Grant]:
    """``grants`` Full Access grants: each mailbox opened by the next PER_MAILBOX mailboxes."""
    out = []
    n = len(ids)
    for k in range(grants):
        i, j = divmod(k, PER_MAILBOX)
        out.append(Grant(ids[i % n], ids[(i + j + 1) % n], Right.FULL_ACCESS))
    return out


def ours(url: str, grants: int, out: Any) -> None:
    """The shipped apply: bulk insert of grants plus one change record per grant."""
    org_id, task_id, run_id, ids = prepare(url, grants)
    plan = GrantPlan(adds=the_grants(ids, grants))
    names = Names({mid: f"m{i}@contoso.com" for i, mid in enumerate(ids)}, {})
    db = Database(url)
    ctx = RunContext(
        db=db,
        settings=Settings(database_url=url),
        run_id=run_id,
        trigger=Trigger.MANUAL,
        task=TaskInfo(task_id, "perms", org_id, "mailbox_permission_sync", None, "all", None),
        options=PermissionSyncOptions(),
    )
    start = time.perf_counter()
    with db.session() as s:
        apply_grant_plan(s, ctx, plan)
        record_changes(
            s,
            plan_changes(plan, names),
            run_id=run_id,
            organization_id=ctx.task.organization_id,
            actor=ctx.actor,
        )
    elapsed = time.perf_counter() - start
    with db.session() as s:
        stored = s.scalar(select(func.count()).select_from(DelegateGrant))
        records = s.scalar(select(func.count()).select_from(ChangeRecord))
    db.dispose()
    assert stored == records == grants, (stored, records)
    out.put((elapsed, peak_mb()))


def floor(url: str, grants: int, out: Any) -> None:
    """The same grant rows with the bare driver: executemany (SQLite) or COPY (PostgreSQL)."""
    org_id, task_id, run_id, ids = prepare(url, grants)
    now = datetime.now(UTC)
    rows = [
        (
            org_id,
            g.mailbox_id,
            g.delegate_id,
            "full_access",
            task_id,
            None,
            now,
            run_id,
        )
        for g in the_grants(ids, grants)
    ]
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    start = time.perf_counter()
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        stamp = now.isoformat(sep=" ")
        with conn:
            conn.executemany(
                f"INSERT INTO delegate_grant ({columns}) VALUES (?,?,?,?,?,?,?,?)",
                [(*r[:6], stamp, r[7]) for r in rows],
            )
        conn.close()
    else:
        import psycopg

        with (
            psycopg.connect(url.replace("+psycopg", "")) as conn,
            conn.cursor() as cur,
            cur.copy(f"COPY delegate_grant ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    elapsed = time.perf_counter() - start
    out.put((elapsed, peak_mb()))


def in_child(target: Any, url: str, grants: int) -> tuple[float, float]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(url, grants, out))
    proc.start()
    result: tuple[float, float] = out.get()
    proc.join()
    return result


def measure(grants: int) -> None:
    """Print ours vs the floor on SQLite and PostgreSQL."""
    from tests.support.postgres import start_postgres

    print(f"apply a plan of {grants:,} grant additions (plus one change record each)")
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", lambda name: f"sqlite:///{tmp}/{name}.db")]
        server = None
        try:
            server = start_postgres()
            backends.append(("PostgreSQL", server.create_database))
        except (RuntimeError, OSError) as exc:
            print(f"  PostgreSQL skipped: {exc}")
        try:
            for label, make_url in backends:
                base, base_peak = in_child(floor, make_url("floor"), grants)
                took, took_peak = in_child(ours, make_url("ours"), grants)
                print(
                    f"  {label:<10}: apply {took:6.1f} s  floor {base:6.1f} s  "
                    f"{took / base:5.2f}x the floor  peak memory {took_peak:5.0f} MB "
                    f"(floor process {base_peak:.0f} MB)"
                )
        finally:
            if server is not None:
                server.stop()
