"""The sandbox tenant: a local emulator of Microsoft Graph v1.0, the Exchange Online admin
API (InvokeCommand) and the Entra token endpoint, over a generated organization.

Public API::

    tenant = generate_tenant(mailboxes=200, seed=7)         # deterministic from the seed
    app = create_app(tenant, latency=0)                      # ASGI app (Starlette)

    # in-process, async, no TLS (fastest; for connector tests):
    async with httpx.AsyncClient(transport=asgi_transport(app),
                                 base_url="https://sandbox") as client: ...

    # over HTTPS on loopback (MSAL, msgraph-sdk, subprocesses):
    with serve_in_thread(app, data_dir=tmp_path) as served:
        served.authority       # https://127.0.0.1:PORT/{tenant_id}  (MSAL authority)
        served.base_url        # authority_host = graph_url = exchange_url of a connection
        served.ca_file         # CA bundle to verify TLS with (created on first start)
        served.credentials()   # tenant_id, client_id, client_secret, urls, ca_file, ...
        served.change("add_user", display_name="Ada Lovelace")   # sandbox-admin API

Credentials: `tenant.tenant_id`, `tenant.client_id`, `tenant.client_secret` (generated
from the seed), or given to `create_app(tenant, tenant_id=..., client_id=...,
client_secret=...)`. Other app registrations in `tenant.clients` lack a role each
(no Exchange.ManageAsApp, no Exchange directory role, directory-only Graph roles) for
testing 401/403 answers. Changes: `SandboxTenant` methods (see `CHANGE_OPS`), or over
HTTP: `POST /sandbox-admin/{tenant}/changes` with `X-Sandbox-Admin-Key`.
Faults: `create_app(..., faults="graph.users:429@0.5/retry-after=1.5;exchange:503@0.1",
rate_limit=50)`; spec grammar in `tenantsync.sandbox.faults`.
"""

from tenantsync.sandbox.admin_routes import ADMIN_KEY_HEADER, CHANGE_OPS, apply_change
from tenantsync.sandbox.app import create_app, sandbox_of, set_credentials
from tenantsync.sandbox.errors import ChangeError
from tenantsync.sandbox.faults import SpecError, parse_faults, parse_latency
from tenantsync.sandbox.generator import generate_tenant
from tenantsync.sandbox.serve import ServedSandbox, post_change, serve_in_thread
from tenantsync.sandbox.service import Sandbox, SandboxOptions
from tenantsync.sandbox.tenant import SandboxTenant
from tenantsync.sandbox.tls import ensure_certificates
from tenantsync.sandbox.transport import SandboxTransport, asgi_transport

__all__ = [
    "ADMIN_KEY_HEADER",
    "CHANGE_OPS",
    "ChangeError",
    "Sandbox",
    "SandboxOptions",
    "SandboxTenant",
    "SandboxTransport",
    "ServedSandbox",
    "SpecError",
    "apply_change",
    "asgi_transport",
    "create_app",
    "ensure_certificates",
    "generate_tenant",
    "parse_faults",
    "parse_latency",
    "post_change",
    "sandbox_of",
    "serve_in_thread",
    "set_credentials",
]
