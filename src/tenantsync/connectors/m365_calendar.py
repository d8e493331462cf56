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

The async work runs on the opened source's loop; the engine sees a plain iterator.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from tenantsync.connectors import graph_events as wire
from tenantsync.connectors.graph_batch import ItemAnswer, batch_get
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
    FolderDelegate,
    RemovedReason,
)
from tenantsync.model.permissions import MailboxRef

# Outlook serves at most 4 requests of one mailbox at once; a batch takes 4 of its items.
PER_MAILBOX = 4
EXPIRED = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
_DONE = object()


class Refused(SourceError):
    """The application may not read this mailbox (403: an application access policy)."""


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
        self.graph = connector.graph
        self.exchange = connector.exchange
        self.http = connector.http
        self.base = connector.graph.base
        self.concurrency = max(1, concurrency)
        self.page_size = page_size
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
            pages = await self._pages(f"{self._user(mailbox)}/calendars", None)
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
            for page in await self._pages(url, self._window(ask)):
                records += page
            read.whole, read.why_whole = True, "calendars other than the primary have no delta"
        else:
            link = ask.delta_link
            if link:
                try:
                    records, read.delta_link = await self._delta(link, None)
                except DeltaExpired as exc:
                    read.why_whole = str(exc)
                    records, link = [], None
            if not link:
                url = f"{self._user(ask.mailbox)}/calendarView/delta"
                records, read.delta_link = await self._delta(url, self._window(ask))
                read.whole = True
                read.why_whole = read.why_whole or "first read of the window"
        await self._interpret(ask, read, records)
        if ask.delegates:
            read.delegates = await self._delegates(ask.mailbox)

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
        found, missing = await self._get_events(ask.mailbox, wanted, files)
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
        found, gone = await self._get_events(ask.mailbox, held, files)
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
        masters, deleted = await self._get_events(ask.mailbox, others, files)
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
        pages = await self._pages(url, params)
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
        return f"{self.base}/users/{quote(mailbox.source_id or mailbox.address)}"

    def _window(self, ask: CalendarAsk) -> dict[str, str]:
        return {"startDateTime": _stamp(ask.window_start), "endDateTime": _stamp(ask.window_end)}

    async def _headers(self) -> dict[str, str]:
        token = await self.graph.tokens.token(self.graph.scope)
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": (
                f'odata.maxpagesize={self.page_size}, outlook.timezone="UTC", IdType="ImmutableId"'
            ),
        }

    async def _get(self, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        response, payload = await self.http.request_json(
            "GET", url, headers=await self._headers(), params=params
        )
        status = response.status_code
        if status >= 400:
            code = _code(response)
            if status in (400, 410) and code.lower() in EXPIRED:
                raise DeltaExpired(
                    f"the saved delta link is no longer kept by Outlook ({code}); the window "
                    "is read whole again",
                    status=status,
                )
            if status == 403 and code == "ErrorAccessDenied" and "/users/" in url:
                raise Refused(
                    f"the application may not read this mailbox (HTTP 403 {code}: an "
                    "application access policy or a missing Calendars.Read)",
                    status=status,
                )
            if status in (401, 403):
                raise AuthError(
                    f"Graph refused reading calendars (HTTP {status} {code}): grant the "
                    "application permission Calendars.Read and admin consent",
                    status=status,
                )
            raise SourceError(
                f"Graph calendar: HTTP {status} {code}".rstrip(),
                retryable=status >= 500,
                status=status,
            )
        if not isinstance(payload, dict):
            raise IncompleteRead("Graph calendar: the answer is not a JSON object")
        return payload

    async def _pages(self, url: str, params: dict[str, str] | None) -> list[list[dict[str, Any]]]:
        pages: list[list[dict[str, Any]]] = []
        next_url: str | None = url
        while next_url is not None:
            payload = await self._get(next_url, params)
            value = payload.get("value")
            if not isinstance(value, list):
                raise IncompleteRead(f"Graph calendar: page {len(pages) + 1} has no list")
            pages.append([v for v in value if isinstance(v, dict)])
            next_url, params = payload.get("@odata.nextLink"), None
        return pages

    async def _delta(
        self, url: str, params: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], str]:
        """One whole delta round: every record, and the delta link that ends it (a round
        whose last page carries neither link did not finish)."""
        records: list[dict[str, Any]] = []
        next_url: str | None = url
        pages = 0
        while True:
            payload = await self._get(next_url or url, params)
            pages += 1
            value = payload.get("value")
            if not isinstance(value, list):
                raise IncompleteRead(f"calendar delta: page {pages} has no list of events")
            records += [v for v in value if isinstance(v, dict)]
            params = None
            next_url = payload.get("@odata.nextLink")
            if next_url:
                continue
            link = payload.get("@odata.deltaLink")
            if not link:
                raise IncompleteRead(
                    f"calendar delta: page {pages} carries neither @odata.nextLink nor "
                    "@odata.deltaLink, so the round did not finish"
                )
            return records, str(link)

    async def _get_events(
        self, mailbox: MailboxRef, ids: Sequence[str], files: set[str]
    ) -> tuple[list[EventItem], list[str]]:
        """Events by id through ``$batch`` (4 items a batch: Outlook's per-mailbox limit);
        those found, and the ids Outlook says do not exist."""
        if not ids:
            return [], []
        user = f"/users/{quote(mailbox.source_id or mailbox.address)}"
        urls = {eid: f"{user}/events/{quote(eid)}" for eid in dict.fromkeys(ids)}
        headers = await self._headers()

        async def post(body: dict[str, Any]) -> Any:
            for request in body["requests"]:
                request["headers"] = {"Prefer": headers["Prefer"]}
            response, payload = await self.http.request_json(
                "POST", f"{self.base}/$batch", headers=headers, json=body
            )
            if response.status_code >= 400:
                raise SourceError(
                    f"Graph $batch: HTTP {response.status_code}",
                    retryable=response.status_code >= 500 or response.status_code == 429,
                    status=response.status_code,
                )
            return payload

        answers = await batch_get(
            urls, post, self.http.backoff, concurrency=1, attempts=8, size=PER_MAILBOX
        )
        found: list[EventItem] = []
        gone: list[str] = []
        for eid, answer in answers.items():
            if answer.ok and isinstance(answer.body, dict):
                found.append(self._event(answer.body, files))
            elif answer.status == 404:
                gone.append(eid)
            elif answer.status == 403:
                raise Refused(f"the application may not read this mailbox ({_reason(answer)})")
            else:
                raise SourceError(
                    f"events of {mailbox.address} could not be read: {_reason(answer)}",
                    retryable=answer.status in (0, 429) or answer.status >= 500,
                )
        return found, gone

    async def _delegates(self, mailbox: MailboxRef) -> tuple[FolderDelegate, ...]:
        """The calendar folder's permissions: who it is shared with, and who may see
        private items (``SharingPermissionFlags`` holding ``CanViewPrivateItems``)."""
        identity = mailbox.address
        try:
            rows = await self.exchange.run(
                "Get-MailboxFolderPermission", {"Identity": f"{identity}:\\Calendar"}
            )
        except SourceError as exc:
            if exc.status != 404:
                raise
            # The folder's name is localized: ask Exchange for it.
            folders = await self.exchange.run(
                "Get-MailboxFolderStatistics", {"Identity": identity, "FolderScope": "Calendar"}
            )
            names = [str(f.get("Name")) for f in folders if f.get("FolderType") == "Calendar"]
            name = names[0] if names else None
            if name is None:
                return ()
            rows = await self.exchange.run(
                "Get-MailboxFolderPermission", {"Identity": f"{identity}:\\{name}"}
            )
        out = []
        for row in rows:
            if not isinstance(row, dict):
                continue
            user = str(row.get("User") or "")
            if user in ("Default", "Anonymous") or not user:
                continue
            flags = _words(row.get("SharingPermissionFlags"))
            rights = _words(row.get("AccessRights"))
            out.append(
                FolderDelegate(
                    user=user,
                    role=rights[0] if rights else "",
                    delegate="Delegate" in flags,
                    private_items="CanViewPrivateItems" in flags,
                )
            )
        return tuple(out)


def _words(value: Any) -> list[str]:
    """A multi-valued cmdlet property in any of its serializations, as words."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [w.strip() for w in str(value).strip("{}").split(",") if w.strip()]


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(response: Any) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def _reason(answer: ItemAnswer) -> str:
    if answer.status == 0:
        return answer.reason
    return f"HTTP {answer.status} {answer.reason}".rstrip()
