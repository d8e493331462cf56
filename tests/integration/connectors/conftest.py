"""Connector fixtures: one small sandbox tenant served over HTTPS with its own CA, for the
whole module (these tests only read), and connectors built the production way (MSAL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantsync.connectors import Credential, M365Connector, M365Params
from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return generate_tenant(40, seed=21)


@pytest.fixture(scope="module")
def served(
    tenant: SandboxTenant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedSandbox]:
    app = create_app(tenant, latency=0)
    with serve_in_thread(app, data_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


def params_for(served: ServedSandbox, client_id: str | None = None) -> M365Params:
    """A connection's parameters pointing at the served sandbox."""
    return M365Params(
        tenant_id=served.tenant.tenant_id,
        client_id=client_id or served.tenant.client_id,
        authority_host=served.base_url,
        graph_url=served.base_url,
        exchange_url=served.base_url,
        ca_file=str(served.ca_file),
    )


def connector_for_app(
    served: ServedSandbox, index: int = 0, secret: str | None = None
) -> M365Connector:
    """The connector of app registration ``index`` of the tenant (0: the fully granted one)."""
    app = served.tenant.clients[index]
    return M365Connector(
        params_for(served, app.client_id), Credential(client_secret=secret or app.client_secret)
    )


def ca_path(served: ServedSandbox) -> Path:
    return Path(served.ca_file)
