"""Mailbox permissions from Active Directory: Full Access (``msExchMailboxSecurityDescriptor``),
Send As (``nTSecurityDescriptor``, read with the DACL-only SD flag) and Send on Behalf
(``publicDelegates``): a hundred mailboxes per search by GUID, or, asked for at least a
page of them (a full read), the domain's mailboxes page by page.

Trustees are SIDs: each is looked up once per reader by ``objectSid`` (well-known SIDs are
named without asking), so a trustee is named ``DOMAIN\\sAMAccountName`` with its object's
GUID, and a SID that no object has is an orphaned SID. The lookups are exact, so every
mailbox read is read with its names complete. A mailbox the search does not find, or
whose descriptor cannot be parsed or was withheld, is a ReadFailure; so is every mailbox of
a search that failed or of a paged search that stopped before the DC said it was done
(what was not read keeps its grants).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenantsync.connectors.onprem.entries import DnRef, Entry, member_refs
from tenantsync.connectors.onprem.ldap import Ldap, sd_flags_control
from tenantsync.connectors.onprem.security import Ace, full_access, send_as
from tenantsync.errors import AuthError, SourceError
from tenantsync.model.permissions import (
    AclEntry,
    MailboxAcl,
    MailboxRef,
    ReadFailure,
    Right,
    Trustee,
)

BATCH = 100
# Mailboxes (and the odd one from before Exchange 2007 that has a database and no type).
MAILBOX_FILTER = (
    "(&(objectCategory=person)(objectClass=user)(|(msExchRecipientTypeDetails=*)(homeMDB=*)))"
)
ATTRIBUTES = (
    "objectGUID",
    # A mailbox's owner is the usual trustee of another's: named as its mailbox is read.
    "objectSid",
    "sAMAccountName",
    "mail",
    "whenChanged",
    "msExchMailboxSecurityDescriptor",
    "nTSecurityDescriptor",
    "publicDelegates",
)
WELL_KNOWN = {
    "S-1-1-0": "Everyone",
    "S-1-5-7": "NT AUTHORITY\\ANONYMOUS LOGON",
    "S-1-5-10": "NT AUTHORITY\\SELF",
    "S-1-5-11": "NT AUTHORITY\\Authenticated Users",
    "S-1-5-18": "NT AUTHORITY\\SYSTEM",
    "S-1-5-19": "NT AUTHORITY\\LOCAL SERVICE",
    "S-1-5-20": "NT AUTHORITY\\NETWORK SERVICE",
}


class OnPremPermissionReader:
    """The PermissionSource of one opened on-premises connection."""

    def __init__(self, ldap: Ldap, base_dn: str, netbios: str, page_size: int) -> None:
        self.ldap = ldap
        self.base_dn = base_dn
        self.netbios = netbios
        self.page_size = page_size
        self._names: dict[str, Trustee] = {}

    def change_stamps(self, mailboxes: Sequence[MailboxRef]) -> dict[int, datetime | None]:
        """Each mailbox's whenChanged (a permission change changes it too)."""
        stamps: dict[int, datetime | None] = {}
        for batch, found, _failed in self._found(mailboxes, ("objectGUID", "mail", "whenChanged")):
            # A mailbox whose stamp could not be read goes by the store's: read another run.
            for mailbox in batch:
                entry = found.get(mailbox.id)
                if entry is not None:
                    stamps[mailbox.id] = _when(entry.text("whenChanged"))
        return stamps

    def read(
        self,
        mailboxes: Sequence[MailboxRef],
        rights: frozenset[Right],
        cancelled: Callable[[], bool],
    ) -> Iterator[MailboxAcl | ReadFailure]:
        """One result per mailbox; AuthError when the account may not read at all.

        Most trustees are mailbox owners, named as their own entries arrive: a mailbox
        whose trustees are all named is answered with its page, the others at the end,
        once the SIDs no mailbox read has are looked up together."""
        waiting: list[tuple[MailboxRef, _Parsed]] = []
        for batch, found, failed in self._found(mailboxes, ATTRIBUTES, sd=True):
            if cancelled():
                return
            if failed is not None:
                for mailbox in batch:
                    yield ReadFailure(mailbox, str(failed), failed.retryable)
                continue
            for entry in found.values():
                self._learn(entry)
            for mailbox in batch:
                hit = found.get(mailbox.id)
                parsed = _parse(hit, rights) if hit is not None else "no such mailbox"
                if isinstance(parsed, str):
                    yield ReadFailure(mailbox, f"the directory has {parsed}")
                elif self._named(parsed.sids):
                    yield self._acl(mailbox, parsed)
                else:
                    waiting.append((mailbox, parsed))
        try:
            self._lookup({sid for _mailbox, parsed in waiting for sid in parsed.sids})
        except AuthError:
            raise
        except SourceError as exc:
            for mailbox, _parsed in waiting:
                yield ReadFailure(mailbox, f"trustees could not be looked up: {exc}", exc.retryable)
            return
        for mailbox, parsed in waiting:
            yield self._acl(mailbox, parsed)

    def notes(self) -> list[str]:
        """Nothing to say: trustees are looked up one by one, never from a listing."""
        return []

    def calls(self) -> dict[str, int]:
        """LDAP requests sent."""
        return {"requests": self.ldap.requests, "throttled": 0, "retries": 0}

    def _acl(self, mailbox: MailboxRef, parsed: _Parsed) -> MailboxAcl:
        address = mailbox.address
        entries = self._entries(address, Right.FULL_ACCESS, parsed.full)
        entries += self._entries(address, Right.SEND_AS, parsed.sends)
        for ref in parsed.delegates:
            trustee = Trustee(name=ref.dn, sid=ref.sid, source_id=ref.guid)
            entries.append(AclEntry(address, trustee, Right.SEND_ON_BEHALF))
        return MailboxAcl(mailbox, tuple(entries), parsed.changed)

    def _entries(self, address: str, right: Right, aces: tuple[Ace, ...]) -> list[AclEntry]:
        return [
            AclEntry(
                address,
                self._names.get(a.sid) or Trustee(a.sid, sid=a.sid),
                right,
                deny=a.deny,
                inherited=a.inherited,
            )
            for a in aces
        ]

    def _learn(self, entry: Entry) -> None:
        """Name an object's SID after its account: ``DOMAIN\\sAMAccountName``."""
        sid = entry.sid
        if sid:
            name = f"{self.netbios}\\{entry.text('sAMAccountName') or sid}"
            self._names[sid] = Trustee(name, sid=sid, source_id=entry.guid)

    def _named(self, sids: set[str]) -> bool:
        """Whether every SID is named, well-known ones named by table on the way."""
        # Asked of each mailbox against every name learnt: look up, never take a difference.
        for sid in [sid for sid in sids if sid not in self._names]:
            if sid not in WELL_KNOWN and not sid.startswith("S-1-5-32-"):
                return False
            self._names[sid] = Trustee(WELL_KNOWN.get(sid, f"BUILTIN\\{sid}"), sid=sid)
        return True

    def _lookup(self, sids: set[str]) -> None:
        """Name every SID not named yet: well-known ones by table, the rest by objectSid."""
        wanted = [sid for sid in sids if sid not in self._names and not self._named({sid})]
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            terms = "".join(f"(objectSid={sid})" for sid in batch)
            for raw in self.ldap.search(
                self.base_dn, f"(|{terms})", ["objectGUID", "objectSid", "sAMAccountName"]
            ):
                self._learn(Entry(raw))
            for sid in batch:
                # No object has it: an orphaned SID, shown as itself (as Exchange does).
                self._names.setdefault(sid, Trustee(sid, sid=sid))

    def _found(
        self, mailboxes: Sequence[MailboxRef], attributes: Sequence[str], *, sd: bool = False
    ) -> Iterator[tuple[list[MailboxRef], dict[int, Entry], SourceError | None]]:
        """Mailboxes with their entries found by GUID or address, a search's worth at a
        time; the error of a search that failed (or a paged search that stopped) with the
        mailboxes it leaves unread. AuthError is raised: nothing can be read."""
        controls = [sd_flags_control()] if sd else []
        if len(mailboxes) < self.page_size:
            for start in range(0, len(mailboxes), BATCH):
                batch = list(mailboxes[start : start + BATCH])
                terms = "".join(_term(m) for m in batch)
                try:
                    page = self.ldap.search(
                        self.base_dn, f"(|{terms})", attributes, controls=controls
                    )
                except AuthError:
                    raise
                except SourceError as exc:
                    yield batch, {}, exc
                    continue
                yield batch, _match(_index(batch), page), None
            return
        left = {m.id: m for m in mailboxes}
        index = _index(mailboxes)
        try:
            for page in self.ldap.paged(
                self.base_dn,
                MAILBOX_FILTER,
                attributes,
                page_size=self.page_size,
                controls=controls,
            ):
                found = {mid: e for mid, e in _match(index, page).items() if mid in left}
                yield [left.pop(mid) for mid in found], found, None
        except AuthError:
            raise
        except SourceError as exc:
            yield list(left.values()), {}, exc
            return
        yield list(left.values()), {}, None


def _index(mailboxes: Iterable[MailboxRef]) -> dict[str, MailboxRef]:
    """Mailboxes by GUID and by address (lower-cased)."""
    index: dict[str, MailboxRef] = {}
    for mailbox in mailboxes:
        index[mailbox.address.lower()] = mailbox
        if mailbox.source_id:
            index[mailbox.source_id.lower()] = mailbox
    return index


def _match(index: dict[str, MailboxRef], raws: list[dict[str, Any]]) -> dict[int, Entry]:
    """Store id → entry, for the entries of a search that are mailboxes of ``index``."""
    found: dict[int, Entry] = {}
    for raw in raws:
        entry = Entry(raw)
        hit = index.get(entry.guid) or index.get((entry.text("mail") or "").lower())
        if hit is not None:
            found.setdefault(hit.id, entry)
    return found


def _term(mailbox: MailboxRef) -> str:
    try:
        raw = uuid.UUID(mailbox.source_id or "").bytes_le
    except ValueError:
        return f"(mail={mailbox.address})"
    return "(objectGUID=" + "".join(f"\\{b:02x}" for b in raw) + ")"


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What a mailbox's entry grants, kept without the entry (its descriptors are large)."""

    full: tuple[Ace, ...]
    sends: tuple[Ace, ...]
    delegates: list[DnRef]
    changed: datetime | None

    @property
    def sids(self) -> set[str]:
        """The trustees of its Full Access and Send As entries."""
        return {a.sid for a in (*self.full, *self.sends)}


def _parse(entry: Entry, rights: frozenset[Right]) -> _Parsed | str:
    """The entries of the rights asked for, or what the directory has instead of them."""
    full: tuple[Ace, ...] = ()
    sends: tuple[Ace, ...] = ()
    try:
        if Right.FULL_ACCESS in rights:
            for raw in entry.raw.get("msexchmailboxsecuritydescriptor", [])[:1]:
                full = full_access(bytes(raw))
        if Right.SEND_AS in rights:
            raw_sd = entry.raw.get("ntsecuritydescriptor")
            if not raw_sd:
                return (
                    "withheld nTSecurityDescriptor: the account needs Read Permissions "
                    "(READ_CONTROL) on the mailbox's user object"
                )
            sends = send_as(bytes(raw_sd[0]))
    except SourceError as exc:
        return f"an unreadable descriptor: {exc}"
    delegates = member_refs(entry, "publicDelegates") if Right.SEND_ON_BEHALF in rights else []
    return _Parsed(full, sends, delegates, _when(entry.text("whenChanged")))


def _when(value: str | None) -> datetime | None:
    """A generalized time (``20241203101500.0Z``) as aware UTC (read field by field: a
    strptime per mailbox was a visible share of a large read)."""
    if not value or len(value) < 14 or not value[:14].isdigit():
        return None
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            int(value[12:14]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


__all__ = ["OnPremPermissionReader"]
