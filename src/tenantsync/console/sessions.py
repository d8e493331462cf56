"""Signed session cookies: a small HMAC-signed JSON payload, HttpOnly and SameSite=Lax.

Every visitor gets a session (anonymous ones carry only the CSRF token); signing in
rotates the CSRF token and stores the account id, the account's session epoch (a session
from an older epoch, one signed in before a password change, has ended) and the id of the
session's row in the store (signing out ends the row, so a copy of the cookie stops working
in every console process). The cookie is Secure whenever the request arrived over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "tenantsync_session"
MAX_AGE_SECONDS = 12 * 3600


class SessionCodec:
    """Signs and verifies session payloads with a secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def dumps(self, payload: dict[str, Any]) -> str:
        """The cookie value for ``payload``."""
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
        return body.decode() + "." + self._sign(body)

    def loads(self, value: str) -> dict[str, Any] | None:
        """The payload of a cookie value, or None when forged, malformed or expired."""
        body, _, signature = value.encode().partition(b".")
        if not hmac.compare_digest(self._sign(body).encode(), signature):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body))
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        if time.time() - float(payload.get("iat", 0)) > MAX_AGE_SECONDS:
            return None
        return payload

    def _sign(self, body: bytes) -> str:
        digest = hmac.new(self._key, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_session() -> dict[str, Any]:
    """An anonymous session: a fresh CSRF token and no account."""
    return {"csrf": secrets.token_urlsafe(24), "iat": time.time()}


def session_of(request: Request) -> dict[str, Any]:
    """The session of this request (set up by the middleware)."""
    session: dict[str, Any] = request.state.session
    return session


def mark_dirty(request: Request) -> None:
    """Ask the middleware to write the session cookie back."""
    request.state.session_dirty = True


def sign_in_session(request: Request, account_id: int, epoch: int, session_id: str) -> None:
    """Bind the session to an account, its session epoch and the stored session
    ``session_id``, with a new CSRF token (no session fixation)."""
    session = new_session()
    session["aid"] = account_id
    session["epoch"] = epoch
    session["sid"] = session_id
    request.state.session = session
    mark_dirty(request)


def stored_session_id(request: Request) -> str | None:
    """The id of the stored session this cookie names, if it names one."""
    value = session_of(request).get("sid")
    return value if isinstance(value, str) and value else None


def sign_out_session(request: Request) -> None:
    """Forget the account in the cookie: a fresh anonymous session."""
    request.state.session = new_session()
    mark_dirty(request)


def set_flash(request: Request, text: str) -> None:
    """A one-line notice shown on the next page."""
    session_of(request)["flash"] = text
    mark_dirty(request)


def pop_flash(request: Request) -> str | None:
    """The notice for this page, removed from the session."""
    session = session_of(request)
    text = session.pop("flash", None)
    if text is not None:
        mark_dirty(request)
    return str(text) if text is not None else None


Endpoint = Callable[[Request], Awaitable[Response]]


def session_middleware(codec: SessionCodec) -> Callable[[Request, Endpoint], Awaitable[Response]]:
    """HTTP middleware loading the session before and writing it after each page request."""

    async def middleware(request: Request, call_next: Endpoint) -> Response:
        raw = request.cookies.get(COOKIE)
        payload = codec.loads(raw) if raw else None
        request.state.session = payload if payload is not None else new_session()
        request.state.session_dirty = payload is None and not request.url.path.startswith("/api/")
        response = await call_next(request)
        if request.state.session_dirty:
            response.set_cookie(
                COOKIE,
                codec.dumps(request.state.session),
                max_age=MAX_AGE_SECONDS,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    return middleware
