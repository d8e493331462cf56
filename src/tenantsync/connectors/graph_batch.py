"""Graph JSON batching for reads: many GETs, 20 per ``$batch`` call, one answer per item.

Each item has its own status. Throttled and failed items (429, 5xx) are sent again in a
later batch after the longest ``Retry-After`` they asked for; an item that keeps failing
is answered with its last status and a reason. A batch call that fails as a whole (after
the HTTP layer's own retries) answers every item it carried with that failure: one bad
answer costs those items, never the read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenantsync.connectors.http import retry_after_seconds
from tenantsync.errors import AuthError, SourceError

BATCH_SIZE = 20
RETRIED = frozenset({429, 500, 502, 503, 504})

PostBatch = Callable[[dict[str, Any]], Awaitable[Any]]
"""Sends one ``$batch`` body; returns the decoded answer or raises SourceError."""
Backoff = Callable[[int, float | None], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One item's answer: status, body, and the error code or reason when it failed."""

    status: int
    body: Any = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the item was answered with success."""
        return 200 <= self.status < 300

    @property
    def why(self) -> str:
        """The failure as a person reads it: ``HTTP 403 ErrorAccessDenied``, or the reason
        alone for an item that got no answer."""
        if self.status == 0:
            return self.reason
        return f"HTTP {self.status} {self.reason}".rstrip()


async def batch_get(
    urls: Mapping[str, str],
    post: PostBatch,
    backoff: Backoff,
    *,
    concurrency: int = 4,
    attempts: int = 6,
    size: int = BATCH_SIZE,
) -> dict[str, ItemAnswer]:
    """GET every relative URL of ``urls`` (key → URL), ``size`` to a batch (at most 20);
    the answer per key."""
    keys = list(urls)
    answers: dict[str, ItemAnswer] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(chunk: list[str]) -> None:
        async with gate:
            answers.update(await _chunk({k: urls[k] for k in chunk}, post, backoff, attempts))

    size = max(1, min(size, BATCH_SIZE))
    await asyncio.gather(*(one(keys[i : i + size]) for i in range(0, len(keys), size)))
    return answers


async def _chunk(
    urls: dict[str, str], post: PostBatch, backoff: Backoff, attempts: int
) -> dict[str, ItemAnswer]:
    pending = {str(i): key for i, key in enumerate(urls)}
    answers: dict[str, ItemAnswer] = {}
    last: dict[str, ItemAnswer] = {}
    for attempt in range(1, attempts + 1):
        body = {
            "requests": [
                {"id": rid, "method": "GET", "url": urls[key]} for rid, key in pending.items()
            ]
        }
        try:
            payload = await post(body)
        except AuthError:
            raise
        except SourceError as exc:
            return {**answers, **{key: ItemAnswer(0, None, str(exc)) for key in pending.values()}}
        waits: list[float] = []
        retry: dict[str, str] = {}
        items = payload.get("responses", []) if isinstance(payload, dict) else []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            rid = str(item.get("id"))
            key = pending.get(rid)
            if key is None:
                continue
            status = _status(item.get("status"))
            answer = ItemAnswer(status, item.get("body"), _code(item.get("body")))
            if status in RETRIED:
                retry[rid] = key
                last[key] = answer
                headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
                after = retry_after_seconds(headers.get("retry-after"))
                if after is not None:
                    waits.append(after)
            else:
                answers[key] = answer
        # An item the batch answer left out is asked again, like a throttled one.
        retry.update({rid: key for rid, key in pending.items() if key not in answers})
        if not retry:
            return answers
        pending = retry
        if attempt < attempts:
            await backoff(attempt, max(waits) if waits else None)
    for key in pending.values():
        failed = last.get(key, ItemAnswer(0))
        answers[key] = ItemAnswer(
            failed.status, None, f"HTTP {failed.status or 'no answer'}: ran out of retries"
        )
    return answers


def _status(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 500


def _code(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code") or "")
    return ""
