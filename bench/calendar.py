"""Calendar replication, in one run:

1. Full replication: N mailboxes x E events (a tenth of them weekly series) against the
   sandbox over HTTPS, through the worker (MSAL token, calendarView/delta over the window
   page by page, series masters four to a $batch, the calendar folder's permissions,
   diff, apply into SQLite). Its floor is the same requests (delta pages, master batches,
   Get-MailboxFolderPermission) sent with bare httpx at the same per-mailbox concurrency
   against the same server, in the same run. Target: within 1.5x of the floor.
2. Delta: 1% of the events changed, then an incremental run. Target: under 5% of the full
   run's time.
3. Peak memory of the process during the full run (the sandbox tenant, served in this
   process, is included). Target: under 1 GB.
4. Outlook's limits: a whole re-read with the sandbox enforcing 4 requests in flight and
   10,000 per 10 minutes per mailbox. Target: under 1% of calls answered 429.

The sandbox's latency is kept small (5 ms per Graph call, 50 ms per Exchange cmdlet) so
the figures measure tenantsync rather than waiting.

    python bench/calendar.py [--mailboxes N] [--events E] [--concurrency C] [--quick]
                             [--no-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# bench/queue.py would shadow the stdlib `queue`: keep this folder off sys.path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.support.memory import peak_mb, reset_peak  # noqa: E402
from tenantsync.engine.calendar import DEFINITION_TYPE  # noqa: E402
from tenantsync.engine.calendar.feature import window  # noqa: E402
from tenantsync.engine.calendar.options import CalendarOptions  # noqa: E402
from tenantsync.engine.registry import Registry  # noqa: E402
from tenantsync.sandbox import (  # noqa: E402
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.settings import Settings  # noqa: E402
from tenantsync.store.database import Database  # noqa: E402
from tenantsync.store.models import (  # noqa: E402
    CalendarSyncState,
    Connection,
    Mailbox,
    Run,
    ScheduledTask,
    Trigger,
)
from tenantsync.store.secretbox import SecretBox  # noqa: E402
from tenantsync.worker import queue  # noqa: E402
from tenantsync.worker.runner import Worker  # noqa: E402
from tests.integration.permission_sync.tenant_rows import load_tenant  # noqa: E402
from tests.support.factory import make_org, make_task  # noqa: E402

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
LATENCY = {"token": 0.0, "graph": 0.005, "exchange": 0.05}
PREFER = 'odata.maxpagesize=100, outlook.timezone="UTC", IdType="ImmutableId"'


def setup_store(
    db: Database, settings: Settings, tenant: SandboxTenant, creds: dict[str, str], in_flight: int
) -> int:
    """The tenant's mailboxes in the store, and a connection to the sandbox allowing
    ``in_flight`` requests at once (what the floor's pool allows)."""
    box = SecretBox.from_key_file(settings.effective_key_file, create=True)
    with db.session() as s:
        org = make_org(s, "bench")
        load_tenant(s, org.id, tenant)
        keys = ("tenant_id", "client_id", "authority_host", "graph_url", "exchange_url", "ca_file")
        connection = Connection(
            organization_id=org.id,
            name="sandbox",
            kind="m365",
            params={k: creds[k] for k in keys} | {"max_concurrency": in_flight},
            secret_ciphertext=box.encrypt({"client_secret": creds["client_secret"]}),
        )
        s.add(connection)
        s.flush()
        return connection.id


def make_calendar_task(db: Database, connection_id: int, name: str, **options: Any) -> int:
    with db.session() as s:
        org = s.get_one(Connection, connection_id).organization
        task = make_task(s, org, name, type_=DEFINITION_TYPE.name, options=options)
        task.connection_id = connection_id
        return task.id


def run_task(db: Database, settings: Settings, task_id: int) -> tuple[float, dict[str, Any]]:
    """One run through the worker; seconds and counts."""
    with db.session() as s:
        run_id = queue.enqueue(s, s.get_one(ScheduledTask, task_id), Trigger.MANUAL).id
    worker = Worker(db, settings, Registry([DEFINITION_TYPE]))
    start = time.perf_counter()
    assert worker.step(run_id)
    elapsed = time.perf_counter() - start
    with db.session() as s:
        run = s.get_one(Run, run_id)
        if run.status.value not in ("succeeded", "warning"):
            raise SystemExit(f"run {run_id} {run.status.value}: {run.error}")
        return elapsed, dict(run.counts)


@dataclass(frozen=True)
class Start:
    """Where the floor starts reading a mailbox: the window's first delta page (a full
    read, with the folder's permissions) or the mailbox's saved delta link."""

    user_id: str
    address: str
    url: str
    params: dict[str, str] | None
    permissions: bool


def full_starts(base: str, tenant: SandboxTenant) -> list[Start]:
    """Every mailbox read whole over the window, as a first replication does."""
    start_at, end_at = window(datetime.now(UTC), CalendarOptions())
    params = {
        "startDateTime": f"{start_at:%Y-%m-%dT%H:%M:%SZ}",
        "endDateTime": f"{end_at:%Y-%m-%dT%H:%M:%SZ}",
    }
    return [
        Start(u.id, str(u.mail), f"{base}/users/{u.id}/calendarView/delta", params, True)
        for u in tenant.users.values()
        if u.mailbox and u.mail
    ]


def delta_starts(db: Database) -> list[Start]:
    """Every mailbox from the delta link the store saved, as an incremental run reads it."""
    with db.session() as s:
        rows = s.execute(
            select(Mailbox.source_id, Mailbox.primary_address, CalendarSyncState.delta_link)
            .join(CalendarSyncState, CalendarSyncState.mailbox_id == Mailbox.id)
            .where(CalendarSyncState.delta_link.is_not(None))
        )
        return [Start(str(sid), addr, str(link), None, False) for sid, addr, link in rows]


async def floor(served: ServedSandbox, starts: list[Start], concurrency: int) -> tuple[float, int]:
    """The same requests with bare httpx, ``concurrency`` mailboxes at a time: the delta
    pages, the series masters they name (four to a $batch) and, for a full read, the
    folder's permissions; seconds, calls."""
    creds = served.credentials()
    context = ssl.create_default_context(cafile=creds["ca_file"])
    limits = httpx.Limits(
        max_connections=concurrency * 4, max_keepalive_connections=concurrency * 4
    )
    calls = 0
    async with httpx.AsyncClient(
        verify=context, trust_env=False, limits=limits, timeout=120
    ) as http:

        async def token(scope: str) -> str:
            answer = await http.post(
                served.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                    "scope": scope,
                },
            )
            return str(answer.json()["access_token"])

        graph = {"Authorization": f"Bearer {await token(GRAPH_SCOPE)}", "Prefer": PREFER}
        exchange = {"Authorization": f"Bearer {await token(EXCHANGE_SCOPE)}"}
        gate = asyncio.Semaphore(concurrency)
        base = f"{creds['graph_url']}/v1.0"

        async def mailbox(start: Start) -> None:
            nonlocal calls
            async with gate:
                url: str | None = start.url
                query = start.params
                series: set[str] = set()
                while url:
                    page = (await http.get(url, params=query, headers=graph)).json()
                    calls += 1
                    query = None
                    series |= {
                        v["seriesMasterId"] for v in page["value"] if v.get("seriesMasterId")
                    }
                    url = page.get("@odata.nextLink")
                ids = sorted(series)
                for i in range(0, len(ids), 4):
                    body = {
                        "requests": [
                            {
                                "id": str(n),
                                "method": "GET",
                                "url": f"/users/{start.user_id}/events/{sid}",
                                "headers": {"Prefer": PREFER},
                            }
                            for n, sid in enumerate(ids[i : i + 4])
                        ]
                    }
                    (await http.post(f"{base}/$batch", json=body, headers=graph)).raise_for_status()
                    calls += 1
                if not start.permissions:
                    return
                cmd = {
                    "CmdletInput": {
                        "CmdletName": "Get-MailboxFolderPermission",
                        "Parameters": {"Identity": f"{start.address}:\\Calendar"},
                    }
                }
                await http.post(served.exchange_invoke_url, json=cmd, headers=exchange)
                calls += 1

        began = time.perf_counter()
        await asyncio.gather(*(mailbox(start) for start in starts))
    return time.perf_counter() - began, calls


def change_one_percent(tenant: SandboxTenant, seed: int) -> int:
    """Rename 1% of all events (spread over the mailboxes); how many."""
    rng = random.Random(seed)
    changed = 0
    for user in list(tenant.users.values()):
        if not user.mailbox or not user.mail:
            continue
        events = list(tenant.calendar(user.id).values())
        for event in events:
            if rng.random() < 0.01:
                tenant.update_event(user.id, event.id, subject=f"{event.subject} (changed)")
                changed += 1
    return changed


def main(argv: list[str] | None = None) -> None:
    """Run the four parts and print each figure beside its floor or target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="mailboxes read at once")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument(
        "--no-limits", action="store_true", help="leave out part 4 (a whole re-read under limits)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.mailboxes, args.events = 60, 40
    print(
        f"calendar replication: {args.mailboxes} mailboxes x {args.events} events (a tenth "
        f"weekly series), {args.concurrency} mailboxes at once, sandbox over HTTPS "
        f"(latency {LATENCY}); floor = the same requests with bare httpx"
    )
    began = time.perf_counter()
    tenant = generate_tenant(args.mailboxes, seed=3)
    tenant.calendar_events = args.events
    print(f"  tenant generated in {time.perf_counter() - began:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        db = Database.from_settings(settings)
        db.upgrade()
        app = create_app(tenant, latency=LATENCY)
        with serve_in_thread(app, data_dir=Path(tmp)) as served:
            # The floor's pool: every mailbox read at once with Outlook's 4 requests each.
            in_flight = args.concurrency * 4
            connection_id = setup_store(db, settings, tenant, served.credentials(), in_flight)
            task = make_calendar_task(db, connection_id, "calendars", concurrency=args.concurrency)
            graph_base = f"{served.credentials()['graph_url']}/v1.0"
            floor_s, calls = asyncio.run(
                floor(served, full_starts(graph_base, tenant), args.concurrency)
            )
            reset_peak()
            full_s, counts = run_task(db, settings, task)
            memory = peak_mb()
            print(
                f"  full replication: {full_s:8.2f} s  floor {floor_s:8.2f} s  "
                f"{full_s / floor_s:5.2f}x the floor (target 1.5x)  ({counts.get('requests')} "
                f"requests, floor {calls}; {counts['events_added']} replicas, "
                f"{counts['cancelled_occurrences']} cancelled occurrences)"
            )
            print(f"  peak memory during the full run: {memory:7.0f} MB (target 1024 MB)")
            changed = change_one_percent(tenant, seed=4)
            # The saved links read again give the same changes (a link stays good for a few
            # generations), so the floor reads them first and the run after it.
            delta_floor_s, delta_calls = asyncio.run(
                floor(served, delta_starts(db), args.concurrency)
            )
            delta_s, delta_counts = run_task(db, settings, task)
            print(
                f"  delta after {changed} events changed (1%): {delta_s:7.2f} s = "
                f"{100 * delta_s / full_s:5.2f}% of the full run (target 5%); floor "
                f"{delta_floor_s:.2f} s, {delta_s / delta_floor_s:.2f}x  "
                f"({delta_counts['events_updated']} replicas updated, "
                f"{delta_counts.get('requests')} requests, floor {delta_calls})"
            )
            if args.no_limits:
                db.dispose()
                return
            sandbox = app.state.sandbox
            refused_before = sandbox.outlook.refused
            reconcile = make_calendar_task(
                db,
                connection_id,
                "limits",
                concurrency=args.concurrency * 2,
                full_reconciliation_hours=0,
            )
            limit_s, limit_counts = run_task(db, settings, reconcile)
            throttled = limit_counts.get("throttled", 0)
            requests = max(1, limit_counts.get("requests", 1))
            print(
                f"  whole re-read under Outlook's limits (4 in flight, 10,000 per 10 min per "
                f"mailbox): {limit_s:7.2f} s, {throttled} of {requests} calls answered 429 = "
                f"{100 * throttled / requests:.2f}% (target 1%); the sandbox refused "
                f"{sandbox.outlook.refused - refused_before}"
            )
        db.dispose()


if __name__ == "__main__":
    main()
