"""A throttled token endpoint is waited for like any other 429, and named when it keeps
throttling: over HTTPS through MSAL (production) and through the in-process transport."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tenantsync.connectors import Credential, HttpOptions, M365Connector, M365Params
from tenantsync.errors import AuthError, SourceError
from tenantsync.sandbox import SandboxTenant, asgi_transport, create_app, serve_in_thread

QUICK = HttpOptions(max_attempts=4, backoff_base=0.01, backoff_max=0.02)
PATHS = ["msal", "in-process"]


@contextmanager
def connector(
    tenant: SandboxTenant, faults: str, path: str, tmp_path: Path
) -> Iterator[M365Connector]:
    """A connector to a sandbox whose token endpoint misbehaves as ``faults`` says."""
    app = create_app(tenant, latency=0, faults=faults)
    credential = Credential(client_secret=tenant.client_secret)
    if path == "in-process":
        params = M365Params(
            tenant_id=tenant.tenant_id,
            client_id=tenant.client_id,
            authority_host="https://sandbox",
            graph_url="https://sandbox",
            exchange_url="https://sandbox",
        )
        yield M365Connector(params, credential, transport=asgi_transport(app), http_options=QUICK)
        return
    with serve_in_thread(app, data_dir=tmp_path) as served:
        params = M365Params(
            tenant_id=tenant.tenant_id,
            client_id=tenant.client_id,
            authority_host=served.base_url,
            graph_url=served.base_url,
            exchange_url=served.base_url,
            ca_file=str(served.ca_file),
        )
        yield M365Connector(params, credential, http_options=QUICK)


def read_users(connector: M365Connector) -> int:
    async def run() -> int:
        async with connector as c:
            return sum([len(page) async for page in c.graph.users()])

    return asyncio.run(run())


@pytest.mark.parametrize("path", PATHS)
def test_a_token_endpoint_that_throttles_twice_is_waited_for_and_the_read_succeeds(
    tenant: SandboxTenant, path: str, tmp_path: Path
) -> None:
    with connector(tenant, "token:429@1/retry-after=0.2/count=2", path, tmp_path) as c:
        assert read_users(c) == len(tenant.users)


@pytest.mark.parametrize("path", PATHS)
def test_a_token_endpoint_that_keeps_throttling_is_a_retryable_error_that_says_so(
    tenant: SandboxTenant, path: str, tmp_path: Path
) -> None:
    with (
        connector(tenant, "token:429@1/retry-after=0.1", path, tmp_path) as c,
        pytest.raises(SourceError) as caught,
    ):
        read_users(c)
    error = caught.value
    assert not isinstance(error, AuthError)
    assert error.retryable and error.status == 429
    assert "token endpoint is throttling (HTTP 429)" in str(error)
    assert "Expecting value" not in str(error) and "json" not in str(error).lower()


@pytest.mark.parametrize("path", PATHS)
def test_a_token_endpoint_that_stays_unavailable_is_retryable_not_a_credential_problem(
    tenant: SandboxTenant, path: str, tmp_path: Path
) -> None:
    with (
        connector(tenant, "token:503@1", path, tmp_path) as c,
        pytest.raises(SourceError) as caught,
    ):
        read_users(c)
    assert not isinstance(caught.value, AuthError)
    assert caught.value.retryable and caught.value.status == 503
    assert "token endpoint" in str(caught.value)
