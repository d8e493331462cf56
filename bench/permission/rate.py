"""Permission sync benchmark, part 2: a large tenant behind a rate limit. The sandbox answers
429 (with Retry-After) above R calls per second; the connection is configured with that
limit. Reported: the achieved call rate as a fraction of R (target at least 0.9) and the
share of calls answered 429 (target under 1%). Run by `bench/permission_sync.py`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from tenantsync.engine.permission_sync import DEFINITION_TYPE
from tenantsync.engine.registry import Registry
from tenantsync.engine.sources import Sources
from tenantsync.sandbox import asgi_transport, create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, Run, ScheduledTask, Trigger
from tenantsync.store.secretbox import SecretBox
from tenantsync.worker import queue
from tenantsync.worker.runner import Worker
from tests.integration.permission_sync.tenant_rows import load_tenant
from tests.support.factory import make_org, make_task

SANDBOX = "https://sandbox"


def measure(mailboxes: int, rate: float, concurrency: int) -> None:
    """One full permission sync of ``mailboxes`` behind a limit of ``rate`` calls/s."""
    tenant = generate_tenant(mailboxes, seed=2)
    app = create_app(tenant, rate_limit=rate)  # default latency: ~0.5 s per cmdlet
    sources = Sources(transport=asgi_transport(app))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{tmp}/rate.db")
        db = Database.from_settings(settings)
        db.upgrade()
        box = SecretBox.from_key_file(settings.effective_key_file, create=True)
        with db.session() as s:
            org = make_org(s, "bench")
            loaded = load_tenant(s, org.id, tenant)
            connection = Connection(
                organization_id=org.id,
                name="sandbox",
                kind="m365",
                params={
                    "tenant_id": tenant.tenant_id,
                    "client_id": tenant.client_id,
                    "authority_host": SANDBOX,
                    "graph_url": SANDBOX,
                    "exchange_url": SANDBOX,
                    "max_concurrency": concurrency,
                    "requests_per_second": rate,
                },
                secret_ciphertext=box.encrypt({"client_secret": tenant.client_secret}),
            )
            s.add(connection)
            s.flush()
            task = make_task(
                s, org, "perms", type_=DEFINITION_TYPE.name, options={"concurrency": concurrency}
            )
            task.connection_id = connection.id
            s.flush()
            run_id = queue.enqueue(s, s.get_one(ScheduledTask, task.id), Trigger.MANUAL).id
        start = time.perf_counter()
        assert Worker(db, settings, Registry([DEFINITION_TYPE]), sources=sources).step(run_id)
        elapsed = time.perf_counter() - start
        with db.session() as s:
            run = s.get_one(Run, run_id)
            status, counts, error = run.status.value, dict(run.counts), run.error
        db.dispose()
    if status not in ("succeeded", "warning"):
        raise SystemExit(f"rate-limited run {status}: {error}")
    report(len(loaded.mailboxes), rate, concurrency, elapsed, counts)


def report(mailboxes: int, rate: float, concurrency: int, elapsed: float, counts: Any) -> None:
    """Print the achieved rate against the limit and the share of throttled calls."""
    sent = int(counts["exchange_requests"]) - 1  # the token request is not rate limited
    throttled = int(counts["throttled"])
    answered = sent - throttled
    reading = float(counts["read_seconds"])
    achieved = answered / reading
    print(
        f"rate limit: {mailboxes} mailboxes, limit R = {rate:g} calls/s, concurrency "
        f"{concurrency}, default latency"
    )
    print(
        f"  {answered} calls answered in {reading:.1f} s of reading = {achieved:.1f} calls/s = "
        f"{achieved / rate:.2f} of R (target >= 0.90); {throttled} of {sent} calls answered "
        f"429 = {100 * throttled / max(sent, 1):.2f}% (target < 1%); whole run {elapsed:.1f} s; "
        f"{counts['mailboxes_failed']} mailboxes failed"
    )
