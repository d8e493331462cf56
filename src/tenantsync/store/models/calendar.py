"""Calendar replication: replicas, their state per mailbox calendar, and feed secrets.

State is keyed by mailbox and calendar, never by task: a mailbox that moves to another
task (or worker) carries on from its delta link instead of copying its calendar again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantsync.model.calendar import EventKind
from tenantsync.store.models.base import Base, MailboxState, enum_type
from tenantsync.timeutil import utcnow


class CalendarReplica(Base):
    """One replicated calendar item of a mailbox, keyed by (mailbox, immutable event id):
    a single event, a series master, an exception or a cancelled occurrence. UTC instants,
    the event's original zone beside them; an all-day event keeps its dates."""

    __tablename__ = "calendar_replica"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "source_id"),
        Index("ix_calendar_replica_mailbox_start", "mailbox_id", "start_at"),
        Index("ix_calendar_replica_mailbox_series", "mailbox_id", "series_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    calendar_key: Mapped[str] = mapped_column(String(255))
    source_id: Mapped[str] = mapped_column(String(512))
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind, "calendar_event_kind"))
    series_id: Mapped[str | None] = mapped_column(String(512))
    ical_uid: Mapped[str] = mapped_column(String(512))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    until_at: Mapped[datetime | None] = mapped_column(
        doc="a series' last end (None: no end); other items: their end"
    )
    original_start: Mapped[datetime | None]
    all_day: Mapped[bool] = mapped_column(default=False)
    start_date: Mapped[date | None] = mapped_column(Date())
    end_date: Mapped[date | None] = mapped_column(Date())
    time_zone: Mapped[str | None] = mapped_column(String(64))
    time_zone_source: Mapped[str] = mapped_column(String(255), default="")
    sensitivity: Mapped[str] = mapped_column(String(16), default="normal")
    show_as: Mapped[str] = mapped_column(String(32), default="busy")
    subject: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64))
    change_key: Mapped[str] = mapped_column(String(255), default="")
    last_modified: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarSyncState(Base):
    """Per mailbox and calendar: the delta link (and the window it tracks), the last full
    reconciliation, a state (pending, healthy, skipped, attention) with its reason, the
    task that last read it, and what the feature keeps (the folder's delegates)."""

    __tablename__ = "calendar_sync_state"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    calendar_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    calendar_name: Mapped[str] = mapped_column(String(255), default="")
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="SET NULL"), index=True
    )
    options_key: Mapped[str] = mapped_column(String(64), default="")
    delta_link: Mapped[str | None] = mapped_column(Text)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    last_full_at: Mapped[datetime | None]
    last_read_at: Mapped[datetime | None]
    state: Mapped[MailboxState] = mapped_column(
        enum_type(MailboxState, "mailbox_state"), default=MailboxState.PENDING
    )
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarFeed(Base):
    """A secret iCalendar feed URL of one viewer (the owner or a delegate) for one
    mailbox's calendar; only the secret's SHA-256 is stored, and it can be revoked."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    viewer_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
