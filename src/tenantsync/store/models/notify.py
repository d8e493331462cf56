"""The change feed's counter per organization, and notifications: who is told what, how,
and every delivery (the outbox the worker sends from, and the log the console shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantsync.store.models.base import Base
from tenantsync.timeutil import utcnow


class ChangeFeed(Base):
    """An organization's change feed: the last sequence number given to a change record
    (``change_record.feed_seq``) and the retention horizon (every number at or below it may
    have been pruned; a cursor older than it must resync)."""

    __tablename__ = "change_feed"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    horizon: Mapped[int] = mapped_column(BigInteger, default=0)


class SmtpSettings(Base):
    """How email notifications are sent (one row): the password encrypted with the key file."""

    __tablename__ = "smtp_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=587)
    starttls: Mapped[bool] = mapped_column(default=True)
    username: Mapped[str | None] = mapped_column(String(320))
    password_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    from_address: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationSubscription(Base):
    """An account told about an organization's events by email or webhook. ``feed_cursor``:
    how far a webhook subscribed to ``changes`` has been sent the change feed."""

    __tablename__ = "notification_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("console_account.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    events: Mapped[list[Any]] = mapped_column(default=list)
    email: Mapped[str | None] = mapped_column(String(320))
    url: Mapped[str | None] = mapped_column(String(2048))
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    feed_cursor: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationDelivery(Base):
    """One message to one subscription: pending in the outbox until sent, retried with
    backoff, then delivered or failed for good; the delivery log."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("notification_subscription.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    response_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
