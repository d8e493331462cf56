"""Expands a series master into the occurrences and exceptions inside a time window.

Outlook's patterns, decided day by day (deliberately not through RFC 5545 rules: the
product turns patterns into RRULEs, and its tests compare the two): daily, weekly (weeks
counted from the week holding the start date, weeks beginning on `first_day_of_week`),
absolute and relative monthly and yearly; ranges without end, up to an end date
(inclusive) or numbered.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tenantsync.sandbox.entities import CalendarEvent, Recurrence

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = ("first", "second", "third", "fourth")


@dataclass(slots=True, frozen=True)
class Instance:
    """One item calendarView returns: a single event, an occurrence or an exception."""

    event: CalendarEvent
    kind: str
    occurrence: date | None
    start: datetime
    end: datetime
    subject: str


def _relative(rec: Recurrence, day: date) -> bool:
    """Whether ``day`` is the index-th (or last) of the pattern's weekdays in its month."""
    if WEEKDAYS[day.weekday()] not in rec.days_of_week:
        return False
    if rec.index == "last":
        return day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    return (day.day - 1) // 7 == INDEXES.index(rec.index)


def _matches(rec: Recurrence, first: date, day: date) -> bool:
    months = (day.year - first.year) * 12 + day.month - first.month
    years = day.year - first.year
    kind = rec.pattern_type
    if kind == "daily":
        return (day - first).days % rec.interval == 0
    if kind == "weekly":
        week_start = WEEKDAYS.index(rec.first_day_of_week)
        week0 = first - timedelta(days=(first.weekday() - week_start) % 7)
        weeks = (day - week0).days // 7
        return WEEKDAYS[day.weekday()] in rec.days_of_week and weeks % rec.interval == 0
    if kind == "absoluteMonthly":
        return day.day == rec.day_of_month and months % rec.interval == 0
    if kind == "relativeMonthly":
        return months % rec.interval == 0 and _relative(rec, day)
    if kind == "absoluteYearly":
        return day.month == rec.month and day.day == rec.day_of_month and years % rec.interval == 0
    return day.month == rec.month and years % rec.interval == 0 and _relative(rec, day)


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


def original_start(event: CalendarEvent, day: date) -> datetime:
    """When the occurrence of ``day`` would start had it not been changed."""
    return datetime.combine(day, event.start.time(), tzinfo=event.start.tzinfo)
