"""Connections: list them, check that one works (the checks its kind declares: for
Microsoft 365 a token, Graph reads and the Exchange admin API), and compare the two
permission paths of an on-premises one (``drift``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy import select

from tenantsync.cli.common import emit_json, err, fmt_time, load_settings, open_db, out, table
from tenantsync.errors import ConfigError
from tenantsync.store.directory import find_connection
from tenantsync.store.models import Connection

if TYPE_CHECKING:
    from tenantsync.connectors.health import CheckLine

connection_app = typer.Typer(help="Connections to source directories.", no_args_is_help=True)

EXIT_CHECK_FAILED = 1


def print_lines(lines: list[CheckLine]) -> None:
    """One pass/fail line per check."""
    width = max(len(line.name) for line in lines)
    for line in lines:
        mark = "[green]pass[/green]" if line.ok else "[red]FAIL[/red]"
        out.print(f"{mark}  {line.name.ljust(width)}  {line.detail}", markup=True)


@connection_app.command("check")
def connection_check(
    name: str = typer.Argument(..., help="connection name, or ORG/NAME"),
    permissions: bool = typer.Option(
        False, "--permissions", help="also read one mailbox's permissions (Get-MailboxPermission)"
    ),
    mailbox: str | None = typer.Option(
        None, "--mailbox", help="with --permissions: the mailbox to read (default: the first)"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """Check a connection with its kind's checks (Microsoft 365: token, read users, read
    mailbox settings, reach Exchange)."""
    from tenantsync.connectors.exchange_permissions import permissions_check
    from tenantsync.engine.connection_check import check_stored_connection

    if mailbox is not None and not permissions:
        raise ConfigError("--mailbox needs --permissions", field="--mailbox")
    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        connection_id = find_connection(session, name).id
    extra = [("mailbox permissions", permissions_check(mailbox))] if permissions else []
    lines = check_stored_connection(db, settings, connection_id, extra=extra)
    if as_json:
        emit_json(
            {
                "connection": name,
                "ok": all(x.ok for x in lines),
                "checks": [x.to_json() for x in lines],
            }
        )
    else:
        print_lines(lines)
    if not all(line.ok for line in lines):
        if not as_json:
            err.print(f"connection {name} failed its check")
        raise typer.Exit(EXIT_CHECK_FAILED)


@connection_app.command("drift")
def connection_drift(
    name: str = typer.Argument(..., help="an exchange_onprem connection, or ORG/NAME"),
    mailboxes: list[str] = typer.Option(
        [], "--mailbox", help="read only this synced mailbox (repeatable; default: all)"
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON for scripts"),
) -> None:
    """Read the synced mailboxes' permissions through the domain controller and through the
    Exchange Management Shell, and print per mailbox the entries only one path shows; exit
    code 1 when they disagree."""
    from tenantsync.engine.permission_sync.drift_read import connection_drift as drift

    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        connection_id = find_connection(session, name).id
    report = drift(db, settings, connection_id, mailboxes)
    if as_json:
        emit_json({"connection": name, **report.to_json()})
    else:
        for line in report.lines():
            out.print(line)
        out.print(
            f"{report.compared} mailboxes compared, {len(report.drifts)} differ, "
            f"{len(report.not_compared)} not compared"
        )
    if report.drifts:
        raise typer.Exit(EXIT_CHECK_FAILED)


@connection_app.command("list")
def connection_list(as_json: bool = typer.Option(False, "--json", help="JSON for scripts")) -> None:
    """Connections with their kind, where they point and the result of their last check."""
    from tenantsync.connectors.kinds import points_at

    settings = load_settings()
    db = open_db(settings)
    with db.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "organization": c.organization.name,
                "name": c.name,
                "kind": c.kind,
                "points_at": points_at(c.kind, c.params),
                "last_check_at": c.last_check_at,
                "last_check_ok": c.last_check_ok,
            }
            for c in session.scalars(select(Connection).order_by(Connection.id))
        ]
    if as_json:
        emit_json(rows)
        return
    table(
        "connections",
        ["organization", "name", "kind", "points at", "last check", "ok"],
        [
            [
                r["organization"],
                r["name"],
                r["kind"],
                r["points_at"],
                fmt_time(r["last_check_at"]),
                {True: "yes", False: "no", None: ""}[r["last_check_ok"]],
            ]
            for r in rows
        ],
    )
