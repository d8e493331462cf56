"""Generates one mailbox's calendar on demand, deterministically from the tenant seed:
single, recurring (with a moved and a cancelled occurrence), all-day, private and
confidential events in several time zones; every pattern Outlook has, series with and
without an end, a custom time zone, attachments, and a second calendar for some people.

`tenant.calendar_events` set: exactly that many events per mailbox, a tenth of them
recurring (the benchmark's shape)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import (
    Attendee,
    CalendarEvent,
    EventAttachment,
    EventOverride,
    PatternType,
    Recurrence,
    User,
)
from tenantsync.sandbox.ids import change_key, ical_uid, outlook_id
from tenantsync.sandbox.recurrence import WEEKDAYS, occurrence_dates

if TYPE_CHECKING:
    from tenantsync.sandbox.tenantdata import TenantData

# The zones the first generator drew from (kept as they were: the draws depend on them).
ZONE_NAMES = (
    "UTC",
    "Pacific Standard Time",
    "Eastern Standard Time",
    "GMT Standard Time",
    "W. Europe Standard Time",
    "Central European Standard Time",
    "Tokyo Standard Time",
    "Singapore Standard Time",
)
EXTRA_ZONES = (
    "Lord Howe Standard Time",
    "AUS Eastern Standard Time",
    "Eastern Standard Time",
    "W. Europe Standard Time",
    names.CUSTOM_TIME_ZONE,
)
CUSTOM_ZONE = timezone(timedelta(minutes=names.CUSTOM_OFFSET_MINUTES), "Custom")
SECOND_CALENDAR = "Team events"
NewEvent = Callable[[int, str, datetime, datetime, str], CalendarEvent]


def zone(windows_name: str) -> tzinfo:
    """The zone for a Windows (or IANA) time zone name; unknown names mean UTC."""
    if windows_name == names.CUSTOM_TIME_ZONE:
        return CUSTOM_ZONE
    try:
        return ZoneInfo(names.TIME_ZONES.get(windows_name, windows_name))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def second_calendar_id(owner: User) -> str | None:
    """The id of the owner's second calendar, for every seventh person (else None)."""
    if owner.mailbox != "user" or owner.index % 7 != 3:
        return None
    return outlook_id("calendar", owner.id, SECOND_CALENDAR)


def generate_calendar(tenant: TenantData, owner: User) -> dict[str, CalendarEvent]:
    """The generated events of `owner`'s mailbox, keyed by id."""
    if tenant.calendar_events is not None:
        return generate_sized(tenant, owner, tenant.calendar_events) if owner.mailbox else {}
    rng = random.Random(f"{tenant.seed}:calendar:{owner.index}")
    people = tenant.user_ids
    days = max(1, (tenant.calendar_end - tenant.calendar_start).days)
    counts = {"user": (4, 10), "room": (2, 6), "equipment": (1, 3), "shared": (0, 3)}
    low, high = counts.get(owner.mailbox or "", (0, 2))
    events: dict[str, CalendarEvent] = {}

    def attendee_pool(n: int) -> list[Attendee]:
        out = []
        for _ in range(n):
            other = tenant.users.get(rng.choice(people)) if people else None
            if other is not None and other.mail and other.id != owner.id:
                kind = "resource" if other.mailbox in ("room", "equipment") else "required"
                response = rng.choice(("accepted", "tentativelyAccepted", "none", "declined"))
                out.append(Attendee(other.display_name, other.mail, kind, response))
        return out

    def new_event(n: int, subject: str, start: datetime, end: datetime, tz: str) -> CalendarEvent:
        eid = outlook_id(tenant.seed, owner.index, n)
        created = tenant.calendar_start - timedelta(days=rng.randrange(1, 60))
        invited = rng.random() < 0.3 and people
        organizer = tenant.users.get(rng.choice(people)) if invited else None
        if organizer is None or not organizer.mail:
            organizer = owner
        return CalendarEvent(
            id=eid,
            ical_uid=ical_uid(tenant.seed, owner.index, n),
            subject=subject,
            body=f"<html><body><p>{subject}</p></body></html>",
            start=start,
            end=end,
            time_zone=tz,
            is_all_day=False,
            sensitivity="normal",
            show_as="busy",
            organizer_name=organizer.display_name,
            organizer_address=organizer.mail or owner.user_principal_name,
            attendees=attendee_pool(rng.randint(0, 4)),
            location=rng.choice(names.ROOM_WORDS) + " room" if rng.random() < 0.5 else "",
            created=created,
            last_modified=created + timedelta(hours=rng.randrange(1, 48)),
            change_key=change_key(eid, 0),
            is_online_meeting=rng.random() < 0.4,
        )

    def pick_zone() -> str:
        return owner.time_zone if rng.random() < 0.75 else rng.choice(ZONE_NAMES)

    total = rng.randint(low, high)
    for n in range(total):
        tz = pick_zone()
        day = (tenant.calendar_start + timedelta(days=rng.randrange(days))).date()
        start = datetime.combine(day, time(rng.randint(7, 17), rng.choice((0, 30))), zone(tz))
        event = new_event(
            n,
            rng.choice(names.MEETING_SUBJECTS),
            start,
            start + timedelta(minutes=rng.choice((30, 60, 90))),
            tz,
        )
        roll = rng.random()
        if roll < 0.12:
            event.sensitivity = "private"
            event.subject = rng.choice(names.PRIVATE_SUBJECTS)
            event.attendees = []
        elif roll < 0.17:
            event.sensitivity = "confidential"
        elif roll < 0.2:
            event.sensitivity = "personal"
        events[event.id] = event
    if owner.mailbox == "user":
        _add_recurring(rng, tenant, events, new_event, pick_zone())
        if rng.random() < 0.6:
            tz = pick_zone()
            day = (tenant.calendar_start + timedelta(days=rng.randrange(days))).date()
            start = datetime.combine(day, time(), zone(tz))
            event = new_event(
                90,
                rng.choice(("Public holiday", "Out of office", "Conference")),
                start,
                start + timedelta(days=rng.choice((1, 1, 2))),
                tz,
            )
            event.is_all_day = True
            event.show_as = "oof" if event.subject == "Out of office" else "free"
            event.attendees = []
            event.is_online_meeting = False
            events[event.id] = event
        _add_extras(tenant, owner, events, new_event)
    return events


def _add_extras(
    tenant: TenantData, owner: User, events: dict[str, CalendarEvent], new_event: NewEvent
) -> None:
    """Patterns, zones and attachments beyond the first generator's (its own random stream,
    so the events above stay what they were)."""
    rng = random.Random(f"{tenant.seed}:calendar-extra:{owner.index}")
    first = (tenant.calendar_start - timedelta(days=rng.randrange(0, 20))).date()
    tz = rng.choice(EXTRA_ZONES)
    hour = rng.randint(8, 15)
    start = datetime.combine(first, time(hour), zone(tz))
    kinds: tuple[PatternType, ...] = (
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
        "weekly",
    )
    kind = rng.choice(kinds)
    weekday = WEEKDAYS[start.weekday()]
    rec = Recurrence(kind, 1, [weekday], min(start.day, 28), start.date(), None, 0)
    if kind == "relativeMonthly":
        rec.index = rng.choice(("first", "second", "last"))
        rec.days_of_week = [rng.choice(WEEKDAYS[:5])]
    elif kind == "absoluteYearly":
        rec.month = start.month
    elif kind == "relativeYearly":
        rec.month = start.month
        rec.index = "last"
        rec.days_of_week = [rng.choice(WEEKDAYS[:5])]
    else:
        # A fortnightly meeting counted in weeks that begin on Monday, ten times.
        rec.interval = 2
        rec.first_day_of_week = "monday"
        rec.number_of_occurrences = 10
        rec.end_date = None
    if rng.random() < 0.5 and kind != "weekly":
        rec.end_date = (tenant.calendar_end + timedelta(days=rng.randrange(-40, 400))).date()
    event = new_event(120, f"{kind} review", start, start + timedelta(minutes=45), tz)
    event.recurrence = rec
    events[event.id] = event
    # A single event in the custom zone or across a DST change somewhere.
    day = (tenant.calendar_start + timedelta(days=rng.randrange(5, 60))).date()
    tz2 = rng.choice(EXTRA_ZONES)
    single_start = datetime.combine(day, time(rng.randint(7, 18)), zone(tz2))
    single = new_event(
        121, "Call with partners", single_start, single_start + timedelta(hours=1), tz2
    )
    if rng.random() < 0.5:
        single.attachments = [
            EventAttachment("agenda.txt", "text/plain", f"Agenda for {day}".encode())
        ]
    events[single.id] = single


def generate_sized(tenant: TenantData, owner: User, count: int) -> dict[str, CalendarEvent]:
    """Exactly ``count`` events, a tenth of them weekly series (the benchmark's tenants)."""
    rng = random.Random(f"{tenant.seed}:sized:{owner.index}")
    days = max(1, (tenant.calendar_end - tenant.calendar_start).days)
    tz = owner.time_zone
    events: dict[str, CalendarEvent] = {}
    for n in range(count):
        day = (tenant.calendar_start + timedelta(days=rng.randrange(days))).date()
        start = datetime.combine(day, time(rng.randint(7, 17), rng.choice((0, 30))), zone(tz))
        eid = outlook_id(tenant.seed, owner.index, "sized", n)
        event = CalendarEvent(
            id=eid,
            ical_uid=ical_uid(tenant.seed, owner.index, "sized", n),
            subject=rng.choice(names.MEETING_SUBJECTS),
            body="",
            start=start,
            end=start + timedelta(minutes=rng.choice((30, 60))),
            time_zone=tz,
            is_all_day=False,
            sensitivity="private" if rng.random() < 0.1 else "normal",
            show_as="busy",
            organizer_name=owner.display_name,
            organizer_address=owner.mail or owner.user_principal_name,
            attendees=[],
            location="",
            created=tenant.calendar_start,
            last_modified=tenant.calendar_start,
            change_key=change_key(eid, 0),
        )
        if n % 10 == 0:
            event.recurrence = Recurrence(
                "weekly", 1, [WEEKDAYS[day.weekday()]], 0, day, None, rng.choice((0, 12))
            )
        events[eid] = event
    return events


def generate_second(tenant: TenantData, owner: User) -> dict[str, CalendarEvent]:
    """The events of the owner's second calendar (a few singles and one series)."""
    rng = random.Random(f"{tenant.seed}:second:{owner.index}")
    out: dict[str, CalendarEvent] = {}
    for n in range(rng.randint(2, 5)):
        day = (tenant.calendar_start + timedelta(days=rng.randrange(1, 80))).date()
        start = datetime.combine(day, time(rng.randint(9, 16)), zone(owner.time_zone))
        eid = outlook_id(tenant.seed, owner.index, "second", n)
        out[eid] = CalendarEvent(
            id=eid,
            ical_uid=ical_uid(tenant.seed, owner.index, "second", n),
            subject=f"Team event {n + 1}",
            body="",
            start=start,
            end=start + timedelta(hours=1),
            time_zone=owner.time_zone,
            is_all_day=False,
            sensitivity="normal",
            show_as="busy",
            organizer_name=owner.display_name,
            organizer_address=owner.mail or owner.user_principal_name,
            attendees=[],
            location="",
            created=tenant.calendar_start,
            last_modified=tenant.calendar_start,
            change_key=change_key(eid, 0),
        )
        if n == 0:
            out[eid].recurrence = Recurrence("daily", 3, [], 0, day, day + timedelta(days=40), 0)
    return out


def _add_recurring(
    rng: random.Random,
    tenant: TenantData,
    events: dict[str, CalendarEvent],
    new_event: NewEvent,
    tz: str,
) -> None:
    first = (tenant.calendar_start - timedelta(days=rng.randrange(0, 30))).date()
    for n in range(rng.randint(1, 2)):
        kind: PatternType = rng.choice(("weekly", "weekly", "daily", "absoluteMonthly"))
        hour = rng.randint(8, 16)
        start = datetime.combine(first + timedelta(days=n), time(hour), zone(tz))
        days = [WEEKDAYS[start.weekday()]] if kind == "weekly" else []
        if kind == "weekly" and rng.random() < 0.4:
            days = list(WEEKDAYS[:5])
        end_date = None if rng.random() < 0.5 else tenant.calendar_end.date() + timedelta(days=30)
        rec = Recurrence(
            kind,
            1 if kind != "daily" else rng.choice((1, 2)),
            days,
            start.day,
            start.date(),
            end_date,
            0,
        )
        event = new_event(
            100 + n,
            rng.choice(("Weekly sync", "Standup", "Team meeting", "Monthly review")),
            start,
            start + timedelta(minutes=30),
            tz,
        )
        event.recurrence = rec
        dates = occurrence_dates(rec, tenant.calendar_end.date())
        if len(dates) > 5:
            moved = dates[2]
            o_start = datetime.combine(moved, time(hour + 1), zone(tz))
            event.overrides[moved] = EventOverride(
                o_start, o_start + timedelta(minutes=30), f"{event.subject} (moved)"
            )
            event.cancelled.add(dates[4])
        events[event.id] = event
