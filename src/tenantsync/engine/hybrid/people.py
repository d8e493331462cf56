"""The organization's mailboxes seen from both sides at once: one person per mailbox,
wherever it was listed, and where it lives.

A mailbox is one person when any of its SMTP addresses or its Exchange GUID is shared
between two listings. Where it lives comes from what each side says of it:

* a mailbox type (UserMailbox, SharedMailbox, ...) on a side: it lives there;
* a remote mailbox (RemoteUserMailbox, ...) on a side: it lives on the other one (on-premises,
  it is a mailbox in the cloud: moved there, or created there);
* a MailUser in Exchange Online: it may be a mailbox on-premises (taken when nothing else says).

Two sides both holding a mailbox for it (a duplicate, a known hybrid fault) or none
holding one leave its location unknown, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tenantsync.engine.permission_sync.directory import Directory
from tenantsync.model.hybrid import SIDE_TITLES, Recipient, Side

MAILBOX_TYPES = frozenset(
    {
        "UserMailbox",
        "SharedMailbox",
        "RoomMailbox",
        "EquipmentMailbox",
        "LinkedMailbox",
        "LinkedRoomMailbox",
        "SchedulingMailbox",
        "TeamMailbox",
        "LegacyMailbox",
    }
)
GROUP_MARKS = ("Group", "RoleGroup", "RoomList")


def other(side: Side) -> Side:
    """The other side."""
    return Side.CLOUD if side is Side.ON_PREMISES else Side.ON_PREMISES


@dataclass
class Person:
    """One mailbox (or mail user) across both sides."""

    id: int
    address: str
    display_name: str = ""
    types: dict[Side, str] = field(default_factory=dict)
    location: Side | None = None
    why: str = ""
    automapped: set[str] | None = None
    keys: set[str] = field(default_factory=set)

    @property
    def migrated(self) -> bool:
        """In the cloud and shown on-premises as a remote mailbox (moved, or made there)."""
        return self.location is Side.CLOUD and self.types.get(Side.ON_PREMISES, "").startswith(
            "Remote"
        )


@dataclass
class People:
    """Every person, the lookups that resolve trustees to them, and the groups known."""

    persons: list[Person] = field(default_factory=list)
    directory: Directory = field(default_factory=Directory)
    _by_key: dict[str, int] = field(default_factory=dict)
    file_groups: int = 0

    def add(self, recipient: Recipient) -> Person | None:
        """Merge one listing in; None for a group (added as a group without members)."""
        if any(mark in recipient.recipient_type for mark in GROUP_MARKS):
            self.file_groups += 1
            self.directory.add_group(
                -self.file_groups, recipient.display_name or recipient.address,
                [*recipient.addresses, *recipient.names],
            )  # fmt: skip
            return None
        keys = [a.lower() for a in recipient.addresses]
        if recipient.exchange_guid:
            keys.append(f"guid:{recipient.exchange_guid.lower()}")
        found = next((self._by_key[k] for k in keys if k in self._by_key), None)
        if found is None:
            person = Person(len(self.persons), recipient.address.lower(), recipient.display_name)
            self.persons.append(person)
        else:
            person = self.persons[found]
        person.types.setdefault(recipient.side, recipient.recipient_type)
        if recipient.automapped is not None:
            person.automapped = (person.automapped or set()) | {
                n.lower() for n in recipient.automapped
            }
        for key in keys:
            self._by_key.setdefault(key, person.id)
        names = [*recipient.addresses, *recipient.names]
        person.keys.update(n.lower() for n in names if n)
        person.display_name = person.display_name or recipient.display_name
        if not person.address and recipient.address:
            person.address = recipient.address.lower()
        self.directory.add_mailbox(person.id, person.address, names)
        return person

    def place(self, store_locations: dict[int, Side] | None = None) -> None:
        """Decide where every person lives (``store_locations``: what the store says)."""
        for person in self.persons:
            person.location, person.why = _location(person, (store_locations or {}).get(person.id))

    def find(self, keys: Iterable[str]) -> int | None:
        """The person one of ``keys`` (addresses, ``guid:<exchange guid>``) names."""
        return next((self._by_key[k.lower()] for k in keys if k.lower() in self._by_key), None)


def _location(person: Person, stored: Side | None) -> tuple[Side | None, str]:
    strong: list[tuple[Side, str]] = []
    weak: list[tuple[Side, str]] = []
    for side, kind in sorted(person.types.items()):
        where = SIDE_TITLES[side]
        if kind in MAILBOX_TYPES:
            strong.append((side, f"a {kind} {where}"))
        elif kind.startswith("Remote") and kind.endswith("Mailbox"):
            strong.append((other(side), f"a {kind} {where}"))
        elif kind in ("MailUser", "GuestMailUser") and side is Side.CLOUD:
            weak.append((Side.ON_PREMISES, f"a MailUser {where}"))
    if stored is not None:
        strong.append(
            (stored, f"synced as {'a cloud' if stored is Side.CLOUD else 'an on-premises'} mailbox")
        )
    sides = {s for s, _ in strong}
    if len(sides) == 1:
        return strong[0][0], "; ".join(w for _, w in strong)
    if len(sides) > 1:
        return None, "a mailbox on both sides (" + "; ".join(w for _, w in strong) + ")"
    if weak:
        return weak[0][0], weak[0][1] + ", no mailbox in the cloud"
    return None, "no side lists a mailbox for it"
