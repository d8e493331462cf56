"""Mailbox permissions from Active Directory: Full Access (``msExchMailboxSecurityDescriptor``),
Send As (``nTSecurityDescriptor``, read with the DACL-only SD flag) and Send on Behalf
(``publicDelegates``), for a hundred mailboxes per search.

Trustees are SIDs: each is looked up once per reader by ``objectSid`` (well-known SIDs are
named without asking), so a trustee is named ``DOMAIN\\sAMAccountName`` with its object's
GUID, and a SID that no object has is an orphaned SID. The lookups are exact, so every
mailbox read is read with its names complete. A mailbox the search does not find, or
whose descriptor cannot be parsed or was withheld, is a ReadFailure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from tenantsync.connectors.loop import LoopThread
from tenantsync.connectors.onprem.entries import Entry, member_refs
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
ATTRIBUTES = (
    "objectGUID",
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

    def __init__(self, ldap: Ldap, base_dn: str, netbios: str, loop: LoopThread) -> None:
        self.ldap = ldap
        self.base_dn = base_dn
        self.netbios = netbios
        self._loop = loop
        self._names: dict[str, Trustee] = {}

    def change_stamps(self, mailboxes: Sequence[MailboxRef]) -> dict[int, datetime | None]:
        """Each mailbox's whenChanged (a permission change changes it too)."""
        stamps: dict[int, datetime | None] = {}
        for batch, found in self._batches(mailboxes, ("objectGUID", "mail", "whenChanged")):
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
        """One result per mailbox; AuthError when the account may not read at all."""
        for batch, found in self._batches(mailboxes, ATTRIBUTES, sd=True):
            if cancelled():
                return
            sids: set[str] = set()
            for entry in found.values():
                for raw in entry.raw.get("msexchmailboxsecuritydescriptor", [])[:1]:
                    sids.update(a.sid for a in _safe(full_access, raw))
                for raw in entry.raw.get("ntsecuritydescriptor", [])[:1]:
                    sids.update(a.sid for a in _safe(send_as, raw))
            try:
                self._lookup(sids)
            except AuthError:
                raise
            except SourceError as exc:
                for mailbox in batch:
                    yield ReadFailure(
                        mailbox, f"trustees could not be looked up: {exc}", exc.retryable
                    )
                continue
            for mailbox in batch:
                hit = found.get(mailbox.id)
                if hit is None:
                    yield ReadFailure(mailbox, "the directory has no such mailbox")
                    continue
                yield self._acl(mailbox, hit, rights)

    def notes(self) -> list[str]:
        """Nothing to say: trustees are looked up one by one, never from a listing."""
        return []

    def calls(self) -> dict[str, int]:
        """LDAP requests sent."""
        return {"requests": self.ldap.requests, "throttled": 0, "retries": 0}

    def _acl(
        self, mailbox: MailboxRef, entry: Entry, rights: frozenset[Right]
    ) -> MailboxAcl | ReadFailure:
        address = mailbox.address
        entries: list[AclEntry] = []
        try:
            if Right.FULL_ACCESS in rights:
                for raw in entry.raw.get("msexchmailboxsecuritydescriptor", [])[:1]:
                    entries += self._entries(address, Right.FULL_ACCESS, full_access(raw))
            if Right.SEND_AS in rights:
                raw_sd = entry.raw.get("ntsecuritydescriptor")
                if not raw_sd:
                    return ReadFailure(
                        mailbox,
                        "the DC withheld nTSecurityDescriptor: the account needs Read "
                        "Permissions (READ_CONTROL) on the mailbox's user object",
                    )
                entries += self._entries(address, Right.SEND_AS, send_as(raw_sd[0]))
        except SourceError as exc:
            return ReadFailure(mailbox, str(exc))
        if Right.SEND_ON_BEHALF in rights:
            for ref in member_refs(entry, "publicDelegates"):
                trustee = Trustee(name=ref.dn, sid=ref.sid, source_id=ref.guid)
                entries.append(AclEntry(address, trustee, Right.SEND_ON_BEHALF))
        return MailboxAcl(mailbox, tuple(entries), _when(entry.text("whenChanged")))

    def _entries(self, address: str, right: Right, aces: list[Ace]) -> list[AclEntry]:
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

    def _lookup(self, sids: set[str]) -> None:
        """Name every SID not named yet: well-known ones by table, the rest by objectSid."""
        wanted = []
        for sid in sids - self._names.keys():
            if sid in WELL_KNOWN or sid.startswith("S-1-5-32-"):
                self._names[sid] = Trustee(WELL_KNOWN.get(sid, f"BUILTIN\\{sid}"), sid=sid)
            else:
                wanted.append(sid)
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            terms = "".join(f"(objectSid={sid})" for sid in batch)
            for raw in self.ldap.search(
                self.base_dn, f"(|{terms})", ["objectGUID", "objectSid", "sAMAccountName"]
            ):
                entry = Entry(raw)
                if entry.sid:
                    name = f"{self.netbios}\\{entry.text('sAMAccountName') or entry.sid}"
                    self._names[entry.sid] = Trustee(name, sid=entry.sid, source_id=entry.guid)
            for sid in batch:
                # No object has it: an orphaned SID, shown as itself (as Exchange does).
                self._names.setdefault(sid, Trustee(sid, sid=sid))

    def _batches(
        self, mailboxes: Sequence[MailboxRef], attributes: Sequence[str], *, sd: bool = False
    ) -> Iterator[tuple[list[MailboxRef], dict[int, Entry]]]:
        """Mailboxes a hundred at a time, with their entries found by GUID or address."""
        controls = [sd_flags_control()] if sd else []
        for start in range(0, len(mailboxes), BATCH):
            batch = list(mailboxes[start : start + BATCH])
            terms = "".join(_term(m) for m in batch)
            by_key: dict[str, Entry] = {}
            for raw in self.ldap.search(self.base_dn, f"(|{terms})", attributes, controls=controls):
                entry = Entry(raw)
                by_key[entry.guid] = entry
                if entry.text("mail"):
                    by_key[str(entry.text("mail")).lower()] = entry
            found: dict[int, Entry] = {}
            for mailbox in batch:
                hit = by_key.get((mailbox.source_id or "").lower()) or by_key.get(
                    mailbox.address.lower()
                )
                if hit is not None:
                    found[mailbox.id] = hit
            yield batch, found


def _term(mailbox: MailboxRef) -> str:
    try:
        raw = uuid.UUID(mailbox.source_id or "").bytes_le
    except ValueError:
        return f"(mail={mailbox.address})"
    return "(objectGUID=" + "".join(f"\\{b:02x}" for b in raw) + ")"


def _safe(parse: Callable[[bytes], list[Ace]], raw: bytes) -> list[Ace]:
    try:
        return parse(raw)
    except SourceError:
        return []


def _when(value: str | None) -> datetime | None:
    """A generalized time (``20241203101500.0Z``) as aware UTC."""
    if not value:
        return None
    try:
        return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


__all__ = ["OnPremPermissionReader"]
