"""A hybrid organization as exported cmdlet files describe it: recipients, permission entries
and organization facts, each tied to the side (on-premises or Exchange Online) it was read on.

Connectors turn each file format into these; the engine's hybrid features see nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from tenantsync.model.permissions import AclEntry


class Side(enum.StrEnum):
    """Where a file was exported, and so which side of the organization it describes."""

    ON_PREMISES = "on_premises"
    CLOUD = "cloud"


SIDE_TITLES: dict[Side, str] = {Side.ON_PREMISES: "on-premises", Side.CLOUD: "Exchange Online"}


class Cmdlet(enum.StrEnum):
    """The cmdlets whose output an exported-files connection reads."""

    MAILBOX = "Get-Mailbox"
    REMOTE_MAILBOX = "Get-RemoteMailbox"
    RECIPIENT = "Get-Recipient"
    MAILBOX_PERMISSION = "Get-MailboxPermission"
    RECIPIENT_PERMISSION = "Get-RecipientPermission"
    AD_PERMISSION = "Get-ADPermission"
    FOLDER_PERMISSION = "Get-MailboxFolderPermission"
    ORGANIZATION_CONFIG = "Get-OrganizationConfig"
    EXCHANGE_SERVER = "Get-ExchangeServer"


class Format(enum.StrEnum):
    """How a file was written."""

    CSV = "csv"
    JSON = "json"
    CLIXML = "clixml"


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient as a side lists it (Get-Mailbox, Get-RemoteMailbox, Get-Recipient).

    ``addresses`` holds every SMTP address, primary first, lower-cased; ``names`` every
    other name an ACL may show it by (UPN, alias, SAM account name, DN, display name);
    ``delegates`` the names in its GrantSendOnBehalfTo; ``automapped`` the names in its
    msExchDelegateListLink when the file carried it (None: not exported).
    """

    side: Side
    recipient_type: str
    addresses: tuple[str, ...]
    names: tuple[str, ...] = ()
    display_name: str = ""
    exchange_guid: str | None = None
    delegates: tuple[str, ...] = ()
    automapped: tuple[str, ...] | None = None

    @property
    def address(self) -> str:
        """The primary SMTP address (empty when the recipient has none)."""
        return self.addresses[0] if self.addresses else ""


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """One Get-MailboxFolderPermission entry: a folder of a mailbox, a trustee and a role."""

    mailbox: str
    folder: str
    trustee: str
    role: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    """One Get-ExchangeServer row: name, version (major, minor, build) and roles."""

    name: str
    version: tuple[int, int, int]
    edition: str = ""


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What one file held: its name, side, cmdlet, format and how many objects."""

    name: str
    side: Side
    cmdlet: Cmdlet
    format: Format
    objects: int
    side_reason: str = ""


@dataclass
class SideInventory:
    """Everything the files of one side say."""

    recipients: list[Recipient] = field(default_factory=list)
    entries: list[AclEntry] = field(default_factory=list)
    folders: list[FolderEntry] = field(default_factory=list)


@dataclass
class Inventory:
    """Both sides as the files describe them, plus the organization's facts where known.

    ``aclable_sync`` is Get-OrganizationConfig's ACLableSyncedObjectEnabled on-premises
    (None: no file said).
    """

    sides: dict[Side, SideInventory] = field(
        default_factory=lambda: {side: SideInventory() for side in Side}
    )
    servers: list[ExchangeServer] = field(default_factory=list)
    aclable_sync: bool | None = None
    files: list[FileSummary] = field(default_factory=list)

    def side(self, side: Side) -> SideInventory:
        """The inventory of one side."""
        return self.sides[side]


__all__ = [
    "SIDE_TITLES",
    "Cmdlet",
    "ExchangeServer",
    "FileSummary",
    "FolderEntry",
    "Format",
    "Inventory",
    "Recipient",
    "Side",
    "SideInventory",
]
