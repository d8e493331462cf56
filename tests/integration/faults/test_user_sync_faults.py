"""User sync under every fault: nothing that still exists at the source is removed, the
run names the cause, and the next clean run catches up with every change the faulted
run could not take (none is lost because its delta link moved on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantsync.sandbox import SandboxTenant, create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.faults.conftest import Fault, small_pages
from tests.integration.user_sync.harness import UserSync

MAILBOXES = 150
CHANGED = 60

FAULTS = [
    Fault("429 storm without Retry-After", "graph.users:429@1/retry-after=none", "(HTTP 429)"),
    Fault("503 storm", "graph:503@1", "service unavailable (HTTP 503)"),
    Fault("connection resets", "graph.users:reset@1", "connection failed"),
    Fault("truncated bodies", "graph.users:truncate@1", "could not be decoded"),
    Fault(
        "a dropped nextLink",
        "graph.users:drop-next@1/after=1/count=1",
        "neither @odata.nextLink nor @odata.deltaLink",
    ),
    Fault(
        "a dropped deltaLink",
        "graph.users:drop-delta@1",
        "neither @odata.nextLink nor @odata.deltaLink",
    ),
    Fault(
        "a dropped nextLink in an Exchange listing",
        "exchange.Get-Mailbox:drop-next@1/count=1",
        "the Exchange mailbox listing did not finish",
        frozenset({"succeeded"}),
        modes=("full",),
    ),
    Fault(
        "a failed organization-wide listing",
        # Get-Mailbox fails past its retries; the single lookups after it answer.
        "exchange.Get-Mailbox:503@1/count=8;graph.mailboxSettings:503@1/count=1",
        "the Exchange mailbox listing did not finish",
        frozenset({"succeeded"}),
        modes=("full",),  # a delta read asks Graph for the kinds of the changed users only
    ),
    Fault(
        "a per-item 403 in $batch",
        "exchange.Get-Mailbox:503@1/count=8;graph.mailboxSettings:403@1",
        "mailbox settings of",
        frozenset({"succeeded"}),
    ),
]


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(MAILBOXES, seed=41)


@pytest.fixture
def sync(db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path) -> UserSync:
    app = create_app(tenant, latency=0, options=small_pages())
    return UserSync(db, settings, tenant, app, tmp_path)


def alive(tenant: SandboxTenant) -> set[str]:
    """Users that have a mailbox at the source right now."""
    return {uid for uid, u in tenant.users.items() if u.mailbox is not None}


def people(tenant: SandboxTenant) -> list[str]:
    return sorted(
        uid
        for uid, u in tenant.users.items()
        if u.mailbox == "user" and u.account_enabled and u.user_type == "Member"
    )


@pytest.mark.parametrize(
    ("fault", "mode"), [(f, m) for f in FAULTS for m in f.modes], ids=lambda v: str(v)
)
def test_no_fault_removes_what_the_source_still_has(
    sync: UserSync, tenant: SandboxTenant, fault: Fault, mode: str
) -> None:
    first = sync.run()
    assert first.status == "succeeded", first.error
    before = set(sync.mailboxes())
    staff = people(tenant)
    gone = staff[0]
    tenant.remove_user(gone)
    for uid in staff[1 : CHANGED + 1]:
        tenant.update_user(uid, department="Moved under fault")

    if mode == "full":
        tenant.expire_delta_tokens()  # the saved links are refused: a full read follows
    sync.set_faults(fault.spec)
    faulted = sync.run()
    after = set(sync.mailboxes())
    assert not (before - after) & alive(tenant), "removed while still at the source"
    assert faulted.status in fault.statuses, (faulted.status, faulted.error, faulted.texts())
    assert fault.cause in f"{faulted.error} {faulted.texts()}"

    sync.set_faults(None)
    healed = sync.run()
    assert healed.status == "succeeded", (healed.error, healed.texts())
    stored = sync.mailboxes()
    assert gone not in stored
    assert set(stored) >= before & alive(tenant)
    moved = [uid for uid in staff[1 : CHANGED + 1] if uid in stored]
    assert moved
    assert all(stored[uid].attributes["department"] == "Moved under fault" for uid in moved)
