"""Calendar replication under every fault: no replica of an item the source still has is
removed, the run names the cause, and the next clean run holds every replica again.

Each fault meets both ways a mailbox calendar is read: by its delta link, and whole (a
reconciliation). Pages are kept at 10 events (Outlook's default) so that a whole read of a
mailbox has pages, and a lost link a page to lose.
"""

from __future__ import annotations

import pytest

from tenantsync.connectors.http import HttpOptions
from tenantsync.sandbox import SandboxOptions, SandboxTenant, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.calendar.harness import CalendarHarness
from tests.integration.faults.conftest import Fault

QUICK = HttpOptions(max_attempts=3, backoff_base=0.01, backoff_max=0.02, retry_after_max=0.02)
PAGES = SandboxOptions(graph_page_cap=10)

FAULTS = [
    Fault("429 storm without Retry-After", "graph.calendar:429@1/retry-after=none", "HTTP 429"),
    Fault("503 storm", "graph.calendar:503@1", "service unavailable (HTTP 503)"),
    Fault("connection resets", "graph.calendar:reset@1", "connection failed"),
    Fault("truncated bodies", "graph.calendar:truncate@1", "could not be decoded"),
    Fault(
        "a dropped nextLink",
        "graph.calendar:drop-next@1",
        "neither @odata.nextLink nor @odata.deltaLink",
        modes=("full",),
    ),
    Fault(
        "a dropped deltaLink",
        "graph.calendar:drop-delta@1",
        "neither @odata.nextLink nor @odata.deltaLink",
    ),
    Fault("403 for every mailbox", "graph.calendar:403@1", "may not read this mailbox"),
    Fault("404 from Outlook", "graph.calendar:404@1", "HTTP 404 ErrorItemNotFound"),
]
CASES = [(fault, mode) for fault in FAULTS for mode in fault.modes]


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(30, seed=43)


@pytest.fixture
def harness(db: Database, settings: Settings, tenant: SandboxTenant) -> CalendarHarness:
    harness = CalendarHarness(db, settings, tenant, retries=QUICK).setup()
    harness.app_options = {"options": PAGES}
    return harness


@pytest.mark.parametrize(("fault", "mode"), CASES, ids=[f"{f}-{m}" for f, m in CASES])
def test_no_fault_removes_a_replica_the_source_still_has(
    harness: CalendarHarness, fault: Fault, mode: str
) -> None:
    task = harness.task("calendars", page_size=10)
    first = harness.run(task)
    assert first.status == "succeeded", first.messages
    before = harness.all_replicas()
    assert before
    faulted_task = (
        task
        if mode == "delta"
        else harness.task("reconcile", page_size=10, full_reconciliation_hours=0)
    )

    harness.app_options = {"options": PAGES, "faults": fault.spec}
    faulted = harness.run(faulted_task)
    assert harness.all_replicas() >= before, "a replica the source still has was removed"
    assert faulted.status in fault.statuses, (faulted.status, faulted.error, faulted.messages)
    said = " ".join([str(faulted.error), *(m["text"] for m in faulted.messages)])
    assert fault.cause in said, said

    harness.app_options = {"options": PAGES}
    healed = harness.run(faulted_task)
    assert healed.status == "succeeded", (healed.error, healed.warnings())
    assert harness.all_replicas() == before
