"""Directory users, mailboxes and groups as the engine sees them, whatever the source."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MailboxKind(enum.StrEnum):
    """What a mailbox is used for; ``group`` is the address of a distribution group."""

    USER = "user"
    SHARED = "shared"
    ROOM = "room"
    EQUIPMENT = "equipment"
    SCHEDULING = "scheduling"
    GROUP = "group"


class Location(enum.StrEnum):
    """Where a mailbox lives. ``remote`` is a remote mailbox: an object on one side of a
    hybrid organization that stands for a mailbox living on the other side."""

    CLOUD = "cloud"
    ON_PREMISES = "on_premises"
    REMOTE = "remote"


LOCATION_TITLES: dict[Location, str] = {
    Location.CLOUD: "cloud",
    Location.ON_PREMISES: "on-premises",
    Location.REMOTE: "remote (stands for a mailbox on the other side)",
}


# The one kind of mailbox that bills (with a licence, on an enabled account).
BILLABLE_KIND = MailboxKind.USER


def is_billable(kind: MailboxKind, *, licensed: bool, enabled: bool, removed: bool = False) -> bool:
    """Whether a mailbox bills: only licensed, enabled user mailboxes that are not removed."""
    return non_billable_reason(kind, licensed=licensed, enabled=enabled, removed=removed) is None


def non_billable_reason(
    kind: MailboxKind, *, licensed: bool, enabled: bool, removed: bool = False
) -> str | None:
    """Why a mailbox does not bill (the first reason that applies), or None when it does."""
    if removed:
        return "removed"
    if kind != BILLABLE_KIND:
        return f"{MailboxKind(kind).value} mailbox"
    if not licensed:
        return "unlicensed"
    if not enabled:
        return "disabled account"
    return None


class GroupKind(enum.StrEnum):
    """The kinds of source group."""

    SECURITY = "security"
    MAIL_SECURITY = "mail_security"
    UNIFIED = "unified"
    DISTRIBUTION = "distribution"
    DYNAMIC_DISTRIBUTION = "dynamic_distribution"


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A user of the source directory with the properties user sync decides on.

    ``addresses`` holds every SMTP address (primary first), lower-cased; ``mail`` is the
    primary address as the source gives it; ``alias`` is the Exchange alias (mail
    nickname), the name Exchange shows for the user in Send on Behalf lists.
    """

    source_id: str
    user_principal_name: str
    mail: str | None
    display_name: str = ""
    given_name: str | None = None
    surname: str | None = None
    company_name: str | None = None
    department: str | None = None
    job_title: str | None = None
    user_type: str = "Member"
    account_enabled: bool = True
    mail_enabled: bool = True
    licensed: bool = False
    license_skus: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    proxy_addresses: tuple[str, ...] = ()
    dn: str | None = None
    alias: str | None = None

    @property
    def is_guest(self) -> bool:
        """Guests are invited outsiders (userType Guest)."""
        return self.user_type.lower() == "guest"


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """What the mail system says about a user's mailbox: its kind, where it lives, and ids.

    ``recipient_type`` is Exchange's exact RecipientTypeDetails (``RemoteSharedMailbox``)
    when the source named it; None when the kind came from elsewhere (Graph's userPurpose),
    which says nothing about the recipient type: such an info is ``cloud`` (Graph reads
    mailboxes in the cloud only), and what is stored about a known mailbox is kept.
    """

    source_id: str
    kind: MailboxKind
    exchange_guid: str | None = None
    primary_address: str | None = None
    dn: str | None = None
    location: Location = Location.CLOUD
    recipient_type: str | None = None


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """A source group: security, Microsoft 365, distribution or dynamic distribution."""

    source_id: str
    name: str
    kind: GroupKind
    mail: str | None = None
    dn: str | None = None
    addresses: tuple[str, ...] = ()

    @property
    def is_mail_address(self) -> bool:
        """Distribution and dynamic distribution groups are synced as addresses of kind group."""
        return self.mail is not None and self.kind in (
            GroupKind.DISTRIBUTION,
            GroupKind.DYNAMIC_DISTRIBUTION,
        )


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member of a group: a user or a nested group, by source id."""

    source_id: str
    is_group: bool = False
