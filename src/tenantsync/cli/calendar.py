"""Calendar replication: a mailbox's replicated events, its replication state, its feeds.

The CLI is the operator's tool with database access: events show private items masked
(the operator is neither the owner nor a delegate), as they do in the console.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import typer

from tenantsync.cli.common import emit_json, fmt_time, load_settings, open_db, out, table
from tenantsync.engine.calendar import feeds, views
from tenantsync.engine.calendar.views import Viewer, instances_for
from tenantsync.engine.permission_sync.queries import find_mailbox
from tenantsync.errors import ConfigError

app = typer.Typer(
    help="Calendar replication: replicated events, replication state, secret feeds.",
    no_args_is_help=True,
)
feed_app = typer.Typer(
    help="Secret iCalendar feed URLs of a mailbox's calendar.", no_args_is_help=True
)
app.add_typer(feed_app, name="feed")

ORG_OPTION = typer.Option(None, "--org", help="organization, when the address is in several")
JSON_OPTION = typer.Option(False, "--json", help="JSON for scripts")
CONSOLE_URL = typer.Option(
    "http://127.0.0.1:8000", "--console-url", help="the console's address, to print feed URLs"
)


@app.command("events")
def events(
    address: str = typer.Argument(..., help="the mailbox's address"),
    start: str = typer.Option("", "--from", help="first day (YYYY-MM-DD, UTC); default today"),
    days: int = typer.Option(7, "--days", min=1, max=400, help="how many days"),
    org: str | None = ORG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The mailbox's events in a range, series expanded, private items masked."""
    try:
        first = date.fromisoformat(start) if start else datetime.now(UTC).date()
    except ValueError:
        raise ConfigError(f"not a date: {start!r}", field="--from") from None
    begin = datetime.combine(first, time(), UTC)
    end = begin + timedelta(days=days)
    db = open_db(load_settings())
    try:
        with db.session() as session:
            mailbox = find_mailbox(session, address, org)
            shown = instances_for(session, mailbox, begin, end, Viewer(None, "operator"))
    finally:
        db.dispose()
    rows: list[dict[str, Any]] = [
        {
            "start": i.start.isoformat(),
            "end": i.end.isoformat(),
            "all_day": i.all_day,
            "subject": i.item.subject,
            "kind": i.kind,
            "show_as": i.item.show_as,
            "private": i.item.private,
        }
        for i in shown
    ]
    if as_json:
        emit_json(rows)
        return
    table(
        f"Events of {address}, {first} + {days} days (UTC)",
        ["start", "end", "subject", "kind", "show as"],
        [[r["start"][:16], r["end"][:16], r["subject"], r["kind"], r["show_as"]] for r in rows],
    )


@app.command("state")
def state(
    address: str = typer.Argument(..., help="the mailbox's address"),
    org: str | None = ORG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The replication state of each of the mailbox's calendars."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            rows = views.states_of(session, find_mailbox(session, address, org))
    finally:
        db.dispose()
    data = [
        {
            "calendar": r.calendar_name or r.calendar_key,
            "state": r.state.value,
            "reason": r.reason,
            "last_read_at": r.last_read_at,
            "last_full_at": r.last_full_at,
            "task_id": r.task_id,
        }
        for r in rows
    ]
    if as_json:
        emit_json(data)
        return
    table(
        f"Calendar replication of {address}",
        ["calendar", "state", "reason", "last read", "last full read"],
        [
            [
                d["calendar"],
                d["state"],
                d["reason"],
                fmt_time(r.last_read_at),
                fmt_time(r.last_full_at),
            ]
            for d, r in zip(data, rows, strict=True)
        ],
    )


@feed_app.command("issue")
def issue(
    address: str = typer.Argument(..., help="the calendar mailbox's address"),
    viewer: str = typer.Option(..., "--viewer", help="the owner's or a delegate's address"),
    org: str | None = ORG_OPTION,
    console_url: str = CONSOLE_URL,
) -> None:
    """Issue a secret feed URL for the owner or a delegate (printed once; their earlier
    feed of this calendar is revoked)."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            mailbox = find_mailbox(session, address, org)
            issued = feeds.issue_feed(session, mailbox, find_mailbox(session, viewer, org), "cli")
    finally:
        db.dispose()
    out.print(
        f"feed {issued.id} for {issued.viewer}: {console_url.rstrip('/')}{issued.path}",
        markup=False,
    )


@feed_app.command("list")
def list_feeds(
    address: str = typer.Argument(..., help="the calendar mailbox's address"),
    org: str | None = ORG_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The mailbox's feeds (their secrets are never shown again)."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            rows = feeds.feeds_of(session, find_mailbox(session, address, org))
    finally:
        db.dispose()
    if as_json:
        emit_json(
            [
                {
                    "id": f.id,
                    "viewer": viewer,
                    "created_at": f.created_at,
                    "last_used_at": f.last_used_at,
                    "revoked_at": f.revoked_at,
                }
                for f, viewer in rows
            ]
        )
        return
    table(
        f"Feeds of {address}",
        ["id", "viewer", "issued", "last used", "revoked"],
        [
            [
                str(f.id),
                viewer,
                fmt_time(f.created_at),
                fmt_time(f.last_used_at),
                fmt_time(f.revoked_at),
            ]
            for f, viewer in rows
        ],
    )


@feed_app.command("revoke")
def revoke(feed_id: int = typer.Argument(..., help="the feed's id")) -> None:
    """Revoke a feed: its URL stops answering at once."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            feeds.revoke_feed(session, feed_id)
    finally:
        db.dispose()
    out.print(f"feed {feed_id} revoked")
