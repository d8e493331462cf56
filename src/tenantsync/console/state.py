"""What one console application holds: settings, store, key, registry, limiter, session codec."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from tenantsync.console.ratelimit import SignInLimiter
from tenantsync.console.sessions import SessionCodec
from tenantsync.engine.registry import Registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.secretbox import SecretBox


@dataclass
class ConsoleState:
    """The per-application objects every request handler reaches through ``request.app``."""

    settings: Settings
    db: Database
    box: SecretBox
    registry: Registry
    sessions: SessionCodec
    limiter: SignInLimiter


def state_of(request: Request) -> ConsoleState:
    """The console state of the application serving ``request``."""
    state: ConsoleState = request.app.state.console
    return state


def client_address(request: Request) -> str:
    """The client's address: the peer, or the client a trusted proxy named (see proxies)."""
    return request.client.host if request.client else "unknown"
