"""The running sandbox: its tenants, options, token authority and gate, plus the
response helpers every route family shares."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantsync.sandbox.faults import MANGLE_KINDS, FaultAnswer, Gate
from tenantsync.sandbox.graph_cache import UserJsonCache
from tenantsync.sandbox.odata import TokenCodec
from tenantsync.sandbox.outlook_limits import OutlookLimits
from tenantsync.sandbox.tenant import SandboxTenant
from tenantsync.sandbox.tokens import TokenAuthority

MANGLE_KEY = "sandbox.mangle"
JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


@dataclass
class SandboxOptions:
    """Behaviour knobs that are not latency or faults.

    `directory_delta_expiry_status`: 400 (what Microsoft's 2020 blog documents for
    users/groups) or 410 (the generic delta documentation, with a Location header).
    `user_purpose_object`: serve mailboxSettings.userPurpose as {"value": …} (older form).
    `graph_page_cap` / `exchange_page_size`: the most objects one page holds, whatever the
    client's `Prefer: odata.maxpagesize` asks (small caps make paging testable).
    `partial_delta_records`: a changed object in a delta round carries only the properties
    that changed, as Microsoft's own delta example shows, even without
    `Prefer: return=minimal`.
    `user_purposes`: the userPurpose value served per mailbox kind instead of the usual
    one (e.g. {"shared": "unknownFutureValue"}: a value Graph adds later).
    `numeric_enums`: Exchange permission output as PowerShell serializes the live objects
    (ConvertTo-Json): AccessRights as the enumeration's numbers, Deny as {"IsPresent": …},
    AccessControlType as 0 (Allow) / 1 (Deny).
    `outlook_concurrency` / `outlook_requests_per_10_minutes`: Outlook's per-mailbox limits
    on calendar calls (None: unlimited), answered with 429 ApplicationThrottled.
    """

    token_lifetime: int = 3599
    delta_token_ttl: float = 7 * 24 * 3600
    directory_delta_expiry_status: int = 400
    user_purpose_object: bool = False
    graph_page_cap: int | None = None
    exchange_page_size: int = 1000
    exchange_pagination_ttl: float = 1800
    partial_delta_records: bool = False
    numeric_enums: bool = False
    user_purposes: dict[str, str] = field(default_factory=dict)
    admin_key: str = ""
    outlook_concurrency: int | None = 4
    outlook_requests_per_10_minutes: int | None = 10_000


class Sandbox:
    """Shared state of one sandbox app (one or more tenants)."""

    def __init__(
        self,
        tenants: Iterable[SandboxTenant],
        *,
        gate: Gate,
        options: SandboxOptions,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenants = {t.tenant_id: t for t in tenants}
        self.gate = gate
        self.options = options
        if not options.admin_key:
            options.admin_key = secrets.token_urlsafe(24)
        self.clock = clock or (lambda: datetime.now(UTC))
        for tenant in self.tenants.values():
            tenant.now = self.clock
        self.authority = TokenAuthority(lifetime=options.token_lifetime)
        self.codec = TokenCodec(secrets.token_bytes(32))
        self._user_caches: dict[str, UserJsonCache] = {}
        # Per-route-family caches and counters kept for the app's life (calendar views,
        # Outlook's per-mailbox limits).
        self.extras: dict[str, Any] = {}
        self.outlook = OutlookLimits(
            options.outlook_concurrency, options.outlook_requests_per_10_minutes
        )

    def user_cache(self, tenant_id: str) -> UserJsonCache:
        """The rendered-users cache of one tenant."""
        cache = self._user_caches.get(tenant_id)
        if cache is None:
            cache = self._user_caches[tenant_id] = UserJsonCache()
        return cache

    def tenant(self, key: str | None) -> SandboxTenant | None:
        """The tenant a GUID or domain names, if served here."""
        if not key:
            return None
        found = self.tenants.get(key.lower())
        if found:
            return found
        return next((t for t in self.tenants.values() if t.answers_to(key)), None)

    def now(self) -> datetime:
        """The sandbox clock (aware UTC)."""
        return self.clock()

    async def gate_or_fault(
        self, request: Request, family: str, tenant_id: str | None
    ) -> FaultAnswer | None:
        """Apply latency/faults/rate limit; a reset fault drops the connection here, and a
        fault that changes the answer is left on the request for :class:`AnswerFaults`."""
        if request.scope.get("sandbox.batch_item"):
            answer, _ = self.gate.check(family, tenant_id)
            if answer is None or answer.kind == "reset" or answer.kind in MANGLE_KINDS:
                return None
            return answer
        answer = await self.gate.enter(family, tenant_id)
        if answer is not None and answer.kind == "reset":
            await reset_connection(request)
        if answer is not None and answer.kind in MANGLE_KINDS:
            request.scope[MANGLE_KEY] = answer.kind
            return None
        return answer


async def reset_connection(request: Request) -> None:
    """Abort the TCP connection under the request (uvicorn); in-process, raise instead."""
    owner = getattr(request.receive, "__self__", None)
    transport = getattr(owner, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        await asyncio.sleep(0.01)
        return
    raise ConnectionResetError("sandbox fault: connection reset by peer")


class AnswerFaults:
    """ASGI middleware: serves the request, then changes its answer as an injected fault
    asked (cut the body, drop a paging link), as a broken proxy or link would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def held(message: Message) -> None:
            nonlocal start
            kind = scope.get(MANGLE_KEY)
            if kind is None:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    assert start is not None
                    body = mangle(str(kind), b"".join(chunks))
                    headers = [
                        (k, v) for k, v in start["headers"] if k.lower() != b"content-length"
                    ]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, held)


def mangle(kind: str, body: bytes) -> bytes:
    """An answer body as the fault ``kind`` leaves it."""
    if kind == "truncate":
        return body[: len(body) // 2]
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if isinstance(payload, dict):
        payload.pop("@odata.nextLink" if kind == "drop-next" else "@odata.deltaLink", None)
    return dumps(payload)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, *, request_id: str = ""
) -> Response:
    """A Graph-style JSON response with request-id headers."""
    rid = request_id or str(uuid.uuid4())
    all_headers = {"request-id": rid, "client-request-id": rid, **(headers or {})}
    return Response(dumps(body), status, all_headers, media_type=JSON_TYPE)


def raw_json_response(data: bytes, status: int = 200, *, request_id: str = "") -> Response:
    """Like `json_response`, for a body that is already JSON bytes."""
    rid = request_id or str(uuid.uuid4())
    return Response(data, status, {"request-id": rid, "client-request-id": rid}, JSON_TYPE)


def inner_error(request: Request, now: datetime) -> dict[str, str]:
    """Graph's innerError block."""
    rid = str(uuid.uuid4())
    return {
        "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": rid,
        "client-request-id": request.headers.get("client-request-id", rid),
    }
