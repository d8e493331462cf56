"""Normalized directory entities: plain frozen dataclasses, no I/O, no wire names.

Connectors turn each source's wire format into these; the engine sees nothing else.
"""

from tenantsync.model.directory import (
    LOCATION_TITLES,
    DirectoryGroup,
    DirectoryUser,
    GroupKind,
    Location,
    MailboxInfo,
    MailboxKind,
    MemberRef,
    is_billable,
    non_billable_reason,
)
from tenantsync.model.pages import DeltaPage, GroupDeltaPage, MembershipChange

__all__ = [
    "LOCATION_TITLES",
    "DeltaPage",
    "DirectoryGroup",
    "DirectoryUser",
    "GroupDeltaPage",
    "GroupKind",
    "Location",
    "MailboxInfo",
    "MailboxKind",
    "MemberRef",
    "MembershipChange",
    "is_billable",
    "non_billable_reason",
]
