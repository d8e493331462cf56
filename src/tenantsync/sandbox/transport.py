"""In-process access to the sandbox app through httpx (fast, no sockets, no TLS)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette


class SandboxTransport(httpx.ASGITransport):
    """`httpx.ASGITransport` whose injected connection resets surface as `httpx.ReadError`,
    as they do over a real socket."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve the request in-process; a reset fault raises `httpx.ReadError`."""
        try:
            return await super().handle_async_request(request)
        except ConnectionResetError as exc:
            raise httpx.ReadError(str(exc), request=request) from exc


def asgi_transport(app: Starlette) -> SandboxTransport:
    """A transport for `httpx.AsyncClient(transport=..., base_url="https://sandbox")`."""
    return SandboxTransport(app=app)
