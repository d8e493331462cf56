"""The tenantsync command line: one Typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

from tenantsync import __version__
from tenantsync.cli import (
    admin,
    calendar,
    connections,
    console,
    delegates,
    hybrid,
    notify,
    runs,
    sandbox,
    serve,
    users,
)
from tenantsync.cli.common import err
from tenantsync.errors import TenantSyncError

app = typer.Typer(
    name="tenantsync",
    help="Keep a service's directory in step with a Microsoft 365 / Exchange organization.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tenantsync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    """tenantsync."""


app.command()(admin.init)
app.command()(admin.apply)
app.command()(admin.export)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(console.console)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.config_app, name="config")
app.add_typer(runs.task_app, name="task")
app.add_typer(runs.runs_app, name="runs")
app.add_typer(console.accounts_app, name="accounts")
app.add_typer(delegates.app, name="delegates")
app.add_typer(calendar.app, name="calendar")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(connections.connection_app, name="connection")
app.add_typer(users.users_app, name="users")
app.add_typer(hybrid.app, name="hybrid")
app.add_typer(notify.app, name="notify")


def main(argv: list[str] | None = None) -> None:
    """Entry point: errors become one line on stderr and the error's exit code."""
    try:
        app(args=argv, prog_name="tenantsync")
    except TenantSyncError as exc:
        # Drivers phrase some failures over several lines; scripts get exactly one.
        err.print("error: " + " ".join(str(exc).split()), markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
