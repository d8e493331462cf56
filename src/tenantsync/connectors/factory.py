"""Building the Microsoft 365 connector of a stored connection.

A connection's ``params`` hold tenant_id, client_id, authority_host, graph_url,
exchange_url and ca_file (and optionally max_concurrency / requests_per_second); its
encrypted secret holds ``client_secret`` or ``certificate``. Pass ``transport`` to talk
to an in-process app (tests, benchmarks) instead of the network.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tenantsync.connectors.auth import Credential, FormTokenSource, MsalTokenSource, TokenSource
from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.connectors.graph import GraphClient
from tenantsync.connectors.http import HttpClient, HttpOptions, RateLimiter, httpx
from tenantsync.errors import ConfigError, NotFound
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection
from tenantsync.store.secretbox import SecretBox


@dataclass(frozen=True)
class ConnectionParams:
    """Where a Microsoft 365 tenant (or the sandbox) is reached."""

    tenant_id: str
    client_id: str
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    exchange_url: str = "https://outlook.office365.com"
    ca_file: str | None = None
    max_concurrency: int = 8
    requests_per_second: float | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ConnectionParams:
        """The parameters stored with a connection; unknown keys are ignored."""
        for required in ("tenant_id", "client_id"):
            if not params.get(required):
                raise ConfigError("missing from the connection", field=required)
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in known.items() if v is not None})

    def http_options(self) -> HttpOptions:
        """The HTTP behaviour this connection asks for."""
        return HttpOptions(
            max_concurrency=self.max_concurrency, requests_per_second=self.requests_per_second
        )


class M365Connector:
    """Graph and Exchange clients of one tenant sharing one HTTP client and token cache.

    Use as ``async with M365Connector(...) as connector:``; the clients exist inside.
    """

    graph: GraphClient
    exchange: ExchangeClient
    tokens: TokenSource

    def __init__(
        self,
        params: ConnectionParams,
        credential: Credential,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        http_options: HttpOptions | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.params = params
        self.credential = credential
        self.http = HttpClient(
            http_options or params.http_options(),
            transport=transport,
            verify=params.ca_file or True,
            limiter=limiter,
        )
        self._in_process = transport is not None

    async def __aenter__(self) -> M365Connector:
        p = self.params
        if self._in_process:
            self.tokens = FormTokenSource(
                self.http,
                tenant_id=p.tenant_id,
                client_id=p.client_id,
                credential=self.credential,
                authority_host=p.authority_host,
            )
        else:
            self.tokens = await asyncio.to_thread(
                lambda: MsalTokenSource(
                    tenant_id=p.tenant_id,
                    client_id=p.client_id,
                    credential=self.credential,
                    authority_host=p.authority_host,
                    ca_file=p.ca_file,
                )
            )
        self.graph = GraphClient(self.http, self.tokens, graph_url=p.graph_url)
        self.exchange = ExchangeClient(
            self.http, self.tokens, exchange_url=p.exchange_url, tenant_id=p.tenant_id
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


def connector_for(
    connection: Connection,
    box: SecretBox,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    http_options: HttpOptions | None = None,
) -> M365Connector:
    """The connector of a stored connection, its secret decrypted with ``box``."""
    if connection.kind != "m365":
        raise ConfigError(f"connection {connection.name!r} is of kind {connection.kind!r}")
    if connection.secret_ciphertext is None:
        raise ConfigError(f"connection {connection.name!r} has no stored credential")
    secret = box.decrypt(connection.secret_ciphertext)
    return M365Connector(
        ConnectionParams.from_params(connection.params),
        Credential.from_secret({k: str(v) for k, v in secret.items()}),
        transport=transport,
        http_options=http_options,
    )


def load_connector(
    db: Database,
    settings: Settings,
    connection_id: int,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    http_options: HttpOptions | None = None,
) -> M365Connector:
    """The connector of the stored connection ``connection_id``."""
    with db.session() as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            raise NotFound(f"connection {connection_id} does not exist")
        session.expunge(connection)
    box = SecretBox.from_key_file(settings.effective_key_file, create=False)
    return connector_for(connection, box, transport=transport, http_options=http_options)
