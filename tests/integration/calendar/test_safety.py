"""Nothing that still exists at the source is ever removed: not when saved delta links
expire in the middle of a run and some re-reads break off, not in a throttling storm, not
when the application may no longer read a mailbox."""

from __future__ import annotations

from tenantsync.sandbox import SandboxOptions
from tenantsync.sandbox.admin_routes import apply_change
from tests.integration.calendar.harness import CalendarHarness, people
from tests.integration.calendar.test_first_replication import expanded


def test_an_expired_link_is_read_again_into_a_shadow_set_and_no_replica_is_lost(
    harness: CalendarHarness,
) -> None:
    task = harness.task("calendars", page_size=10)
    assert harness.run(task).status == "succeeded"
    before = harness.all_replicas()
    evicted = people(harness.tenant)[::2]
    for user_id in evicted:
        apply_change(harness.tenant, "evict_calendar_delta", {"mailbox_id": user_id})
    # Some of the re-reads lose a page link half way: they must change nothing.
    harness.app_options = {
        "options": SandboxOptions(graph_page_cap=10),
        "faults": "graph.calendar:drop-next@1/after=3/count=3",
    }
    broken = harness.run(task)
    assert broken.status == "warning", broken.messages
    assert harness.all_replicas() == before
    assert broken.counts["read_whole"] >= 1
    assert broken.counts["needing_attention"] >= 1
    said = " ".join(m["text"] for m in broken.messages)
    assert "neither @odata.nextLink nor @odata.deltaLink" in said

    harness.app_options = {"options": SandboxOptions(graph_page_cap=10)}
    healed = harness.run(task)
    assert healed.status == "succeeded", healed.messages
    assert harness.all_replicas() == before
    start, end = harness.window()
    for user_id in evicted:
        assert expanded(harness, user_id) == harness.source_instances(user_id, start, end)
        state = harness.state(user_id)
        assert state is not None and state.state.value == "healthy"


def test_a_throttling_storm_removes_nothing_and_the_run_converges(
    harness: CalendarHarness,
) -> None:
    task = harness.task("calendars", concurrency=8)
    assert harness.run(task).status == "succeeded"
    # Series renamed: the next round names them, and their masters are fetched in $batch.
    for user_id in people(harness.tenant)[:6]:
        for event in list(harness.tenant.calendar(user_id).values()):
            if event.recurrence is not None:
                apply_change(
                    harness.tenant,
                    "update_event",
                    {"mailbox_id": user_id, "event_id": event.id, "subject": "Renamed series"},
                )
    before = harness.all_replicas()
    # Outlook's own limit at one request per mailbox: every batch of series masters is
    # partly refused (MailboxConcurrency), and a third of all calls are throttled too.
    harness.app_options = {
        "options": SandboxOptions(outlook_concurrency=1),
        "faults": "graph.calendar:429@0.3/retry-after=0;graph.batch:429@0.3/retry-after=0",
    }
    stormy = harness.run(task)
    assert harness.last_app.state.sandbox.outlook.refused > 0
    assert harness.all_replicas() >= before, "a replica the source still has was removed"
    assert stormy.counts["throttled"] > 0
    assert stormy.status in ("succeeded", "warning"), stormy.error
    harness.app_options = {}
    calm = harness.run(harness.task("reconcile", concurrency=8, full_reconciliation_hours=0))
    assert calm.status == "succeeded", calm.messages
    assert harness.all_replicas() == before
    renamed = [s for u in people(harness.tenant)[:6] for k, s in harness.replicas(u).values()]
    assert "Renamed series" in renamed
    start, end = harness.window()
    for user_id in people(harness.tenant)[:6]:
        assert expanded(harness, user_id) == harness.source_instances(user_id, start, end)


def test_a_mailbox_the_application_may_not_read_keeps_its_replicas(
    harness: CalendarHarness,
) -> None:
    task = harness.task("calendars")
    assert harness.run(task).status == "succeeded"
    owner = people(harness.tenant)[1]
    kept = harness.replicas(owner)
    apply_change(harness.tenant, "restrict_mailbox", {"mailbox_id": owner})
    reconcile = harness.task("reconcile", full_reconciliation_hours=0)
    run = harness.run(reconcile)
    assert run.status == "warning"
    assert harness.replicas(owner) == kept
    state = harness.state(owner)
    assert state is not None and state.state.value == "attention"
    assert "may not read this mailbox" in (state.reason or "")
    assert run.counts["refused"] == 1
    assert run.counts["calendars_read"] == run.counts["mailboxes_in_scope"] - 1

    apply_change(harness.tenant, "restrict_mailbox", {"mailbox_id": owner, "restricted": False})
    again = harness.run(task)
    assert again.status == "succeeded", again.messages
    state = harness.state(owner)
    assert state is not None and state.state.value == "healthy"
