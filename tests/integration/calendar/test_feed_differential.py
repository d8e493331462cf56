"""The iCalendar feed against libraries we did not write: for every mailbox of a generated
tenant, the feed parsed by ``icalendar`` and expanded by ``recurring-ical-events`` over the
window gives exactly the instants the sandbox's calendarView gives (moved occurrences where
they were moved to, cancelled ones absent)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import recurring_ical_events

from tenantsync.engine.calendar.ical import feed
from tenantsync.engine.calendar.views import Viewer
from tenantsync.sandbox.recurrence import instances
from tenantsync.store.models import Mailbox
from tests.integration.calendar.harness import CalendarHarness

Instant = tuple[str, object, object]


def feed_instances(
    harness: CalendarHarness, user_id: str, start: datetime, end: datetime
) -> set[Instant]:
    mid = harness.mailbox_id(user_id)
    with harness.db.session() as s:
        document = feed(s, s.get_one(Mailbox, mid), Viewer(mid, "owner", True, "owner"))
    parsed = icalendar.Calendar.from_ical(document)
    out: set[Instant] = set()
    for event in recurring_ical_events.of(parsed).between(start, end):
        begin, finish = event.decoded("dtstart"), event.decoded("dtend")
        out.add((str(event.get("summary")), _norm(begin), _norm(finish)))
    return out


def calendar_view(
    harness: CalendarHarness, user_id: str, start: datetime, end: datetime
) -> set[Instant]:
    out: set[Instant] = set()
    for event in harness.tenant.calendar(user_id).values():
        for item in instances(event, start, end):
            if event.is_all_day:
                first = item.start.date()
                out.add((item.subject, first, first + (event.end.date() - event.start.date())))
            else:
                out.add((item.subject, _norm(item.start), _norm(item.end)))
    return out


def _norm(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0)
    assert isinstance(value, date)
    return value


def test_the_feed_expanded_by_other_libraries_equals_calendar_view(
    harness: CalendarHarness,
) -> None:
    run = harness.run(harness.task("calendars"))
    assert run.status == "succeeded", run.messages
    start, end = harness.window()
    # Inside the window, away from its edges (an all-day item on an edge is a matter of
    # which zone's midnight counts).
    inner_start, inner_end = start + timedelta(days=2), end - timedelta(days=2)
    compared = 0
    for user in harness.tenant.users.values():
        if user.mailbox is None or not user.mail:
            continue
        expected = calendar_view(harness, user.id, inner_start, inner_end)
        assert feed_instances(harness, user.id, inner_start, inner_end) == expected, user.mail
        compared += len(expected)
    assert compared > 100
