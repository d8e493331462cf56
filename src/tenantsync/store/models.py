"""SQLAlchemy 2 typed tables for every word of DESIGN.md's vocabulary."""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
    and_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from tenantsync.timeutil import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class MailboxKind(enum.StrEnum):
    USER = "user"
    SHARED = "shared"
    ROOM = "room"
    EQUIPMENT = "equipment"
    SCHEDULING = "scheduling"
    GROUP = "group"


class GroupKind(enum.StrEnum):
    SECURITY = "security"
    MAIL_SECURITY = "mail_security"
    UNIFIED = "unified"
    DISTRIBUTION = "distribution"
    DYNAMIC_DISTRIBUTION = "dynamic_distribution"


class Right(enum.StrEnum):
    FULL_ACCESS = "full_access"
    SEND_AS = "send_as"
    SEND_ON_BEHALF = "send_on_behalf"


class Role(enum.StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    READ_ONLY = "read_only"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WARNING = "warning"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class Trigger(enum.StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    PREVIEW = "preview"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=_values)


def _values(cls: type[enum.Enum]) -> list[str]:
    return [str(m.value) for m in cls]


class Organization(Base):
    """One customer account; an MSP has many."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[Domain]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="Domain.name"
    )


class Domain(Base):
    """An internal domain of an organization; only its addresses are synced."""

    __tablename__ = "domain"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))

    organization: Mapped[Organization] = relationship(back_populates="domains")


class Connection(Base):
    """How one source directory is reached; credentials are encrypted at rest."""

    __tablename__ = "connection"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_ref: Mapped[str | None] = mapped_column(String(500))
    last_check_at: Mapped[datetime | None]
    last_check_ok: Mapped[bool | None]
    last_check_lines: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()


class PolicyGroup(Base):
    """A console group users are placed in; "Main" is created with every organization."""

    __tablename__ = "policy_group"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(default=False)


class Mailbox(Base):
    """A directory entry with a primary address, aliases, kind and flags."""

    __tablename__ = "mailbox"
    __table_args__ = (
        UniqueConstraint("organization_id", "primary_address"),
        Index("ix_mailbox_org_source", "organization_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    primary_address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[MailboxKind] = mapped_column(_enum(MailboxKind, "mailbox_kind"))
    licensed: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    policy_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("policy_group.id", ondelete="SET NULL"), index=True
    )
    source_id: Mapped[str | None] = mapped_column(String(64))
    exchange_guid: Mapped[str | None] = mapped_column(String(64))
    source_dn: Mapped[str | None] = mapped_column(String(1024))
    source_changed_at: Mapped[datetime | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    synced_by_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="SET NULL")
    )
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    restore_until: Mapped[datetime | None]

    aliases: Mapped[list[MailboxAlias]] = relationship(
        back_populates="mailbox", cascade="all, delete-orphan", order_by="MailboxAlias.address"
    )
    policy_group: Mapped[PolicyGroup | None] = relationship()

    @hybrid_property
    def billable(self) -> bool:
        """Only licensed, enabled user mailboxes that are not removed bill."""
        return (
            self.kind == MailboxKind.USER
            and self.licensed
            and self.enabled
            and self.deleted_at is None
        )

    @billable.inplace.expression
    @classmethod
    def _billable_expression(cls) -> ColumnElement[bool]:
        return and_(
            cls.kind == MailboxKind.USER,
            cls.licensed.is_(True),
            cls.enabled.is_(True),
            cls.deleted_at.is_(None),
        )

    @property
    def non_billable_reason(self) -> str | None:
        """Why this mailbox does not bill, or None when it does."""
        if self.deleted_at is not None:
            return "removed"
        if self.kind != MailboxKind.USER:
            return f"{self.kind.value} mailbox"
        if not self.licensed:
            return "unlicensed"
        if not self.enabled:
            return "disabled account"
        return None


class MailboxAlias(Base):
    """A secondary address of a mailbox, in one of the organization's domains."""

    __tablename__ = "mailbox_alias"
    __table_args__ = (UniqueConstraint("organization_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320))

    mailbox: Mapped[Mailbox] = relationship(back_populates="aliases")


class SourceGroup(Base):
    """A group read from the source, with its DN where known."""

    __tablename__ = "source_group"
    __table_args__ = (
        UniqueConstraint("organization_id", "source_id"),
        Index("ix_source_group_org_mail", "organization_id", "mail"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    mail: Mapped[str | None] = mapped_column(String(320))
    dn: Mapped[str | None] = mapped_column(String(1024))
    kind: Mapped[GroupKind] = mapped_column(_enum(GroupKind, "group_kind"))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class SourceGroupMember(Base):
    """A direct membership: a mailbox or a group inside a group."""

    __tablename__ = "source_group_member"
    __table_args__ = (
        UniqueConstraint("group_id", "member_source_id"),
        Index("ix_source_group_member_member", "member_source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("source_group.id", ondelete="CASCADE"))
    member_source_id: Mapped[str] = mapped_column(String(64))
    member_is_group: Mapped[bool] = mapped_column(default=False)


class SourceGroupClosure(Base):
    """Transitive membership: every mailbox reachable from a group, cycles included once."""

    __tablename__ = "source_group_closure"
    __table_args__ = (Index("ix_source_group_closure_mailbox", "mailbox_id"),)

    group_id: Mapped[int] = mapped_column(
        ForeignKey("source_group.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True
    )


class DelegateGrant(Base):
    """(mailbox, delegate, right) with its origin: the task that granted it, or manual."""

    __tablename__ = "delegate_grant"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "delegate_id", "right", "origin"),
        Index("ix_delegate_grant_delegate", "delegate_id"),
        Index("ix_delegate_grant_origin", "origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    right: Mapped[Right] = mapped_column(_enum(Right, "grant_right"))
    origin: Mapped[str] = mapped_column(String(40), doc='"task:<id>" or "manual"')
    origin_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="SET NULL")
    )
    granted_by: Mapped[str | None] = mapped_column(String(320), doc="account of a manual grant")
    via_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_group.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))


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
        Index("ix_run_claim", "status", "created_at"),
        Index("ix_run_task_created", "task_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("scheduled_task.id", ondelete="CASCADE"))
    trigger: Mapped[Trigger] = mapped_column(_enum(Trigger, "run_trigger"))
    status: Mapped[RunStatus] = mapped_column(
        _enum(RunStatus, "run_status"), default=RunStatus.QUEUED
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
    __table_args__ = (Index("ix_change_record_run", "run_id", "id"),)

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


class SyncState(Base):
    """Per-task resumable state such as Graph delta links."""

    __tablename__ = "sync_state"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConsoleAccount(Base):
    """A person who signs in to the console; passwords are argon2 hashes."""

    __tablename__ = "console_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "account_role"))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("console_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    account: Mapped[ConsoleAccount] = relationship()


class AuditEntry(Base):
    """An administrative action: who did what to which object."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(1024), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    address: Mapped[str | None] = mapped_column(String(64))


__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "ChangeRecord",
    "Connection",
    "ConsoleAccount",
    "Definition",
    "DelegateGrant",
    "Domain",
    "GroupKind",
    "Mailbox",
    "MailboxAlias",
    "MailboxKind",
    "Organization",
    "PolicyGroup",
    "Right",
    "Role",
    "Run",
    "RunStatus",
    "Schedule",
    "ScheduledTask",
    "SourceGroup",
    "SourceGroupClosure",
    "SourceGroupMember",
    "SyncState",
    "Trigger",
]
