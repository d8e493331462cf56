"""`tenantsync notify`: subscriptions (an account subscribed to an organization's events by
email or webhook), the SMTP server, sending what is due, and the delivery log. Every change
goes through the console's own operations and checks (``console.ops.notify``)."""

from __future__ import annotations

import os
from typing import Any

import typer

from tenantsync.cli.common import (
    emit_json,
    fmt_time,
    load_settings,
    open_box,
    open_db,
    out,
    table,
)
from tenantsync.console.audit import record_cli
from tenantsync.console.ops import notify as ops
from tenantsync.errors import ConfigError
from tenantsync.store import notify
from tenantsync.store.directory import organization_by_name
from tenantsync.worker.notify import Dispatcher

app = typer.Typer(
    help="Notifications: subscriptions, sending what is due, the delivery log, SMTP.",
    no_args_is_help=True,
)
smtp_app = typer.Typer(help="The SMTP server email notifications go through.")
app.add_typer(smtp_app, name="smtp", no_args_is_help=True)
EVENTS = ", ".join(notify.EVENTS)


@app.command("list")
def list_subscriptions(
    organization: str | None = typer.Option(None, "--organization", help="only this one's"),
    account: str | None = typer.Option(None, "--account", help="only this account's (email)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Every account's subscriptions, newest first: organization, channel, target, events
    (secrets are never shown)."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            org_id = organization_by_name(session, organization).id if organization else None
            account_id = ops.acting_for(session, account).account_id if account else None
            found = ops.subscriptions(session, ops.COMMAND_LINE, org_id, account_id)
    finally:
        db.dispose()
    if as_json:
        emit_json([_shown(s) for s in found])
        return
    columns = ["id", "account", "organization", "channel", "target", "events", "since"]
    rows = [
        [
            str(s.id),
            s.account,
            s.organization,
            s.channel,
            s.target,
            ", ".join(s.events),
            fmt_time(s.created_at),
        ]
        for s in found
    ]
    table("Notification subscriptions", columns, rows)


@app.command("subscribe")
def subscribe(
    account: str = typer.Argument(..., help="the console account subscribed (email)"),
    organization: str = typer.Argument(..., help="the organization whose events it is told"),
    channel: str = typer.Option(..., "--channel", help="email or webhook"),
    events: list[str] = typer.Option(..., "--event", help=f"one of {EVENTS}; repeat for more"),
    email: str | None = typer.Option(
        None, "--email", help="where emails go (default: the account's address)"
    ),
    url: str | None = typer.Option(None, "--url", help="the webhook's http or https URL"),
    secret_env: str | None = typer.Option(
        None,
        "--secret-env",
        help=f"environment variable holding the webhook's signing secret (at least "
        f"{ops.MIN_SECRET} characters); without it tenantsync makes one, printed once",
    ),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Subscribe an account to an organization's threshold stops, failed runs, connection
    problems or (webhooks) change feed, as the account would in the console."""
    secret = _from_env(secret_env, "--secret-env")
    settings = load_settings()
    db = open_db(settings)
    try:
        with db.session() as session:
            who = ops.acting_for(session, account)
            org = organization_by_name(session, organization)
            data = ops.SubscriptionInput(org.id, channel, events, email, url, secret)
            view, made = ops.subscribe(session, open_box(settings), who, data)
            detail = {"events": view.events, "account": view.account}
            record_cli(session, "notification.subscribe", view.target, detail)
    finally:
        db.dispose()
    if as_json:
        emit_json(_shown(view) | {"secret": made})
        return
    out.print(
        f"subscription {view.id}: {view.account} is told of {', '.join(view.events)} in "
        f"{view.organization} by {view.channel} to {view.target}",
        markup=False,
    )
    if made is not None:
        out.print(f"webhook secret, shown this once: {made}", markup=False)


@app.command("unsubscribe")
def unsubscribe(subscription: int = typer.Argument(..., help="the subscription's id")) -> None:
    """End a subscription (its delivery log goes with it)."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            ops.unsubscribe(session, ops.COMMAND_LINE, subscription)
            record_cli(session, "notification.unsubscribe", str(subscription))
    finally:
        db.dispose()
    out.print(f"subscription {subscription} ended")


@app.command("test")
def send_test(subscription: int = typer.Argument(..., help="the subscription's id")) -> None:
    """Queue a test message to a subscription; `notify send` or a worker sends it."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            ops.send_test(session, ops.COMMAND_LINE, subscription)
    finally:
        db.dispose()
    out.print(f"test message to subscription {subscription} queued; see `tenantsync notify log`")


@smtp_app.command("show")
def smtp_show(as_json: bool = typer.Option(False, "--json", help="machine-readable")) -> None:
    """The SMTP server email notifications go through (whether a password is stored, never
    the password)."""
    db = open_db(load_settings())
    try:
        with db.session() as session:
            row = ops.smtp(session)
            shown = None if row is None else vars(ops.smtp_view(row))
    finally:
        db.dispose()
    if as_json:
        emit_json(shown)
    elif shown is None:
        out.print("no SMTP server set: email notifications wait until one is")
    else:
        table("SMTP server", ["setting", "value"], [[k, str(v)] for k, v in shown.items()])


@smtp_app.command("set")
def smtp_set(
    host: str = typer.Option(..., "--host", help="the SMTP server's host name"),
    from_address: str = typer.Option(..., "--from", help="the address messages come from"),
    port: int = typer.Option(587, "--port", help="its port"),
    starttls: bool = typer.Option(True, "--starttls/--no-starttls", help="upgrade with TLS"),
    username: str | None = typer.Option(None, "--username", help="sign in as (none: no login)"),
    password_env: str | None = typer.Option(
        None, "--password-env", help="environment variable holding the password to store"
    ),
    no_password: bool = typer.Option(False, "--no-password", help="remove the stored password"),
) -> None:
    """Set the SMTP server, as a super administrator does in the console (the password is
    stored encrypted; without --password-env or --no-password the stored one is kept)."""
    password = "" if no_password else _from_env(password_env, "--password-env")
    settings = load_settings()
    db = open_db(settings)
    try:
        with db.session() as session:
            data = ops.SmtpInput(host, port, starttls, username, password, from_address)
            row = ops.set_smtp(session, open_box(settings), ops.COMMAND_LINE, data)
            detail = {"port": row.port, "starttls": row.starttls}
            record_cli(session, "notification.smtp", row.host, detail)
            saved = f"SMTP server {row.host}:{row.port} saved"
    finally:
        db.dispose()
    out.print(saved, markup=False)


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


def _from_env(variable: str | None, option: str) -> str | None:
    """The value of the environment variable an option names (secrets never go on the
    command line, where other users and shell histories see them)."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{variable} is not set", field=option)
    return value


def _shown(view: ops.SubscriptionView) -> dict[str, Any]:
    return {**vars(view), "created_at": fmt_time(view.created_at)}
