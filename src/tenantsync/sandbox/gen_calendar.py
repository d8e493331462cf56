"""Generates one mailbox's calendar on demand, deterministically from the tenant seed:
single, recurring (with a moved and a cancelled occurrence), all-day, private and
confidential events in several time zones."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import (
    Attendee,
    CalendarEvent,
    EventOverride,
    PatternType,
    Recurrence,
    User,
)
from tenantsync.sandbox.ids import change_key, ical_uid, outlook_id
from tenantsync.sandbox.recurrence import WEEKDAYS, occurrence_dates

if TYPE_CHECKING:
    from tenantsync.sandbox.tenantdata import TenantData

ZONE_NAMES = tuple(names.TIME_ZONES)
NewEvent = Callable[[int, str, datetime, datetime, str], CalendarEvent]


def zone(windows_name: str) -> ZoneInfo:
    """The IANA zone for a Windows (or IANA) time zone name; unknown names mean UTC."""
    try:
        return ZoneInfo(names.TIME_ZONES.get(windows_name, windows_name))
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def generate_calendar(tenant: TenantData, owner: User) -> dict[str, CalendarEvent]:
    """The generated events of `owner`'s mailbox, keyed by id."""
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
    return events


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
