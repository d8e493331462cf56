"""The console application factory: no globals, everything hangs off ``app.state.console``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response

from tenantsync import __version__
from tenantsync.console import api, pages, problems
from tenantsync.console.pages.render import render_error
from tenantsync.console.proxies import ForwardedHeaders, TrustedProxies
from tenantsync.console.ratelimit import SignInLimiter
from tenantsync.console.sessions import SessionCodec, session_middleware
from tenantsync.console.state import ConsoleState
from tenantsync.engine.registry import Registry, default_registry
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.secretbox import SecretBox

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(
    settings: Settings,
    db: Database | None = None,
    *,
    registry: Registry | None = None,
    limiter: SignInLimiter | None = None,
) -> FastAPI:
    """The console for ``settings``: pages at /, the REST API at /api/v1."""
    database = db or Database.from_settings(settings)
    database.check_schema()
    box = SecretBox.from_key_file(settings.effective_key_file, create=True)
    state = ConsoleState(
        settings=settings,
        db=database,
        box=box,
        registry=registry or default_registry(),
        sessions=SessionCodec(_session_key(settings)),
        limiter=limiter or SignInLimiter(),
    )
    app = FastAPI(
        title="tenantsync",
        version=__version__,
        description="Admin console REST API of tenantsync. Authenticate with a bearer API token.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.console = state
    app.middleware("http")(session_middleware(state.sessions))
    app.middleware("http")(_security_headers)
    # Added last, so it runs first: every other layer sees the client a trusted proxy names.
    app.add_middleware(ForwardedHeaders, proxies=TrustedProxies(settings.trusted_proxies))
    problems.install(app, render_error)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _session_key(settings: Settings) -> bytes:
    """The session signing key: the setting, or one derived from the key file, so sessions
    survive a restart and work across console processes sharing the key file."""
    if settings.session_secret:
        return settings.session_secret.get_secret_value().encode()
    material = settings.effective_key_file.read_bytes()
    return hmac.new(material, b"tenantsync console sessions", hashlib.sha256).digest()


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
