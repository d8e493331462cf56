"""Who the client is behind a reverse proxy: forwarded headers count only from trusted proxies.

Without ``TENANTSYNC_TRUSTED_PROXIES`` the direct peer is the client, whatever the request's
headers say: otherwise a client could name a new address in X-Forwarded-For on every sign-in
attempt and never meet the per-address limit, and the audit log would record whatever it
wrote. When the peer is a trusted proxy, the client is the right-most X-Forwarded-For address
that is not a trusted proxy itself (each proxy appends the address it saw, so everything to
the left of that one was written by the client), and X-Forwarded-Proto gives the scheme (for
Secure cookies and HSTS behind a proxy that ends TLS).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.types import ASGIApp, Receive, Scope, Send

Network = IPv4Network | IPv6Network
SCHEMES = {"http", "https"}


def _address(entry: str) -> str | None:
    """The IP address of one X-Forwarded-For entry (a port or IPv6 brackets dropped)."""
    text = entry.strip()
    candidates = [text]
    if text.startswith("["):
        candidates.append(text[1:].partition("]")[0])
    elif text.count(":") == 1:
        candidates.append(text.partition(":")[0])
    for candidate in candidates:
        try:
            return str(ip_address(candidate))
        except ValueError:
            continue
    return None


class TrustedProxies:
    """The networks whose X-Forwarded-For and X-Forwarded-Proto headers are believed."""

    def __init__(self, networks: Iterable[Network]) -> None:
        self.networks = tuple(networks)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        parsed = _address(address)
        if parsed is None:
            return False
        ip = ip_address(parsed)
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address for a request from ``peer`` with this X-Forwarded-For."""
        if not self.trusts(peer):
            return peer
        hop = peer
        for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
            address = _address(entry)
            if address is None:
                return hop  # unreadable: the last address a trusted proxy vouched for
            hop = address
            if not self.trusts(hop):
                return hop
        return hop  # every hop is a trusted proxy: the left-most one is the client


class ForwardedHeaders:
    """ASGI middleware: the client address and scheme from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if (
            scope["type"] in ("http", "websocket")
            and client
            and self.proxies.networks
            and self.proxies.trusts(client[0])
        ):
            scope = self._rewritten(scope, client[0])
        await self.app(scope, receive, send)

    def _rewritten(self, scope: Scope, peer: str) -> Scope:
        forwarded_for: list[str] = []
        proto = ""
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded_for.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
        scope = dict(scope)
        if forwarded_for:
            scope["client"] = (self.proxies.client(peer, ",".join(forwarded_for)), 0)
        if proto in SCHEMES and scope["type"] == "http":
            scope["scheme"] = proto
        return scope
