"""Subscribing an account to an organization's notifications on the command line, as the
console does it and with the console's checks: list, subscribe by email or webhook (a
secret from the environment, or one tenantsync makes and prints once), a test message,
unsubscribe, and the SMTP server (its password from the environment, stored encrypted,
never shown); every change in the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from tenantsync.store.models import AuditEntry, NotificationSubscription
from tests.integration.cli.test_commands import EXAMPLE
from tests.support.cli import Cli, one_line_error

HOOK = "https://hooks.contoso.example/tenantsync"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")
    cli("init", "--admin", "admin@contoso.com")
    cli("apply", str(EXAMPLE))  # organization contoso
    cli("accounts", "add", "Ops@Contoso.com", "--role", "read_only")
    return cli


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(cli("notify", "list", "--json", *args).stdout)
    return found


def audited(cli: Cli) -> list[tuple[str, str, str]]:
    engine = create_engine(cli.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
                .where(AuditEntry.action.like("notification.%"))
                .order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    return [(a, b, c) for a, b, c in rows]


def test_an_account_is_subscribed_listed_tested_and_unsubscribed(cli: Cli) -> None:
    by_mail = cli(
        "notify", "subscribe", "ops@contoso.com", "contoso", "--channel", "email",
        "--event", "failed", "--event", "awaiting_confirmation", "--json",
    )  # fmt: skip
    mail = json.loads(by_mail.stdout)
    assert (mail["account"], mail["organization"], mail["target"]) == (
        "ops@contoso.com",
        "contoso",
        "ops@contoso.com",  # the account's own address unless another is given
    )
    assert mail["events"] == ["failed", "awaiting_confirmation"] and mail["secret"] is None

    made = cli(
        "notify", "subscribe", "admin@contoso.com", "contoso", "--channel", "webhook",
        "--url", HOOK, "--event", "changes", "--event", "connection",
    )  # fmt: skip
    secret = made.stdout.split("shown this once:")[1].split()[0]
    assert len(secret) >= 16

    cli.env["HOOK_SECRET"] = "a webhook secret of some length"
    given = cli(
        "notify", "subscribe", "admin@contoso.com", "contoso", "--channel", "webhook",
        "--url", HOOK + "/2", "--event", "failed", "--secret-env", "HOOK_SECRET",
    )  # fmt: skip
    assert "a webhook secret" not in given.stdout and "shown this once" not in given.stdout

    everyone = listed(cli)
    assert [(s["account"], s["channel"], s["target"]) for s in everyone] == [
        ("admin@contoso.com", "webhook", HOOK + "/2"),
        ("admin@contoso.com", "webhook", HOOK),
        ("ops@contoso.com", "email", "ops@contoso.com"),
    ]
    assert everyone[1]["feed_cursor"] is not None  # the change feed from now on
    assert [s["id"] for s in listed(cli, "--account", "OPS@contoso.com")] == [mail["id"]]
    assert len(listed(cli, "--organization", "contoso")) == 3
    shown = cli("notify", "list").stdout
    assert secret not in shown and "a webhook secret" not in shown and HOOK in shown

    cli("notify", "test", str(mail["id"]))
    [delivery] = json.loads(cli("notify", "log", "--json").stdout)
    assert (delivery["event"], delivery["to"]) == ("test", "email ops@contoso.com")

    cli("notify", "unsubscribe", str(mail["id"]))
    assert listed(cli, "--account", "ops@contoso.com") == []
    assert audited(cli) == [
        ("cli", "notification.subscribe", "ops@contoso.com"),
        ("cli", "notification.subscribe", HOOK),
        ("cli", "notification.subscribe", HOOK + "/2"),
        ("cli", "notification.unsubscribe", str(mail["id"])),
    ]


REFUSED = [
    (["--channel", "email", "--event", "everything"], "events: choose one or more of"),
    (["--channel", "email", "--event", "changes"], "change feed events go to webhooks only"),
    (["--channel", "email", "--event", "failed", "--email", "nobody"], "give an email"),
    (["--channel", "webhook", "--event", "failed", "--url", "ftp://x"], "http or https URL"),
    (["--channel", "pager", "--event", "failed"], "channel: email or webhook"),
    (
        ["--channel", "webhook", "--event", "failed", "--url", HOOK, "--secret-env", "SHORT"],
        "a secret of at least 16 characters",
    ),
    (
        ["--channel", "webhook", "--event", "failed", "--url", HOOK, "--secret-env", "UNSET"],
        "UNSET is not set",
    ),
]


def test_a_subscription_the_console_would_refuse_is_refused_and_nothing_is_kept(
    cli: Cli,
) -> None:
    cli.env["SHORT"] = "too short"
    for args, says in REFUSED:
        proc = cli("notify", "subscribe", "ops@contoso.com", "contoso", *args, check=2)
        assert says in one_line_error(proc), args
    assert cli.count(NotificationSubscription) == 0
    assert audited(cli) == []


def test_unknown_accounts_organizations_and_subscriptions_are_named(cli: Cli) -> None:
    subscribe = ["notify", "subscribe", "--channel", "email", "--event", "failed"]
    nobody = cli(*subscribe, "nobody@contoso.com", "contoso", check=2)
    assert "no active account nobody@contoso.com" in one_line_error(nobody)
    cli("accounts", "disable", "ops@contoso.com")
    disabled = cli(*subscribe, "ops@contoso.com", "contoso", check=2)
    assert "no active account ops@contoso.com" in one_line_error(disabled)
    elsewhere = cli(*subscribe, "admin@contoso.com", "fabrikam", check=4)
    assert "no organization named 'fabrikam'" in one_line_error(elsewhere)
    assert "no subscription 99" in one_line_error(cli("notify", "unsubscribe", "99", check=4))
    assert "no subscription 99" in one_line_error(cli("notify", "test", "99", check=4))


def test_the_smtp_server_is_set_and_shown_without_its_password(cli: Cli) -> None:
    assert json.loads(cli("notify", "smtp", "show", "--json").stdout) is None
    smtp = ["notify", "smtp", "set", "--host", "mail.contoso.example", "--from", "ts@contoso.com"]
    refused = cli(*smtp, "--port", "70000", check=2)
    assert "port: a port from 1 to 65535" in one_line_error(refused)
    cli.env["SMTP_PASSWORD"] = "smtp password 8472"
    saved = cli(*smtp, "--port", "2525", "--username", "relay", "--password-env", "SMTP_PASSWORD")
    assert "smtp password" not in saved.stdout
    shown = json.loads(cli("notify", "smtp", "show", "--json").stdout)
    assert shown == {
        "host": "mail.contoso.example",
        "port": 2525,
        "starttls": True,
        "username": "relay",
        "password_set": True,
        "from_address": "ts@contoso.com",
    }
    cli(*smtp, "--port", "2525", "--username", "relay")  # the stored password is kept
    assert json.loads(cli("notify", "smtp", "show", "--json").stdout)["password_set"]
    cli(*smtp, "--no-password", "--no-starttls")
    shown = json.loads(cli("notify", "smtp", "show", "--json").stdout)
    assert (shown["password_set"], shown["starttls"], shown["port"]) == (False, False, 587)
    assert "smtp password" not in cli("notify", "smtp", "show").stdout
    assert [a for a in audited(cli) if a[1] == "notification.smtp"] == [
        ("cli", "notification.smtp", "mail.contoso.example")
    ] * 3
