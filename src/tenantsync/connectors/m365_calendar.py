"""Mailbox calendars from Microsoft Graph v1.0, one mailbox calendar at a time.

The primary calendar is read with ``calendarView/delta`` over the window (the window is
given on the first call only; a saved link carries it), other calendars with a whole
``calendarView`` each run (v1.0 has no delta for them). Every request asks for
``odata.maxpagesize``, UTC times and immutable ids.

What Outlook does and how it is met here:

* an occurrence in a delta round carries only its id, series, type, start and end: its
  series master is fetched by id (when a whole read meets a series not held, or held at
  another change key; every series an incremental round mentions, since it changed);
* ``@removed`` comes for deletions and for changes outside the window alike, and updates
  have been seen arriving as removals: every removed id the store holds is looked up
  (404: deleted; found outside the window: left it; found inside: an update); a removal
  of an id the store does not hold (an occurrence) has the held series looked up;
* a saved delta link Outlook no longer keeps (410 ``SyncStateNotFound``) means a whole
  read of the window; it is only ever handed over whole (the engine swaps it in);
* 429 ``ApplicationThrottled``, alone or inside ``$batch``, is waited out per mailbox
  (the shared HTTP client honours Retry-After; batch items are sent again); never more
  than 4 requests of one mailbox are in flight;
* 403 for a mailbox (an application access policy) marks that mailbox, nothing else.

The async work runs on the opened source's loop; the engine sees a plain iterator. The
requests and what Graph's answers mean are :mod:`tenantsync.connectors.graph_calendar`'s,
the calendar folder's permissions :mod:`tenantsync.connectors.exchange_calendar_folder`'s.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from tenantsync.connectors import graph_events as wire
from tenantsync.connectors.exchange_calendar_folder import folder_delegates
from tenantsync.connectors.graph_calendar import CalendarGraph, Refused, stamp
from tenantsync.connectors.loop import LoopThread
from tenantsync.connectors.m365 import M365Connector
from tenantsync.errors import AuthError, DeltaExpired, IncompleteRead, SourceError
from tenantsync.model.calendar import (
    CalendarAsk,
    CalendarInfo,
    CalendarList,
    CalendarRead,
    EventItem,
    EventKind,
    RemovedReason,
)
from tenantsync.model.permissions import MailboxRef

_DONE = object()


class M365Calendars:
    """Reads mailbox calendars through Graph (and the folder's delegates through Exchange)."""

    def __init__(
        self,
        connector: M365Connector,
        loop: LoopThread,
        concurrency: int,
        *,
        page_size: int = 100,
        attachment_content: bool = False,
        attachment_cap: int = 0,
    ) -> None:
        self.api = CalendarGraph(connector, page_size)
        self.exchange = connector.exchange
        self.http = connector.http
        self.concurrency = max(1, concurrency)
        self.attachment_content = attachment_content
        self.attachment_cap = attachment_cap
        self._loop = loop

    # ---- the engine's side ------------------------------------------------------------
    def calendars(
        self, mailboxes: Sequence[MailboxRef], cancelled: Callable[[], bool]
    ) -> Iterator[CalendarList]:
        """Each mailbox's calendars (the primary one first), as listings complete."""
        for item in self._stream(mailboxes, self._list_calendars, cancelled):
            assert isinstance(item, CalendarList)
            yield item

    def read(
        self, asks: Sequence[CalendarAsk], cancelled: Callable[[], bool]
    ) -> Iterator[CalendarRead]:
        """One result per ask, as reads complete; AuthError ends the read."""
        for item in self._stream(asks, self._read_one, cancelled):
            assert isinstance(item, CalendarRead)
            yield item

    def calls(self) -> dict[str, int]:
        """Requests sent, throttled (429) answers and retries on this connection."""
        stats = self.http.stats
        return {"requests": stats.requests, "throttled": stats.throttled, "retries": stats.retries}

    def _stream(
        self, work: Sequence[Any], one: Any, cancelled: Callable[[], bool]
    ) -> Iterator[object]:
        results: queue.Queue[object] = queue.Queue(maxsize=4 * self.concurrency)
        future = asyncio.run_coroutine_threadsafe(
            self._all(list(work), one, cancelled, results.put), self._loop.loop
        )
        try:
            while True:
                item = results.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            future.cancel()

    async def _all(
        self,
        work: list[Any],
        one: Any,
        cancelled: Callable[[], bool],
        emit: Callable[[object], None],
    ) -> None:
        pending = iter(work)

        async def put(item: object) -> None:
            # The engine drains a bounded queue: wait for room without blocking the loop.
            await asyncio.to_thread(emit, item)

        async def worker() -> None:
            for item in pending:
                if cancelled():
                    return
                await put(await one(item))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, max(1, len(work)))):
                    group.create_task(worker())
        except* AuthError as errors:
            await put(errors.exceptions[0])
        except* Exception as errors:
            await put(errors.exceptions[0])
        finally:
            await put(_DONE)

    # ---- one mailbox --------------------------------------------------------------------
    async def _list_calendars(self, mailbox: MailboxRef) -> CalendarList:
        try:
            pages = await self.api.pages(f"{self._user(mailbox)}/calendars", None)
        except Refused as exc:
            return CalendarList(mailbox, failure=str(exc), refused=True)
        except AuthError:
            raise
        except SourceError as exc:
            return CalendarList(mailbox, failure=str(exc), retryable=exc.retryable)
        found = [
            CalendarInfo(
                "primary" if item.get("isDefaultCalendar") else str(item["id"]),
                str(item.get("name") or ""),
                bool(item.get("isDefaultCalendar")),
            )
            for page in pages
            for item in page
        ]
        found.sort(key=lambda c: not c.primary)
        return CalendarList(mailbox, tuple(found))

    async def _read_one(self, ask: CalendarAsk) -> CalendarRead:
        read = CalendarRead(ask.mailbox, ask.calendar, ask.window_start, ask.window_end)
        try:
            await self._read_into(ask, read)
        except Refused as exc:
            read.failure, read.refused = str(exc), True
        except AuthError:
            raise
        except SourceError as exc:
            read.failure, read.retryable = str(exc), exc.retryable
        except (ValueError, KeyError, TypeError) as exc:
            read.failure = f"an answer could not be read ({type(exc).__name__}: {exc})"
        else:
            read.complete = True
        if not read.complete:
            # Nothing of an unfinished read is handed over: it changes nothing.
            read.items, read.occurrences, read.removed = [], [], {}
            read.delta_link = None
        return read

    async def _read_into(self, ask: CalendarAsk, read: CalendarRead) -> None:
        records: list[dict[str, Any]] = []
        if not ask.calendar.primary:
            url = f"{self._user(ask.mailbox)}/calendars/{quote(ask.calendar.key)}/calendarView"
            for page in await self.api.pages(url, self._window(ask)):
                records += page
            read.whole, read.why_whole = True, "calendars other than the primary have no delta"
        else:
            link = ask.delta_link
            if link:
                try:
                    records, read.delta_link = await self.api.delta(link, None)
                except DeltaExpired as exc:
                    read.why_whole = str(exc)
                    records, link = [], None
            if not link:
                url = f"{self._user(ask.mailbox)}/calendarView/delta"
                records, read.delta_link = await self.api.delta(url, self._window(ask))
                read.whole = True
                read.why_whole = read.why_whole or "first read of the window"
        await self._interpret(ask, read, records)
        if ask.delegates:
            read.delegates = await folder_delegates(self.exchange, ask.mailbox)

    async def _interpret(
        self, ask: CalendarAsk, read: CalendarRead, records: list[dict[str, Any]]
    ) -> None:
        items: dict[str, EventItem] = {}
        series: dict[str, str] = {}
        removed: list[str] = []
        files: set[str] = set()
        for record in records:
            if "@removed" in record:
                removed.append(str(record["id"]))
            elif record.get("type") == "occurrence":
                read.occurrences.append(wire.occurrence(record))
                series.setdefault(str(record["seriesMasterId"]), wire.etag(record))
            else:
                item = self._event(record, files)
                items[item.source_id] = item
                if item.series_id:
                    series.setdefault(item.series_id, "")
        wanted = [
            sid
            for sid, tag in series.items()
            if not read.whole or ask.masters.get(sid) != tag or not tag
        ]
        found, missing = await self.api.events(ask.mailbox, wanted, lambda r: self._event(r, files))
        items.update({i.source_id: i for i in found})
        if missing:
            # A series deleted between the round and the lookup: read again next run.
            raise IncompleteRead(
                f"series masters of {ask.mailbox.address} were not found: " + ", ".join(missing[:3])
            )
        if read.whole:
            # What the store holds and the window no longer shows: deleted or moved out?
            removed += [h for h in ask.held if h not in items and h not in series]
        await self._removals(ask, read, removed, series, items, files)
        budget = [self.attachment_cap]
        read.items = [
            await self._with_attachments(ask.mailbox, i, budget) if i.source_id in files else i
            for i in items.values()
        ]

    def _event(self, record: dict[str, Any], files: set[str]) -> EventItem:
        item = wire.event(record)
        if record.get("hasAttachments"):
            files.add(item.source_id)
        return item

    async def _removals(
        self,
        ask: CalendarAsk,
        read: CalendarRead,
        removed: list[str],
        series: dict[str, str],
        items: dict[str, EventItem],
        files: set[str],
    ) -> None:
        """Judge each removal by looking the item up (see the module docstring)."""
        if not removed:
            return
        held = [rid for rid in removed if rid in ask.held]
        found, gone = await self.api.events(ask.mailbox, held, lambda r: self._event(r, files))
        for rid in gone:
            read.removed[rid] = RemovedReason.DELETED
        for item in found:
            if self._inside(item, ask):
                items[item.source_id] = item
            else:
                read.removed[item.source_id] = RemovedReason.LEFT_WINDOW
        if len(held) == len(removed):
            return
        # A removed occurrence names no series: look up the held ones this round left out.
        others = [sid for sid in ask.masters if sid not in series and sid not in read.removed]
        masters, deleted = await self.api.events(
            ask.mailbox, others, lambda r: self._event(r, files)
        )
        for sid in deleted:
            read.removed[sid] = RemovedReason.DELETED
        for master in masters:
            if master.source_id not in items:
                items[master.source_id] = master

    def _inside(self, item: EventItem, ask: CalendarAsk) -> bool:
        if item.kind is EventKind.MASTER:
            return True  # the engine decides from its pattern
        return item.start < ask.window_end and item.end > ask.window_start

    async def _with_attachments(
        self, mailbox: MailboxRef, item: EventItem, budget: list[int]
    ) -> EventItem:
        """Names and sizes always; contents while the mailbox's size cap allows."""
        url = f"{self._user(mailbox)}/events/{quote(item.source_id)}/attachments"
        params = None if self.attachment_content else {"$select": "name,size,contentType"}
        pages = await self.api.pages(url, params)
        files = []
        for page in pages:
            for raw in page:
                found = wire.attachment(raw, self.attachment_content)
                size = len(found.content or b"")
                if size > budget[0]:
                    found = replace(found, content=None)
                else:
                    budget[0] -= size
                files.append(found)
        return replace(item, attachments=tuple(files))

    # ---- wire ---------------------------------------------------------------------------
    def _user(self, mailbox: MailboxRef) -> str:
        return self.api.user(mailbox)

    def _window(self, ask: CalendarAsk) -> dict[str, str]:
        return {"startDateTime": stamp(ask.window_start), "endDateTime": stamp(ask.window_end)}
