"""Outlook's per-mailbox limits on Graph calendar calls: at most 4 requests in flight per
application and mailbox, and 10,000 requests per 10 minutes. Beyond either, Outlook
answers 429 ``ApplicationThrottled`` ("Application is over its MailboxConcurrency
limit.") with a Retry-After; inside a ``$batch`` the items beyond 4 to one mailbox get it.

An ASGI middleware, so every calendar route is covered without its handler knowing.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

OUTLOOK_PATH = re.compile(r"^/v1\.0/users/([^/]+)/(?:calendar|calendars|calendarView|events)\b")
WINDOW_SECONDS = 600.0
CONCURRENCY_MESSAGE = "Application is over its MailboxConcurrency limit."
RATE_MESSAGE = "Application is over its MailboxRequestLimit limit."


def mailbox_of(path: str) -> str | None:
    """The mailbox key (id or address, lower case) of an Outlook-backed calendar path."""
    found = OUTLOOK_PATH.match(path)
    return found.group(1).lower() if found else None


def throttled_body(message: str) -> dict[str, Any]:
    """Outlook's 429 body."""
    return {"error": {"code": "ApplicationThrottled", "message": message}}


@dataclass
class OutlookLimits:
    """The counters: requests in flight and recent request times, per mailbox."""

    concurrency: int | None = 4
    per_window: int | None = 10_000
    retry_after: str = "1"
    in_flight: dict[str, int] = field(default_factory=dict)
    recent: dict[str, deque[float]] = field(default_factory=dict)
    refused: int = 0

    def admit(self, mailbox: str, now: float | None = None) -> str | None:
        """Count a request in (None), or the reason it is refused."""
        now = time.monotonic() if now is None else now
        if self.concurrency is not None and self.in_flight.get(mailbox, 0) >= self.concurrency:
            self.refused += 1
            return CONCURRENCY_MESSAGE
        if self.per_window is not None:
            times = self.recent.setdefault(mailbox, deque())
            while times and now - times[0] > WINDOW_SECONDS:
                times.popleft()
            if len(times) >= self.per_window:
                self.refused += 1
                return RATE_MESSAGE
            times.append(now)
        self.in_flight[mailbox] = self.in_flight.get(mailbox, 0) + 1
        return None

    def release(self, mailbox: str) -> None:
        """A request of ``mailbox`` is answered."""
        left = self.in_flight.get(mailbox, 1) - 1
        if left:
            self.in_flight[mailbox] = left
        else:
            self.in_flight.pop(mailbox, None)


class OutlookLimitsMiddleware:
    """Refuses calendar calls beyond Outlook's per-mailbox limits (see the module)."""

    def __init__(self, app: ASGIApp, limits: OutlookLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        mailbox = mailbox_of(scope.get("path", "")) if scope["type"] == "http" else None
        if mailbox is None or scope.get("sandbox.batch_item"):
            # Batch items are counted per batch (graph_batch), not one by one.
            await self.app(scope, receive, send)
            return
        refused = self.limits.admit(mailbox)
        if refused is not None:
            body = json.dumps(throttled_body(refused)).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"retry-after", self.limits.retry_after.encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limits.release(mailbox)
