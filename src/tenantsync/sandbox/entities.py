"""The sandbox organization's objects: plain slotted dataclasses, no wire names, no I/O.

Permission entries are stored compactly as tuples keyed by mailbox id (a 100k-mailbox
organization holds about a million of them); the system entries every mailbox shows
(SELF, inherited datacenter groups, Default/Anonymous calendar rights) are not stored at
all but derived when a cmdlet renders a mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

MailboxKind = Literal["user", "shared", "room", "equipment", "scheduling"]
PatternType = Literal[
    "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"
]
GroupKind = Literal["security", "mail_security", "unified", "distribution"]

MAILBOX_KINDS: tuple[MailboxKind, ...] = ("user", "shared", "room", "equipment", "scheduling")
GROUP_KINDS: tuple[GroupKind, ...] = ("security", "mail_security", "unified", "distribution")

# Exchange MailboxRights flags (Get-MailboxPermission AccessRights).
FULL_ACCESS = 0x1
EXTERNAL_ACCOUNT = 0x4
DELETE_ITEM = 0x10000
READ_PERMISSION = 0x20000
CHANGE_PERMISSION = 0x40000
CHANGE_OWNER = 0x80000
RIGHT_NAMES: tuple[tuple[int, str], ...] = (
    (FULL_ACCESS, "FullAccess"),
    (EXTERNAL_ACCOUNT, "ExternalAccount"),
    (DELETE_ITEM, "DeleteItem"),
    (READ_PERMISSION, "ReadPermission"),
    (CHANGE_PERMISSION, "ChangePermission"),
    (CHANGE_OWNER, "ChangeOwner"),
)

# Calendar SharingPermissionFlags bits.
DELEGATE = 0x1
CAN_VIEW_PRIVATE_ITEMS = 0x2

CALENDAR_ROLES: tuple[str, ...] = (
    "Owner",
    "PublishingEditor",
    "Editor",
    "PublishingAuthor",
    "Author",
    "NonEditingAuthor",
    "Reviewer",
    "Contributor",
    "AvailabilityOnly",
    "LimitedDetails",
    "None",
)

# Trustee references that are not object ids.
DEFAULT_TRUSTEE = "Default"
ANONYMOUS_TRUSTEE = "Anonymous"

FullAccessEntry = tuple[str, int, bool]  # (trustee ref, MailboxRights flags, deny)
SendAsEntry = tuple[str, bool]  # (trustee ref, deny)
FolderEntry = tuple[str, str, int]  # (trustee ref, role, SharingPermissionFlags)


def rights_names(flags: int) -> list[str]:
    """MailboxRights flags as Exchange's names, in Exchange's order."""
    return [name for bit, name in RIGHT_NAMES if flags & bit]


def rights_flags(names: list[str]) -> int:
    """Names (case-insensitive) back to MailboxRights flags; unknown names raise ValueError."""
    lookup = {name.lower(): bit for bit, name in RIGHT_NAMES}
    flags = 0
    for name in names:
        try:
            flags |= lookup[name.strip().lower()]
        except KeyError:
            raise ValueError(f"unknown mailbox right {name!r}") from None
    return flags


@dataclass(slots=True)
class OnPremises:
    """Anchors of an object synchronized from on-premises Active Directory."""

    security_identifier: str
    sam_account_name: str
    distinguished_name: str
    domain_name: str
    netbios_name: str
    immutable_id: str
    last_sync: datetime


@dataclass(slots=True)
class User:
    """A directory user; `mailbox` says which kind of Exchange mailbox it has, if any."""

    index: int
    id: str
    display_name: str
    given_name: str | None
    surname: str | None
    user_principal_name: str
    mail: str | None
    mail_nickname: str
    proxy_addresses: list[str]
    department: str | None
    company_name: str | None
    job_title: str | None
    office_location: str | None
    account_enabled: bool
    licenses: list[str]
    user_type: str
    mailbox: MailboxKind | None
    created: datetime
    when_changed: datetime
    exchange_guid: str
    exchange_object_guid: str
    on_premises: OnPremises | None = None
    send_on_behalf: list[str] = field(default_factory=list)
    hidden_from_address_lists: bool = False
    time_zone: str = "UTC"
    language: str = "en-US"
    business_phones: list[str] = field(default_factory=list)
    mobile_phone: str | None = None
    # Exchange shows the mailbox as a remote one (RemoteUserMailbox and friends): in a hybrid
    # organization, it stands for a mailbox that lives on the other side.
    remote: bool = False


@dataclass(slots=True)
class Group:
    """A directory group (Graph and, when mail-enabled, Exchange); members are ordered ids."""

    index: int
    id: str
    display_name: str
    description: str | None
    kind: GroupKind
    mail_nickname: str
    mail: str | None
    proxy_addresses: list[str]
    visibility: str | None
    created: datetime
    when_changed: datetime
    security_identifier: str
    exchange_object_guid: str
    members: dict[str, None] = field(default_factory=dict)
    on_premises: OnPremises | None = None
    managed_by: list[str] = field(default_factory=list)

    @property
    def mail_enabled(self) -> bool:
        """Whether Exchange knows the group (distribution, mail-enabled security, Unified)."""
        return self.kind != "security"

    @property
    def security_enabled(self) -> bool:
        """Whether the group can hold permissions."""
        return self.kind in ("security", "mail_security")


@dataclass(slots=True)
class DynamicGroup:
    """An Exchange dynamic distribution group: an OPATH filter, members computed."""

    id: str
    name: str
    alias: str
    primary_smtp_address: str
    recipient_filter: str
    created: datetime
    when_changed: datetime
    managed_by: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Recurrence:
    """A recurrence pattern and range, as Graph models it.

    `index` (first … last) and `days_of_week` make the relative patterns; `month` the
    yearly ones; `first_day_of_week` decides which weeks count for a weekly interval;
    `number_of_occurrences` > 0 is a numbered range, `end_date` an end-dated one, neither
    a series without end.
    """

    pattern_type: PatternType
    interval: int
    days_of_week: list[str]
    day_of_month: int
    start_date: date
    end_date: date | None
    number_of_occurrences: int
    month: int = 0
    index: str = "first"
    first_day_of_week: str = "sunday"


@dataclass(slots=True)
class Attendee:
    """An invited person or resource and their answer."""

    name: str
    address: str
    type: str
    response: str


@dataclass(slots=True)
class EventOverride:
    """A changed occurrence of a series (an exception), with an id of its own."""

    start: datetime
    end: datetime
    subject: str
    change_key: str = ""


@dataclass(slots=True)
class EventAttachment:
    """A file attached to an event."""

    name: str
    content_type: str
    content: bytes


@dataclass(slots=True)
class CalendarEvent:
    """A single event or a series master; times are aware, in the event's own zone."""

    id: str
    ical_uid: str
    subject: str
    body: str
    start: datetime
    end: datetime
    time_zone: str
    is_all_day: bool
    sensitivity: str
    show_as: str
    organizer_name: str
    organizer_address: str
    attendees: list[Attendee]
    location: str
    created: datetime
    last_modified: datetime
    change_key: str
    categories: list[str] = field(default_factory=list)
    is_online_meeting: bool = False
    recurrence: Recurrence | None = None
    overrides: dict[date, EventOverride] = field(default_factory=dict)
    cancelled: set[date] = field(default_factory=set)
    attachments: list[EventAttachment] = field(default_factory=list)
    is_cancelled: bool = False


@dataclass(slots=True)
class ClientApp:
    """An app registration that can call the sandbox, with the roles it was granted."""

    client_id: str
    client_secret: str
    display_name: str
    graph_roles: frozenset[str]
    exchange_app_role: bool
    exchange_directory_role: str | None
    certificate_pem: str | None = None
