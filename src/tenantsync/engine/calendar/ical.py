"""A mailbox's replicas as an iCalendar (RFC 5545) feed for one viewer, built with the
icalendar library.

* UIDs are Outlook's ``iCalUId``s; a series is one VEVENT with its RRULE (the one rule
  :mod:`.recurrence` expands) and an EXDATE per cancelled occurrence; an exception is a
  VEVENT with the series' UID and a RECURRENCE-ID (its original start).
* Times carry their event's zone (TZID, with a VTIMEZONE for each zone used) where the
  event kept one, UTC otherwise (a custom zone); all-day events are dates.
* Private items are masked for a viewer who may not see them (:mod:`.views`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vRecur
from sqlalchemy.orm import Session

from tenantsync.engine.calendar.recurrence import first_occurrence, rrule_text, zone_of
from tenantsync.engine.calendar.views import Viewer, mask, shows_private
from tenantsync.model.calendar import EventItem, EventKind, Sensitivity
from tenantsync.store.calendar import replicas_of
from tenantsync.store.models import Mailbox
from tenantsync.timeutil import utcnow

PRODID = "-//tenantsync//calendar replica//EN"
CLASSES = {
    Sensitivity.PRIVATE: "PRIVATE",
    Sensitivity.CONFIDENTIAL: "CONFIDENTIAL",
    Sensitivity.PERSONAL: "PUBLIC",
    Sensitivity.NORMAL: "PUBLIC",
}


def feed(session: Session, mailbox: Mailbox, viewer: Viewer) -> bytes:
    """The mailbox's calendar as ``viewer`` may see it, as an .ics document."""
    items = replicas_of(session, mailbox.id)
    if not shows_private(session, mailbox, viewer):
        items = [mask(i) if i.private else i for i in items]
    document: bytes = calendar(items, mailbox.display_name or mailbox.primary_address).to_ical()
    return document


def calendar(items: list[EventItem], name: str) -> Calendar:
    """Replicas of one mailbox as a VCALENDAR (see the module docstring)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    masters = {i.source_id: i for i in items if i.kind is EventKind.MASTER}
    cancelled: dict[str, list[datetime]] = {}
    for item in items:
        if item.kind is EventKind.CANCELLED and item.series_id and item.original_start:
            cancelled.setdefault(item.series_id, []).append(item.original_start)
    stamp = utcnow()
    for item in sorted(items, key=lambda i: (i.start, i.source_id)):
        if item.kind is EventKind.SINGLE:
            cal.add_component(_event(item, item.ical_uid, _zone(item), stamp))
        elif item.kind is EventKind.MASTER:
            cal.add_component(_series(item, cancelled.get(item.source_id, []), stamp))
        elif item.kind is EventKind.EXCEPTION:
            master = masters.get(item.series_id or "")
            if master is None:
                cal.add_component(_event(item, item.ical_uid, _zone(item), stamp))
                continue
            event = _event(item, master.ical_uid, _zone(item), stamp)
            if item.original_start is not None:
                event.add("recurrence-id", _moment(item.original_start, master, zone_of(master)))
            cal.add_component(event)
    cal.add_missing_timezones()
    return cal


def _series(master: EventItem, cancelled: list[datetime], stamp: datetime) -> Event:
    zone = zone_of(master)
    rec = master.recurrence
    assert rec is not None
    first = first_occurrence(master) or master.start
    duration = master.end - master.start
    event = _event(master, master.ical_uid, zone, stamp, start=first, end=first + duration)
    event.add("rrule", vRecur.from_ical(rrule_text(rec, zone if not master.all_day else UTC)))
    for original in sorted(cancelled):
        event.add("exdate", _moment(original, master, zone))
    return event


def _event(
    item: EventItem,
    uid: str,
    zone: tzinfo,
    stamp: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", item.last_modified or stamp)
    begin, finish = start or item.start, end or item.end
    if item.all_day:
        length = (item.end_date - item.start_date) if item.start_date and item.end_date else None
        first = begin.date()
        event.add("dtstart", first)
        event.add("dtend", first + (length or timedelta(days=1)))
    else:
        event.add("dtstart", begin.astimezone(zone))
        event.add("dtend", finish.astimezone(zone))
    event.add("summary", item.subject)
    if item.location:
        event.add("location", item.location)
    if item.body:
        event.add("description", item.body)
    event.add("class", CLASSES.get(item.sensitivity, "PRIVATE"))
    event.add("transp", "TRANSPARENT" if item.show_as == "free" else "OPAQUE")
    if item.organizer:
        event.add("organizer", vCalAddress(f"mailto:{item.organizer}"))
    for attendee in item.attendees:
        address = vCalAddress(f"mailto:{attendee.address}")
        address.params["cn"] = attendee.name
        address.params["role"] = (
            "OPT-PARTICIPANT" if attendee.type == "optional" else "REQ-PARTICIPANT"
        )
        event.add("attendee", address, encode=False)
    for category in item.categories:
        event.add("categories", category)
    for attachment in item.attachments:
        event.add("x-tenantsync-attachment", f"{attachment.name} ({attachment.size} bytes)")
    return event


def _zone(item: EventItem) -> tzinfo:
    return ZoneInfo(item.time_zone) if item.time_zone else UTC


def _moment(moment: datetime, master: EventItem, zone: tzinfo) -> datetime | date:
    """An original start as the series' DTSTART is written: a date or a zoned time."""
    return moment.date() if master.all_day else moment.astimezone(zone)
