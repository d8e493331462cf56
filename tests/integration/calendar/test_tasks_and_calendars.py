"""State belongs to the mailbox calendar, not the task: a mailbox moved to another task
carries on from its delta link. ``calendars: all`` replicates the other calendars too, read
whole each run, and going back to the default calendar removes their replicas."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from tenantsync.engine.calendar.recurrence import expand
from tenantsync.sandbox.gen_calendar import second_calendar_id
from tenantsync.store.calendar import item_of
from tenantsync.store.models import CalendarReplica
from tests.integration.calendar.harness import CalendarHarness, people
from tests.integration.calendar.test_delta import removals


def test_a_mailbox_moved_to_another_task_is_not_copied_again(harness: CalendarHarness) -> None:
    first = harness.task("first")
    assert harness.run(first).counts["read_whole"] > 0
    other = harness.task("second")
    moved = harness.run(other)
    assert moved.status == "succeeded", moved.messages
    assert moved.counts["read_whole"] == 0
    assert moved.counts["read_by_delta"] == moved.counts["calendars_read"]
    state = harness.state(people(harness.tenant)[0])
    assert state is not None and state.task_id == other


def test_all_calendars_are_replicated_and_dropped_when_no_longer_asked(
    harness: CalendarHarness,
) -> None:
    owner = next(u for u in people(harness.tenant) if second_calendar_id(harness.tenant.users[u]))
    second = second_calendar_id(harness.tenant.users[owner])
    assert second is not None
    task = harness.task("everything", calendars="all")
    run = harness.run(task)
    assert run.status == "succeeded", run.messages
    start, end = harness.window(calendars="all")
    with harness.db.session() as s:
        rows = s.scalars(
            select(CalendarReplica).where(
                CalendarReplica.mailbox_id == harness.mailbox_id(owner),
                CalendarReplica.calendar_key == second,
            )
        ).all()
        items = [item_of(r) for r in rows]
    got = {
        (i.item.subject, i.start.astimezone(UTC), i.end.astimezone(UTC))
        for i in expand(items, start, end)
    }
    assert got and got == harness.source_instances(owner, start, end, calendar_id=second)
    state = harness.state(owner, second)
    assert state is not None and state.calendar_name == "Team events" and state.delta_link is None

    back = harness.run(harness.task("default only"))
    assert back.status == "succeeded", back.messages
    why = removals(harness, back.id)
    assert {i.source_id for i in items} <= set(why)
    assert set(why.values()) == {"the calendar is no longer replicated"}
    assert harness.state(owner, second) is None
