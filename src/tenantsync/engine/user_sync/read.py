"""Reading the source into a snapshot: everything (full) or what changed (delta).

A full read takes users and groups from Graph delta rounds started from scratch (so
the same pass yields the next delta links), mailbox kinds from Exchange ``Get-Mailbox``
(one paged call instead of one request per user), and distribution / dynamic
distribution groups from Exchange. A delta read follows the saved links and asks Graph
``$batch`` for the mailbox kinds of changed users only.

A snapshot is complete or it is not: any part that failed is named in ``problems`` and
a snapshot with problems never removes anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from tenantsync.connectors.factory import M365Connector
from tenantsync.errors import AuthError, DeltaExpired, SourceError
from tenantsync.model import (
    DirectoryGroup,
    DirectoryUser,
    MailboxInfo,
    MailboxKind,
    MemberRef,
    MembershipChange,
)

Progress = Callable[[str, int], None]


@dataclass(repr=False)
class Snapshot:
    """What one read found. In a delta snapshot, users and groups are the changed ones.

    Its repr is a summary: asyncio (and anyio, when it cancels a connection attempt) format
    the finished read task with its result, and a field-by-field repr of a 100,000-user
    snapshot is a string of hundreds of megabytes.
    """

    full: bool
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    removed_users: set[str] = field(default_factory=set)
    mailboxes: dict[str, MailboxInfo] = field(default_factory=dict)
    no_mailbox: set[str] = field(default_factory=set)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    removed_groups: set[str] = field(default_factory=set)
    members: dict[str, set[MemberRef]] = field(default_factory=dict)
    member_changes: list[MembershipChange] = field(default_factory=list)
    exchange_groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    exchange_groups_read: bool = False
    users_delta_link: str | None = None
    groups_delta_link: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every part was read; only a complete snapshot may remove anything."""
        return not self.problems

    def __repr__(self) -> str:
        return (
            f"<Snapshot {'full' if self.full else 'delta'}: {len(self.users)} users, "
            f"{len(self.removed_users)} removed, {len(self.mailboxes)} mailboxes, "
            f"{len(self.groups) + len(self.exchange_groups)} groups, "
            f"{len(self.problems)} problems>"
        )


async def read_full(connector: M365Connector, *, with_groups: bool, progress: Progress) -> Snapshot:
    """Read the whole tenant."""
    snap = Snapshot(full=True)
    tasks = [_users_full(connector, snap, progress), _mailboxes(connector, snap)]
    if with_groups:
        tasks.append(_groups(connector, snap, None))
    tasks.append(_exchange_groups(connector, snap, members=with_groups))
    await asyncio.gather(*tasks)
    missing = [uid for uid, u in snap.users.items() if u.mail and uid not in snap.mailboxes]
    if snap.notes and missing:  # Exchange was not readable: ask Graph for kinds instead
        await _purposes(connector, snap, missing)
    return snap


async def read_delta(
    connector: M365Connector,
    *,
    users_link: str,
    groups_link: str | None,
    with_groups: bool,
    progress: Progress,
) -> Snapshot:
    """Read what changed since the saved links; DeltaExpired when a link is no longer known."""
    snap = Snapshot(full=False)
    tasks = [_users_delta(connector, snap, users_link, progress)]
    if with_groups and groups_link:
        tasks.append(_groups(connector, snap, groups_link))
    tasks.append(_exchange_groups(connector, snap, members=False))
    await asyncio.gather(*tasks)
    if with_groups and not groups_link:
        raise DeltaExpired("no saved group delta link; a full read is needed")
    changed = [uid for uid, u in snap.users.items() if u.mail]
    if changed:
        await _purposes(connector, snap, changed)
    return snap


async def _users_full(connector: M365Connector, snap: Snapshot, progress: Progress) -> None:
    async for page in connector.graph.users_delta(None):
        for user in page.users:
            snap.users[user.source_id] = user
        snap.removed_users.update(page.removed)
        if page.delta_link:
            snap.users_delta_link = page.delta_link
        progress("reading users", len(snap.users))


async def _users_delta(
    connector: M365Connector, snap: Snapshot, link: str, progress: Progress
) -> None:
    async for page in connector.graph.users_delta(link):
        for user in page.users:
            snap.users[user.source_id] = user
            snap.removed_users.discard(user.source_id)
        for removed in page.removed:
            snap.users.pop(removed, None)
            snap.removed_users.add(removed)
        if page.delta_link:
            snap.users_delta_link = page.delta_link
        progress("reading changed users", len(snap.users) + len(snap.removed_users))


async def _mailboxes(connector: M365Connector, snap: Snapshot) -> None:
    try:
        async for page in connector.exchange.mailboxes():
            for info in page:
                snap.mailboxes[info.source_id] = info
    except AuthError as exc:
        snap.mailboxes.clear()
        snap.notes.append(f"mailbox kinds read through Graph: {exc}")


async def _purposes(connector: M365Connector, snap: Snapshot, user_ids: list[str]) -> None:
    result = await connector.graph.mailbox_purposes(user_ids)
    for uid, kind in result.kinds.items():
        snap.mailboxes[uid] = MailboxInfo(source_id=uid, kind=kind)
    snap.no_mailbox.update(result.no_mailbox)
    if result.failed:
        first = next(iter(result.failed.values()))
        snap.problems.append(
            f"mailbox kind of {len(result.failed)} users could not be read ({first})"
        )
        for uid in result.failed:
            snap.users.pop(uid, None)


async def _groups(connector: M365Connector, snap: Snapshot, link: str | None) -> None:
    async for page in connector.graph.groups_delta(link):
        for group in page.groups:
            snap.groups[group.source_id] = group
            snap.removed_groups.discard(group.source_id)
        for removed in page.removed:
            snap.groups.pop(removed, None)
            snap.members.pop(removed, None)
            snap.removed_groups.add(removed)
        for change in page.members:
            if link is None:
                members = snap.members.setdefault(change.group_id, set())
                members.update(change.added)
                members.difference_update(change.removed)
            else:
                snap.member_changes.append(change)
        if page.delta_link:
            snap.groups_delta_link = page.delta_link


async def _exchange_groups(connector: M365Connector, snap: Snapshot, *, members: bool) -> None:
    try:
        found: dict[str, DirectoryGroup] = {}
        async for page in connector.exchange.distribution_groups():
            for group in page:
                found[group.source_id] = group
        dynamic: list[DirectoryGroup] = []
        async for page in connector.exchange.dynamic_distribution_groups():
            dynamic.extend(page)
        for group in dynamic:
            found[group.source_id] = group
        if members and dynamic:
            gate = asyncio.Semaphore(4)

            async def one(group: DirectoryGroup) -> None:
                async with gate:
                    ids = await connector.exchange.dynamic_group_members(group.mail or group.name)
                snap.members[group.source_id] = {MemberRef(i) for i in ids}

            await asyncio.gather(*(one(g) for g in dynamic))
    except AuthError as exc:
        # No Exchange role: users still sync (kinds come from Graph), group addresses wait.
        snap.notes.append(f"distribution groups not synced: {exc}")
        return
    except SourceError as exc:
        snap.problems.append(f"distribution groups could not be read: {exc}")
        return
    snap.exchange_groups = found
    snap.exchange_groups_read = True


def mailbox_kind(snap: Snapshot, user: DirectoryUser) -> MailboxKind | None:
    """The kind of a user's mailbox, or None when the user has no mailbox."""
    info = snap.mailboxes.get(user.source_id)
    return info.kind if info is not None else None


__all__ = ["Snapshot", "mailbox_kind", "read_delta", "read_full"]
