"""SQLAlchemy 2 typed tables for every word of DESIGN.md's vocabulary."""

from tenantsync.store.models.accounts import (
    ApiToken,
    AuditEntry,
    ConsoleAccount,
)
from tenantsync.store.models.base import (
    NAMING,
    Base,
    GroupKind,
    MailboxKind,
    Right,
    Role,
    RunStatus,
    Trigger,
    UTCDateTime,
)
from tenantsync.store.models.directory import (
    Connection,
    DelegateGrant,
    Domain,
    Mailbox,
    MailboxAlias,
    Organization,
    PolicyGroup,
    SourceGroup,
    SourceGroupClosure,
    SourceGroupMember,
)
from tenantsync.store.models.tasks import (
    ChangeRecord,
    Definition,
    Run,
    Schedule,
    ScheduledTask,
    SyncState,
)

__all__ = [
    "NAMING",
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
    "UTCDateTime",
]
