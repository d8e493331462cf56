"""The Microsoft 365 directory source: users, mailboxes, groups and memberships read
through Graph and the Exchange admin API, full or from saved delta links.

A full read takes users and groups from Graph delta rounds started from scratch (so
the same pass yields the next delta links), mailbox kinds from Exchange ``Get-Mailbox``
(one paged call instead of one request per user), and distribution / dynamic
distribution groups from Exchange. A delta read follows the saved links and asks Graph
``$batch`` for the mailbox kinds of changed users only.

What a part of the read that failed and an object that could not be read whole mean is
written in :mod:`tenantsync.model.snapshot`. Absence proves something only where the
read that shows it is complete: a user missing from an Exchange listing that did not
finish is asked about one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from tenantsync.connectors.graph import DELTA_VERSION
from tenantsync.connectors.m365 import M365Connector
from tenantsync.errors import AuthError, DeltaExpired, SourceError
from tenantsync.model import DirectoryGroup, MailboxInfo, MemberRef
from tenantsync.model.snapshot import Snapshot

Progress = Callable[[str, int], None]
LOOKUP_CONCURRENCY = 4
NAMES_LISTED = 10


async def read_full(
    connector: M365Connector,
    *,
    with_groups: bool,
    progress: Progress,
    known: frozenset[str] = frozenset(),
) -> Snapshot:
    """Read the whole tenant; ``known`` are the users the store holds mailboxes of, whose
    absence from the mailbox listing is checked user by user before it counts."""
    snap = Snapshot(full=True)
    tasks = [_part(snap, "users", _users(connector, snap, None, progress))]
    tasks.append(_mailboxes(connector, snap))
    if with_groups:
        tasks.append(_part(snap, "groups", _groups(connector, snap, None)))
    tasks.append(_exchange_groups(connector, snap, members=with_groups))
    await asyncio.gather(*tasks)
    # Absence from a listing proves little: a page of it may have been lost unnoticed. Ask
    # about each user the listing left out: all of them when it did not finish, else those
    # the store has a mailbox for (the ones a wrong answer would remove). A guest never has
    # a mailbox in the inviting tenant.
    missing = [
        uid
        for uid, u in snap.users.items()
        if u.mail
        and not u.is_guest
        and uid not in snap.mailboxes
        and (uid in known or not snap.mailboxes_complete)
    ]
    if missing:
        listed = set(snap.mailboxes)
        await _purposes(connector, snap, missing)
        found = [uid for uid in missing if uid in snap.mailboxes and uid not in listed]
        if found and snap.mailboxes_complete:
            snap.notes.append(
                f"the Exchange mailbox listing did not finish: it left out {len(found)} "
                f"mailboxes that exist ({_names(snap, found)}); they were looked up one by one"
            )
    return snap


async def read_delta(
    connector: M365Connector,
    *,
    users_link: str,
    groups_link: str | None,
    with_groups: bool,
    progress: Progress,
    pending: Iterable[str] = (),
) -> Snapshot:
    """Read what changed since the saved links, and the users a run before could not read
    (``pending``); DeltaExpired when a link is no longer known."""
    snap = Snapshot(full=False)
    tasks = [_part(snap, "users", _users(connector, snap, users_link, progress))]
    if with_groups and groups_link:
        tasks.append(_part(snap, "groups", _groups(connector, snap, groups_link)))
    tasks.append(_exchange_groups(connector, snap, members=False))
    await asyncio.gather(*tasks)
    if with_groups and not groups_link:
        raise DeltaExpired("no saved group delta link; a full read is needed")
    again = [uid for uid in dict.fromkeys(pending) if uid not in snap.users]
    if again:
        await _part(snap, "users read again", _read_again(connector, snap, again))
    changed = [uid for uid, u in snap.users.items() if u.mail]
    if changed:
        await _purposes(connector, snap, changed)
    return snap


async def _part(snap: Snapshot, name: str, reading: Coroutine[Any, Any, None]) -> None:
    """Run one part of the read; a part that fails is a problem of the snapshot, never
    the end of the run (a missing role still is)."""
    try:
        await reading
    except (AuthError, DeltaExpired):
        raise
    except SourceError as exc:
        snap.fail_part(name, exc)


async def _users(
    connector: M365Connector, snap: Snapshot, link: str | None, progress: Progress
) -> None:
    async for page in connector.graph.users_delta(link):
        for user in page.users:
            snap.users[user.source_id] = user
            snap.removed_users.discard(user.source_id)
            snap.unreadable.pop(user.source_id, None)
        for removed in page.removed:
            snap.users.pop(removed, None)
            snap.removed_users.add(removed)
        for source_id, reason in page.unreadable:
            snap.set_unreadable(source_id, reason)
        if page.delta_link:
            snap.users_delta_link = page.delta_link
        done = len(snap.users) + (0 if link is None else len(snap.removed_users))
        progress("reading users" if link is None else "reading changed users", done)


async def _read_again(connector: M365Connector, snap: Snapshot, user_ids: list[str]) -> None:
    found = await connector.graph.read_by_id(users=user_ids)
    for user in found.users:
        snap.users[user.source_id] = user
    # Graph answers 404 for an id it no longer has: gone, as a delta round's @removed says.
    snap.removed_users.update(found.missing)
    for source_id, reason in found.failed.items():
        snap.set_unreadable(source_id, reason)


async def _mailboxes(connector: M365Connector, snap: Snapshot) -> None:
    try:
        async for page in connector.exchange.mailboxes():
            for info in page:
                snap.mailboxes[info.source_id] = info
    except AuthError as exc:
        snap.mailboxes.clear()
        snap.notes.append(f"mailbox kinds read through Graph: {exc}")
        return
    except SourceError as exc:
        snap.notes.append(
            f"the Exchange mailbox listing did not finish ({exc}); the users it left out "
            "were looked up one by one"
        )
        return
    snap.mailboxes_complete = True


async def _purposes(connector: M365Connector, snap: Snapshot, user_ids: list[str]) -> None:
    """Mailbox kinds from Graph; where Graph cannot tell, from Exchange, mailbox by mailbox."""
    result = await connector.graph.mailbox_purposes(user_ids)
    for uid, kind in result.kinds.items():
        snap.mailboxes[uid] = MailboxInfo(source_id=uid, kind=kind)
    snap.no_mailbox.update(result.no_mailbox)
    ask = dict.fromkeys(result.unknown, "its mailbox kind is not one Graph names")
    ask.update(result.refused)
    if result.refused:
        snap.notes.append(
            f"mailbox settings of {len(result.refused)} users could not be read "
            f"({_first(result.refused)}); their kind was asked of Exchange: "
            f"{_names(snap, result.refused)}"
        )
    for uid, reason in (await _exchange_kinds(connector, snap, ask)).items():
        result.failed[uid] = reason
    if result.failed:
        snap.notes.append(
            f"mailbox kind of {len(result.failed)} users could not be read "
            f"({_first(result.failed)}); they were left as they were and will be read "
            f"again: {_names(snap, result.failed)}"
        )
        for uid, reason in result.failed.items():
            snap.set_unreadable(uid, reason)


async def _exchange_kinds(
    connector: M365Connector, snap: Snapshot, ask: dict[str, str]
) -> dict[str, str]:
    """Kinds from Get-Mailbox for the users in ``ask``; the reasons of those it cannot tell."""
    gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)
    failed: dict[str, str] = {}

    async def one(uid: str) -> None:
        async with gate:
            try:
                info = await connector.exchange.mailbox(uid)
            except SourceError as exc:
                failed[uid] = f"{ask[uid]}; Exchange: {exc}"
                return
        if info is None:
            snap.no_mailbox.add(uid)
        else:
            snap.mailboxes[uid] = info

    await asyncio.gather(*(one(uid) for uid in ask))
    return failed


def _first(reasons: dict[str, str]) -> str:
    return next(iter(reasons.values()))


def _names(snap: Snapshot, ids: Iterable[str]) -> str:
    """Who the users are, as an administrator knows them (a few, then a count)."""
    ids = list(ids)
    shown = [
        (u.mail or u.user_principal_name) if (u := snap.users.get(uid)) else uid
        for uid in ids[:NAMES_LISTED]
    ]
    more = f" and {len(ids) - NAMES_LISTED} more" if len(ids) > NAMES_LISTED else ""
    return ", ".join(shown) + more


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
        if page.unreadable:
            # Groups are few and their absence removes addresses and memberships: one that
            # cannot be read whole makes the group part of this read incomplete.
            source_id, reason = page.unreadable[0]
            snap.problems.append(
                f"groups: {len(page.unreadable)} changed groups could not be read "
                f"(e.g. {source_id}: {reason})"
            )
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
            gate = asyncio.Semaphore(LOOKUP_CONCURRENCY)

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
        snap.fail_part("distribution groups", exc)
        return
    snap.exchange_groups = found
    snap.exchange_groups_read = True


class M365Directory:
    """The directory source of one opened Microsoft 365 connection."""

    delta_version = DELTA_VERSION

    def __init__(self, connector: M365Connector) -> None:
        self.connector = connector

    async def read_full(
        self, *, with_groups: bool, progress: Progress, known: frozenset[str] = frozenset()
    ) -> Snapshot:
        """Everything; ``known`` users' absence from a listing is checked one by one."""
        return await read_full(
            self.connector, with_groups=with_groups, progress=progress, known=known
        )

    async def read_delta(
        self,
        *,
        users_link: str,
        groups_link: str | None,
        with_groups: bool,
        progress: Progress,
        pending: Iterable[str] = (),
    ) -> Snapshot:
        """What changed since the saved links, and the users to read again by id."""
        return await read_delta(
            self.connector,
            users_link=users_link,
            groups_link=groups_link,
            with_groups=with_groups,
            progress=progress,
            pending=pending,
        )


__all__ = ["M365Directory", "Snapshot"]
