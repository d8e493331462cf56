"""Injected faults and the rate limit answer the way Graph and Exchange do, so clients'
retry and back-off paths can be exercised by configuration."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest

from tenantsync.sandbox import (
    SandboxTenant,
    asgi_transport,
    create_app,
    generate_tenant,
    sandbox_of,
    serve_in_thread,
)
from tests.integration.sandbox.conftest import EXCHANGE, bearer

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return generate_tenant(25, seed=31)


def _client(tenant: SandboxTenant, **knobs: object) -> httpx.AsyncClient:
    app = create_app(tenant, **{"latency": 0, **knobs})  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=asgi_transport(app), base_url="https://sandbox")


@pytest.mark.parametrize(
    ("option", "header"),
    [("retry-after=2", "2"), ("retry-after=2.128", "2.128"), ("retry-after=none", None)],
)
async def test_graph_429_carries_an_integer_fractional_or_no_retry_after(
    tenant: SandboxTenant, option: str, header: str | None
) -> None:
    async with _client(tenant, faults=f"graph.users:429@1/{option}/count=1") as http:
        auth = await bearer(http, tenant)
        throttled = await http.get("/v1.0/users", headers=auth)
        assert throttled.status_code == 429
        assert throttled.headers.get("Retry-After") == header
        error = throttled.json()["error"]
        assert error["code"] == "TooManyRequests"
        assert error["innerError"]["status"] == "429"
        assert (await http.get("/v1.0/users", headers=auth)).status_code == 200


async def test_503_on_exchange_then_service_resumes(tenant: SandboxTenant) -> None:
    async with _client(tenant, faults="exchange:503@1/count=1") as http:
        auth = await bearer(http, tenant, EXCHANGE)
        body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}
        url = f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand"
        unavailable = await http.post(url, json=body, headers=auth)
        assert unavailable.status_code == 503
        assert "Retry-After" not in unavailable.headers
        assert (await http.post(url, json=body, headers=auth)).status_code == 200


async def test_a_connection_reset_in_process_surfaces_as_a_read_error(
    tenant: SandboxTenant,
) -> None:
    async with _client(tenant, faults="graph.groups:reset@1/count=1") as http:
        auth = await bearer(http, tenant)
        with pytest.raises(httpx.ReadError):
            await http.get("/v1.0/groups", headers=auth)
        assert (await http.get("/v1.0/groups", headers=auth)).status_code == 200


def test_a_connection_reset_over_https_drops_the_socket(
    tenant: SandboxTenant, tmp_path: Path
) -> None:
    app = create_app(tenant, latency=0, faults="graph.users:reset@1/count=1")
    with serve_in_thread(app, data_dir=tmp_path) as served:
        token = httpx.post(
            served.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
            verify=_tls(served.ca_file),
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(verify=_tls(served.ca_file)) as http:
            with pytest.raises(httpx.TransportError):
                http.get(f"{served.graph_v1_url}/users", headers=auth)
            assert http.get(f"{served.graph_v1_url}/users", headers=auth).status_code == 200


def _tls(ca_file: Path) -> object:
    import ssl

    return ssl.create_default_context(cafile=str(ca_file))


async def test_a_slow_response_is_delayed_but_answers(tenant: SandboxTenant) -> None:
    async with _client(tenant, faults="graph.users:slow@1/delay=0.3/count=1") as http:
        auth = await bearer(http, tenant)
        started = time.monotonic()
        response = await http.get("/v1.0/users", headers=auth)
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.3


async def test_latency_applies_per_endpoint_family(tenant: SandboxTenant) -> None:
    async with _client(tenant, latency="graph=0,exchange=0.4,token=0") as http:
        auth = await bearer(http, tenant, EXCHANGE)
        body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}
        started = time.monotonic()
        await http.post(f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand", json=body, headers=auth)
        assert time.monotonic() - started >= 0.4
        started = time.monotonic()
        await http.get("/v1.0/users", headers=await bearer(http, tenant))
        assert time.monotonic() - started < 0.4


async def test_the_rate_limit_answers_429_beyond_the_ceiling_and_recovers(
    tenant: SandboxTenant,
) -> None:
    rate = 5
    async with _client(tenant, rate_limit=rate) as http:
        auth = await bearer(http, tenant)
        started = time.monotonic()
        statuses = [(await http.get("/v1.0/users?$top=1", headers=auth)) for _ in range(12)]
        elapsed = time.monotonic() - started
        passed = [r for r in statuses if r.status_code == 200]
        limited = [r for r in statuses if r.status_code == 429]
        # A full bucket of `rate` requests, plus what refilled while the burst ran.
        assert rate <= len(passed) <= rate + int(rate * elapsed) + 1
        assert len(passed) + len(limited) == 12
        assert limited
        assert all(r.headers["Retry-After"] == "1" for r in limited)
        await anyio.sleep(0.3)
        assert (await http.get("/v1.0/users?$top=1", headers=auth)).status_code == 200


async def test_faults_are_counted_and_reproducible_from_the_seed(tenant: SandboxTenant) -> None:
    outcomes = []
    for _ in range(2):
        app = create_app(tenant, latency=0, faults="graph:429@0.5", fault_seed=9)
        async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://s") as http:
            auth = await bearer(http, tenant)
            codes = [(await http.get("/v1.0/groups", headers=auth)).status_code for _ in range(12)]
        outcomes.append(codes)
        assert sandbox_of(app).gate.injected.get("429", 0) == codes.count(429)
    assert outcomes[0] == outcomes[1]
    assert 0 < outcomes[0].count(429) < 12


async def test_batch_items_answer_like_single_calls_and_dependents_fail(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    user = tenant.user_ids[0]
    payload = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/users/{user}"},
            {"id": "2", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000000"},
            {"id": "3", "method": "GET", "url": f"/users/{user}/memberOf", "dependsOn": ["2"]},
        ]
    }
    response = await client.post("/v1.0/$batch", json=payload, headers=auth)
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["id"] == user
    assert by_id["2"]["status"] == 404
    assert by_id["3"]["status"] == 424
    too_many = {"requests": [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]}
    assert (await client.post("/v1.0/$batch", json=too_many, headers=auth)).status_code == 400


async def test_a_throttled_token_request_gets_entras_bare_429(tenant: SandboxTenant) -> None:
    async with _client(tenant, faults="token:429@1/retry-after=60/count=1") as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        }
        url = f"/{tenant.tenant_id}/oauth2/v2.0/token"
        throttled = await http.post(url, data=form)
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "60"
        assert throttled.text == "Too Many Requests"
        assert (await http.post(url, data=form)).status_code == 200
