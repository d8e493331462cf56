"""Outlook recurrence patterns as RFC 5545 rules, and a series expanded into its instances.

One definition of the rule (:func:`rrule_text`) serves both the iCalendar feed (as its
RRULE) and every expansion here (through dateutil's RFC 5545 engine), so what the
console shows and what a feed reader computes from the feed are the same instances.

A series recurs in its own zone (wall-clock times, across DST changes); a series in a
zone no table maps (a custom zone) recurs in UTC at its master's UTC time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from tenantsync.model.calendar import WEEKDAYS, EventItem, EventKind, Recurrence

DAY_CODES = {day: day[:2].upper() for day in WEEKDAYS}
SETPOS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
FREQ = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance of a calendar: a single event, an occurrence or an exception.

    ``item`` carries the details (the master for a plain occurrence), ``original_start``
    the start the occurrence had by its pattern (None for a single event).
    """

    item: EventItem
    kind: str
    start: datetime
    end: datetime
    original_start: datetime | None = None

    @property
    def all_day(self) -> bool:
        """Whether the instance is a span of dates."""
        return self.item.all_day


def zone_of(item: EventItem) -> tzinfo:
    """The zone a series recurs in (UTC for an unknown or custom one)."""
    name = (item.recurrence.time_zone if item.recurrence else None) or item.time_zone
    return ZoneInfo(name) if name else UTC


def rrule_text(rec: Recurrence, zone: tzinfo) -> str:
    """The pattern and range as an RFC 5545 RRULE value (UNTIL in UTC, as the RFC asks
    when the start has a zone: the end of the end date in the series' zone)."""
    parts = [f"FREQ={FREQ[rec.pattern]}", f"INTERVAL={max(1, rec.interval)}"]
    days = ",".join(DAY_CODES[d] for d in rec.days_of_week if d in DAY_CODES)
    if rec.pattern == "weekly":
        parts.append(f"BYDAY={days or 'MO'}")
        parts.append(f"WKST={DAY_CODES.get(rec.first_day_of_week, 'SU')}")
    elif rec.pattern == "absoluteMonthly":
        parts.append(f"BYMONTHDAY={rec.day_of_month}")
    elif rec.pattern == "relativeMonthly":
        parts += [f"BYDAY={days or 'MO'}", f"BYSETPOS={SETPOS.get(rec.index, 1)}"]
    elif rec.pattern == "absoluteYearly":
        parts += [f"BYMONTH={rec.month}", f"BYMONTHDAY={rec.day_of_month}"]
    elif rec.pattern == "relativeYearly":
        parts += [
            f"BYMONTH={rec.month}",
            f"BYDAY={days or 'MO'}",
            f"BYSETPOS={SETPOS.get(rec.index, 1)}",
        ]
    if rec.range_type == "numbered" and rec.count:
        parts.append(f"COUNT={rec.count}")
    elif rec.end_date is not None:
        last = datetime.combine(rec.end_date, time(23, 59, 59), zone).astimezone(UTC)
        parts.append(f"UNTIL={last:%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


def _rule(master: EventItem) -> tuple[rrule, tzinfo] | None:
    rec = master.recurrence
    if rec is None:
        return None
    zone = zone_of(master)
    local = master.start.astimezone(zone)
    first_day = rec.start_date or local.date()
    if master.all_day:
        first_day = rec.start_date or master.start_date or local.date()
        start = datetime.combine(first_day, time(), UTC)
        zone = UTC
    else:
        start = datetime.combine(first_day, local.timetz().replace(tzinfo=None), zone)
    rule = rrulestr(rrule_text(rec, zone), dtstart=start)
    assert isinstance(rule, rrule)
    return rule, zone


def first_occurrence(master: EventItem) -> datetime | None:
    """When the series' first occurrence starts (UTC), None for a series that has none."""
    found = _rule(master)
    if found is None:
        return None
    rule, _ = found
    first = next(iter(rule), None)
    return first.astimezone(UTC) if first is not None else None


def last_end(master: EventItem) -> datetime | None:
    """When the series' last occurrence ends (UTC); None for a series without an end."""
    found = _rule(master)
    rec = master.recurrence
    if found is None or rec is None or (rec.count == 0 and rec.end_date is None):
        return None
    rule, _ = found
    last = None
    for last in rule:  # noqa: B007 (bounded: COUNT or UNTIL)
        pass
    if last is None:
        return master.end
    return last.astimezone(UTC) + (master.end - master.start)


def starts_between(master: EventItem, start: datetime, end: datetime) -> list[datetime]:
    """Original starts (UTC) of the series' occurrences overlapping [start, end)."""
    found = _rule(master)
    if found is None:
        return []
    rule, zone = found
    duration = master.end - master.start
    lower = (start - duration).astimezone(zone)
    upper = end.astimezone(zone)
    out = []
    for moment in rule.between(lower, upper, inc=True):
        begin = moment.astimezone(UTC)
        if begin < end and begin + duration > start:
            out.append(begin)
    return out


def expand(items: list[EventItem], start: datetime, end: datetime) -> list[Instance]:
    """Every instance of these replicas (one mailbox calendar's) overlapping [start, end),
    in order: single events, occurrences derived from masters, exceptions in place of the
    occurrences they changed, cancelled occurrences left out."""
    out: list[Instance] = []
    changed: dict[str, dict[datetime, EventItem]] = {}
    cancelled: dict[str, set[datetime]] = {}
    for item in items:
        if item.kind is EventKind.EXCEPTION and item.series_id and item.original_start:
            changed.setdefault(item.series_id, {})[item.original_start] = item
        elif item.kind is EventKind.CANCELLED and item.series_id and item.original_start:
            cancelled.setdefault(item.series_id, set()).add(item.original_start)
    for item in items:
        if item.kind is EventKind.SINGLE:
            if item.start < end and item.end > start:
                out.append(Instance(item, "single", item.start, item.end))
        elif item.kind is EventKind.MASTER:
            skip = cancelled.get(item.source_id, set()) | set(changed.get(item.source_id, {}))
            duration = item.end - item.start
            for begin in starts_between(item, start, end):
                if begin not in skip:
                    out.append(Instance(item, "occurrence", begin, begin + duration, begin))
        elif item.kind is EventKind.EXCEPTION and item.start < end and item.end > start:
            out.append(Instance(item, "exception", item.start, item.end, item.original_start))
    out.sort(key=lambda i: (i.start, i.item.source_id))
    return out


def dates_of(instance: Instance) -> tuple[date, date]:
    """An all-day instance's first date and the date after its last."""
    item = instance.item
    length = (item.end_date - item.start_date) if item.start_date and item.end_date else None
    first = instance.start.date()
    return first, first + (length or timedelta(days=1))
