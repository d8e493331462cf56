"""Our exceptions as HTTP answers: problem+json under /api, an HTML page elsewhere."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from tenantsync.console.auth import CsrfRejected, NotSignedIn, TooManyAttempts
from tenantsync.console.ops.accounts import LastSuperAdmin
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.errors import (
    ConfigError,
    GuardStop,
    NotFound,
    PermissionDenied,
    SourceError,
    StoreError,
    TenantSyncError,
)

PROBLEM = "application/problem+json"
STATUS: list[tuple[type[TenantSyncError], int, str]] = [
    (NotSignedIn, 401, "not signed in"),
    (CsrfRejected, 403, "form rejected"),
    (TooManyAttempts, 429, "too many attempts"),
    (PermissionDenied, 403, "forbidden"),
    (NotFound, 404, "not found"),
    (LastSuperAdmin, 409, "conflict"),
    (ConfigError, 422, "invalid input"),
    (GuardStop, 409, "needs confirmation"),
    (SourceError, 502, "source directory error"),
    (StoreError, 503, "store unavailable"),
    (TenantSyncError, 400, "request refused"),
]


def status_of(exc: TenantSyncError) -> tuple[int, str]:
    """The HTTP status and title for one of our exceptions."""
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            return status, title
    return 400, "request refused"


def is_api(request: Request) -> bool:
    """Whether the request is for the REST API (answered with problem+json)."""
    return request.url.path.startswith("/api/")


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response (RFC 9457)."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install(app: FastAPI, render_error: Any) -> None:
    """Register the handlers that turn our exceptions into answers."""

    async def on_ours(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TenantSyncError)
        status, title = status_of(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after)
        if is_api(request):
            extra: dict[str, Any] = {}
            if isinstance(exc, FieldErrors):
                extra["errors"] = exc.errors
            elif isinstance(exc, ConfigError) and exc.field:
                extra["errors"] = {exc.field: str(exc)}
            response: Response = problem(status, title, str(exc), **extra)
            if isinstance(exc, NotSignedIn):
                headers["WWW-Authenticate"] = "Bearer"
        elif isinstance(exc, NotSignedIn):
            return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
        else:
            response = render_error(request, status, title, str(exc))
        response.headers.update(headers)
        return response

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = {".".join(str(p) for p in e["loc"]): str(e["msg"]) for e in exc.errors()}
        detail = "; ".join(f"{k}: {v}" for k, v in errors.items())
        if is_api(request):
            return problem(422, "invalid input", detail, errors=errors)
        return render_error(request, 422, "invalid input", detail)  # type: ignore[no-any-return]

    async def on_integrity(request: Request, exc: Exception) -> Response:
        detail = "the change conflicts with an existing object (a name or address is taken)"
        if is_api(request):
            return problem(409, "conflict", detail)
        return render_error(request, 409, "conflict", detail)  # type: ignore[no-any-return]

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if is_api(request):
            return problem(exc.status_code, str(exc.detail), str(exc.detail))
        return render_error(request, exc.status_code, str(exc.detail), "")  # type: ignore[no-any-return]

    app.add_exception_handler(TenantSyncError, on_ours)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(HTTPException, on_http)
