"""Entra-shaped token endpoint (client credentials, secret or certificate assertion),
OpenID discovery documents and instance discovery, as MSAL reads them."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantsync.sandbox.entities import ClientApp
from tenantsync.sandbox.errors import TokenError
from tenantsync.sandbox.graph_auth import FaultRaised
from tenantsync.sandbox.service import Sandbox, dumps
from tenantsync.sandbox.tenant import SandboxTenant
from tenantsync.sandbox.tokens import DIRECTORY_ROLES, EXCHANGE_APP_ROLE, RESOURCES

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _host(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _tenant_or_error(sandbox: Sandbox, key: str) -> SandboxTenant:
    tenant = sandbox.tenant(key)
    if tenant is None:
        raise TokenError(
            400,
            "invalid_request",
            90002,
            f"Tenant '{key}' not found. Check to make sure you have the correct "
            f"tenant ID and are signing into the correct cloud.",
        )
    return tenant


async def openid_configuration(request: Request) -> Response:
    """GET /{tenant}/v2.0/.well-known/openid-configuration (and the v1 path)."""
    sandbox: Sandbox = request.app.state.sandbox
    tenant = _tenant_or_error(sandbox, request.path_params["tenant"])
    host, tid = _host(request), tenant.tenant_id
    doc = {
        "token_endpoint": f"{host}/{tid}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{host}/{tid}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{host}/{tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{host}/oidc/userinfo",
        "authorization_endpoint": f"{host}/{tid}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{host}/{tid}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{host}/{tid}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "roles"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    }
    return Response(dumps(doc), media_type="application/json")


async def instance_discovery(request: Request) -> Response:
    """GET /common/discovery/instance (for clients that point instance discovery here)."""
    host = request.url.netloc
    auth = request.query_params.get("authorization_endpoint", "")
    tenant = auth.split("/")[3] if auth.count("/") >= 4 else "common"
    doc = {
        "tenant_discovery_endpoint": f"{_host(request)}/{tenant}/v2.0/.well-known/"
        "openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
    return Response(dumps(doc), media_type="application/json")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_assertion(client: ClientApp, assertion: str, now: float) -> None:
    bad = TokenError(401, "invalid_client", 700027, "Client assertion failed signature validation.")
    if not client.certificate_pem:
        raise TokenError(
            401,
            "invalid_client",
            700027,
            f"Client assertion contains an invalid signature. [Reason - The key "
            f"was not found., Thumbprint of key used by client: 'unknown', "
            f"Found keys: none registered for app '{client.client_id}'.]",
        )
    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header = json.loads(_unb64(head_b64))
        claims = json.loads(_unb64(body_b64))
        cert = x509.load_pem_x509_certificate(client.certificate_pem.encode())
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise bad
        signed = f"{head_b64}.{body_b64}".encode()
        if header.get("alg") == "PS256":
            pad: padding.AsymmetricPadding = padding.PSS(
                mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size
            )
        else:
            pad = padding.PKCS1v15()
        key.verify(_unb64(sig_b64), signed, pad, hashes.SHA256())
    except (ValueError, InvalidSignature, json.JSONDecodeError):
        raise bad from None
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise bad
    if float(claims.get("exp", 0)) < now:
        raise TokenError(
            401, "invalid_client", 700024, "Client assertion is not within its valid time range."
        )


async def token(request: Request) -> Response:
    """POST /{tenant}/oauth2/v2.0/token (grant_type=client_credentials)."""
    sandbox: Sandbox = request.app.state.sandbox
    key = request.path_params["tenant"]
    answer = await sandbox.gate_or_fault(request, "token", None)
    if answer is not None:
        raise FaultRaised(answer, "token")
    tenant = _tenant_or_error(sandbox, key)
    form = await request.form()
    fields = {k: str(v) for k, v in form.items()}
    if fields.get("grant_type") != "client_credentials":
        raise TokenError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{fields.get('grant_type', '')}'.",
        )
    client = tenant.client(fields.get("client_id", ""))
    if client is None:
        raise TokenError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{fields.get('client_id', '')}' was not "
            f"found in the directory '{tenant.organization_name}'. This can happen "
            "if the application has not been installed by the administrator of "
            "the tenant or consented to by any user in the tenant.",
        )
    if fields.get("client_assertion_type") == ASSERTION_TYPE:
        _check_assertion(client, fields.get("client_assertion", ""), sandbox.now().timestamp())
    elif fields.get("client_secret") != client.client_secret:
        raise TokenError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the "
            "request is the client secret value, not the client secret ID, for a "
            f"secret added to app '{client.client_id}'.",
        )
    scope = fields.get("scope", "").strip()
    resource = scope.removesuffix("/.default").rstrip("/")
    if not scope.endswith("/.default") or " " in scope:
        raise TokenError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource "
            "identifier (application ID URI).",
        )
    audience = RESOURCES.get(resource)
    if audience is None:
        raise TokenError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant "
            f"named {tenant.organization_name}.",
        )
    roles = (
        sorted(client.graph_roles)
        if audience == "https://graph.microsoft.com"
        else ([EXCHANGE_APP_ROLE] if client.exchange_app_role else [])
    )
    wids = (
        [DIRECTORY_ROLES[client.exchange_directory_role]]
        if (client.exchange_directory_role in DIRECTORY_ROLES)
        else []
    )
    access, lifetime = sandbox.authority.issue(
        tenant_id=tenant.tenant_id,
        client_id=client.client_id,
        audience=audience,
        roles=roles,
        wids=wids,
        now=sandbox.now(),
        issuer_host=_host(request),
    )
    body = {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access,
    }
    return Response(
        dumps(body),
        media_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


def token_error_body(err: TokenError, now: str) -> dict[str, Any]:
    """The AADSTS error JSON."""
    trace = str(uuid.uuid4())
    return {
        "error": err.code,
        "error_description": f"AADSTS{err.aadsts}: {err.message} Trace ID: {trace} "
        f"Correlation ID: {trace} Timestamp: {now}",
        "error_codes": [err.aadsts],
        "timestamp": now,
        "trace_id": trace,
        "correlation_id": trace,
        "error_uri": f"https://login.microsoftonline.com/error?code={err.aadsts}",
    }


ROUTES = [
    Route("/common/discovery/instance", instance_discovery),
    Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
    Route("/{tenant}/.well-known/openid-configuration", openid_configuration),
    Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
]
