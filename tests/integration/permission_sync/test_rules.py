"""Origin, failure and cost rules of mailbox permission sync against the sandbox: a task touches
only its own grants, an unreadable mailbox keeps its grants, a missing role fails the run,
throttling is waited out, unchanged mailboxes are not read again, and a run can be cancelled."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, select

from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    DelegateGrant,
    Right,
    Run,
    RunStatus,
    SourceGroupClosure,
    SourceGroupMember,
)
from tenantsync.worker import queue
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(40, seed=8)


@pytest.fixture
def harness(db: Database, settings: Settings, tenant: SandboxTenant) -> Harness:
    return Harness(db, settings, tenant).setup()


def shared_with_holders(tenant: SandboxTenant) -> tuple[str, list[str]]:
    """A shared mailbox and the users holding Full Access on it directly."""
    for user in tenant.users.values():
        if user.mailbox != "shared":
            continue
        holders = [
            ref
            for ref, flags, deny in tenant.full_access.get(user.id, [])
            if not deny and ref in tenant.users and tenant.users[ref].mailbox
        ]
        if len(holders) >= 2:
            return user.id, holders
    raise AssertionError("no shared mailbox with two holders")


def test_a_task_never_touches_manual_grants_or_other_tasks_grants(harness: Harness) -> None:
    tenant = harness.tenant
    shared, (alice, bob, *_) = shared_with_holders(tenant)
    first = harness.task("first")
    second = harness.task("second")
    with harness.db.session() as s:
        # A manual grant the source does not know of, and one it does.
        for delegate in (alice, bob):
            s.add(
                DelegateGrant(
                    organization_id=harness.organization_id,
                    mailbox_id=harness.loaded.mailboxes[shared],
                    delegate_id=harness.loaded.mailboxes[delegate],
                    right=Right.SEND_AS if delegate == alice else Right.FULL_ACCESS,
                    granted_by="ops@msp.example",
                )
            )
    harness.run(first)
    harness.run(second)
    expected = expected_grants(tenant, {"full_access"})
    assert harness.grants(f"task:{first}") == expected
    assert harness.grants(f"task:{second}") == expected
    manual = {(harness.address(shared), harness.address(alice), "send_as")}
    manual.add((harness.address(shared), harness.address(bob), "full_access"))
    assert harness.grants("manual") == manual

    # Bob loses Full Access in the source: each task drops its own row when it runs,
    # the manual grant stays, and the other task's row stays until that task runs.
    tenant.revoke_full_access(shared, bob)
    tenant.update_user(shared, department="touched")  # the mailbox's change time moves
    key = (harness.address(shared), harness.address(bob), "full_access")
    removed = harness.run(first)
    assert removed.counts["grants_removed"] == 1
    assert key not in harness.grants(f"task:{first}")
    assert key in harness.grants(f"task:{second}")
    assert key in harness.grants()
    harness.run(second)
    assert key not in harness.grants(f"task:{second}")
    assert harness.grants("manual") == manual


def test_a_mailbox_that_cannot_be_read_keeps_its_grants_and_the_run_warns(
    harness: Harness,
) -> None:
    tenant = harness.tenant
    shared, _ = shared_with_holders(tenant)
    task = harness.task("perms", full_reconciliation_hours=0)
    harness.run(task)
    address = harness.address(shared)
    before = {g for g in harness.grants() if g[0] == address}
    assert before
    tenant.remove_user(shared)  # Exchange now answers "couldn't be found" for it
    run = harness.run(task)
    assert run.status == "warning"
    assert run.counts["mailboxes_failed"] == 1
    assert run.counts["grants_kept_unread"] == len(before)
    (failure,) = [m for m in run.messages if "could not be read" in m["text"]]
    assert failure["mailboxes"] == [address]
    assert "couldn't be found" in failure["text"]
    assert {g for g in harness.grants() if g[0] == address} == before


@pytest.mark.parametrize(
    ("client", "role"),
    [(1, "Exchange.ManageAsApp"), (2, "Exchange Recipient Administrator")],
)
def test_a_missing_role_fails_the_run_naming_the_role(
    harness: Harness, client: int, role: str
) -> None:
    task = harness.task("perms")
    harness.use_client(client)
    run = harness.run(task)
    assert run.status == "failed"
    assert run.error is not None and role in run.error
    assert harness.grants() == set()


def test_throttled_calls_are_retried_after_the_time_exchange_asks(harness: Harness) -> None:
    harness.app_options = {"faults": "exchange:429@0.3/retry-after=0.01", "fault_seed": 3}
    run = harness.run(harness.task("perms", concurrency=8))
    assert run.status == "succeeded", run.messages
    assert run.counts["throttled"] > 0
    assert run.counts["exchange_requests"] > len(harness.loaded.mailboxes) + run.counts["throttled"]
    assert harness.grants() == expected_grants(harness.tenant, {"full_access"})


def test_only_mailboxes_changed_since_the_last_run_are_read_again(harness: Harness) -> None:
    tenant = harness.tenant
    shared, (alice, *_) = shared_with_holders(tenant)
    task = harness.task("perms", send_on_behalf=True)
    harness.run(task)
    unchanged = harness.run(task)
    assert unchanged.counts["mailboxes_read"] == 0
    tenant.set_send_on_behalf(shared, [alice])  # moves the mailbox's change time
    changed = harness.run(task)
    assert changed.counts["mailboxes_read"] == 1
    assert changed.counts["full_reconciliation"] is False
    sobo = {(m, d) for m, d, r in harness.grants() if r == "send_on_behalf"}
    assert (harness.address(shared), harness.address(alice)) in sobo
    assert harness.grants() == expected_grants(tenant, {"full_access", "send_on_behalf"})


def test_a_grant_added_or_removed_in_exchange_shows_after_the_next_run_only(
    harness: Harness,
) -> None:
    tenant = harness.tenant
    shared, (alice, *_) = shared_with_holders(tenant)
    newcomer = next(
        u.id
        for u in tenant.users.values()
        if u.mailbox == "user" and u.id in harness.loaded.mailboxes and u.id != alice
    )
    task = harness.task("perms")
    harness.run(task)
    tenant.grant_full_access(shared, newcomer)
    tenant.revoke_full_access(shared, alice)
    pair_new = (harness.address(shared), harness.address(newcomer), "full_access")
    pair_old = (harness.address(shared), harness.address(alice), "full_access")
    assert pair_new not in harness.grants() and pair_old in harness.grants()
    run = harness.run(task)
    assert run.counts["full_reconciliation"] is False
    assert run.counts["mailboxes_read"] == 1
    assert pair_new in harness.grants() and pair_old not in harness.grants()
    assert harness.grants() == expected_grants(tenant, {"full_access"})


def test_a_full_reconciliation_reads_every_mailbox_and_finds_silent_changes(
    harness: Harness,
) -> None:
    tenant = harness.tenant
    shared, (alice, *_) = shared_with_holders(tenant)
    task = harness.task("perms", full_reconciliation_hours=0)
    harness.run(task)
    # A change the mailbox's change time does not show (replicated late, clock skew).
    tenant.full_access[shared] = [e for e in tenant.full_access[shared] if e[0] != alice]
    run = harness.run(task)
    assert run.counts["full_reconciliation"] is True
    assert run.counts["mailboxes_read"] == len(harness.loaded.mailboxes)
    assert harness.grants() == expected_grants(tenant, {"full_access"})


def test_a_group_member_removed_loses_the_grant_at_the_next_run(harness: Harness) -> None:
    tenant = harness.tenant
    task = harness.task("perms")
    harness.run(task)
    via = [(m, d, g) for m, d, r, g in harness.grant_rows() if g is not None]
    assert via
    mailbox, delegate, group_name = via[0]
    group = next(g for g in tenant.groups.values() if g.display_name == group_name)
    member = next(u for u in tenant.users.values() if u.mail and u.mail.lower() == delegate)
    with harness.db.session() as s:
        # What user sync writes when the member leaves the group in the source.
        gid = harness.loaded.groups[group.id]
        s.execute(delete(SourceGroupMember).where(SourceGroupMember.group_id == gid))
        s.execute(delete(SourceGroupClosure).where(SourceGroupClosure.group_id == gid))
    assert (mailbox, delegate) in {(m, d) for m, d, _ in harness.grants()}
    run = harness.run(task)
    assert run.counts["mailboxes_read"] == 0  # no mailbox was read again
    assert run.counts["grants_removed"] >= 1
    remaining = {(m, d, g) for m, d, r, g in harness.grant_rows()}
    assert (mailbox, delegate, group_name) not in remaining
    assert member.id in harness.loaded.mailboxes


def test_a_cancelled_run_applies_nothing(harness: Harness) -> None:
    task = harness.task("perms")
    harness.app_options = {"latency": "exchange=0.2"}

    def cancel_when_running() -> None:
        # The administrator cancels from the console while the read goes on.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with harness.db.session() as s:
                run = s.scalars(select(Run).where(Run.task_id == task)).first()
                if run is not None and run.status is RunStatus.RUNNING:
                    queue.cancel(s, run.id)
                    return
            time.sleep(0.05)

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    result = harness.run(task)
    canceller.join()
    assert result.status == "cancelled", result.error
    assert harness.grants() == set()


def test_no_more_calls_are_in_flight_than_the_concurrency_allows(harness: Harness) -> None:
    # 50 ms per cmdlet: with 2 calls in flight the reads cannot take less than
    # mailboxes x 50 ms / 2, however fast everything else is.
    harness.app_options = {"latency": "exchange=0.05"}
    mailboxes = len(harness.loaded.mailboxes)
    start = time.perf_counter()
    run = harness.run(harness.task("perms", concurrency=2))
    elapsed = time.perf_counter() - start
    assert run.status == "succeeded"
    assert elapsed >= mailboxes * 0.05 / 2


def test_a_mass_removal_waits_for_confirmation(harness: Harness) -> None:
    tenant = harness.tenant
    task = harness.task("perms", full_reconciliation_hours=0, removal_guard_min=5)
    harness.run(task)
    before = harness.grants()
    for entries in tenant.full_access.values():
        entries.clear()  # every explicit Full Access entry vanishes from Exchange
    preview = harness.run(task, preview=True)
    assert preview.status == "succeeded"
    assert any(
        "a sync would stop here: this run would remove" in m["text"] for m in preview.messages
    )
    stopped = harness.run(task)
    assert stopped.status == "awaiting_confirmation"
    assert stopped.error is not None and "confirm" in stopped.error
    assert stopped.plan is not None and stopped.plan["counts"]["delegate_grant.remove"] == len(
        before
    )
    assert harness.grants() == before
    confirmed = harness.run(task, confirm_removals=True)
    assert confirmed.status == "succeeded"
    assert harness.grants() == set()
