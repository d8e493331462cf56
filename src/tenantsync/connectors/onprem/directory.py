"""The on-premises directory source: users, mailboxes and groups of one Active Directory
domain, read in full or incrementally with the DirSync control.

A full read is a DirSync round from scratch (every object, with the cookie that the next
run continues from) or, for an account without *Replicating Directory Changes*, paged
searches; it ends with proof (DirSync says no more results, the paging cookie is empty) or
is an incomplete part that removes nothing. A delta read continues from the saved cookie:
DirSync sends only the attributes that changed, so each changed object is read again
whole by its GUID; ``member`` changes arrive as added and removed values.

A cookie belongs to the DC that issued it. One the DC rejects (another DC, a restore)
means a full read, and that full read removes nothing: the DC it now reads may not have
every change the cookie had seen (``Snapshot.removals_held``); the next run reads in full
again and removes what is gone.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterable

from tenantsync.connectors.onprem.entries import (
    DIRSYNC_FILTER,
    OBJECTS_FILTER,
    USER_ATTRIBUTES,
    Entry,
    group_of,
    mailbox_of,
    member_refs,
    user_of,
)
from tenantsync.connectors.onprem.ldap import Ldap
from tenantsync.errors import AuthError, ConfigError, DeltaExpired, IncompleteRead, SourceError
from tenantsync.model import GroupKind, MemberRef, MembershipChange
from tenantsync.model.snapshot import Snapshot

Progress = Callable[[str, int], None]
COOKIE_PREFIX = "dirsync:"
DELTA_VERSION = "ad-dirsync-1"
BY_GUID_BATCH = 100
MAIL_GROUPS = (GroupKind.DISTRIBUTION, GroupKind.MAIL_SECURITY)


class OnPremDirectory:
    """The DirectorySource of one opened on-premises connection."""

    delta_version = DELTA_VERSION

    def __init__(self, ldap: Ldap, base_dn: str, page_size: int) -> None:
        self.ldap = ldap
        self.base_dn = base_dn
        self.page_size = page_size
        self._rejected: str | None = None

    async def read_full(
        self, *, with_groups: bool, progress: Progress, known: frozenset[str] = frozenset()
    ) -> Snapshot:
        """Everything; absence proves removal only when the read ended with proof."""
        snap = Snapshot(full=True)
        if self._rejected:
            snap.removals_held = (
                f"{self._rejected}; this full read removes nothing (the DC may lack changes "
                "the cookie had seen), the next one does"
            )
        found: dict[str, Entry] = {}
        try:
            cookie = await asyncio.to_thread(self._dirsync_all, found, progress)
            snap.users_delta_link = COOKIE_PREFIX + base64.b64encode(cookie).decode()
            snap.groups_delta_link = snap.users_delta_link if with_groups else None
        except AuthError as exc:
            if "Replicating Directory Changes" not in str(exc):
                raise
            snap.notes.append(f"read with paged searches, every run in full: {exc}")
            try:
                await asyncio.to_thread(self._paged_all, found, progress)
            except SourceError as failed:
                snap.fail_part("directory", failed)
        except (IncompleteRead, DeltaExpired) as exc:
            snap.fail_part("directory", exc)
        except SourceError as exc:
            if isinstance(exc, AuthError):
                raise
            snap.fail_part("directory", exc)
        self._fill(snap, found.values(), with_groups)
        snap.mailboxes_complete = snap.complete
        return snap

    async def read_delta(
        self,
        *,
        users_link: str,
        groups_link: str | None,
        with_groups: bool,
        progress: Progress,
        pending: Iterable[str] = (),
    ) -> Snapshot:
        """What changed since the saved cookie, and ``pending`` objects read again."""
        if not users_link.startswith(COOKIE_PREFIX):
            raise DeltaExpired("the saved link is no DirSync cookie")
        if with_groups and not groups_link:
            raise DeltaExpired("no saved group link; a full read is needed")
        cookie = base64.b64decode(users_link[len(COOKIE_PREFIX) :])
        snap = Snapshot(full=False)
        changed: dict[str, Entry] = {}
        try:
            cookie = await asyncio.to_thread(self._dirsync_from, cookie, changed)
        except DeltaExpired as exc:
            self._rejected = str(exc)
            raise
        except AuthError:
            raise
        except SourceError as exc:
            # A round that failed or was cut: the changes after it are unknown.
            snap.fail_part("directory changes", exc)
            return snap
        ids = [guid for guid, e in changed.items() if not e.deleted]
        ids += [guid for guid in dict.fromkeys(pending) if guid not in changed]
        try:
            whole = await asyncio.to_thread(self._by_guid, ids)
        except SourceError as exc:
            if isinstance(exc, AuthError):
                raise
            snap.fail_part("changed objects", exc)
            return snap
        for guid, entry in changed.items():
            if entry.deleted:
                (snap.removed_groups if entry.is_group else snap.removed_users).add(guid)
        self._fill(snap, whole.values(), with_groups=True, members=False)
        snap.member_changes = await asyncio.to_thread(self._member_changes, changed, whole)
        progress("reading changed objects", len(whole))
        snap.users_delta_link = COOKIE_PREFIX + base64.b64encode(cookie).decode()
        snap.groups_delta_link = snap.users_delta_link if with_groups else None
        return snap

    async def dn_exists(self, dn: str) -> bool:
        """Whether an object has this DN (a base search, which the DC answers with
        noSuchObject for a DN it does not hold)."""
        return await asyncio.to_thread(self._exists, dn)

    def _exists(self, dn: str) -> bool:
        try:
            return bool(self.ldap.search(dn, "(objectClass=*)", ["objectClass"], scope="BASE"))
        except SourceError as exc:
            if isinstance(exc, AuthError) or exc.retryable:
                raise
            # Not a DN at all, or one of another domain (the DC refers elsewhere).
            raise ConfigError(
                f"{dn!r} is not a DN of {self.base_dn}: {exc}", field="scope"
            ) from None

    def _dirsync_all(self, found: dict[str, Entry], progress: Progress) -> bytes:
        cookie: bytes | None = None
        while True:
            answer = self.ldap.dirsync(self.base_dn, DIRSYNC_FILTER, USER_ATTRIBUTES, cookie)
            for raw in answer.entries:
                entry = Entry(raw)
                if not entry.deleted and not entry.is_computer:
                    found[entry.guid] = entry
            cookie = answer.cookie
            progress("reading the directory", len(found))
            if not answer.more:
                return cookie

    def _paged_all(self, found: dict[str, Entry], progress: Progress) -> None:
        for page in self.ldap.paged(
            self.base_dn, OBJECTS_FILTER, USER_ATTRIBUTES, page_size=self.page_size
        ):
            for raw in page:
                entry = Entry(raw)
                found[entry.guid] = entry
            progress("reading the directory", len(found))

    def _dirsync_from(self, cookie: bytes, changed: dict[str, Entry]) -> bytes:
        while True:
            answer = self.ldap.dirsync(self.base_dn, DIRSYNC_FILTER, USER_ATTRIBUTES, cookie)
            for raw in answer.entries:
                entry = Entry(raw)
                if entry.is_computer:
                    continue
                earlier = changed.get(entry.guid)
                if earlier is not None:
                    for key, values in entry.raw.items():
                        earlier.raw.setdefault(key, []).extend(values)
                else:
                    changed[entry.guid] = entry
            cookie = answer.cookie
            if not answer.more:
                return cookie

    def _by_guid(self, guids: list[str]) -> dict[str, Entry]:
        """Objects read whole by GUID, in batches (a DirSync record holds changes only)."""
        import uuid

        found: dict[str, Entry] = {}
        for start in range(0, len(guids), BY_GUID_BATCH):
            batch = guids[start : start + BY_GUID_BATCH]
            terms = "".join(
                "(objectGUID=" + "".join(f"\\{b:02x}" for b in uuid.UUID(g).bytes_le) + ")"
                for g in batch
            )
            for raw in self.ldap.search(self.base_dn, f"(|{terms})", USER_ATTRIBUTES):
                entry = Entry(raw)
                found[entry.guid] = entry
        return found

    def _member_changes(
        self, changed: dict[str, Entry], whole: dict[str, Entry]
    ) -> list[MembershipChange]:
        """Added and removed ``member`` values of the changed groups (incremental values)."""
        raw: list[tuple[str, list[str], list[str]]] = []
        for guid, entry in changed.items():
            added = [r.guid for r in member_refs(entry, "member;range=1-1") if r.guid]
            removed = [r.guid for r in member_refs(entry, "member;range=0-0") if r.guid]
            if added or removed:
                raw.append((guid, added, removed))
        every = {g for _, a, r in raw for g in (*a, *r)}
        unknown = [g for g in every if g not in whole]
        groups = {g for g, e in whole.items() if e.is_group}
        groups |= {g for g, e in self._by_guid(unknown).items() if e.is_group}
        return [
            MembershipChange(
                group_id=guid,
                added=tuple(MemberRef(g, g in groups) for g in added),
                removed=tuple(MemberRef(g, g in groups) for g in removed),
            )
            for guid, added, removed in raw
        ]

    def _fill(
        self, snap: Snapshot, entries: Iterable[Entry], with_groups: bool, *, members: bool = True
    ) -> None:
        entries = list(entries)
        group_ids = {e.guid for e in entries if e.is_group}
        for entry in entries:
            if entry.is_group:
                group = group_of(entry)
                if with_groups:
                    snap.groups[group.source_id] = group
                    if members:
                        refs = member_refs(entry) + member_refs(entry, "member;range=1-1")
                        snap.members[group.source_id] = {
                            MemberRef(r.guid, r.guid in group_ids) for r in refs if r.guid
                        }
                if group.kind in MAIL_GROUPS and group.mail:
                    snap.exchange_groups[group.source_id] = group
                continue
            user = user_of(entry)
            snap.users[user.source_id] = user
            info = mailbox_of(entry)
            if info is None:
                snap.no_mailbox.add(user.source_id)
            else:
                snap.mailboxes[user.source_id] = info
        # Distribution groups are the groups' addresses: the full read saw all of them.
        snap.exchange_groups_read = snap.full and snap.complete


__all__ = ["DELTA_VERSION", "OnPremDirectory"]
