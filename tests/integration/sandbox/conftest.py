"""Sandbox fixtures: a small generated tenant, its app (no latency) in-process through
httpx's ASGI transport, and the same app served over HTTPS on loopback for Microsoft's
own clients (MSAL, azure-identity + msgraph-sdk)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import requests
from starlette.applications import Starlette

from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    asgi_transport,
    create_app,
    generate_tenant,
    serve_in_thread,
)

GRAPH = "https://graph.microsoft.com/.default"
EXCHANGE = "https://outlook.office365.com/.default"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    """A small organization shared by the read-only tests of one module."""
    return generate_tenant(150, seed=11)


@pytest.fixture(scope="module")
def app(tenant: SandboxTenant) -> Starlette:
    return create_app(tenant, latency=0)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://sandbox") as http:
        yield http


@pytest.fixture(scope="module")
def served(app: Starlette, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedSandbox]:
    with serve_in_thread(app, data_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def verified_session(ca_file: Path) -> requests.Session:
    """A requests session that trusts only the sandbox CA (environment CA settings ignored)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_file)
    return session


async def bearer(
    http: httpx.AsyncClient,
    tenant: SandboxTenant,
    scope: str = GRAPH,
    *,
    app_index: int = 0,
) -> dict[str, str]:
    """An Authorization header from the token endpoint for one of the tenant's apps."""
    client = tenant.clients[app_index]
    response = await http.post(
        f"/{tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
