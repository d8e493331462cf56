"""Console fixtures: the app on the `db` fixture, and clients signed in as each role.

Requests go through httpx's ASGI transport (no sockets). Starlette's TestClient is not
used: it warns about httpx 0.28, and warnings are errors here. A blocking portal lets
ordinary synchronous tests drive the async transport.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import anyio.from_thread
import httpx
import pytest
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

from tenantsync.console import create_app
from tenantsync.console.ratelimit import SignInLimiter
from tenantsync.engine.registry import Registry
from tenantsync.settings import Settings
from tenantsync.store.accounts import issue_token
from tenantsync.store.database import Database
from tenantsync.store.models import ConsoleAccount, Role
from tests.support.console import EMAILS, PASSWORD, console_registry, seed_accounts

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class PortalTransport(httpx.BaseTransport):
    """A synchronous transport that hands each request to the ASGI app through a portal."""

    def __init__(self, app: FastAPI, portal: BlockingPortal, address: str) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=(address, 50123))
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )

        return self._portal.call(send)


class Client(httpx.Client):
    """A console visitor: keeps its cookies and knows the CSRF token of the last form."""

    csrf = ""

    def page(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET a page and remember the CSRF token it carries."""
        response = self.get(url, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def submit(self, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        """POST a form with the session's CSRF token."""
        if not self.csrf:
            self.page("/signin")
        return self.post(url, data={"csrf": self.csrf, **(data or {})})

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.page("/signin")
        response = self.submit("/signin", {"email": email, "password": password, "next": "/"})
        self.page("/")
        return response


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as p:
        yield p


@pytest.fixture
def limiter() -> SignInLimiter:
    return SignInLimiter()


@pytest.fixture
def registry() -> Registry:
    """The definition types the console knows (a module may override this)."""
    return console_registry()


@pytest.fixture
def app(settings: Settings, db: Database, limiter: SignInLimiter, registry: Registry) -> FastAPI:
    seed_accounts(db)
    return create_app(settings, db, registry=registry, limiter=limiter)


@pytest.fixture
def make_client(app: FastAPI, portal: BlockingPortal) -> Iterator[Any]:
    made: list[Client] = []

    def make(
        role: Role | None = None, *, base: str = "http://console.test", address: str = "192.0.2.10"
    ) -> Client:
        client = Client(
            transport=PortalTransport(app, portal, address), base_url=base, follow_redirects=False
        )
        made.append(client)
        if role is not None:
            response = client.sign_in(EMAILS[role])
            assert response.status_code == 303, response.text
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def root(make_client: Any) -> Client:
    client: Client = make_client(Role.SUPER_ADMIN)
    return client


@pytest.fixture
def tokens(db: Database) -> dict[Role, str]:
    """A bearer token for each role."""
    out: dict[Role, str] = {}
    with db.session() as session:
        for role, email in EMAILS.items():
            account = session.query(ConsoleAccount).filter_by(email=email).one()
            out[role] = issue_token(session, account, f"{role.value} token").value
    return out


@pytest.fixture
def api(make_client: Any, tokens: dict[Role, str]) -> Any:
    """An API client for a role (None: no token)."""

    def make(role: Role | None) -> Client:
        client: Client = make_client()
        if role is not None:
            client.headers["Authorization"] = f"Bearer {tokens[role]}"
        return client

    return make
