"""POST /adminapi/beta/{tenant}/InvokeCommand: the CmdletInput envelope, app-only auth
with the 401/403 role split, paging by re-POSTing to @odata.nextLink, and errors with
the real text in innererror.internalexception."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantsync.sandbox import exchange_render as render
from tenantsync.sandbox.errors import ExchangeAuthError, ExchangeError, GraphError
from tenantsync.sandbox.exchange_cmdlets import CMDLET_NAMES, invoke, server_name
from tenantsync.sandbox.graph_auth import FaultRaised
from tenantsync.sandbox.odata import _MAXPAGE
from tenantsync.sandbox.service import Sandbox, dumps
from tenantsync.sandbox.tokens import EXCHANGE_APP_ROLE, EXCHANGE_AUDIENCE, TokenInvalid

EXPIRED_PAGING = "Expired or Invalid pagination request. Default Expiry time is 00:30:00"
EXO_WWW_AUTHENTICATE = (
    'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
    'trusted_issuers="00000001-0000-0000-c000-000000000000@*", '
    'token_types="app_asserted_user_v1 service_asserted_app_v1", '
    'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'error="invalid_token"'
)
REASONS = {
    "missing": "The token is missing.",
    "malformed": "The token is malformed.",
    "signature": "The token signature is invalid.",
    "expired": "The token has expired.",
    "audience": "The audience claim value is invalid.",
    "tenant": "The token's tenant does not match the tenant in the request URL.",
    "role": f"The token does not contain the {EXCHANGE_APP_ROLE} role.",
}


def _unauthorized(reason: str) -> ExchangeAuthError:
    return ExchangeAuthError(401, "invalid_token", REASONS[reason])


def error_body(err: ExchangeError) -> dict[str, Any]:
    """Exchange's 'Invalid Operation' error with the real text in the inner exception."""
    return {
        "error": {
            "code": err.code,
            "message": "Invalid Operation",
            "details": [
                {
                    "code": "Context",
                    "target": "",
                    "message": f"Ex6F9304|{err.exception_type}|{err.message}",
                }
            ],
            "innererror": {
                "message": err.message,
                "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                "stacktrace": "",
                "internalexception": {
                    "message": err.message,
                    "type": err.exception_type,
                    "stacktrace": "",
                },
            },
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
    }


def auth_response(err: ExchangeAuthError, client_id: str = "") -> Response:
    """401: empty body with the Bearer challenge; 403: the role-not-supported error."""
    if err.status == 401:
        return Response(
            b"",
            401,
            {
                "WWW-Authenticate": EXO_WWW_AUTHENTICATE,
                "x-ms-diagnostics": (
                    f'2000001;reason="{err.message}";error_category="invalid_token"'
                ),
            },
        )
    body = error_body(
        ExchangeError(
            403,
            "Microsoft.Exchange.Security.Authorization.UnauthorizedAccessException",
            err.message,
        )
    )
    return Response(dumps(body), 403, media_type="application/json; charset=utf-8")


async def invoke_command(request: Request) -> Response:
    """POST /adminapi/beta/{tenant}/InvokeCommand."""
    sandbox: Sandbox = request.app.state.sandbox
    key = request.path_params["tenant"]
    tenant = sandbox.tenant(key)
    raw = await request.body()
    try:
        envelope = json.loads(raw)
        cmd = envelope["CmdletInput"]
        name = str(cmd["CmdletName"])
        params: dict[str, Any] = cmd.get("Parameters") or {}
        if not isinstance(params, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ExchangeError(
            400,
            "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            'The request body must be {"CmdletInput": {"CmdletName": …, "Parameters": {…}}}.',
        ) from None
    family = "exchange." + CMDLET_NAMES.get(name.lower(), name)
    answer = await sandbox.gate_or_fault(request, family, tenant.tenant_id if tenant else None)
    if answer is not None:
        raise FaultRaised(answer, family)
    try:
        claims = sandbox.authority.check(request.headers.get("authorization"), now=sandbox.now())
    except TokenInvalid as exc:
        raise _unauthorized(exc.reason) from None
    if claims.audience != EXCHANGE_AUDIENCE:
        raise _unauthorized("audience")
    if tenant is None or tenant.tenant_id != claims.tenant_id:
        raise _unauthorized("tenant")
    if EXCHANGE_APP_ROLE not in claims.roles:
        raise _unauthorized("role")
    if not claims.wids:
        raise ExchangeAuthError(
            403,
            "Forbidden",
            f"The role assigned to application "
            f"{claims.client_id} isn't supported in this scenario. Please "
            "check online documentation for assigning correct Directory "
            "Roles to Azure AD Application for EXO App-Only Authentication.",
        )
    rows, warnings = invoke(tenant, name, params)
    match = _MAXPAGE.search(request.headers.get("prefer", ""))
    cap = sandbox.options.exchange_page_size
    size = min(int(match.group(1)), cap) if match else cap
    digest = hashlib.sha256(raw).hexdigest()[:16]
    offset = 0
    state: dict[str, Any] = {}
    token = request.query_params.get("$skiptoken")
    now = sandbox.now().timestamp()
    if token:
        try:
            state = sandbox.codec.decode(token, kind="exo")
        except GraphError:
            state = {}
        if state.get("h") != digest or now - float(state.get("iat", 0)) > (
            sandbox.options.exchange_pagination_ttl
        ):
            raise ExchangeError(
                400, "Microsoft.Exchange.Admin.OData.Core.ODataServiceException", EXPIRED_PAGING
            )
        offset = int(state["o"])
    base = f"{str(request.base_url).rstrip('/')}/adminapi/beta/{key}"
    body: dict[str, Any] = {
        "@odata.context": f"{base}/$metadata#Collection(Exchange.GenericHashTable)",
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": warnings,
        "value": _selected(
            _serialized(name, list(rows[offset : offset + size]), sandbox),
            request.query_params.get("$select"),
        ),
    }
    if offset + size < len(rows):
        first_iat = float(state["iat"]) if token else now
        nxt = sandbox.codec.encode({"k": "exo", "h": digest, "o": offset + size, "iat": first_iat})
        body["@odata.nextLink"] = f"{base}/InvokeCommand?%24skiptoken={nxt}"
    return Response(
        dumps(body),
        media_type="application/json;odata.metadata=minimal;"
        "odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        headers={"Rate-Limit-Limit": "30000", "X-Server": server_name(tenant)},
    )


ROUTES = [
    Route("/adminapi/beta/{tenant}/InvokeCommand", invoke_command, methods=["POST"]),
    Route("/adminapi/v1.0/{tenant}/InvokeCommand", invoke_command, methods=["POST"]),
]


def _serialized(cmdlet: str, rows: list[dict[str, Any]], sandbox: Sandbox) -> list[dict[str, Any]]:
    """Rows as the configured serialization renders them."""
    if not sandbox.options.numeric_enums:
        return rows
    return [render.numeric_enums(cmdlet, row) for row in rows]


def _selected(rows: list[dict[str, Any]], select: str | None) -> list[dict[str, Any]]:
    """The properties ``$select`` names (with their ``@odata`` annotations); all without it."""
    if not select:
        return rows
    keep = {s.strip() for s in select.split(",")}
    return [{k: v for k, v in r.items() if k.split("@")[0] in keep} for r in rows]
