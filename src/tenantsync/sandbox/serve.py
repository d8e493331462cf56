"""Serving the sandbox over HTTPS: uvicorn in a background thread on a free loopback port."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from tenantsync.sandbox.admin_routes import ADMIN_KEY_HEADER
from tenantsync.sandbox.app import sandbox_of
from tenantsync.sandbox.tenant import SandboxTenant
from tenantsync.sandbox.tls import ensure_certificates

START_TIMEOUT = 15.0
STOP_GRACE = 0.3


class ServedSandbox:
    """A sandbox app answering over HTTPS; use as a context manager (or call `stop`).

    URLs follow the connection vocabulary: `authority_host`, `graph_url` and
    `exchange_url` are hosts (Graph v1.0 lives under `/v1.0`, the Exchange admin API
    under `/adminapi/beta/{tenant}`); `authority` is `authority_host/{tenant_id}` as MSAL
    takes it. Clients verify TLS with `ca_file`.
    """

    def __init__(
        self,
        app: Starlette,
        *,
        data_dir: Path | str,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = app
        self.host = host
        names = [host] if host in ("127.0.0.1", "localhost") else [host, "127.0.0.1"]
        files = ensure_certificates(data_dir, [*names, "localhost"])
        self.ca_file = files.ca_file
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            ssl_certfile=str(files.cert_file),
            ssl_keyfile=str(files.key_file),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> ServedSandbox:
        """Start answering; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._sock.close()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread.

        Idle keep-alive TLS connections held by clients would hold a graceful shutdown
        up, so after a short grace period the server is told to quit regardless.
        """
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_GRACE)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> ServedSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- what clients need -------------------------------------------------------------
    @property
    def tenant(self) -> SandboxTenant:
        """The first (usually only) tenant served."""
        return next(iter(sandbox_of(self.app).tenants.values()))

    @property
    def base_url(self) -> str:
        """`https://HOST:PORT` (the authority host, Graph host and Exchange host at once)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def authority(self) -> str:
        """MSAL's authority for the tenant: `https://HOST:PORT/{tenant_id}`."""
        return f"{self.base_url}/{self.tenant.tenant_id}"

    @property
    def token_url(self) -> str:
        """The tenant's OAuth2 v2.0 token endpoint."""
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def graph_v1_url(self) -> str:
        """Graph's v1.0 base URL (what msgraph-sdk takes as base_url)."""
        return f"{self.base_url}/v1.0"

    @property
    def exchange_invoke_url(self) -> str:
        """The tenant's Exchange admin InvokeCommand URL."""
        return f"{self.base_url}/adminapi/beta/{self.tenant.tenant_id}/InvokeCommand"

    @property
    def admin_key(self) -> str:
        """The key the sandbox-admin change API wants in `X-Sandbox-Admin-Key`."""
        return sandbox_of(self.app).options.admin_key

    def credentials(self) -> dict[str, str]:
        """Everything a client or script needs, as written to the credentials file."""
        tenant = self.tenant
        return {
            "tenant_id": tenant.tenant_id,
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "authority_host": self.base_url,
            "authority": self.authority,
            "token_url": self.token_url,
            "graph_url": self.base_url,
            "graph_v1_url": self.graph_v1_url,
            "exchange_url": self.base_url,
            "exchange_invoke_url": self.exchange_invoke_url,
            "ca_file": str(self.ca_file),
            "admin_url": f"{self.base_url}/sandbox-admin/{tenant.tenant_id}",
            "admin_key": self.admin_key,
        }

    def write_credentials(self, path: Path | str) -> Path:
        """Write `credentials()` as JSON (mode 0600) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.touch(mode=0o600, exist_ok=True)
        partial.write_text(json.dumps(self.credentials(), indent=2) + "\n")
        partial.replace(target)  # readers never see half a file
        return target

    def change(self, op: str, **args: Any) -> dict[str, Any]:
        """Apply one change through the sandbox-admin API (safe while serving)."""
        return post_change(
            f"{self.base_url}/sandbox-admin/{self.tenant.tenant_id}",
            self.admin_key,
            str(self.ca_file),
            op,
            args,
        )


def post_change(
    admin_url: str, admin_key: str, ca_file: str, op: str, args: dict[str, Any]
) -> dict[str, Any]:
    """POST one change to a sandbox-admin URL; raises ValueError with the sandbox's reason."""
    response = httpx.post(
        f"{admin_url}/changes",
        json={"op": op, "args": args},
        headers={ADMIN_KEY_HEADER: admin_key},
        verify=ssl.create_default_context(cafile=ca_file),
        timeout=30,
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200:
        raise ValueError(str(body.get("error", response.text)))
    result: dict[str, Any] = body["result"]
    return result


def serve_in_thread(
    app: Starlette, *, data_dir: Path | str, host: str = "127.0.0.1", port: int = 0
) -> ServedSandbox:
    """A not-yet-started HTTPS server for `app`; `with serve_in_thread(...) as served:`."""
    return ServedSandbox(app, data_dir=data_dir, host=host, port=port)
