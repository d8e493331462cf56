"""Expands a series master into the occurrences and exceptions inside a time window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tenantsync.sandbox.entities import CalendarEvent, Recurrence

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(slots=True, frozen=True)
class Instance:
    """One item calendarView returns: a single event, an occurrence or an exception."""

    event: CalendarEvent
    kind: str
    occurrence: date | None
    start: datetime
    end: datetime
    subject: str


def _matches(rec: Recurrence, first: date, day: date) -> bool:
    if rec.pattern_type == "daily":
        return (day - first).days % rec.interval == 0
    if rec.pattern_type == "weekly":
        week0 = first - timedelta(days=first.weekday())
        weeks = (day - week0).days // 7
        return WEEKDAYS[day.weekday()] in rec.days_of_week and weeks % rec.interval == 0
    months = (day.year - first.year) * 12 + day.month - first.month
    return day.day == rec.day_of_month and months % rec.interval == 0


def occurrence_dates(rec: Recurrence, until: date) -> list[date]:
    """Dates of the series' occurrences up to `until` (inclusive), cancelled ones included."""
    out: list[date] = []
    last = min(until, rec.end_date) if rec.end_date else until
    day = rec.start_date
    while day <= last:
        if _matches(rec, rec.start_date, day):
            out.append(day)
            if rec.number_of_occurrences and len(out) >= rec.number_of_occurrences:
                break
        day += timedelta(days=1)
    return out


def instances(event: CalendarEvent, start: datetime, end: datetime) -> list[Instance]:
    """The items of `event` that overlap [start, end)."""
    rec = event.recurrence
    if rec is None:
        if event.start < end and event.end > start:
            return [Instance(event, "singleInstance", None, event.start, event.end, event.subject)]
        return []
    duration = event.end - event.start
    zone = event.start.tzinfo
    out: list[Instance] = []
    for day in occurrence_dates(rec, (end + timedelta(days=1)).date()):
        if day in event.cancelled:
            continue
        override = event.overrides.get(day)
        if override is not None:
            item = Instance(event, "exception", day, override.start, override.end, override.subject)
        else:
            o_start = datetime.combine(day, event.start.time(), tzinfo=zone)
            item = Instance(event, "occurrence", day, o_start, o_start + duration, event.subject)
        if item.start < end and item.end > start:
            out.append(item)
    return out
