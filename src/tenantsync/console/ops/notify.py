"""Notification subscriptions, the delivery log and the SMTP settings, for pages, API and
the command line (``tenantsync notify``).

Any account subscribes itself to an organization's events; super administrators see every
account's subscriptions and deliveries and set the SMTP server. The command line acts for
an account it names when it subscribes one, and as a super administrator otherwise
(:data:`COMMAND_LINE`). Secrets (a webhook's, the SMTP password) are encrypted with the
installation's key and never shown again, except a webhook secret tenantsync made, shown
once when the subscription is made.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.audit import CLI_ACTOR
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.errors import NotFound, PermissionDenied
from tenantsync.store import feed, notify
from tenantsync.store.models import (
    ConsoleAccount,
    NotificationDelivery,
    NotificationSubscription,
    Organization,
    Role,
    SmtpSettings,
)
from tenantsync.store.secretbox import SecretBox

MIN_SECRET = 16
SMTP = "see or change the SMTP server"  # what super administrators alone may do


class Who(Protocol):
    """Who asks: the signed-in account of a request (``console.auth.Principal``), or an
    :class:`Acting` account of the command line."""

    @property
    def account_id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def super(self) -> bool: ...


@dataclass(frozen=True)
class Acting:
    """An account the command line acts for or as."""

    account_id: int
    email: str
    super: bool


# The command line sees and ends every account's subscriptions, as a super administrator.
COMMAND_LINE = Acting(account_id=0, email=CLI_ACTOR, super=True)


def acting_for(session: Session, email: str) -> Acting:
    """The active account with this email, to subscribe it (the command line's way in)."""
    wanted = email.strip().lower()
    account = session.scalar(select(ConsoleAccount).where(ConsoleAccount.email == wanted))
    if account is None or account.disabled:
        raise FieldErrors({"account": f"no active account {wanted}"})
    return Acting(account.id, account.email, super=account.role is Role.SUPER_ADMIN)


@dataclass(frozen=True)
class SubscriptionInput:
    """What a subscription is made of, as a form or the API gives it."""

    organization_id: int
    channel: str
    events: list[str]
    email: str | None = None
    url: str | None = None
    secret: str | None = None


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as the console and the API show it (no secret)."""

    id: int
    account: str
    organization_id: int
    organization: str
    channel: str
    events: list[str]
    target: str
    feed_cursor: str | None
    created_at: datetime


@dataclass(frozen=True)
class DeliveryView:
    """One delivery in the log (what was sent where and how it went; no body)."""

    id: int
    subscription_id: int
    account: str
    channel: str
    target: str
    event: str
    summary: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    response_code: int | None
    created_at: datetime
    delivered_at: datetime | None


def subscribe(
    session: Session, box: SecretBox, who: Who, data: SubscriptionInput
) -> tuple[SubscriptionView, str | None]:
    """Subscribe the caller; the view and the webhook secret when tenantsync made it."""
    errors: dict[str, str] = {}
    org = session.get(Organization, data.organization_id)
    if org is None:
        errors["organization_id"] = f"no organization {data.organization_id}"
    events = list(dict.fromkeys(data.events))
    unknown = [e for e in events if e not in notify.EVENTS]
    if not events or unknown:
        errors["events"] = "choose one or more of " + ", ".join(notify.EVENTS)
    made: str | None = None
    sub = NotificationSubscription(account_id=who.account_id, channel=data.channel, events=events)
    if data.channel == "email":
        if notify.CHANGES in events:
            errors["events"] = "change feed events go to webhooks only"
        email = (data.email or who.email).strip().lower()
        if "@" not in email or len(email) > 320:
            errors["email"] = "give an email address"
        sub.email = email
    elif data.channel == "webhook":
        url = (data.url or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
            errors["url"] = "give an http or https URL"
        secret = data.secret or ""
        if not secret:
            secret = made = secrets.token_urlsafe(32)
        elif len(secret) < MIN_SECRET:
            errors["secret"] = f"a secret of at least {MIN_SECRET} characters"
        sub.url = url
        sub.secret_ciphertext = box.encrypt({"secret": secret})
    else:
        errors["channel"] = "email or webhook"
    if errors:
        raise FieldErrors(errors)
    assert org is not None
    sub.organization_id = org.id
    if notify.CHANGES in events:  # from now on: a consumer starts with a full read
        sub.feed_cursor = feed.position(session, org.id)[1]
    session.add(sub)
    session.flush()
    return _view(sub, who.email, org.name), made


def subscriptions(
    session: Session,
    who: Who,
    organization_id: int | None = None,
    account_id: int | None = None,
) -> list[SubscriptionView]:
    """The caller's subscriptions (super administrators: everyone's, or one account's),
    newest first."""
    stmt = (
        select(NotificationSubscription, ConsoleAccount.email, Organization.name)
        .join(ConsoleAccount, ConsoleAccount.id == NotificationSubscription.account_id)
        .join(Organization, Organization.id == NotificationSubscription.organization_id)
        .order_by(NotificationSubscription.id.desc())
    )
    if not who.super:
        stmt = stmt.where(NotificationSubscription.account_id == who.account_id)
    if organization_id is not None:
        stmt = stmt.where(NotificationSubscription.organization_id == organization_id)
    if account_id is not None:
        stmt = stmt.where(NotificationSubscription.account_id == account_id)
    return [_view(sub, email, org) for sub, email, org in session.execute(stmt)]


def _view(sub: NotificationSubscription, account: str, organization: str) -> SubscriptionView:
    return SubscriptionView(
        sub.id,
        account,
        sub.organization_id,
        organization,
        sub.channel,
        list(sub.events),
        _target(sub),
        None if sub.feed_cursor is None else str(sub.feed_cursor),
        sub.created_at,
    )


def _target(sub: NotificationSubscription) -> str:
    return (sub.email if sub.channel == "email" else sub.url) or ""


def _own(session: Session, who: Who, subscription_id: int) -> NotificationSubscription:
    sub = session.get(NotificationSubscription, subscription_id)
    if sub is None or (sub.account_id != who.account_id and not who.super):
        raise NotFound(f"no subscription {subscription_id}")
    return sub


def unsubscribe(session: Session, who: Who, subscription_id: int) -> None:
    """End a subscription (its delivery log goes with it)."""
    session.delete(_own(session, who, subscription_id))
    session.flush()


def send_test(session: Session, who: Who, subscription_id: int) -> None:
    """Queue a test message to a subscription."""
    sub = _own(session, who, subscription_id)
    payload = {"event": "test", "organization_id": sub.organization_id, "by": who.email}
    session.add(
        NotificationDelivery(
            subscription_id=sub.id,
            event="test",
            summary=f"test message asked for by {who.email}",
            payload=payload,
            status=notify.PENDING,
            attempts=0,
        )
    )
    session.flush()


def deliveries(
    session: Session,
    who: Who,
    page: int,
    per_page: int,
    subscription_id: int | None = None,
    status: str | None = None,
) -> Page[DeliveryView]:
    """The delivery log, newest first: the caller's (super administrators: everyone's)."""
    stmt = notify.delivery_log()
    if not who.super:
        stmt = stmt.where(NotificationSubscription.account_id == who.account_id)
    if subscription_id is not None:
        stmt = stmt.where(NotificationDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(NotificationDelivery.status == status)
    found = paginate(session, stmt.with_only_columns(NotificationDelivery.id), page, per_page)
    rows = session.execute(stmt.where(NotificationDelivery.id.in_(found.items))).all()
    items = [
        DeliveryView(
            d.id,
            d.subscription_id,
            email,
            sub.channel,
            _target(sub),
            d.event,
            d.summary,
            d.status,
            d.attempts,
            d.next_attempt_at if d.status == notify.PENDING else None,
            d.last_error,
            d.response_code,
            d.created_at,
            d.delivered_at,
        )
        for d, sub, email in rows
    ]
    return Page(items=items, total=found.total, page=found.page, per_page=found.per_page)


@dataclass(frozen=True)
class SmtpInput:
    """The SMTP server; ``password`` None keeps the stored one, "" removes it."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    from_address: str


@dataclass(frozen=True)
class SmtpView:
    """The SMTP server as the API and the command line show it: whether a password is
    stored, never the password."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password_set: bool
    from_address: str


def smtp_view(row: SmtpSettings) -> SmtpView:
    """What may be shown of the SMTP server."""
    return SmtpView(
        row.host,
        row.port,
        row.starttls,
        row.username,
        row.password_ciphertext is not None,
        row.from_address,
    )


def smtp(session: Session) -> SmtpSettings | None:
    """The SMTP server email notifications go through, if set."""
    return session.scalar(select(SmtpSettings).limit(1))


def set_smtp(session: Session, box: SecretBox, who: Who, data: SmtpInput) -> SmtpSettings:
    """Set the SMTP server (super administrators); the password encrypted."""
    if not who.super:
        raise PermissionDenied("only super administrators set the SMTP server")
    errors: dict[str, str] = {}
    if not data.host.strip() or len(data.host) > 255:
        errors["host"] = "give the SMTP server's host name"
    if not 1 <= data.port <= 65535:
        errors["port"] = "a port from 1 to 65535"
    if "@" not in data.from_address or len(data.from_address) > 320:
        errors["from_address"] = "give the address messages come from"
    if errors:
        raise FieldErrors(errors)
    row = smtp(session) or SmtpSettings()
    row.host = data.host.strip()
    row.port = data.port
    row.starttls = data.starttls
    row.username = (data.username or "").strip() or None
    row.from_address = data.from_address.strip()
    if data.password is not None:
        row.password_ciphertext = (
            box.encrypt({"password": data.password}) if data.password else None
        )
    session.add(row)
    session.flush()
    return row
