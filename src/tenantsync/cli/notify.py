"""`tenantsync notify`: send the notifications that are due, and read the delivery log."""

from __future__ import annotations

import typer

from tenantsync.cli.common import emit_json, fmt_time, load_settings, open_db, out, table
from tenantsync.store import notify
from tenantsync.worker.notify import Dispatcher

app = typer.Typer(
    help="Notifications: send what is due, read the delivery log.", no_args_is_help=True
)


@app.command("send")
def send(
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="deliveries at most"),
) -> None:
    """Send the notifications that are due now (a worker does this on its own); once."""
    settings = load_settings()
    db = open_db(settings)
    try:
        sent = Dispatcher(db, settings).step(limit=limit)
    finally:
        db.dispose()
    out.print(f"{sent} deliveries attempted; see `tenantsync notify log`")


@app.command("log")
def log(
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="newest deliveries shown"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """The delivery log, newest first: event, where it went, attempts and how it ended."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            rows = session.execute(notify.delivery_log().limit(limit)).all()
            lines = [
                {
                    "id": d.id,
                    "created_at": fmt_time(d.created_at),
                    "account": email,
                    "to": f"{sub.channel} {sub.email or sub.url}",
                    "event": d.event,
                    "summary": d.summary,
                    "status": d.status,
                    "attempts": d.attempts,
                    "answer": " ".join(
                        str(p) for p in (d.response_code, d.last_error) if p is not None
                    ),
                }
                for d, sub, email in rows
            ]
    finally:
        db.dispose()
    if as_json:
        emit_json(lines)
        return
    columns = ["id", "queued", "account", "to", "event", "status", "attempts", "answer"]
    keys = ("id", "created_at", "account", "to", "event", "status", "attempts", "answer")
    table("Notification deliveries", columns, [[str(x[k]) for k in keys] for x in lines])
