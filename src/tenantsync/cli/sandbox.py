"""`tenantsync sandbox …`: serve the sandbox tenant over HTTPS and change it while it runs."""

from __future__ import annotations

import gc
import inspect
import json
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import httpx
import typer
import yaml
from typer.core import TyperCommand

from tenantsync.cli.common import emit_json, load_settings, out
from tenantsync.errors import ConfigError, TenantSyncError

if TYPE_CHECKING:
    from tenantsync.sandbox import ServedSandbox

# The sandbox (uvicorn, cryptography, the generator) is imported inside the commands, so
# every other `tenantsync` command starts without paying for it.

app = typer.Typer(
    help="The sandbox tenant: a local emulator of Graph, Exchange Online and Entra ID.",
    no_args_is_help=True,
)

SECRET_FILE_NAME = "sandbox-client-secret"  # noqa: S105 (a file name, not a secret)


def _data_dir(given: Path | None) -> Path:
    return given if given is not None else load_settings().data_dir / "sandbox"


def connection_yaml(served: ServedSandbox, secret_file: Path) -> str:
    """A configuration document `tenantsync apply` accepts, pointing at this sandbox."""
    tenant = served.tenant
    doc = {
        "organizations": [
            {
                "name": tenant.organization_name,
                "domains": list(tenant.all_domains),
                "connections": [
                    {
                        "name": "sandbox",
                        "kind": "m365",
                        "tenant_id": tenant.tenant_id,
                        "client_id": tenant.client_id,
                        "client_secret": {"file": str(secret_file)},
                        "authority_host": served.base_url,
                        "graph_url": served.base_url,
                        "exchange_url": served.base_url,
                        "ca_file": str(served.ca_file),
                    }
                ],
            }
        ]
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(secret + "\n")


def _announce(served: ServedSandbox, secret_file: Path, credentials_file: Path | None) -> None:
    tenant = served.tenant
    mailboxes = sum(1 for u in tenant.users.values() if u.mailbox is not None)
    out.print(
        f"sandbox tenant {tenant.organization_name} ({mailboxes} mailboxes, "
        f"{len(tenant.groups)} groups) at {served.base_url}",
        markup=False,
    )
    for label, value in (
        ("tenant id", tenant.tenant_id),
        ("client id", tenant.client_id),
        ("client secret", tenant.client_secret),
        ("secret file", str(secret_file)),
        ("authority", served.authority),
        ("CA file", str(served.ca_file)),
        ("admin key", served.admin_key),
    ):
        out.print(f"  {label + ':':15} {value}", markup=False)
    if credentials_file is not None:
        out.print(f"  {'credentials:':15} {credentials_file}", markup=False)
    out.print("\nconnection for `tenantsync apply`:\n", markup=False)
    out.print(connection_yaml(served, secret_file), markup=False)
    out.print("ready (Ctrl-C to stop)", markup=False)


@app.command()
def serve(
    mailboxes: int = typer.Option(1000, "--mailboxes", min=1, help="mailboxes to generate"),
    seed: int = typer.Option(1, "--seed", help="generator seed (same seed, same tenant)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to answer on (loopback)"),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="port; 0 picks a free one"),
    rate_limit: float | None = typer.Option(
        None, "--rate-limit", min=0.1, help="requests per second per tenant before 429"
    ),
    faults: str | None = typer.Option(
        None, "--faults", help="e.g. 'graph.users:429@0.1/retry-after=2.5;exchange:503@0.05'"
    ),
    latency: str | None = typer.Option(
        None, "--latency", help="seconds or SCOPE=SECONDS,… (default: like Microsoft's)"
    ),
    credentials_file: Path | None = typer.Option(
        None, "--credentials-file", help="also write the credentials and URLs here as JSON"
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="where the CA and secrets live (default: DATA_DIR/sandbox)"
    ),
    tenant_id: str | None = typer.Option(None, "--tenant-id", help="use this tenant id"),
    client_id: str | None = typer.Option(None, "--client-id", help="use this client id"),
    client_secret: str | None = typer.Option(
        None, "--client-secret", envvar="TENANTSYNC_SANDBOX_CLIENT_SECRET", help="use this secret"
    ),
    client_certificate: Path | None = typer.Option(
        None,
        "--client-certificate",
        exists=True,
        dir_okay=False,
        help="PEM certificate (RSA) the app may also sign in with",
    ),
) -> None:
    """Generate a tenant and serve it over HTTPS until interrupted."""
    from tenantsync.sandbox import SpecError, create_app, generate_tenant, serve_in_thread

    directory = _data_dir(data_dir)
    tenant = generate_tenant(mailboxes, seed)
    # The tenant lives as long as this process: keep the collector from walking its
    # millions of objects again and again while requests allocate.
    gc.collect()
    gc.freeze()
    try:
        sandbox_app = create_app(
            tenant,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            client_certificate=client_certificate.read_text() if client_certificate else None,
            latency=latency,
            faults=faults,
            rate_limit=rate_limit,
            fault_seed=seed,
        )
    except SpecError as exc:
        raise ConfigError(str(exc), field="--faults/--latency") from None
    except ValueError as exc:
        raise ConfigError(str(exc), field="--tenant-id") from None
    try:
        served = serve_in_thread(sandbox_app, data_dir=directory, host=host, port=port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}", field="--port") from None
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    with served:
        secret_file = directory / SECRET_FILE_NAME
        _write_secret(secret_file, tenant.client_secret)
        if credentials_file is not None:
            served.write_credentials(credentials_file)
        _announce(served, secret_file, credentials_file)
        try:
            while not stop.is_set():
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
    out.print("stopped", markup=False)


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


class _ChangeCommand(TyperCommand):
    """`sandbox change`, whose help lists every operation with its arguments (read from the
    sandbox only when the help is shown)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from tenantsync.sandbox import CHANGE_OPS, SandboxTenant

        lines = []
        for op in sorted(CHANGE_OPS):
            params = list(inspect.signature(getattr(SandboxTenant, op)).parameters.values())[1:]
            args = " ".join(_shown_arg(p) for p in params if p.kind is not p.VAR_POSITIONAL)
            lines.append(f"{op.replace('_', '-')} {args}".strip())
        self.epilog = "Operations (optional arguments in parentheses):\n\n" + "\n\n".join(lines)
        super().format_help(ctx, formatter)


def _shown_arg(param: inspect.Parameter) -> str:
    if param.kind is param.VAR_KEYWORD:
        return "(field=… …)"
    return f"{param.name}=…" if param.default is param.empty else f"({param.name}=…)"


@app.command(cls=_ChangeCommand)
def change(
    op: str = typer.Argument(..., help="the operation (every one is listed below)"),
    args: list[str] = typer.Argument(None, help="KEY=VALUE arguments (JSON values allowed)"),
    credentials_file: Path = typer.Option(
        ..., "--credentials-file", exists=True, dir_okay=False, help="written by `serve`"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Change the running sandbox (users, members, permissions, events); shows up in delta."""
    from tenantsync.sandbox import CHANGE_OPS, post_change

    name = op.replace("-", "_")
    if name not in CHANGE_OPS:
        raise ConfigError(f"unknown change {op!r}; one of {', '.join(sorted(CHANGE_OPS))}")
    kwargs: dict[str, Any] = {}
    for item in args or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE, got {item!r}", field=op)
        kwargs[key.replace("-", "_")] = _parse_value(raw)
    creds = json.loads(credentials_file.read_text())
    try:
        result = post_change(creds["admin_url"], creds["admin_key"], creds["ca_file"], name, kwargs)
    except ValueError as exc:
        raise TenantSyncError(f"the sandbox refused {name}: {exc}") from None
    except httpx.TransportError as exc:
        raise TenantSyncError(f"cannot reach the sandbox at {creds['admin_url']}: {exc}") from None
    if as_json:
        emit_json(result)
    else:
        out.print(
            f"{name}: " + (" ".join(f"{k}={v}" for k, v in result.items()) or "done"), markup=False
        )


@app.command("hybrid-files")
def hybrid_files(
    out: Path = typer.Argument(..., help="folder to write on-premises/ and cloud/ into"),
    mailboxes: int = typer.Option(200, "--mailboxes", min=1, help="mailboxes to generate"),
    seed: int = typer.Option(1, "--seed", help="generator seed (same seed, same files)"),
    on_premises_share: float = typer.Option(
        0.6, "--on-premises-share", min=0.0, max=1.0, help="share of mailboxes on-premises"
    ),
    file_format: str | None = typer.Option(
        None, "--format", help="one of the formats (default: each cmdlet in turn)"
    ),
    aclable_sync: bool = typer.Option(True, "--aclable-sync/--no-aclable-sync"),
) -> None:
    """Write the exported cmdlet files of a hybrid sandbox organization."""
    from tenantsync.sandbox import generate_tenant
    from tenantsync.sandbox.exported_files import export_files
    from tenantsync.sandbox.hybrid import make_hybrid

    tenant = generate_tenant(mailboxes, seed)
    state = make_hybrid(
        tenant, seed=seed, on_premises_share=on_premises_share, aclable_sync=aclable_sync
    )
    for path in export_files(tenant, state, out, fmt=file_format):
        typer.echo(str(path))
