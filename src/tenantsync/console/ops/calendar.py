"""A mailbox's calendar for the console and the API: instances in a range as a console
account sees them (private items masked: a console account is neither the owner nor a
delegate), its replication state, its feeds. Calendar contents are delegate data: only
super administrators reach these (the routes ask for that role)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from tenantsync.engine.calendar.recurrence import Instance, dates_of
from tenantsync.engine.calendar.views import MASKED_SUBJECT, Viewer, instances_for
from tenantsync.errors import ConfigError
from tenantsync.store.models import Mailbox

CONSOLE_VIEWER = Viewer(None, "console")
MAX_DAYS = 400


@dataclass(frozen=True)
class Shown:
    """One instance as the console shows it, in the viewer's zone."""

    start: datetime
    end: datetime
    all_day: bool
    first_date: date
    last_date: date
    subject: str
    location: str
    show_as: str
    sensitivity: str
    kind: str
    masked: bool
    event_id: str
    series_id: str | None


def zone(name: str) -> ZoneInfo:
    """The viewer's zone by IANA name (a ConfigError naming the field when unknown)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r} (use an IANA name)", field="tz") from None


def span(first: date, days: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """From the viewer's midnight of ``first``, ``days`` days on (as UTC instants)."""
    if not 1 <= days <= MAX_DAYS:
        raise ConfigError(f"a range is 1 to {MAX_DAYS} days", field="days")
    start = datetime.combine(first, time(), tz)
    return start.astimezone(UTC), (start + timedelta(days=days)).astimezone(UTC)


def events(
    session: Session, mailbox: Mailbox, start: datetime, end: datetime, tz: ZoneInfo
) -> list[Shown]:
    """The mailbox's instances overlapping [start, end) for a console account, in ``tz``."""
    if end <= start or end - start > timedelta(days=MAX_DAYS):
        raise ConfigError(f"end must follow start, at most {MAX_DAYS} days on", field="end")
    return [_shown(i, tz) for i in instances_for(session, mailbox, start, end, CONSOLE_VIEWER)]


def _shown(instance: Instance, tz: ZoneInfo) -> Shown:
    item = instance.item
    if instance.all_day:
        first, after = dates_of(instance)
        last = after - timedelta(days=1)
    else:
        first = instance.start.astimezone(tz).date()
        last = (instance.end - timedelta(seconds=1)).astimezone(tz).date()
    return Shown(
        start=instance.start.astimezone(tz),
        end=instance.end.astimezone(tz),
        all_day=instance.all_day,
        first_date=first,
        last_date=max(first, last),
        subject=item.subject,
        location=item.location,
        show_as=item.show_as,
        sensitivity=item.sensitivity.value,
        kind=instance.kind,
        masked=item.private and item.subject == MASKED_SUBJECT,
        event_id=item.source_id,
        series_id=item.series_id,
    )
