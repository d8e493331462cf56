"""Graph v1.0 event JSON as :mod:`tenantsync.model.calendar` entities.

Times are asked for in UTC (``Prefer: outlook.timezone="UTC"``); an all-day event keeps
its dates (it runs midnight to midnight of its own zone, whatever zone is asked for).
Windows time-zone names (``W. Europe Standard Time``) are mapped to IANA names through
the CLDR ``windowsZones`` table that tzlocal regenerates with each release; IANA names
pass as they are; a custom zone (``Customized Time Zone``, ``tzone://Microsoft/Custom``)
maps to nothing, and its events keep their UTC instants.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from tzlocal.windows_tz import win_tz

from tenantsync.model.calendar import (
    Attachment,
    Attendee,
    EventItem,
    EventKind,
    Occurrence,
    Recurrence,
    Sensitivity,
)

SENTINEL_DATE = "0001-01-01"
UTC_NAMES = frozenset({"utc", "tzone://microsoft/utc", "coordinated universal time"})
KINDS = {
    "singleInstance": EventKind.SINGLE,
    "seriesMaster": EventKind.MASTER,
    "exception": EventKind.EXCEPTION,
}


@cache
def iana_zone(name: str | None) -> str | None:
    """The IANA zone for a Windows or IANA time-zone name; None for a custom or unknown one."""
    if not name:
        return None
    if name.strip().lower() in UTC_NAMES:
        return "UTC"
    mapped = win_tz.get(name.strip())
    if mapped:
        return mapped
    if name in _iana_names():
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return None
        return name
    return None


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_when(value: Any) -> datetime:
    """A ``{"dateTime", "timeZone"}`` pair as an aware UTC instant."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ValueError("an event time without dateTime")
    text = str(value["dateTime"]).rstrip("Z")
    head, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(head + (f".{fraction[:6]}" if fraction else ""))
    zone = iana_zone(str(value.get("timeZone") or "UTC")) or "UTC"
    if zone == "UTC":  # what every read asks for (Prefer: outlook.timezone="UTC")
        return moment.replace(tzinfo=UTC)
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 UTC timestamp (``…Z``), or None."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: Any) -> date:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise ValueError("an event time without dateTime")
    return date.fromisoformat(str(value["dateTime"])[:10])


def recurrence(value: Any, zone: str | None) -> Recurrence | None:
    """A series' pattern and range (``0001-01-01`` and ``noEnd`` both mean no end date)."""
    if not isinstance(value, dict):
        return None
    pattern = value.get("pattern") or {}
    span = value.get("range") or {}
    end_text = str(span.get("endDate") or SENTINEL_DATE)
    kind = str(span.get("type") or "noEnd")
    end = None if kind != "endDate" or end_text.startswith(SENTINEL_DATE) else end_text
    start_text = span.get("startDate")
    return Recurrence(
        pattern=str(pattern.get("type") or "daily"),
        interval=max(1, int(pattern.get("interval") or 1)),
        days_of_week=tuple(str(d).lower() for d in pattern.get("daysOfWeek") or ()),
        day_of_month=int(pattern.get("dayOfMonth") or 0),
        month=int(pattern.get("month") or 0),
        index=str(pattern.get("index") or "first"),
        first_day_of_week=str(pattern.get("firstDayOfWeek") or "sunday").lower(),
        range_type=kind,
        start_date=date.fromisoformat(str(start_text)) if start_text else None,
        end_date=date.fromisoformat(end) if end else None,
        count=int(span.get("numberOfOccurrences") or 0) if kind == "numbered" else 0,
        time_zone=iana_zone(span.get("recurrenceTimeZone")) or zone,
    )


def occurrence(item: dict[str, Any]) -> Occurrence:
    """A plain occurrence of a delta round or a calendarView page."""
    return Occurrence(
        str(item["seriesMasterId"]), parse_when(item["start"]), parse_when(item["end"])
    )


def event(item: dict[str, Any]) -> EventItem:
    """A single event, series master or exception from a whole record."""
    kind = KINDS.get(str(item.get("type")), EventKind.SINGLE)
    source_zone = str(item.get("originalStartTimeZone") or "")
    zone = iana_zone(source_zone)
    all_day = bool(item.get("isAllDay"))
    start, end = parse_when(item["start"]), parse_when(item["end"])
    start_date = end_date = None
    if all_day:
        start_date, end_date = _day(item["start"]), _day(item["end"])
        start = datetime.combine(start_date, time(), UTC)
        end = datetime.combine(end_date, time(), UTC)
    location = item.get("location") or {}
    organizer = ((item.get("organizer") or {}).get("emailAddress") or {}).get("address") or ""
    try:
        sensitivity = Sensitivity(str(item.get("sensitivity") or "normal"))
    except ValueError:
        sensitivity = Sensitivity.PRIVATE  # a value we do not know is kept from view
    return EventItem(
        source_id=str(item["id"]),
        kind=kind,
        ical_uid=str(item.get("iCalUId") or item["id"]),
        start=start,
        end=end,
        series_id=str(item["seriesMasterId"]) if item.get("seriesMasterId") else None,
        original_start=parse_instant(item.get("originalStart")),
        all_day=all_day,
        start_date=start_date,
        end_date=end_date,
        time_zone=zone,
        time_zone_source=source_zone,
        subject=str(item.get("subject") or ""),
        location=str(location.get("displayName") or ""),
        body=str((item.get("body") or {}).get("content") or ""),
        sensitivity=sensitivity,
        show_as=str(item.get("showAs") or "busy"),
        organizer=str(organizer).lower(),
        attendees=tuple(
            Attendee(
                str((a.get("emailAddress") or {}).get("name") or ""),
                str((a.get("emailAddress") or {}).get("address") or "").lower(),
                str(a.get("type") or "required"),
                str((a.get("status") or {}).get("response") or "none"),
            )
            for a in item.get("attendees") or ()
        ),
        categories=tuple(str(c) for c in item.get("categories") or ()),
        recurrence=recurrence(item.get("recurrence"), zone) if kind is EventKind.MASTER else None,
        change_key=str(item.get("changeKey") or ""),
        last_modified=parse_instant(item.get("lastModifiedDateTime")),
    )


def attachment(item: dict[str, Any], with_content: bool) -> Attachment:
    """A file attachment's name and size, and its bytes when asked and given."""
    content = item.get("contentBytes") if with_content else None
    return Attachment(
        name=str(item.get("name") or ""),
        size=int(item.get("size") or 0),
        content_type=str(item.get("contentType") or ""),
        content=base64.b64decode(content) if content else None,
    )


def etag(item: dict[str, Any]) -> str:
    """The change key an item's etag carries (``W/"…"``)."""
    tag = str(item.get("@odata.etag") or item.get("changeKey") or "")
    return tag.removeprefix('W/"').removesuffix('"')
