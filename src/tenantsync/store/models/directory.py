"""Organizations and what is synced into them: domains, connections, mailboxes, groups, grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    cast,
    literal,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from tenantsync.model.directory import BILLABLE_KIND, is_billable, non_billable_reason
from tenantsync.model.permissions import MANUAL_ORIGIN, origin_label
from tenantsync.store.models.base import (
    Base,
    GroupKind,
    LinkKind,
    Location,
    MailboxKind,
    Right,
    enum_type,
)
from tenantsync.timeutil import utcnow

# What the console's search reads (store/search.py). A bulk write names it (searchable());
# an object written through the ORM gets it from store/models/search_text.py.
SEARCH_TEXT = "names and addresses folded for search, one a line (store.search.searchable)"
# GIN trigram indexes on search_text, made by migration 0011 on PostgreSQL where pg_trgm
# could be created: a database may or may not have them, so the models do not declare them.
TRIGRAM_INDEXES = frozenset({"ix_mailbox_search_text_trgm", "ix_source_group_search_text_trgm"})


class Organization(Base):
    """One customer account; an MSP has many."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    search_text: Mapped[str] = mapped_column(Text, server_default="", doc=SEARCH_TEXT)

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
    """A directory entry with a primary address, aliases, kind, where it lives, and flags."""

    __tablename__ = "mailbox"
    __table_args__ = (
        UniqueConstraint("organization_id", "primary_address"),
        Index("ix_mailbox_org_source", "organization_id", "source_id"),
        # The console's list, sorted by a column then id, and its counts, read off the index
        # alone (deleted_at, the live-or-removed filter, is in each) (migration 0009).
        Index("ix_mailbox_org_deleted", "organization_id", "deleted_at", "id"),
        Index("ix_mailbox_org_address", "organization_id", "primary_address", "id", "deleted_at"),
        Index("ix_mailbox_org_name", "organization_id", "display_name", "id", "deleted_at"),
        Index("ix_mailbox_org_kind", "organization_id", "kind", "id", "deleted_at"),
        Index("ix_mailbox_org_last_seen", "organization_id", "last_seen", "id", "deleted_at"),
        Index("ix_mailbox_org_policy", "organization_id", "policy_group_id", "id", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    primary_address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    kind: Mapped[MailboxKind] = mapped_column(enum_type(MailboxKind, "mailbox_kind"))
    location: Mapped[Location] = mapped_column(
        enum_type(Location, "mailbox_location"),
        default=Location.CLOUD,
        server_default=Location.CLOUD.value,
    )
    recipient_type: Mapped[str | None] = mapped_column(
        String(64), doc="Exchange's exact RecipientTypeDetails, when a source named it"
    )
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
    search_text: Mapped[str] = mapped_column(Text, server_default="", doc=SEARCH_TEXT)

    aliases: Mapped[list[MailboxAlias]] = relationship(
        back_populates="mailbox", cascade="all, delete-orphan", order_by="MailboxAlias.address"
    )
    policy_group: Mapped[PolicyGroup | None] = relationship()

    @hybrid_property
    def billable(self) -> bool:
        """Whether the mailbox bills (``model.is_billable``; not once removed)."""
        return is_billable(
            self.kind,
            licensed=self.licensed,
            enabled=self.enabled,
            removed=self.deleted_at is not None,
        )

    @billable.inplace.expression
    @classmethod
    def _billable_expression(cls) -> ColumnElement[bool]:
        # The SQL twin of model.is_billable, for filters and counts; a test holds them equal.
        return and_(
            cls.kind == BILLABLE_KIND,
            cls.licensed.is_(True),
            cls.enabled.is_(True),
            cls.deleted_at.is_(None),
        )

    @property
    def non_billable_reason(self) -> str | None:
        """Why this mailbox does not bill, or None when it does."""
        return non_billable_reason(
            self.kind,
            licensed=self.licensed,
            enabled=self.enabled,
            removed=self.deleted_at is not None,
        )


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
    kind: Mapped[GroupKind] = mapped_column(enum_type(GroupKind, "group_kind"))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    search_text: Mapped[str] = mapped_column(Text, server_default="", doc=SEARCH_TEXT)


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


class SourceLink(Base):
    """Which of our objects a source's object is: (connection, kind, the source's id) → our
    mailbox or source group. A removed object keeps its link; a purged one takes it along."""

    __tablename__ = "source_link"
    __table_args__ = (
        UniqueConstraint("connection_id", "object_kind", "source_id"),
        CheckConstraint(
            "(object_kind = 'mailbox' AND mailbox_id IS NOT NULL AND group_id IS NULL) OR "
            "(object_kind = 'group' AND group_id IS NOT NULL AND mailbox_id IS NULL)",
            name="one_object",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    connection_id: Mapped[int] = mapped_column(ForeignKey("connection.id", ondelete="CASCADE"))
    object_kind: Mapped[LinkKind] = mapped_column(enum_type(LinkKind, "link_kind"))
    # One column per kind of object, so the database removes a link with its object.
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailbox.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_group.id", ondelete="CASCADE"), index=True
    )
    source_id: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def object_id(self) -> int:
        """Our object's id (a mailbox's or a source group's, by ``object_kind``)."""
        found = self.mailbox_id if self.object_kind is LinkKind.MAILBOX else self.group_id
        assert found is not None
        return found


class DelegateGrant(Base):
    """(mailbox, delegate, right) with its origin, stored once: the task that granted it
    (``origin_task_id``), or none for a manual grant (``granted_by`` names the person). A
    task's grants go with the task."""

    __tablename__ = "delegate_grant"
    __table_args__ = (
        # One grant per (mailbox, delegate, right) and origin: per task by the constraint,
        # and among manual grants (whose NULL task ids never clash) by the partial index.
        UniqueConstraint("mailbox_id", "delegate_id", "right", "origin_task_id"),
        Index(
            "uq_delegate_grant_manual",
            "mailbox_id",
            "delegate_id",
            "right",
            unique=True,
            sqlite_where=text("origin_task_id IS NULL"),
            postgresql_where=text("origin_task_id IS NULL"),
        ),
        Index("ix_delegate_grant_delegate", "delegate_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("mailbox.id", ondelete="CASCADE"))
    right: Mapped[Right] = mapped_column(enum_type(Right, "grant_right"))
    origin_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_task.id", ondelete="CASCADE"),
        index=True,
        doc="the task that granted it; None: a manual grant",
    )
    granted_by: Mapped[str | None] = mapped_column(String(320), doc="account of a manual grant")
    via_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("source_group.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id", ondelete="SET NULL"))

    @hybrid_property
    def origin(self) -> str:
        """The origin as people read it: ``task:<id>`` or ``manual`` (derived, never stored)."""
        return origin_label(self.origin_task_id)

    @origin.inplace.expression
    @classmethod
    def _origin_expression(cls) -> ColumnElement[str]:
        return case(
            (cls.origin_task_id.is_(None), literal(MANUAL_ORIGIN)),
            else_=literal("task:") + cast(cls.origin_task_id, String),
        )

    @property
    def manual(self) -> bool:
        """Whether a person added the grant (syncs never touch it)."""
        return self.origin_task_id is None
