"""Mailbox permissions from Exchange Online: Get-MailboxPermission (Full Access) per mailbox,
Get-RecipientPermission (Send As) per mailbox, GrantSendOnBehalfTo from Get-Mailbox.

Calls run concurrently up to the connection's limit and never above its rate limit (the
shared :class:`HttpClient` backs off on 429 honouring Retry-After). A mailbox whose calls fail
becomes a ReadFailure; a missing role (401/403) is an AuthError that ends the run.
The async connector runs on the opened source's event loop thread; the engine sees a plain
iterator.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.connectors.exchange_acl import (
    full_access_entries,
    send_as_entries,
    send_on_behalf_entries,
    when_changed,
)
from tenantsync.connectors.health import Check
from tenantsync.connectors.loop import LoopThread
from tenantsync.connectors.m365 import M365Connector
from tenantsync.errors import AuthError, SourceError
from tenantsync.model.permissions import AclEntry, MailboxAcl, MailboxRef, ReadFailure, Right

MAILBOX_FIELDS = (
    "ExternalDirectoryObjectId",
    "ExchangeGuid",
    "PrimarySmtpAddress",
    "UserPrincipalName",
    "Alias",
    "Name",
    "WhenChangedUTC",
    "WhenChanged",
    "GrantSendOnBehalfTo",
)
_DONE = object()


@dataclass
class Listing:
    """The organization's mailboxes as one paged Get-Mailbox listed them (by object id,
    Exchange GUID and address); ``complete`` only when the listing ended with proof."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = False
    failure: str | None = None
    missed: list[str] = field(default_factory=list)


class ExchangePermissionReader:
    """Reads Full Access, Send As and Send on Behalf for mailboxes through an ExchangeClient."""

    def __init__(self, exchange: ExchangeClient, loop: LoopThread, concurrency: int) -> None:
        self.exchange = exchange
        self.concurrency = max(1, concurrency)
        self._loop = loop
        self._listing_task: asyncio.Task[Listing] | None = None
        self._trustees: dict[str, str] = {}

    def change_stamps(self, mailboxes: Sequence[MailboxRef]) -> dict[int, datetime | None]:
        """Each mailbox's WhenChanged from one paged Get-Mailbox over the organization."""
        listing = self._loop.run(self._listing())
        stamps: dict[int, datetime | None] = {}
        for mailbox in mailboxes:
            item = _find(listing.items, mailbox)
            if item is not None:
                stamps[mailbox.id] = when_changed(item)
        return stamps

    def read(
        self,
        mailboxes: Sequence[MailboxRef],
        rights: frozenset[Right],
        cancelled: Callable[[], bool],
    ) -> Iterator[MailboxAcl | ReadFailure]:
        """One result per mailbox, as calls complete; AuthError ends the read."""
        results: queue.Queue[object] = queue.Queue()
        future = asyncio.run_coroutine_threadsafe(
            self._read_all(list(mailboxes), rights, cancelled, results.put), self._loop.loop
        )
        try:
            while True:
                item = results.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, MailboxAcl | ReadFailure)
                yield item
        finally:
            future.cancel()

    def notes(self) -> list[str]:
        """What the run should say about how it read: a listing that did not finish."""
        task = self._listing_task
        if task is None or not task.done() or task.cancelled() or task.exception():
            return []
        listing = task.result()
        if listing.failure is not None:
            why = listing.failure
        elif listing.missed:
            shown = ", ".join(listing.missed[:5])
            why = f"it left out {len(listing.missed)} mailboxes Exchange has, e.g. {shown}"
        else:
            return []
        return [
            f"the organization's Get-Mailbox listing did not finish ({why}); Send on "
            "Behalf was read mailbox by mailbox, and grants whose trustees could not be "
            "named were kept"
        ]

    def calls(self) -> dict[str, int]:
        """Requests sent, throttled (429) answers and retries on this reader's connection."""
        stats = self.exchange.http.stats
        return {"requests": stats.requests, "throttled": stats.throttled, "retries": stats.retries}

    async def _read_all(
        self,
        mailboxes: list[MailboxRef],
        rights: frozenset[Right],
        cancelled: Callable[[], bool],
        emit: Callable[[object], None],
    ) -> None:
        pending = iter(mailboxes)
        # The Get-Mailbox listing (Send on Behalf, trustee ids) runs beside the permission
        # calls; results that arrive before it are held and finished once it is there.
        listing = asyncio.ensure_future(self._listing())
        held: list[MailboxAcl | ReadFailure] = []

        async def work() -> None:
            for mailbox in pending:
                if cancelled():
                    return
                raw = await self._read_one(mailbox, rights)
                if listing.done():
                    emit(await self._finish(raw, listing.result(), rights))
                else:
                    held.append(raw)

        async def flush() -> None:
            found = await listing
            while held:
                emit(await self._finish(held.pop(), found, rights))

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(flush())
                for _ in range(min(self.concurrency, max(1, len(mailboxes)))):
                    group.create_task(work())
        except* AuthError as errors:
            emit(errors.exceptions[0])
        except* Exception as errors:
            emit(errors.exceptions[0])
        finally:
            emit(_DONE)

    async def _read_one(
        self, mailbox: MailboxRef, rights: frozenset[Right]
    ) -> MailboxAcl | ReadFailure:
        """Full Access and Send As of one mailbox (Send on Behalf comes with the listing)."""
        identity = mailbox.address
        try:
            entries = full_access_entries(
                identity,
                await self._all("Get-MailboxPermission", {"Identity": identity}),
            )
            if Right.SEND_AS in rights:
                items = await self._all(
                    "Get-RecipientPermission", {"Identity": identity, "ResultSize": "Unlimited"}
                )
                entries += send_as_entries(identity, items)
        except AuthError:
            raise
        except SourceError as exc:
            return ReadFailure(mailbox, str(exc), exc.retryable)
        return MailboxAcl(mailbox, tuple(entries))

    async def _finish(
        self, raw: MailboxAcl | ReadFailure, listing: Listing, rights: frozenset[Right]
    ) -> MailboxAcl | ReadFailure:
        """Add Send on Behalf from the mailbox's listed item and name trustees by object id."""
        if isinstance(raw, ReadFailure):
            return raw
        mailbox = raw.mailbox
        entries = list(raw.entries)
        if Right.SEND_ON_BEHALF in rights:
            try:
                item = await self._mailbox_item(mailbox, listing)
            except AuthError:
                raise
            except SourceError as exc:
                return ReadFailure(mailbox, str(exc), exc.retryable)
            if item is None:
                return ReadFailure(mailbox, "Get-Mailbox does not find it")
            entries += send_on_behalf_entries(mailbox.address, item)
        return MailboxAcl(
            mailbox,
            tuple(self._identified(e) for e in entries),
            names_complete=listing.complete and not listing.missed,
        )

    def _identified(self, entry: AclEntry) -> AclEntry:
        """The entry with its trustee's directory object id, when a mailbox listed answers to
        the name shown (UPN, alias, name or address: Send on Behalf shows aliases)."""
        trustee = entry.trustee
        source_id = self._trustees.get(trustee.name.strip().lower())
        if source_id is None or trustee.source_id is not None:
            return entry
        return replace(entry, trustee=replace(trustee, source_id=source_id))

    async def _mailbox_item(self, mailbox: MailboxRef, listing: Listing) -> dict[str, Any] | None:
        """The mailbox's Get-Mailbox item: from the listing, else asked for alone (absence
        from a listing is no proof: a page of it may have been lost unnoticed)."""
        found = _find(listing.items, mailbox)
        if found is not None:
            return found
        items = await self._all("Get-Mailbox", {"Identity": mailbox.address})
        if items and listing.complete:
            listing.missed.append(mailbox.address)
        return items[0] if items else None

    async def _listing(self) -> Listing:
        """The organization's mailboxes, listed once per reader however many ask (a missing
        role still ends the run)."""
        if self._listing_task is None:
            self._listing_task = asyncio.ensure_future(self._list_mailboxes())
        return await asyncio.shield(self._listing_task)

    async def _list_mailboxes(self) -> Listing:
        """Everything the listing gave, kept even when it failed part way: what it listed
        is true, only what it left out is unknown."""
        listing = Listing()
        try:
            async for page in self.exchange.invoke(
                "Get-Mailbox", {"ResultSize": "Unlimited"}, select=MAILBOX_FIELDS
            ):
                for item in page:
                    self._index(listing, item)
        except AuthError:
            raise
        except SourceError as exc:
            listing.failure = str(exc)
            return listing
        listing.complete = True
        return listing

    def _index(self, listing: Listing, item: dict[str, Any]) -> None:
        for key in ("ExternalDirectoryObjectId", "ExchangeGuid", "PrimarySmtpAddress"):
            if item.get(key):
                listing.items[str(item[key]).lower()] = item
        object_id = item.get("ExternalDirectoryObjectId")
        for key in ("UserPrincipalName", "Alias", "Name", "PrimarySmtpAddress"):
            if object_id and item.get(key):
                self._trustees[str(item[key]).lower()] = str(object_id)

    async def _all(self, cmdlet: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            item
            async for page in self.exchange.invoke(cmdlet, parameters)
            for item in page
            if isinstance(item, dict)
        ]


def _find(listing: dict[str, dict[str, Any]], mailbox: MailboxRef) -> dict[str, Any] | None:
    for key in (mailbox.source_id, mailbox.exchange_guid, mailbox.address):
        if key and key.lower() in listing:
            return listing[key.lower()]
    return None


def permissions_check(mailbox: str | None = None) -> Check:
    """A connection check doing what an administrator would do by hand: Get-MailboxPermission
    on one mailbox (the first Get-Mailbox lists when none is named) with the connection's
    credentials. It passes with what was read, or raises the exact failure."""

    async def check(connector: M365Connector) -> str:
        identity = mailbox
        try:
            if identity is None:
                listed = await connector.exchange.run("Get-Mailbox", {"ResultSize": 1})
                if not listed:
                    raise SourceError("Get-Mailbox lists no mailbox to read permissions of")
                identity = str(listed[0].get("PrimarySmtpAddress") or listed[0]["Identity"])
            items = await connector.exchange.run("Get-MailboxPermission", {"Identity": identity})
        except SourceError as exc:
            raise type(exc)(
                f"on {identity or 'the first mailbox'}: {exc}",
                retryable=exc.retryable,
                status=exc.status,
            ) from exc
        entries = full_access_entries(identity, [i for i in items if isinstance(i, dict)])
        explicit = sum(1 for e in entries if not e.inherited)
        return (
            f"Get-MailboxPermission on {identity} answered: {len(items)} entries, "
            f"{explicit} explicit Full Access (NT AUTHORITY\\SELF included)"
        )

    return check
