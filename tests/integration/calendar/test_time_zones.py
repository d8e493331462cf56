"""Series recur at their wall-clock time across daylight saving changes in their own zone
(Europe/Berlin, America/New_York, Australia/Lord_Howe with its half-hour shift, and a
custom zone), events that span a change last what they last, and all-day events stay
dates: in the replicas, in what the console and API expand, and in the feed."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from tenantsync.engine.calendar.ical import feed
from tenantsync.engine.calendar.views import Viewer, instances_for
from tenantsync.store.models import Mailbox
from tests.integration.calendar.harness import CalendarHarness, people

ZONES = {
    "W. Europe Standard Time": ZoneInfo("Europe/Berlin"),
    "Eastern Standard Time": ZoneInfo("America/New_York"),
    "Lord Howe Standard Time": ZoneInfo("Australia/Lord_Howe"),
}


def test_series_keep_their_wall_clock_time_across_dst_in_every_zone(
    harness: CalendarHarness,
) -> None:
    owner = people(harness.tenant)[0]
    first = datetime.now(UTC).date() - timedelta(days=7)
    for name, zone in ZONES.items():
        start = datetime.combine(first, time(9), zone)
        harness.tenant.add_event(
            owner,
            f"Weekly in {name}",
            start,
            start + timedelta(hours=1),
            time_zone=name,
            recurrence={"pattern_type": "weekly", "days_of_week": [start.strftime("%A").lower()]},
        )
    custom = datetime.combine(first, time(9), UTC) - timedelta(hours=3, minutes=30)
    harness.tenant.add_event(
        owner,
        "Weekly in a custom zone",
        custom,
        custom + timedelta(hours=1),
        time_zone="Customized Time Zone",
        recurrence={"pattern_type": "weekly", "days_of_week": [custom.strftime("%A").lower()]},
    )
    # An event across Berlin's spring change: 01:30 to 03:30 local is one hour long.
    night = datetime(2027, 3, 28, 1, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    harness.tenant.add_event(
        owner,
        "Across the change",
        night,
        datetime(2027, 3, 28, 3, 30, tzinfo=night.tzinfo),
        time_zone="W. Europe Standard Time",
    )
    holiday = datetime(2027, 3, 28, tzinfo=ZoneInfo("Australia/Lord_Howe"))
    harness.tenant.add_event(
        owner,
        "Holiday",
        holiday,
        holiday + timedelta(days=1),
        time_zone="Lord Howe Standard Time",
        is_all_day=True,
    )
    run = harness.run(harness.task("calendars"))
    assert run.status == "succeeded", run.messages
    start, end = harness.window()
    mid = harness.mailbox_id(owner)
    with harness.db.session() as s:
        mailbox = s.get_one(Mailbox, mid)
        shown = instances_for(s, mailbox, start, end, Viewer(mid, "owner", True, "owner"))
        document = feed(s, mailbox, Viewer(mid, "owner", True, "owner"))
    for name, zone in ZONES.items():
        local = [i.start.astimezone(zone) for i in shown if i.item.subject == f"Weekly in {name}"]
        assert len(local) > 40
        assert {(t.hour, t.minute) for t in local} == {(9, 0)}, name
        offsets = {t.utcoffset() for t in local}
        assert len(offsets) == 2, name  # the series crossed a change of offset
    custom_times = {
        i.start.astimezone(UTC).time() for i in shown if i.item.subject == "Weekly in a custom zone"
    }
    assert custom_times == {custom.time()}
    across = next(i for i in shown if i.item.subject == "Across the change")
    assert across.end - across.start == timedelta(hours=1)
    day = next(i for i in shown if i.item.subject == "Holiday")
    assert day.all_day and day.item.start_date == holiday.date()

    parsed = icalendar.Calendar.from_ical(document)
    expanded = recurring_ical_events.of(parsed).between(start, end)
    berlin = [
        e.decoded("dtstart")
        for e in expanded
        if str(e["summary"]) == "Weekly in W. Europe Standard Time"
    ]
    assert {(t.hour, t.minute) for t in berlin} == {(9, 0)}
    assert {str(t.tzinfo) for t in berlin} == {"Europe/Berlin"}
    holidays = [e.decoded("dtstart") for e in expanded if str(e["summary"]) == "Holiday"]
    assert holidays == [holiday.date()]
    assert expanded and harness.source_instances(owner, start, end) == {
        (i.item.subject, i.start.astimezone(UTC), i.end.astimezone(UTC))
        for i in shown
        if not i.all_day
    }
