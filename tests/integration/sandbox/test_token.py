"""The token endpoint and bearer checks answer as Entra ID and Graph/Exchange do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msal
import pytest

from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    asgi_transport,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tests.integration.sandbox.conftest import EXCHANGE, GRAPH, bearer, verified_session

pytestmark = pytest.mark.anyio


def _msal_app(served: ServedSandbox, secret: str) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        served.tenant.client_id,
        client_credential=secret,
        authority=served.authority,
        http_client=verified_session(served.ca_file),
        instance_discovery=False,
    )


def test_msal_acquires_graph_and_exchange_tokens_over_https(served: ServedSandbox) -> None:
    app = _msal_app(served, served.tenant.client_secret)
    for scope in (GRAPH, EXCHANGE):
        result = app.acquire_token_for_client(scopes=[scope])
        assert result.get("token_type") == "Bearer", result
        assert result["expires_in"] == 3599
        assert result["access_token"].count(".") == 2


def test_msal_reports_a_wrong_secret_with_entra_error_codes(served: ServedSandbox) -> None:
    result = _msal_app(served, "not-the-secret").acquire_token_for_client(scopes=[GRAPH])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret")


async def test_wrong_secret_is_401_invalid_client(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    response = await client.post(
        f"/{tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": "wrong",
            "scope": GRAPH,
        },
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_uri"] == "https://login.microsoftonline.com/error?code=7000215"
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()


async def test_unknown_tenant_is_400_with_aadsts90002(client: httpx.AsyncClient) -> None:
    unknown = "00000000-1111-2222-3333-444444444444"
    response = await client.post(
        f"/{unknown}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "x", "scope": GRAPH},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["error_codes"] == [90002]
    assert f"Tenant '{unknown}' not found" in body["error_description"]
    discovery = await client.get(f"/{unknown}/v2.0/.well-known/openid-configuration")
    assert discovery.status_code == 400


async def test_unknown_app_and_bad_scope_are_refused(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    form = {"grant_type": "client_credentials", "client_secret": tenant.client_secret}
    unknown_app = await client.post(
        f"/{tenant.tenant_id}/oauth2/v2.0/token",
        data={**form, "client_id": "11111111-2222-3333-4444-555555555555", "scope": GRAPH},
    )
    assert unknown_app.status_code == 400
    assert unknown_app.json()["error_codes"] == [700016]
    bad_scope = await client.post(
        f"/{tenant.tenant_id}/oauth2/v2.0/token",
        data={**form, "client_id": tenant.client_id, "scope": "User.Read.All"},
    )
    assert bad_scope.status_code == 400
    assert bad_scope.json()["error"] == "invalid_scope"


async def test_the_tenant_can_be_named_by_its_initial_domain(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    response = await client.post(
        f"/{tenant.initial_domain}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "scope": GRAPH,
        },
    )
    assert response.status_code == 200


async def test_missing_and_malformed_tokens_get_graphs_401(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1.0/users")
    assert missing.status_code == 401
    error = missing.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token is empty."
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    forged = await client.get("/v1.0/users", headers={"Authorization": "Bearer abc"})
    assert forged.status_code == 401


async def test_an_expired_token_is_refused_by_graph_and_exchange() -> None:
    tenant = generate_tenant(30, seed=5)
    now = [datetime(2026, 1, 5, 9, 0, tzinfo=UTC)]
    app = create_app(tenant, latency=0, clock=lambda: now[0])
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://s") as http:
        graph = await bearer(http, tenant, GRAPH)
        exo = await bearer(http, tenant, EXCHANGE)
        assert (await http.get("/v1.0/users", headers=graph)).status_code == 200
        now[0] += timedelta(seconds=3600)
        expired = await http.get("/v1.0/users", headers=graph)
        assert expired.status_code == 401
        assert "expired" in expired.json()["error"]["message"]
        invoke = await http.post(
            f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
            json={"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}},
            headers=exo,
        )
        assert invoke.status_code == 401
        assert "The token has expired." in invoke.headers["x-ms-diagnostics"]


async def test_a_graph_token_is_not_accepted_by_exchange(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    graph = await bearer(client, tenant, GRAPH)
    response = await client.post(
        f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}},
        headers=graph,
    )
    assert response.status_code == 401


async def test_an_app_without_graph_roles_gets_403(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    directory_only = await bearer(client, tenant, GRAPH, app_index=3)
    response = await client.get(
        f"/v1.0/users/{tenant.user_ids[0]}/mailboxSettings", headers=directory_only
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorAccessDenied"


def test_given_credentials_replace_the_generated_ones() -> None:
    tenant = generate_tenant(20, seed=2)
    tid, cid = "6f3c5b1e-0d6a-4f0b-9c53-2f1f8f0e9a11", "0c9a7e55-6c1b-4a43-9d0a-7c2c6a1b3e01"
    create_app(tenant, tenant_id=tid, client_id=cid, client_secret="s3cret", latency=0)
    assert (tenant.tenant_id, tenant.client_id, tenant.client_secret) == (tid, cid, "s3cret")


def _self_signed() -> tuple[str, str, str]:
    """(private key PEM, certificate PEM, SHA-1 thumbprint) of a fresh RSA certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenantsync test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex()


def test_msal_signs_in_with_a_certificate_and_a_foreign_one_is_refused(tmp_path: Path) -> None:
    key_pem, cert_pem, thumbprint = _self_signed()
    other_key, _, other_thumbprint = _self_signed()
    tenant = generate_tenant(20, seed=8)
    app = create_app(tenant, latency=0, client_certificate=cert_pem)
    with serve_in_thread(app, data_dir=tmp_path) as served:

        def acquire(private_key: str, print_: str) -> dict[str, object]:
            client = msal.ConfidentialClientApplication(
                tenant.client_id,
                client_credential={"private_key": private_key, "thumbprint": print_},
                authority=served.authority,
                http_client=verified_session(served.ca_file),
                instance_discovery=False,
            )
            result: dict[str, object] = client.acquire_token_for_client(scopes=[GRAPH])
            return result

        assert "access_token" in acquire(key_pem, thumbprint)
        refused = acquire(other_key, other_thumbprint)
        assert refused["error"] == "invalid_client"
        assert refused["error_codes"] == [700027]
