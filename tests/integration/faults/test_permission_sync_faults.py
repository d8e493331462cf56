"""Mailbox permission sync under every fault: no grant that still exists in Exchange is
removed, the run names the cause, and the next clean run holds every grant again.

Delta links and ``$batch`` are Graph's: permission sync reads neither, so the profiles of
the matrix that lose a delta link or refuse a batch item have no counterpart here.
"""

from __future__ import annotations

import pytest

from tenantsync.connectors.http import HttpOptions
from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.faults.conftest import Fault, small_pages
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants

RIGHTS = {"full_access", "send_as", "send_on_behalf"}
QUICK = HttpOptions(max_attempts=4, backoff_base=0.01, backoff_max=0.02)

FAULTS = [
    Fault("429 storm without Retry-After", "exchange:429@1/retry-after=none", "(HTTP 429)"),
    Fault("503 storm", "exchange:503@1", "service unavailable (HTTP 503)"),
    Fault("connection resets", "exchange:reset@1", "connection failed"),
    Fault(
        "truncated bodies",
        "exchange.Get-MailboxPermission:truncate@1",
        "could not be decoded",
    ),
    Fault(
        "a dropped nextLink",
        "exchange.Get-Mailbox:drop-next@1/count=1",
        "Get-Mailbox listing did not finish",
    ),
    Fault(
        "a failed organization-wide listing",
        "exchange.Get-Mailbox:503@1/count=4",
        "Get-Mailbox listing did not finish",
    ),
]


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(90, seed=43)


@pytest.fixture
def harness(db: Database, settings: Settings, tenant: SandboxTenant) -> Harness:
    harness = Harness(db, settings, tenant, retries=QUICK).setup()
    harness.app_options = {"options": small_pages()}
    return harness


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_no_fault_removes_a_grant_the_source_still_has(harness: Harness, fault: Fault) -> None:
    task = harness.task(
        "permissions", send_as=True, send_on_behalf=True, full_reconciliation_hours=0
    )
    first = harness.run(task)
    assert first.status == "succeeded", first.error
    expected = expected_grants(harness.tenant, RIGHTS)
    before = harness.grants()
    assert before == expected
    assert any(right == "send_on_behalf" for _, _, right in before)

    harness.app_options = {"options": small_pages(), "faults": fault.spec}
    faulted = harness.run(task)
    assert before <= harness.grants(), "a grant the source still has was removed"
    assert faulted.status in fault.statuses, (faulted.status, faulted.error, faulted.messages)
    said = " ".join([str(faulted.error), *(m["text"] for m in faulted.messages)])
    assert fault.cause in said

    harness.app_options = {"options": small_pages()}
    healed = harness.run(task)
    assert healed.status == "succeeded", (healed.error, healed.warnings())
    assert harness.grants() == expected
