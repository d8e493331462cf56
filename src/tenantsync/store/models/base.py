"""The declarative base, the UTC datetime type, naming conventions and the enums."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    MetaData,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# The model's enums, stored as their values (re-exported for the tables and their users).
from tenantsync.model.directory import GroupKind as GroupKind
from tenantsync.model.directory import Location as Location
from tenantsync.model.directory import MailboxKind as MailboxKind
from tenantsync.model.permissions import Right as Right

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
    # Stopped at the removal guard: nothing applied; the run's review lists what to confirm.
    AWAITING_CONFIRMATION = "awaiting_confirmation"

    @property
    def finished(self) -> bool:
        """Whether the run is over (one awaiting confirmation is: a new run confirms it)."""
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class LinkKind(enum.StrEnum):
    """What kind of our object a source link points at."""

    MAILBOX = "mailbox"
    GROUP = "group"


class MailboxState(enum.StrEnum):
    """How a feature stands with one mailbox: never read yet, read, left out on purpose, or
    in need of attention (its last read failed; the reason is kept with it)."""

    PENDING = "pending"
    HEALTHY = "healthy"
    SKIPPED = "skipped"
    ATTENTION = "attention"


class Trigger(enum.StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    PREVIEW = "preview"


def enum_type(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column type: stored as the values, checked in Python, not by the database."""
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=_values)


def _values(cls: type[enum.Enum]) -> list[str]:
    return [str(m.value) for m in cls]
