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
from tenantsync.console.ops.errors import FieldErrors, blame, plain
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
# Titles per error; the status is the error's own (errors.ERROR_TABLE), or the console's.
TITLES: list[tuple[type[TenantSyncError], str]] = [
    (NotSignedIn, "not signed in"),
    (CsrfRejected, "form rejected"),
    (TooManyAttempts, "too many attempts"),
    (PermissionDenied, "forbidden"),
    (NotFound, "not found"),
    (LastSuperAdmin, "conflict"),
    (ConfigError, "invalid input"),
    (GuardStop, "needs confirmation"),
    (SourceError, "source directory error"),
    (StoreError, "store unavailable"),
]
CONSOLE_STATUS: dict[type[TenantSyncError], int] = {
    NotSignedIn: 401,
    CsrfRejected: 403,
    TooManyAttempts: 429,
    LastSuperAdmin: 409,
}


def status_of(exc: TenantSyncError) -> tuple[int, str]:
    """The HTTP status and title for one of our exceptions."""
    title = next((t for cls, t in TITLES if isinstance(exc, cls)), "request refused")
    status = next(
        (code for cls, code in CONSOLE_STATUS.items() if isinstance(exc, cls)), exc.http_status
    )
    return status, title


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
        errors: dict[str, str] = {}
        for e in exc.errors():
            field, message = blame(plain(e))
            # A rule over several fields (a model's own check) goes to the field it blames.
            errors[field[0] if field else ".".join(str(p) for p in e["loc"])] = message
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
