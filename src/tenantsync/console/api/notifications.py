"""Notifications: subscriptions (email, webhook), the delivery log and the SMTP server."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from tenantsync.console.api.schemas import Id, PageNo, PageOut, PerPage, QueryId, text
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Principal, Reader, require_api
from tenantsync.console.ops import notify as ops
from tenantsync.console.state import state_of
from tenantsync.store.models import Role, SmtpSettings

router = APIRouter(prefix="/notifications", tags=["notifications"])
SmtpAdmin = Annotated[Principal, Depends(require_api(Role.SUPER_ADMIN, ops.SMTP))]
Event = Literal["awaiting_confirmation", "failed", "connection", "changes"]


class SubscriptionIn(BaseModel):
    """Subscribe yourself to an organization's events. ``email`` defaults to your own
    address; a webhook without ``secret`` gets one made, returned this once."""

    organization_id: int = Field(ge=1)
    channel: Literal["email", "webhook"]
    events: list[Event] = Field(min_length=1, max_length=4)
    email: Annotated[str, text(320)] | None = None
    url: Annotated[str, text(2048)] | None = None
    secret: Annotated[str, text(200)] | None = None


class SubscriptionOut(BaseModel):
    """A subscription (secrets are never returned)."""

    id: int
    account: str
    organization_id: int
    organization: str
    channel: str
    events: list[str]
    target: str
    feed_cursor: str | None
    created_at: datetime


class SubscriptionMadeOut(SubscriptionOut):
    """The new subscription; ``secret`` only when tenantsync made it (shown this once)."""

    secret: str | None = None


class DeliveryOut(BaseModel):
    """One delivery: its event, where it went, its attempts and how it ended."""

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


class SmtpIn(BaseModel):
    """The SMTP server; leave ``password`` out to keep the stored one, "" to remove it."""

    host: Annotated[str, text(255, min_length=1)]
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: Annotated[str, text(320)] | None = None
    password: Annotated[str, text(1000)] | None = None
    from_address: Annotated[str, text(320, min_length=3)]


class SmtpOut(BaseModel):
    """The SMTP server; whether a password is stored, never the password."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password_set: bool
    from_address: str


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(
    db: DbSession, who: Reader, organization_id: QueryId | None = None
) -> list[SubscriptionOut]:
    """Your subscriptions (super administrators: everyone's)."""
    return [SubscriptionOut(**vars(s)) for s in ops.subscriptions(db, who, organization_id)]


@router.post("/subscriptions", response_model=SubscriptionMadeOut, status_code=201)
def subscribe(
    body: SubscriptionIn, db: DbSession, who: Reader, request: Request
) -> SubscriptionMadeOut:
    """Be told of an organization's threshold stops (``awaiting_confirmation``), failed runs
    (``failed``) and connection problems (``connection``) by email or webhook; a webhook can
    also carry the change feed (``changes``, from now on, in order, grant changes for super
    administrators only). A webhook POST is JSON signed with HMAC-SHA256 over
    ``"<X-Tenantsync-Timestamp>.<body>"`` (``X-Tenantsync-Signature: sha256=<hex>``); a
    delivery that fails is tried again with a doubling pause."""
    data = ops.SubscriptionInput(**body.model_dump())
    view, made = ops.subscribe(db, state_of(request).box, who, data)
    record(db, who, "notification.subscribe", view.target, {"events": view.events})
    return SubscriptionMadeOut(**vars(view), secret=made)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
def unsubscribe(subscription_id: Id, db: DbSession, who: Reader) -> None:
    """End a subscription."""
    ops.unsubscribe(db, who, subscription_id)
    record(db, who, "notification.unsubscribe", str(subscription_id))


@router.post("/subscriptions/{subscription_id}/test", status_code=202)
def send_test(subscription_id: Id, db: DbSession, who: Reader) -> dict[str, str]:
    """Queue a test message; the delivery log shows how it went."""
    ops.send_test(db, who, subscription_id)
    return {"status": "queued"}


@router.get("/deliveries", response_model=PageOut[DeliveryOut])
def deliveries(
    db: DbSession,
    who: Reader,
    subscription_id: QueryId | None = None,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[DeliveryOut]:
    """The delivery log, newest first: yours (super administrators: everyone's)."""
    found = ops.deliveries(db, who, page, per_page, subscription_id, status)
    return PageOut.of(found, lambda d: DeliveryOut(**vars(d)))


@router.get("/smtp", response_model=SmtpOut | None)
def get_smtp(db: DbSession, who: SmtpAdmin) -> SmtpOut | None:
    """The SMTP server email notifications go through (null: none set)."""
    row = ops.smtp(db)
    return None if row is None else _smtp_out(row)


@router.put("/smtp", response_model=SmtpOut)
def set_smtp(body: SmtpIn, db: DbSession, who: SmtpAdmin, request: Request) -> SmtpOut:
    """Set the SMTP server; the password is stored encrypted and never returned."""
    row = ops.set_smtp(db, state_of(request).box, who, ops.SmtpInput(**body.model_dump()))
    record(db, who, "notification.smtp", row.host, {"port": row.port, "starttls": row.starttls})
    return _smtp_out(row)


def _smtp_out(row: SmtpSettings) -> SmtpOut:
    return SmtpOut(**vars(ops.smtp_view(row)))
