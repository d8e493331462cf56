"""The sandbox ASGI app: every route family behind one Starlette app, errors rendered
in each family's own wire format."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from tenantsync.sandbox import (
    admin_routes,
    ems,
    exchange_routes,
    graph_batch,
    graph_calendar,
    graph_delta,
    graph_routes,
    token_routes,
)
from tenantsync.sandbox.errors import ExchangeAuthError, ExchangeError, GraphError, TokenError
from tenantsync.sandbox.faults import Gate, parse_faults, parse_latency
from tenantsync.sandbox.graph_auth import FaultRaised
from tenantsync.sandbox.outlook_limits import OutlookLimitsMiddleware
from tenantsync.sandbox.service import (
    AnswerFaults,
    Sandbox,
    SandboxOptions,
    dumps,
    inner_error,
    json_response,
)
from tenantsync.sandbox.tenant import SandboxTenant

Latency = str | float | Mapping[str, float] | None


def create_app(
    tenant: SandboxTenant | Iterable[SandboxTenant],
    *,
    tenant_id: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    client_certificate: str | None = None,
    latency: Latency = None,
    faults: str | None = None,
    rate_limit: float | None = None,
    fault_seed: int = 0,
    options: SandboxOptions | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The sandbox as an ASGI app serving one tenant (or several).

    `tenant_id`, `client_id`, `client_secret` replace the generated credentials of a
    single tenant (its default app registration); `client_certificate` (PEM, RSA) lets
    that app also sign in with a certificate assertion. `latency` is seconds for every family,
    a `SCOPE=SECONDS,…` spec or a mapping (None: Microsoft-like defaults, ~0.5 s per
    Exchange cmdlet); `faults` is a fault spec (see `tenantsync.sandbox.faults`);
    `rate_limit` is requests per second per tenant, beyond which calls get 429.
    The shared state is `app.state.sandbox` (a `Sandbox`).
    """
    tenants = [tenant] if isinstance(tenant, SandboxTenant) else list(tenant)
    if not tenants:
        raise ValueError("create_app needs at least one tenant")
    if tenant_id or client_id or client_secret or client_certificate:
        if len(tenants) != 1:
            raise ValueError("credentials can only be given for a single tenant")
        set_credentials(tenants[0], tenant_id, client_id, client_secret, client_certificate)
    gate = Gate(
        latency=parse_latency(latency),
        rules=parse_faults(faults),
        rate_limit=rate_limit,
        seed=fault_seed,
    )
    sandbox = Sandbox(tenants, gate=gate, options=options or SandboxOptions(), clock=clock)
    routes = [
        *admin_routes.ROUTES,
        *graph_batch.ROUTES,
        *graph_delta.ROUTES,
        *graph_calendar.ROUTES,
        *graph_routes.ROUTES,
        *graph_routes.ITEM_ROUTES,
        *exchange_routes.ROUTES,
        *ems.ROUTES,
        *token_routes.ROUTES,
    ]
    handlers: Mapping[Any, Callable[[Request, Exception], Any]] = {
        GraphError: _graph_error,
        TokenError: _token_error,
        ExchangeError: _exchange_error,
        ExchangeAuthError: _exchange_auth_error,
        FaultRaised: _fault,
    }
    app = Starlette(
        routes=routes,
        exception_handlers=dict(handlers),
        middleware=[
            Middleware(AnswerFaults),
            Middleware(OutlookLimitsMiddleware, limits=sandbox.outlook),
        ],
    )
    app.state.sandbox = sandbox
    app.state.ems = ems.EmsHost()
    return app


def set_credentials(
    tenant: SandboxTenant,
    tenant_id: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    client_certificate: str | None = None,
) -> None:
    """Replace a tenant's id and its default app registration's id, secret, certificate."""
    if tenant_id:
        tenant.tenant_id = str(uuid.UUID(tenant_id))
    client = tenant.default_client
    if client_id:
        client.client_id = client_id
    if client_secret:
        client.client_secret = client_secret
    if client_certificate:
        client.certificate_pem = client_certificate


def sandbox_of(app: Starlette) -> Sandbox:
    """The shared state behind an app made by `create_app`."""
    sandbox: Sandbox = app.state.sandbox
    return sandbox


def _now(request: Request) -> datetime:
    return sandbox_of(request.app).now()


async def _graph_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GraphError)
    body = {
        "error": {
            "code": exc.code,
            "message": exc.message,
            "innerError": inner_error(request, _now(request)),
        }
    }
    return json_response(body, exc.status, exc.headers)


async def _token_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TokenError)
    stamp = _now(request).strftime("%Y-%m-%d %H:%M:%SZ")
    body = token_routes.token_error_body(exc, stamp)
    return Response(
        dumps(body),
        exc.status,
        {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        media_type="application/json; charset=utf-8",
    )


async def _exchange_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExchangeError)
    return Response(
        dumps(exchange_routes.error_body(exc)),
        exc.status,
        media_type="application/json; charset=utf-8",
    )


async def _exchange_auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExchangeAuthError)
    return exchange_routes.auth_response(exc)


async def _fault(request: Request, exc: Exception) -> Response:
    """429 / 503 in the family's format, with Retry-After when the rule gives one; 403 and
    404 as that family's refusal and not-found answers."""
    assert isinstance(exc, FaultRaised)
    answer, family = exc.answer, exc.family
    if answer.kind in ("403", "404"):
        return await _refusal(request, int(answer.kind), family)
    headers = {"Retry-After": answer.retry_after} if answer.retry_after is not None else {}
    status = 429 if answer.kind == "429" else 503
    now = _now(request)
    if family == "token":
        if status == 429:
            # Entra answers a throttled client-credentials request with a bare text body
            # (MSAL.NET: "could not be parsed ... ResponseBody: Too Many Requests").
            return Response(b"Too Many Requests", 429, headers, media_type="text/plain")
        err = TokenError(503, "temporarily_unavailable", 90033, "A transient error occurred.")
        body: dict[str, Any] = token_routes.token_error_body(
            err, now.strftime("%Y-%m-%d %H:%M:%SZ")
        )
        return Response(dumps(body), status, headers, media_type="application/json; charset=utf-8")
    inner = inner_error(request, now)
    if status == 429:
        body = {
            "error": {
                "code": "TooManyRequests",
                "message": "Please retry again later.",
                "innerError": {
                    "code": "429",
                    "date": inner["date"],
                    "message": "Please retry after",
                    "request-id": inner["request-id"],
                    "status": "429",
                },
            }
        }
    else:
        body = {
            "error": {
                "code": "serviceNotAvailable",
                "message": "The service is temporarily unavailable. Please retry later.",
                "innerError": inner,
            }
        }
    return json_response(body, status, headers, request_id=inner["request-id"])


# Outlook-backed Graph families answer with Exchange's codes, directory ones with Entra's.
_OUTLOOK = ("graph.mailboxSettings", "graph.calendar")


async def _refusal(request: Request, status: int, family: str) -> Response:
    """An injected 403 or 404, as the family would answer it for real."""
    if family == "token":
        err = TokenError(400, "invalid_request", 90002, "Tenant not found.")
        return await _token_error(request, err)
    if family.startswith("exchange."):
        cmdlet = family.split(".", 1)[1]
        if status == 403:
            return await _exchange_auth_error(
                request, ExchangeAuthError(403, "Forbidden", f"{cmdlet}: access is denied.")
            )
        return await _exchange_error(
            request,
            ExchangeError(
                404,
                "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                "The operation couldn't be performed because the object couldn't be found.",
            ),
        )
    outlook = family in _OUTLOOK
    if status == 403:
        code = "ErrorAccessDenied" if outlook else "Authorization_RequestDenied"
        message = "Access is denied. Check credentials and try again."
    else:
        code = "ErrorItemNotFound" if outlook else "Request_ResourceNotFound"
        message = "The specified object was not found in the store."
    return await _graph_error(request, GraphError(status, code, message))
