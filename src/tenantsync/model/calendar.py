"""Calendar entities: events as a calendar source reads them, and what one mailbox's read
gave. Plain frozen dataclasses, no wire names; instants are aware UTC.

A replica is one of four kinds: a single event, a series master (with its recurrence
pattern), an exception (an occurrence that was changed, with its original start) or a
cancelled occurrence (its original start only). Plain occurrences are never stored: they
are derived from the master's pattern.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from tenantsync.model.permissions import MailboxRef


class EventKind(enum.StrEnum):
    """What a replica stands for."""

    SINGLE = "single"
    MASTER = "master"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"


class Sensitivity(enum.StrEnum):
    """How private the owner marked an event."""

    NORMAL = "normal"
    PERSONAL = "personal"
    PRIVATE = "private"
    CONFIDENTIAL = "confidential"


PRIVATE_SENSITIVITIES = frozenset({Sensitivity.PRIVATE, Sensitivity.CONFIDENTIAL})
PATTERNS = (
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEXES = ("first", "second", "third", "fourth", "last")


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A recurrence pattern and range as Outlook keeps it.

    ``end_date`` is None for a series without an end date (the wire's ``0001-01-01``
    sentinel, or a range of type ``noEnd``); ``count`` is the number of occurrences of a
    ``numbered`` range (0 otherwise). ``time_zone`` is the IANA zone the pattern recurs in
    (None when the source named a zone no table maps: the master's UTC offset is used).
    """

    pattern: str
    interval: int = 1
    days_of_week: tuple[str, ...] = ()
    day_of_month: int = 0
    month: int = 0
    index: str = "first"
    first_day_of_week: str = "sunday"
    range_type: str = "noEnd"
    start_date: date | None = None
    end_date: date | None = None
    count: int = 0
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Attendee:
    """An invited person or resource and their answer."""

    name: str
    address: str
    type: str = "required"
    response: str = "none"


@dataclass(frozen=True, slots=True)
class Attachment:
    """An attachment's name and size always; its content only when the definition asks."""

    name: str
    size: int
    content_type: str = ""
    content: bytes | None = None


# Not slotted: reads are pickled to a spool, and a slotted dataclass pickles through a
# slow per-object __getstate__.
@dataclass(frozen=True)
class EventItem:
    """One replica as the source gave it (see the module docstring for the kinds).

    ``start``/``end``: UTC instants; for an all-day event the dates are in ``start_date``/
    ``end_date`` (end exclusive) and the instants are their midnights in UTC, for ordering
    only. ``time_zone`` is the IANA zone the owner set the event in (None: unknown or a
    custom zone), ``time_zone_source`` the name the source gave. For a master, ``start``/
    ``end`` are those of the first occurrence.
    """

    source_id: str
    kind: EventKind
    ical_uid: str
    start: datetime
    end: datetime
    series_id: str | None = None
    original_start: datetime | None = None
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    time_zone: str | None = None
    time_zone_source: str = ""
    subject: str = ""
    location: str = ""
    body: str = ""
    sensitivity: Sensitivity = Sensitivity.NORMAL
    show_as: str = "busy"
    organizer: str = ""
    attendees: tuple[Attendee, ...] = ()
    categories: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    recurrence: Recurrence | None = None
    change_key: str = ""
    last_modified: datetime | None = None

    @property
    def private(self) -> bool:
        """Whether only the owner and delegates allowed to may see its details."""
        return self.sensitivity in PRIVATE_SENSITIVITIES


@dataclass(frozen=True)
class Occurrence:
    """A plain occurrence a read saw: its series and its start and end (UTC)."""

    series_id: str
    start: datetime
    end: datetime


class RemovedReason(enum.StrEnum):
    """Why an item left a mailbox's window: gone at the source, or moved out of the window."""

    DELETED = "deleted"
    LEFT_WINDOW = "left window"


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar of a mailbox: its key (``primary`` or the source's calendar id) and name."""

    key: str
    name: str
    primary: bool = False


@dataclass(frozen=True)
class CalendarList:
    """A mailbox's calendars (the primary one first), or why they could not be listed."""

    mailbox: MailboxRef
    calendars: tuple[CalendarInfo, ...] = ()
    failure: str | None = None
    retryable: bool = False
    refused: bool = False


@dataclass(frozen=True, slots=True)
class FolderDelegate:
    """A person the calendar folder is shared with, as Exchange shows them (display name or
    address), their role, and whether they may see private items."""

    user: str
    role: str
    delegate: bool = False
    private_items: bool = False


@dataclass(frozen=True, slots=True)
class CalendarAsk:
    """What to read of one mailbox's calendar: the saved delta link (None: read the window
    whole), the window, and the series masters already held (id → change key)."""

    mailbox: MailboxRef
    calendar: CalendarInfo
    window_start: datetime
    window_end: datetime
    delta_link: str | None = None
    masters: dict[str, str] = field(default_factory=dict)
    held: frozenset[str] = frozenset()
    delegates: bool = False


@dataclass
class CalendarRead:
    """What one mailbox calendar's read gave.

    ``whole`` is True when the window was read in full (first read, an expired link read
    again, a reconciliation, a calendar without delta): the items are then every item of
    the window and ``occurrences`` every plain occurrence seen. A read that is not
    ``complete`` carries only why (``failure``) and must change nothing. ``refused`` marks
    a mailbox the application may not read (403).
    """

    mailbox: MailboxRef
    calendar: CalendarInfo
    window_start: datetime
    window_end: datetime
    whole: bool = False
    complete: bool = False
    items: list[EventItem] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    removed: dict[str, RemovedReason] = field(default_factory=dict)
    delta_link: str | None = None
    failure: str | None = None
    retryable: bool = False
    refused: bool = False
    why_whole: str = ""
    delegates: tuple[FolderDelegate, ...] | None = None
