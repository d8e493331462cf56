"""The console server (alone, or with the scheduler and a worker) and console accounts."""

from __future__ import annotations

import logging
import threading

import typer

from tenantsync.cli.common import emit_json, fmt_time, load_settings, open_db, out, table
from tenantsync.console.ops import accounts as ops
from tenantsync.engine.registry import default_registry
from tenantsync.settings import Settings
from tenantsync.store.models import Role
from tenantsync.worker.runner import Worker

accounts_app = typer.Typer(help="Console accounts.", no_args_is_help=True)
log = logging.getLogger(__name__)


def serve_console(host: str, port: int, *, with_worker: bool) -> None:
    """Serve the console; with ``with_worker`` also run the scheduler and a worker thread."""
    import uvicorn

    from tenantsync.console import create_app

    settings = load_settings()
    db = open_db(settings)
    app = create_app(settings, db)
    worker: Worker | None = None
    thread: threading.Thread | None = None
    if with_worker:
        worker = Worker(
            db, settings, default_registry(), with_scheduler=True, with_notifications=True
        )
        thread = threading.Thread(target=worker.run_forever, name="tenantsync-worker", daemon=True)
        thread.start()
        out.print(f"scheduler and worker {worker.name} running")
    out.print(f"console on http://{host}:{port}/ (database {settings.masked()['database_url']})")
    try:
        # The console reads forwarded headers itself, from TENANTSYNC_TRUSTED_PROXIES only;
        # uvicorn's own reading would believe any peer on 127.0.0.1 (or FORWARDED_ALLOW_IPS).
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    finally:
        if worker is not None and thread is not None:
            worker.stop_event.set()
            thread.join(timeout=settings.lease_seconds)
            out.print("worker stopped")


def console(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="port to listen on"),
) -> None:
    """Run the admin console alone (workers run elsewhere)."""
    serve_console(host, port, with_worker=False)


@accounts_app.command("add")
def accounts_add(
    email: str = typer.Argument(..., help="the account's email"),
    role: Role = typer.Option(Role.READ_ONLY, "--role", help="super_admin, admin or read_only"),
) -> None:
    """Add a console account (password from TENANTSYNC_ADMIN_PASSWORD or a prompt)."""
    settings = load_settings()
    password = _password(settings, f"Password for {email}")
    with open_db(settings).session() as session:
        account = ops.add_account(session, email, password, role)
        out.print(f"account {account.email} ({role.value}) added")


@accounts_app.command("password")
def accounts_password(email: str = typer.Argument(..., help="the account's email")) -> None:
    """Set an account's password (from TENANTSYNC_ADMIN_PASSWORD or a prompt); every console
    session of the account ends, its API tokens keep working."""
    settings = load_settings()
    password = _password(settings, f"New password for {email}")
    with open_db(settings).session() as session:
        account = ops.account_by_email(session, email)
        ops.reset_password(session, account, password)
        out.print(f"new password set for {account.email}; its sessions were signed out")


def _password(settings: Settings, prompt: str) -> str:
    """TENANTSYNC_ADMIN_PASSWORD when set, else the password typed twice (never echoed)."""
    if settings.admin_password:
        return settings.admin_password.get_secret_value()
    return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))


@accounts_app.command("list")
def accounts_list(as_json: bool = typer.Option(False, "--json", help="JSON for scripts")) -> None:
    """List console accounts."""
    with open_db(load_settings()).session() as session:
        rows = ops.all_accounts(session)
        data = [
            {
                "email": a.email,
                "role": a.role.value,
                "disabled": a.disabled,
                "last_sign_in_at": a.last_sign_in_at,
            }
            for a in rows
        ]
        cells = [[a.email, a.role.value, a.disabled, fmt_time(a.last_sign_in_at)] for a in rows]
    if as_json:
        emit_json(data)
        return
    table("Console accounts", ["email", "role", "disabled", "last sign-in"], cells)


@accounts_app.command("disable")
def accounts_disable(email: str = typer.Argument(..., help="the account's email")) -> None:
    """Disable an account: it can no longer sign in and its API tokens are revoked."""
    with open_db(load_settings()).session() as session:
        account = ops.account_by_email(session, email)
        revoked = ops.set_disabled(session, account, True)
        out.print(f"account {account.email} disabled ({revoked} API tokens revoked)")


@accounts_app.command("enable")
def accounts_enable(email: str = typer.Argument(..., help="the account's email")) -> None:
    """Enable a disabled account again (its revoked API tokens stay revoked)."""
    with open_db(load_settings()).session() as session:
        account = ops.account_by_email(session, email)
        ops.set_disabled(session, account, False)
        out.print(f"account {account.email} enabled")


@accounts_app.command("role")
def accounts_role(
    email: str = typer.Argument(..., help="the account's email"),
    role: Role = typer.Argument(..., help="super_admin, admin or read_only"),
) -> None:
    """Give an account another role (the last super administrator is never demoted)."""
    with open_db(load_settings()).session() as session:
        account = ops.account_by_email(session, email)
        ops.set_role(session, account, role)
        out.print(f"account {account.email} is now {role.value}")
