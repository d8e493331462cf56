"""Reading Graph and Exchange through the connector: paging, throttling, tokens, kinds."""

from __future__ import annotations

import asyncio
import time

import pytest

from tenantsync.connectors import (
    Credential,
    FormTokenSource,
    GraphClient,
    HttpClient,
    HttpOptions,
    M365Connector,
    M365Params,
)
from tenantsync.connectors.auth import GRAPH_SCOPE
from tenantsync.errors import SourceError
from tenantsync.model import MailboxKind
from tenantsync.sandbox import SandboxOptions, SandboxTenant, asgi_transport, create_app

QUICK = HttpOptions(max_attempts=4, backoff_base=0.01, backoff_max=0.02)


def connector(tenant: SandboxTenant, **app_args: object) -> M365Connector:
    app = create_app(tenant, latency=0, **app_args)  # type: ignore[arg-type]
    params = M365Params(
        tenant_id=tenant.tenant_id,
        client_id=tenant.client_id,
        authority_host="https://sandbox",
        graph_url="https://sandbox",
        exchange_url="https://sandbox",
    )
    return M365Connector(
        params,
        Credential(client_secret=tenant.client_secret),
        transport=asgi_transport(app),
        http_options=QUICK,
    )


def test_users_are_read_page_by_page_following_next_links(tenant: SandboxTenant) -> None:
    async def run() -> list[int]:
        async with connector(tenant) as c:
            small = GraphClient(c.http, c.tokens, graph_url="https://sandbox", page_size=7)
            return [len(page) async for page in small.users()]

    sizes = asyncio.run(run())
    assert len(sizes) > 1 and max(sizes) <= 7
    assert sum(sizes) == len(tenant.users)


def test_throttled_reads_wait_as_long_as_retry_after_says(tenant: SandboxTenant) -> None:
    async def run() -> tuple[int, float, int]:
        async with connector(tenant, faults="graph.users:429@1/retry-after=0.25/count=2") as c:
            await c.tokens.token(GRAPH_SCOPE)
            started = time.monotonic()
            count = sum([len(page) async for page in c.graph.users()])
            return count, time.monotonic() - started, c.http.stats.throttled

    count, elapsed, throttled = asyncio.run(run())
    assert count == len(tenant.users)
    assert throttled == 2
    assert elapsed >= 0.5


def test_a_service_that_stays_unavailable_is_a_retryable_source_error(
    tenant: SandboxTenant,
) -> None:
    async def run() -> None:
        async with connector(tenant, faults="graph.users:503@1") as c:
            async for _page in c.graph.users():
                pass

    with pytest.raises(SourceError) as caught:
        asyncio.run(run())
    assert caught.value.retryable
    assert "service unavailable (HTTP 503) after 4 attempts" in str(caught.value)


def test_a_token_is_reused_until_shortly_before_it_expires(tenant: SandboxTenant) -> None:
    async def run() -> tuple[str, str, str]:
        async with connector(tenant, options=SandboxOptions(token_lifetime=61)) as c:
            first = await c.tokens.token(GRAPH_SCOPE)
            again = await c.tokens.token(GRAPH_SCOPE)
            await asyncio.sleep(1.1)
            return first, again, await c.tokens.token(GRAPH_SCOPE)

    first, again, renewed = asyncio.run(run())
    assert first == again
    assert renewed != first


def test_mailbox_kinds_from_exchange_and_from_mailbox_settings_agree(tenant: SandboxTenant) -> None:
    async def run() -> tuple[dict[str, MailboxKind], dict[str, MailboxKind]]:
        async with connector(tenant) as c:
            exchange = {m.source_id: m.kind async for page in c.exchange.mailboxes() for m in page}
            purposes = await c.graph.mailbox_purposes(list(tenant.users))
            return exchange, purposes.kinds

    exchange, graph = asyncio.run(run())
    expected = {u.id: u.mailbox for u in tenant.users.values() if u.mailbox}
    assert {k: v.value for k, v in exchange.items()} == expected
    assert {k: v.value for k, v in graph.items()} == expected


def test_requests_in_flight_never_exceed_the_connection_limit(tenant: SandboxTenant) -> None:
    app = create_app(tenant, latency="graph=0.2")
    http = HttpClient(HttpOptions(max_concurrency=2), transport=asgi_transport(app))

    async def run() -> float:
        async with http:
            tokens = FormTokenSource(
                http,
                tenant_id=tenant.tenant_id,
                client_id=tenant.client_id,
                credential=Credential(client_secret=tenant.client_secret),
                authority_host="https://sandbox",
            )
            graph = GraphClient(http, tokens, graph_url="https://sandbox")
            await tokens.token(GRAPH_SCOPE)
            started = time.monotonic()
            await asyncio.gather(*(graph.probe("users") for _ in range(6)))
            return time.monotonic() - started

    elapsed = asyncio.run(run())
    assert elapsed >= 0.6  # six 0.2 s calls, two at a time
