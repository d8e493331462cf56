"""Shared HTTP for connectors: the one place that imports httpx.

Connectors are asynchronous (``httpx.AsyncClient``) because the in-process transport
tests plug in, ``httpx.ASGITransport``, is async-only, and because reading a tenant is
many independent requests that overlap well. The engine drives them with
``asyncio.run``. Every request goes through :class:`HttpClient`, which adds:

* bounded concurrency (a semaphore held only while a request is on the wire);
* a client-side rate limiter (token bucket, requests per second, shareable between
  clients of one connection);
* retry with backoff on 429, 502, 503, 504 and connection errors, honouring
  ``Retry-After`` given as integer or fractional seconds or an HTTP date, and backing
  off exponentially (with jitter) when it is absent.

A request that runs out of attempts raises ``SourceError(retryable=True)``; other
answers are returned for the connector to map to its own errors.

:meth:`HttpClient.request_json` also decodes a successful answer and treats one that
cannot be decoded (a body cut short, a proxy's HTML page) like a failed attempt: it is
retried, and one that keeps failing is a retryable ``SourceError`` for that part of the
read, never an internal error.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tenantsync.errors import SourceError
from tenantsync.timeutil import utcnow

RETRY_STATUSES = frozenset({429, 502, 503, 504})

__all__ = [
    "RETRY_STATUSES",
    "HttpClient",
    "HttpOptions",
    "HttpStats",
    "RateLimiter",
    "httpx",
    "retry_after_seconds",
    "tls_context",
]


@dataclass(frozen=True)
class HttpOptions:
    """How one connection's HTTP behaves; every knob has a production default."""

    max_concurrency: int = 8
    requests_per_second: float | None = None
    burst: int | None = None
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    timeout: float = 60.0


@dataclass
class HttpStats:
    """What happened on the wire: requests sent, retries and throttled answers."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    failures: int = 0
    undecodable: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class RateLimiter:
    """A token bucket: at most ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one request may be sent."""
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                # Credit the whole time slept: a busy event loop oversleeps, and dropping
                # that time would keep the achieved rate below the configured one.
                slept = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (slept - now) * self.rate)
                self._stamp = slept
            self._tokens -= 1


def tls_context(verify: str | bool) -> ssl.SSLContext | bool:
    """What httpx verifies with: a CA file path becomes a context trusting that CA.

    Verification is never turned off by this module; ``False`` is refused.
    """
    if verify is False:
        raise ValueError("TLS verification cannot be turned off; give a CA file instead")
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return True


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: integer, fractional or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - utcnow()).total_seconds()
    return max(0.0, seconds)


class HttpClient:
    """An ``httpx.AsyncClient`` with retry, backoff, bounded concurrency and a rate limit."""

    def __init__(
        self,
        options: HttpOptions | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: str | bool = True,
        limiter: RateLimiter | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.options = options or HttpOptions()
        self.stats = HttpStats()
        limits = httpx.Limits(
            max_connections=self.options.max_concurrency,
            max_keepalive_connections=self.options.max_concurrency,
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=tls_context(verify) if transport is None else True,
            timeout=self.options.timeout,
            limits=limits,
            headers=dict(headers or {}),
            follow_redirects=False,
        )
        self._slots = asyncio.Semaphore(self.options.max_concurrency)
        rps = self.options.requests_per_second
        self._limiter = limiter or (RateLimiter(rps, self.options.burst) if rps else None)

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request, retrying throttled and failed attempts; the final answer."""
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire()
            try:
                async with self._slots:
                    self.stats.requests += 1
                    response = await self._client.request(
                        method, url, headers=headers, params=params, json=json, data=data
                    )
            except httpx.TransportError as exc:
                self.stats.failures += 1
                if attempt >= self.options.max_attempts:
                    raise SourceError(
                        f"{method} {_path(url)}: connection failed ({type(exc).__name__}: "
                        f"reset, refused or cut off) after {attempt} attempts",
                        retryable=True,
                    ) from exc
                await self._sleep(attempt, None)
                continue
            status = response.status_code
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            if status not in RETRY_STATUSES:
                return response
            if status == 429:
                self.stats.throttled += 1
            if attempt >= self.options.max_attempts:
                raise SourceError(
                    f"{method} {_path(url)}: {_status_text(status)} after {attempt} attempts",
                    retryable=True,
                    status=status,
                )
            await self._sleep(attempt, retry_after_seconds(response.headers.get("Retry-After")))

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> tuple[httpx.Response, Any]:
        """Like :meth:`request`; a successful answer comes with its decoded JSON body.

        Error answers (400 and up) come with ``None``: their bodies are the connector's
        to read. A success whose body does not decode is retried like a failed attempt.
        """
        attempt = 0
        while True:
            attempt += 1
            response = await self.request(method, url, headers=headers, params=params, json=json)
            if response.status_code >= 400:
                return response, None
            try:
                return response, response.json()
            except ValueError as exc:
                self.stats.undecodable += 1
                if attempt >= self.options.max_attempts:
                    raise SourceError(
                        f"{method} {_path(url)}: the answer could not be decoded "
                        f"({type(exc).__name__}) after {attempt} attempts",
                        retryable=True,
                        status=response.status_code,
                    ) from exc
                await self._sleep(attempt, None)

    async def backoff(self, attempt: int, retry_after: float | None) -> None:
        """Wait before retry ``attempt``: ``retry_after`` when given, else exponential."""
        await self._sleep(attempt, retry_after)

    async def _sleep(self, attempt: int, retry_after: float | None) -> None:
        self.stats.retries += 1
        if retry_after is not None:
            delay = min(retry_after, self.options.retry_after_max)
        else:
            ceiling = min(self.options.backoff_max, self.options.backoff_base * 2 ** (attempt - 1))
            delay = ceiling * (0.5 + random.random() / 2)
        await asyncio.sleep(delay)


def _status_text(status: int) -> str:
    """A retried status as an administrator reads it: what it means, then the code."""
    meaning = {429: "throttled", 502: "bad gateway", 503: "service unavailable", 504: "timeout"}
    return f"{meaning.get(status, 'failed')} (HTTP {status})"


def _path(url: str) -> str:
    """The URL without its query, for messages (query strings carry opaque tokens)."""
    return url.split("?", 1)[0]


def post_once(url: str, content: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``content`` once, without redirects; the status code (a notification's webhook:
    the dispatcher retries on its own schedule). Raises ``OSError`` when it cannot connect."""
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            return client.post(url, content=content, headers=dict(headers)).status_code
    except httpx.HTTPError as exc:
        raise OSError(f"{type(exc).__name__}: {exc}") from exc
