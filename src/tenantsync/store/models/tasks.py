"""How features run: definitions, schedules, scheduled tasks, runs, change records, sync state."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenantsync.store.models.base import Base, MailboxState, RunStatus, Trigger, enum_type
from tenantsync.store.models.directory import Connection, Organization
from tenantsync.timeutil import utcnow


class Definition(Base):
    """How a feature runs: its type and options validated by the type's pydantic model."""

    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Schedule(Base):
    """When: an interval or a cron expression, in a time zone, with an optional window."""

    __tablename__ = "schedule"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    interval_seconds: Mapped[int | None]
    cron: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    window_start: Mapped[time | None] = mapped_column(Time())
    window_end: Mapped[time | None] = mapped_column(Time())
    # Days the schedule may run on ("mon,tue,wed,thu,fri"), in its time zone; None: every day.
    weekdays: Mapped[str | None] = mapped_column(String(32))


class ScheduledTask(Base):
    """Definition + schedule + connection + scope."""

    __tablename__ = "scheduled_task"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id", ondelete="RESTRICT"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id", ondelete="SET NULL"))
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connection.id", ondelete="RESTRICT")
    )
    scope_kind: Mapped[str] = mapped_column(String(16), default="all")
    scope_value: Mapped[str | None] = mapped_column(String(1024))
    enabled: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()
    definition: Mapped[Definition] = relationship()
    schedule: Mapped[Schedule | None] = relationship()
    connection: Mapped[Connection | None] = relationship()


class Run(Base):
    """One execution of a task, claimed by a worker under a lease."""

    __tablename__ = "run"
    __table_args__ = (
        UniqueConstraint("task_id", "due_at"),
        Index("ix_run_claim", "status", "created_at", "id"),
        Index("ix_run_task_created", "task_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("scheduled_task.id", ondelete="CASCADE"))
    trigger: Mapped[Trigger] = mapped_column(enum_type(Trigger, "run_trigger"))
    status: Mapped[RunStatus] = mapped_column(
        enum_type(RunStatus, "run_status"), default=RunStatus.QUEUED
    )
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    requested_by: Mapped[str | None] = mapped_column(String(320))
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retried: Mapped[bool] = mapped_column(default=False)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    confirm_removals: Mapped[bool] = mapped_column(default=False)
    confirms_run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    messages: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Why the run stopped short of applying (a threshold stop), as the console shows it.
    stop_reason: Mapped[str | None] = mapped_column(Text)
    # What a threshold stop asks to confirm: the keys of the removals it held.
    review: Mapped[list[str] | None] = mapped_column(JSON)
    # The result of a feature whose output is a report rather than a list of changes.
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A run queued again after a transient failure waits until then.
    not_before: Mapped[datetime | None]
    # One entry per attempt: when, and how it ended (visible on the run).
    attempt_log: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")

    task: Mapped[ScheduledTask] = relationship()

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from start to finish, or None while unfinished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ChangeRecord(Base):
    """One change a run (or a person) made: who, what, before, after."""

    __tablename__ = "change_record"
    __table_args__ = (
        Index("ix_change_record_run", "run_id", "id"),
        Index("ix_change_record_feed", "organization_id", "feed_seq", unique=True),
        # A mailbox's history: its own changes by address, grants by key (migration 0009).
        Index("ix_change_record_org_entity_key", "organization_id", "entity", "key"),
        # A run's changes narrowed by action and entity, or sorted by action (migration 0010).
        Index("ix_change_record_run_action_entity", "run_id", "action", "entity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    entity: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(1024))
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The organization's change feed position (store/feed.py); none for changes outside it.
    feed_seq: Mapped[int | None] = mapped_column(BigInteger)


class SyncState(Base):
    """Per-task resumable state such as Graph delta links (per mailbox: MailboxSyncState)."""

    __tablename__ = "sync_state"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailboxSyncState(Base):
    """Per task and mailbox: how far the task's feature got with the mailbox (a watermark or
    delta link, the last full reconciliation, a state with its reason) and what the feature
    keeps about it between runs (``data``)."""

    __tablename__ = "mailbox_sync_state"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    feature: Mapped[str] = mapped_column(String(64))
    watermark: Mapped[str | None] = mapped_column(String(255))
    delta_link: Mapped[str | None] = mapped_column(Text)
    last_full_at: Mapped[datetime | None]
    state: Mapped[MailboxState] = mapped_column(
        enum_type(MailboxState, "mailbox_state"), default=MailboxState.PENDING
    )
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OrganizationCount(Base):
    """How many mailboxes an organization held, and how many billed, when a user sync ended."""

    __tablename__ = "organization_count"
    __table_args__ = (Index("ix_organization_count_org_at", "organization_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    mailboxes: Mapped[int] = mapped_column(Integer)
    billable: Mapped[int] = mapped_column(Integer)
