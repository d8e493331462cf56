"""Delegate grants: which mailboxes a person can open, and who holds rights on a mailbox.

The CLI is the operator's tool with database access; the console and API restrict delegate
grants to super administrators.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import typer
from sqlalchemy.orm import Session

from tenantsync.cli.common import emit_json, fmt_time, load_settings, open_db, out, table
from tenantsync.engine.permission_sync.queries import DelegateRow, delegates_of, delegates_on
from tenantsync.model.permissions import RIGHT_TITLES, Right

app = typer.Typer(
    help="Delegate grants: Full Access, Send As and Send on Behalf, and who granted each.",
    no_args_is_help=True,
)

ORG_OPTION = typer.Option(None, "--org", help="organization, when the address is in several")
JSON_OPTION = typer.Option(False, "--json", help="JSON for scripts")
RIGHT_OPTION = typer.Option(
    None,
    "--right",
    help="only this right: "
    + ", ".join(f"{right.value} ({RIGHT_TITLES[right]})" for right in Right),
)

Lookup = Callable[[Session, str, str | None], list[DelegateRow]]


@app.command("of")
def of(
    address: str = typer.Argument(..., help="the delegate's address (primary or alias)"),
    org: str | None = ORG_OPTION,
    right: Right | None = RIGHT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The mailboxes ADDRESS can open or send as, and which task or person granted each."""
    _show(delegates_of, address, org, right, as_json, f"Mailboxes {address} holds rights on")


@app.command("on")
def on(
    address: str = typer.Argument(..., help="the mailbox's address (primary or alias)"),
    org: str | None = ORG_OPTION,
    right: Right | None = RIGHT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Who holds which right on the mailbox ADDRESS, and which task or person granted each."""
    _show(delegates_on, address, org, right, as_json, f"Delegates on {address}")


def _show(
    lookup: Lookup, address: str, org: str | None, right: Right | None, as_json: bool, title: str
) -> None:
    db = open_db(load_settings())
    try:
        with db.session() as session:
            rows = lookup(session, address, org)
    finally:
        db.dispose()
    if right is not None:
        rows = [row for row in rows if row.right == right.value]
        title = f"{title} ({RIGHT_TITLES[right]})"
    if as_json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        out.print(f"{title}: none")
        return
    table(title, ["mailbox", "delegate", "right", "granted by", "via group", "since"], _cells(rows))


def _cells(rows: Sequence[DelegateRow]) -> list[list[str | None]]:
    return [
        [
            row.mailbox,
            row.delegate,
            RIGHT_TITLES[Right(row.right)],
            row.source,
            row.via_group,
            fmt_time(row.granted_at),
        ]
        for row in rows
    ]
