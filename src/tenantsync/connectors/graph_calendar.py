"""Microsoft Graph's side of reading mailbox calendars: the requests (UTC times, immutable
ids, ``odata.maxpagesize``), whole listings and delta rounds page by page, events by id in
``$batch`` four at a time (Outlook's per-mailbox limit), and Graph's answers turned into
the errors the reader acts on (an expired delta link, a mailbox the application may not
read, a refused permission)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from tenantsync.connectors.graph import error_code
from tenantsync.connectors.graph_batch import batch_get
from tenantsync.connectors.m365 import M365Connector
from tenantsync.errors import AuthError, DeltaExpired, IncompleteRead, SourceError
from tenantsync.model.calendar import EventItem
from tenantsync.model.permissions import MailboxRef

# Outlook serves at most 4 requests of one mailbox at once; a batch takes 4 of its items.
PER_MAILBOX = 4
EXPIRED = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})


class Refused(SourceError):
    """The application may not read this mailbox (403: an application access policy)."""


class CalendarGraph:
    """Calendar requests to Graph v1.0 on one connection."""

    def __init__(self, connector: M365Connector, page_size: int) -> None:
        self.graph = connector.graph
        self.http = connector.http
        self.base = connector.graph.base
        self.page_size = page_size

    def user(self, mailbox: MailboxRef) -> str:
        """The mailbox's ``/users/{id}`` URL."""
        return f"{self.base}/users/{quote(mailbox.source_id or mailbox.address)}"

    async def headers(self) -> dict[str, str]:
        """A token and the preferences every calendar request asks for."""
        token = await self.graph.tokens.token(self.graph.scope)
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": (
                f'odata.maxpagesize={self.page_size}, outlook.timezone="UTC", IdType="ImmutableId"'
            ),
        }

    async def get(self, url: str, params: dict[str, str] | None) -> dict[str, Any]:
        """One GET's JSON object, or the error its status and code mean."""
        response, payload = await self.http.request_json(
            "GET", url, headers=await self.headers(), params=params
        )
        status = response.status_code
        if status >= 400:
            code = error_code(response)
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

    async def pages(self, url: str, params: dict[str, str] | None) -> list[list[dict[str, Any]]]:
        """Every page of a listing, following ``@odata.nextLink``."""
        pages: list[list[dict[str, Any]]] = []
        next_url: str | None = url
        while next_url is not None:
            payload = await self.get(next_url, params)
            value = payload.get("value")
            if not isinstance(value, list):
                raise IncompleteRead(f"Graph calendar: page {len(pages) + 1} has no list")
            pages.append([v for v in value if isinstance(v, dict)])
            next_url, params = payload.get("@odata.nextLink"), None
        return pages

    async def delta(
        self, url: str, params: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], str]:
        """One whole delta round: every record, and the delta link that ends it (a round
        whose last page carries neither link did not finish)."""
        records: list[dict[str, Any]] = []
        next_url: str | None = url
        pages = 0
        while True:
            payload = await self.get(next_url or url, params)
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

    async def events(
        self,
        mailbox: MailboxRef,
        ids: Sequence[str],
        event: Callable[[dict[str, Any]], EventItem],
    ) -> tuple[list[EventItem], list[str]]:
        """Events by id through ``$batch`` (4 items a batch: Outlook's per-mailbox limit);
        those found, and the ids Outlook says do not exist."""
        if not ids:
            return [], []
        user = f"/users/{quote(mailbox.source_id or mailbox.address)}"
        urls = {eid: f"{user}/events/{quote(eid)}" for eid in dict.fromkeys(ids)}
        headers = await self.headers()

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
                found.append(event(answer.body))
            elif answer.status == 404:
                gone.append(eid)
            elif answer.status == 403:
                raise Refused(f"the application may not read this mailbox ({answer.why})")
            else:
                raise SourceError(
                    f"events of {mailbox.address} could not be read: {answer.why}",
                    retryable=answer.status in (0, 429) or answer.status >= 500,
                )
        return found, gone


def stamp(value: datetime) -> str:
    """An instant as Graph's query parameters take it."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["EXPIRED", "PER_MAILBOX", "CalendarGraph", "Refused", "stamp"]
