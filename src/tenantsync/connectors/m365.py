"""The Microsoft 365 connection kind: Graph and the Exchange Online admin API of one tenant,
reached with an app registration's client secret or certificate. The sandbox tenant is an
``m365`` connection pointed at the sandbox's URLs (and its CA file).

:class:`M365Params` is the one shape of an m365 connection's parameters, defaults included:
YAML entries, API bodies and answers, the console form, ``export`` and the connector all
read it from here. Pass ``transport`` to talk to an in-process app (tests, benchmarks)
instead of the network.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from tenantsync.connectors.auth import Credential, FormTokenSource, MsalTokenSource, TokenSource
from tenantsync.connectors.exchange import ExchangeClient
from tenantsync.connectors.graph import GraphClient
from tenantsync.connectors.http import HttpClient, HttpOptions, RateLimiter, httpx
from tenantsync.connectors.kind import Check, ConnectionKind, SecretField

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1024, pattern=NO_CONTROL),
]


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("must be an https:// URL")
    return value.rstrip("/")


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


HttpsUrl = Annotated[Text, AfterValidator(_https)]
OptionalText = Annotated[Text | None, BeforeValidator(_blank_is_none)]


if TYPE_CHECKING:
    from tenantsync.connectors.exchange_permissions import ExchangePermissionReader
    from tenantsync.connectors.loop import LoopThread
    from tenantsync.connectors.m365_calendar import M365Calendars
    from tenantsync.connectors.m365_directory import M365Directory


class M365Params(BaseModel):
    """Where a Microsoft 365 tenant (or the sandbox) is reached, and how hard it is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_id: Text = Field(title="Tenant id")
    client_id: Text = Field(title="Application (client) id")
    authority_host: HttpsUrl = Field("https://login.microsoftonline.com", title="Authority host")
    graph_url: HttpsUrl = Field("https://graph.microsoft.com", title="Graph URL")
    exchange_url: HttpsUrl = Field("https://outlook.office365.com", title="Exchange URL")
    ca_file: OptionalText = Field(None, title="CA file (for a private certificate authority)")
    max_concurrency: int = Field(
        8, ge=1, le=256, title="Requests in flight", description="at most, at any moment"
    )
    requests_per_second: float | None = Field(
        None,
        gt=0,
        title="Requests per second",
        description="at most, on average; empty: as many as the service allows",
    )

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
        params: M365Params,
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

    def directory_source(self) -> M365Directory:
        """The tenant's directory: users, mailboxes, groups, full or by delta."""
        from tenantsync.connectors.m365_directory import M365Directory

        return M365Directory(self)

    def permission_source(self, loop: LoopThread, concurrency: int) -> ExchangePermissionReader:
        """The tenant's mailbox permissions, read on ``loop`` ``concurrency`` at a time."""
        from tenantsync.connectors.exchange_permissions import ExchangePermissionReader

        return ExchangePermissionReader(self.exchange, loop, concurrency)

    def calendar_source(
        self,
        loop: LoopThread,
        concurrency: int,
        *,
        page_size: int = 100,
        attachment_content: bool = False,
        attachment_cap: int = 0,
    ) -> M365Calendars:
        """The tenant's mailbox calendars, read on ``loop`` ``concurrency`` mailboxes at a time."""
        from tenantsync.connectors.m365_calendar import M365Calendars

        return M365Calendars(
            self,
            loop,
            concurrency,
            page_size=page_size,
            attachment_content=attachment_content,
            attachment_cap=attachment_cap,
        )


async def _token(connector: M365Connector) -> str:
    await connector.tokens.token(connector.graph.scope)
    return "token issued for Microsoft Graph"


async def _users(connector: M365Connector) -> str:
    await connector.graph.probe("users")
    return "users readable (User.Read.All)"


async def _mailbox_settings(connector: M365Connector) -> str:
    await connector.graph.probe("mailboxSettings")
    return "mailbox settings readable (MailboxSettings.Read)"


async def _exchange(connector: M365Connector) -> str:
    await connector.exchange.run("Get-Mailbox", {"ResultSize": 1})
    return "Exchange admin API answered Get-Mailbox (Exchange.ManageAsApp + role)"


CHECKS: tuple[tuple[str, Check], ...] = (
    ("token", _token),
    ("read users", _users),
    ("read mailbox settings", _mailbox_settings),
    ("Exchange admin API", _exchange),
)


def _connect(
    params: M365Params,
    secret: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    http_options: HttpOptions | None,
) -> M365Connector:
    return M365Connector(
        params,
        Credential.from_secret(dict(secret)),
        transport=transport,
        http_options=http_options,
    )


M365 = ConnectionKind(
    name="m365",
    title="Microsoft 365",
    params_model=M365Params,
    secret_fields=(
        SecretField("client_secret", "client secret"),
        SecretField(
            "certificate",
            "certificate",
            help="PEM, with its private key",
            multiline=True,
        ),
    ),
    # A stored secret (or an assertion signed with a stored certificate) goes to these.
    endpoint_fields=(
        "tenant_id",
        "client_id",
        "authority_host",
        "graph_url",
        "exchange_url",
        "ca_file",
    ),
    serves=frozenset(
        {"user_sync", "mailbox_permission_sync", "calendar_replication", "connection_check"}
    ),
    checks=CHECKS,
    connector_type=M365Connector,
    connect=_connect,
)
