"""Mailbox permission sync, in one run:

1. Concurrency: N mailboxes against the sandbox over HTTPS with its default per-call latency
   (~0.5 s per Exchange cmdlet, as Exchange Online answers), at concurrency 1, 4 and 16.
   Each figure is a whole run of the shipped handler through the worker (MSAL token,
   Get-Mailbox listing for change stamps, one Get-MailboxPermission per mailbox, ACL
   interpretation, diff, apply into SQLite). Its floor is the same InvokeCommand calls
   (token, the Get-Mailbox pages, the per-mailbox Get-MailboxPermission) sent with bare
   httpx at the same concurrency against the same server, in the same run.
2. Rate limit: a 20,000-mailbox tenant behind a limit of R calls/s (bench/permission/rate.py):
   achieved rate as a fraction of R, share of 429 answers.
3. Apply: a plan of 1,000,000 grants into SQLite and PostgreSQL against a bare
   executemany/COPY of the same rows, with peak memory (bench/permission/apply.py).

    python bench/permission_sync.py [--mailboxes N] [--concurrency 1,4,16]
        [--rate-mailboxes N] [--rate R] [--apply-grants N] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# bench/queue.py would shadow the stdlib `queue`: keep this folder off sys.path.
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

import httpx  # noqa: E402

from bench.permission import apply, rate  # noqa: E402
from tenantsync.engine.permission_sync import DEFINITION_TYPE  # noqa: E402
from tenantsync.engine.registry import default_registry  # noqa: E402
from tenantsync.sandbox import (  # noqa: E402
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.settings import Settings  # noqa: E402
from tenantsync.store.database import Database  # noqa: E402
from tenantsync.store.models import Connection, Run, ScheduledTask, Trigger  # noqa: E402
from tenantsync.store.secretbox import SecretBox  # noqa: E402
from tenantsync.worker import queue  # noqa: E402
from tenantsync.worker.runner import Worker  # noqa: E402
from tests.integration.permission_sync.tenant_rows import load_tenant  # noqa: E402
from tests.support.factory import make_org, make_task  # noqa: E402

EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


def setup_store(
    db: Database, settings: Settings, tenant: SandboxTenant, creds: dict[str, str]
) -> int:
    """The tenant's mailboxes and groups in the store, and a connection to the sandbox."""
    box = SecretBox.from_key_file(settings.effective_key_file, create=True)
    with db.session() as s:
        org = make_org(s, "bench")
        load_tenant(s, org.id, tenant)
        keys = ("tenant_id", "client_id", "authority_host", "graph_url", "exchange_url", "ca_file")
        connection = Connection(
            organization_id=org.id,
            name="sandbox",
            kind="m365",
            params={k: creds[k] for k in keys} | {"max_concurrency": 64},
            secret_ciphertext=box.encrypt({"client_secret": creds["client_secret"]}),
        )
        s.add(connection)
        s.flush()
        return connection.id


def run_sync(
    db: Database, settings: Settings, connection_id: int, concurrency: int
) -> tuple[float, dict[str, Any]]:
    """A fresh task (nothing remembered) run once through the worker; seconds and counts."""
    with db.session() as s:
        org = s.get_one(Connection, connection_id).organization
        task = make_task(
            s,
            org,
            f"perms-c{concurrency}",
            type_=DEFINITION_TYPE.name,
            options={"concurrency": concurrency},
        )
        task.connection_id = connection_id
        s.flush()
        run_id = queue.enqueue(s, s.get_one(ScheduledTask, task.id), Trigger.MANUAL).id
    worker = Worker(db, settings, default_registry())
    start = time.perf_counter()
    assert worker.step(run_id)
    elapsed = time.perf_counter() - start
    with db.session() as s:
        run = s.get_one(Run, run_id)
        if run.status.value not in ("succeeded", "warning"):
            raise SystemExit(f"run {run_id} {run.status.value}: {run.error}")
        return elapsed, dict(run.counts)


async def floor_calls(
    served: ServedSandbox, mailboxes: list[str], concurrency: int
) -> tuple[float, int]:
    """The same InvokeCommand calls with bare httpx at ``concurrency``; seconds and calls."""
    creds = served.credentials()
    context = ssl.create_default_context(cafile=creds["ca_file"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    calls = 0
    start = time.perf_counter()
    async with httpx.AsyncClient(
        verify=context, trust_env=False, limits=limits, timeout=60
    ) as http:
        token = await http.post(
            served.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "scope": EXCHANGE_SCOPE,
            },
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        url: str | None = served.exchange_invoke_url
        listing = {
            "CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"ResultSize": "Unlimited"}}
        }
        while url:
            page = await http.post(url, json=listing, headers=headers)
            page.raise_for_status()
            calls += 1
            url = page.json().get("@odata.nextLink")
        gate = asyncio.Semaphore(concurrency)

        async def permissions(address: str) -> None:
            body = {
                "CmdletInput": {
                    "CmdletName": "Get-MailboxPermission",
                    "Parameters": {"Identity": address},
                }
            }
            async with gate:
                answer = await http.post(served.exchange_invoke_url, json=body, headers=headers)
            answer.raise_for_status()

        await asyncio.gather(*(permissions(a) for a in mailboxes))
        calls += len(mailboxes)
    return time.perf_counter() - start, calls


def main(argv: list[str] | None = None) -> None:
    """Run the three parts and print each figure beside its floor or target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=200)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--rate-mailboxes", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=100.0, help="the source's limit R")
    parser.add_argument("--rate-concurrency", type=int, default=64)
    parser.add_argument("--apply-grants", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.mailboxes, args.rate_mailboxes, args.apply_grants = 24, 1_000, 20_000
    concurrency_part(args.mailboxes, [int(c) for c in args.concurrency.split(",")])
    rate.measure(args.rate_mailboxes, args.rate, args.rate_concurrency)
    apply.measure(args.apply_grants)


def concurrency_part(size: int, levels: list[int]) -> None:
    """Part 1: whole runs at each concurrency beside the bare-httpx floor."""
    tenant = generate_tenant(size, seed=1)
    addresses = [u.mail for u in tenant.users.values() if u.mailbox and u.mail]
    print(
        f"permission sync: {len(addresses)} mailboxes, sandbox over HTTPS with its default "
        "latency (Exchange cmdlets ~0.5 s), Full Access; floor = the same InvokeCommand "
        "calls with bare httpx"
    )
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        db = Database.from_settings(settings)
        db.upgrade()
        with serve_in_thread(create_app(tenant), data_dir=Path(tmp)) as served:
            connection_id = setup_store(db, settings, tenant, served.credentials())
            for c in levels:
                floor, calls = asyncio.run(floor_calls(served, addresses, c))
                elapsed, counts = run_sync(db, settings, connection_id, c)
                print(
                    f"  concurrency {c:>2}: sync {elapsed:7.2f} s  floor {floor:7.2f} s  "
                    f"{elapsed / floor:5.2f}x the floor  ({calls} calls, "
                    f"{calls / elapsed:5.1f} calls/s; {counts['mailboxes_read']} mailboxes "
                    f"read, {counts['grants_added']} grants added)"
                )
        db.dispose()


if __name__ == "__main__":
    main()
