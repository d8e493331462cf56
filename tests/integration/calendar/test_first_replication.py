"""A first replication copies every mailbox's calendar: what the replicas expand to over
the window is exactly what the sandbox's calendarView shows, and a second run plans
nothing."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from tenantsync.engine.calendar.views import Viewer, instances_for
from tenantsync.store.models import CalendarReplica, Mailbox
from tests.integration.calendar.harness import CalendarHarness, people


def expanded(harness: CalendarHarness, user_id: str) -> set[tuple[str, object, object]]:
    start, end = harness.window()
    owner = Viewer(harness.mailbox_id(user_id), "owner", True, "owner")
    with harness.db.session() as s:
        mailbox = s.get_one(Mailbox, harness.mailbox_id(user_id))
        return {
            (i.item.subject, i.start.astimezone(UTC), i.end.astimezone(UTC))
            for i in instances_for(s, mailbox, start, end, owner)
            if not i.all_day
        }


def test_first_replication_copies_every_calendar_exactly(harness: CalendarHarness) -> None:
    task = harness.task("calendars")
    run = harness.run(task)
    assert run.status == "succeeded", (run.error, run.messages)
    assert run.counts["read_whole"] == run.counts["calendars_read"] > 0
    start, end = harness.window()
    for user_id in people(harness.tenant):
        assert expanded(harness, user_id) == harness.source_instances(user_id, start, end), user_id
    state = harness.state(people(harness.tenant)[0])
    assert state is not None and state.state.value == "healthy" and state.delta_link

    again = harness.run(task)
    assert again.status == "succeeded", again.messages
    assert again.counts["read_by_delta"] == again.counts["calendars_read"]
    assert again.plan is not None and again.plan["total"] == 0


def test_series_masters_keep_their_pattern_and_occurrences_are_not_stored(
    harness: CalendarHarness,
) -> None:
    harness.run(harness.task("calendars"))
    with harness.db.session() as s:
        kinds = {k.value for (k,) in s.execute(select(CalendarReplica.kind).distinct())}
        masters = s.scalars(select(CalendarReplica).where(CalendarReplica.kind == "master")).all()
    assert {"single", "master", "exception", "cancelled"} <= kinds
    assert masters and all(m.details["recurrence"]["pattern"] for m in masters)
    assert any(m.details["recurrence"]["end_date"] is None for m in masters)
