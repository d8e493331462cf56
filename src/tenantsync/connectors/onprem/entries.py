"""Active Directory entries as the engine's entities: users and their mailboxes (kind,
location and Exchange's exact recipient type from ``msExchRecipientTypeDetails``),
groups (kind from ``groupType`` and mail attributes), ids from ``objectGUID`` and
``objectSid``, DNs in their extended form (``<GUID=…>;<SID=…>;CN=…``)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from tenantsync.model import (
    DirectoryGroup,
    DirectoryUser,
    GroupKind,
    Location,
    MailboxInfo,
    MailboxKind,
)

USER_ATTRIBUTES = (
    "objectGUID",
    "objectSid",
    "objectClass",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "company",
    "department",
    "title",
    "mail",
    "proxyAddresses",
    "mailNickname",
    "msExchRecipientTypeDetails",
    "msExchMailboxGuid",
    "homeMDB",
    "targetAddress",
    "userAccountControl",
    "groupType",
    "member",
    "isDeleted",
)
# Users (people and resource accounts, not computers) and groups.
OBJECTS_FILTER = "(|(&(objectCategory=person)(objectClass=user))(objectClass=group))"
# DirSync shows deletions too, and a deleted object keeps objectClass but not objectCategory:
# computers are left out by their class instead (``Entry.is_computer``).
DIRSYNC_FILTER = "(|(objectClass=user)(objectClass=group))"
ACCOUNT_DISABLED = 0x2
SECURITY_GROUP = 0x80000000
# msExchRecipientTypeDetails of mailboxes: (name, kind, lives here or in Exchange Online).
RECIPIENT_TYPES: dict[int, tuple[str, MailboxKind, Location]] = {
    1: ("UserMailbox", MailboxKind.USER, Location.ON_PREMISES),
    2: ("LinkedMailbox", MailboxKind.USER, Location.ON_PREMISES),
    4: ("SharedMailbox", MailboxKind.SHARED, Location.ON_PREMISES),
    16: ("RoomMailbox", MailboxKind.ROOM, Location.ON_PREMISES),
    32: ("EquipmentMailbox", MailboxKind.EQUIPMENT, Location.ON_PREMISES),
    2199023255552: ("LinkedRoomMailbox", MailboxKind.ROOM, Location.ON_PREMISES),
    17592186044416: ("SchedulingMailbox", MailboxKind.SCHEDULING, Location.ON_PREMISES),
    2147483648: ("RemoteUserMailbox", MailboxKind.USER, Location.REMOTE),
    8589934592: ("RemoteRoomMailbox", MailboxKind.ROOM, Location.REMOTE),
    17179869184: ("RemoteEquipmentMailbox", MailboxKind.EQUIPMENT, Location.REMOTE),
    34359738368: ("RemoteSharedMailbox", MailboxKind.SHARED, Location.REMOTE),
}
_EXTENDED = re.compile(r"^<GUID=([0-9a-fA-F-]+)>;(?:<SID=([^>]+)>;)?(.*)$")


@dataclass(frozen=True, slots=True)
class DnRef:
    """A DN as the DC gave it in extended form: the object's GUID, SID and plain DN."""

    guid: str | None
    sid: str | None
    dn: str


def parse_dn(value: str) -> DnRef:
    """``<GUID=…>;<SID=…>;CN=…`` (or a plain DN) as its parts."""
    match = _EXTENDED.match(value)
    if match is None:
        return DnRef(None, None, value)
    return DnRef(match.group(1).lower(), match.group(2), match.group(3))


def guid_of(raw: bytes) -> str:
    """An objectGUID's 16 bytes (first three fields little-endian) as its string."""
    return str(uuid.UUID(bytes_le=bytes(raw)))


def sid_of(raw: bytes) -> str:
    """A binary SID as ``S-1-5-21-…``."""
    data = bytes(raw)
    count = data[1]
    authority = int.from_bytes(data[2:8], "big")
    subs = [int.from_bytes(data[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "S-" + "-".join(str(p) for p in (data[0], authority, *subs))


class Entry:
    """One search entry's raw attributes, decoded on demand (names case-insensitive)."""

    def __init__(self, entry: dict[str, Any]) -> None:
        self.ref = parse_dn(str(entry.get("dn", "")))
        self.raw: dict[str, list[bytes]] = {
            k.lower(): list(v or ()) for k, v in (entry.get("raw_attributes") or {}).items()
        }

    def values(self, name: str) -> list[str]:
        """Every value of an attribute as text."""
        return [v.decode("utf-8", "replace") for v in self.raw.get(name.lower(), [])]

    def text(self, name: str) -> str | None:
        """The first value as text, or None."""
        found = self.values(name)
        return found[0] if found else None

    def number(self, name: str) -> int | None:
        """The first value as a whole number, or None."""
        value = self.text(name)
        return int(value) if value not in (None, "") else None

    @property
    def guid(self) -> str:
        """The object's GUID: from the attribute, else from the extended DN."""
        raw = self.raw.get("objectguid")
        if raw:
            return guid_of(raw[0])
        return self.ref.guid or ""

    @property
    def sid(self) -> str | None:
        """The object's SID, where it has one."""
        raw = self.raw.get("objectsid")
        return sid_of(raw[0]) if raw else self.ref.sid

    @property
    def is_group(self) -> bool:
        """Whether the entry is a group (by objectClass, else by a groupType)."""
        classes = {c.lower() for c in self.values("objectClass")}
        return "group" in classes or (bool(self.raw.get("grouptype")) and not classes)

    @property
    def is_computer(self) -> bool:
        """Whether the entry is a computer account (a user by class, never a mailbox owner)."""
        return "computer" in {c.lower() for c in self.values("objectClass")}

    @property
    def deleted(self) -> bool:
        """Whether the entry is a deleted object (DirSync shows deletions this way)."""
        return (self.text("isDeleted") or "").upper() == "TRUE"


def user_of(entry: Entry) -> DirectoryUser:
    """A user entry as a directory user."""
    proxies = entry.values("proxyAddresses")
    mail = entry.text("mail")
    uac = entry.number("userAccountControl") or 0
    display = entry.text("displayName") or entry.text("sAMAccountName") or entry.ref.dn
    info = mailbox_of(entry)
    return DirectoryUser(
        source_id=entry.guid,
        user_principal_name=(entry.text("userPrincipalName") or "").lower(),
        mail=mail,
        display_name=display,
        given_name=entry.text("givenName"),
        surname=entry.text("sn"),
        company_name=entry.text("company"),
        department=entry.text("department"),
        job_title=entry.text("title"),
        account_enabled=not uac & ACCOUNT_DISABLED,
        mail_enabled=bool(mail),
        # A mailbox kept here is licensed by its Exchange server; a remote one's licence is
        # the cloud side's, which its Microsoft 365 connection reads.
        licensed=info is not None and info.location is Location.ON_PREMISES,
        addresses=smtp_addresses(proxies, mail),
        proxy_addresses=tuple(proxies),
        dn=entry.ref.dn,
        alias=entry.text("mailNickname"),
    )


def mailbox_of(entry: Entry) -> MailboxInfo | None:
    """The entry's mailbox (kind, location, recipient type), or None when it has none."""
    value = entry.number("msExchRecipientTypeDetails")
    known = RECIPIENT_TYPES.get(value) if value is not None else None
    if known is None and value is None and entry.raw.get("homemdb"):
        known = RECIPIENT_TYPES[1]  # mailbox-enabled before RecipientTypeDetails existed
    if known is None:
        return None
    name, kind, location = known
    guid = entry.raw.get("msexchmailboxguid")
    return MailboxInfo(
        source_id=entry.guid,
        kind=kind,
        exchange_guid=guid_of(guid[0]) if guid and len(guid[0]) == 16 else None,
        primary_address=entry.text("mail"),
        dn=entry.ref.dn,
        location=location,
        recipient_type=name,
    )


def group_of(entry: Entry) -> DirectoryGroup:
    """A group entry as a source group."""
    group_type = (entry.number("groupType") or 0) & 0xFFFFFFFF
    mail = entry.text("mail")
    if group_type & SECURITY_GROUP:
        kind = GroupKind.MAIL_SECURITY if mail else GroupKind.SECURITY
    else:
        kind = GroupKind.DISTRIBUTION
    return DirectoryGroup(
        source_id=entry.guid,
        name=entry.text("displayName") or entry.text("sAMAccountName") or entry.ref.dn,
        kind=kind,
        mail=mail,
        dn=entry.ref.dn,
        addresses=smtp_addresses(entry.values("proxyAddresses"), mail),
    )


def smtp_addresses(proxies: list[str], mail: str | None) -> tuple[str, ...]:
    """Every SMTP address lower-cased, the primary (``SMTP:``, else ``mail``) first."""
    primary = next((p[5:] for p in proxies if p.startswith("SMTP:")), mail)
    others = [p[5:] for p in proxies if p.lower().startswith("smtp:")]
    ordered = [a.lower() for a in ([primary] if primary else []) + others]
    return tuple(dict.fromkeys(ordered))


def member_refs(entry: Entry, attribute: str = "member") -> list[DnRef]:
    """The values of a DN attribute (``member``, ``member;range=1-1``) as references."""
    return [parse_dn(v) for v in entry.values(attribute)]


__all__ = [
    "DIRSYNC_FILTER",
    "OBJECTS_FILTER",
    "RECIPIENT_TYPES",
    "USER_ATTRIBUTES",
    "DnRef",
    "Entry",
    "group_of",
    "guid_of",
    "mailbox_of",
    "member_refs",
    "parse_dn",
    "sid_of",
    "smtp_addresses",
    "user_of",
]
