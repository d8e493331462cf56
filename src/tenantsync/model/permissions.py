"""Mailbox permissions as the engine sees them: raw ACL entries as read, and resolved grants."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Right(enum.StrEnum):
    """A delegate right; the values are the store's ``Right`` values."""

    FULL_ACCESS = "full_access"
    SEND_AS = "send_as"
    SEND_ON_BEHALF = "send_on_behalf"


RIGHT_TITLES: dict[Right, str] = {
    Right.FULL_ACCESS: "Full Access",
    Right.SEND_AS: "Send As",
    Right.SEND_ON_BEHALF: "Send on Behalf",
}


MANUAL_ORIGIN = "manual"


def origin_label(task_id: int | None) -> str:
    """How a grant's origin is named: ``task:<id>`` for a task's grant, ``manual`` for one a
    person added (the store keeps only the task id, None for a person's)."""
    return MANUAL_ORIGIN if task_id is None else f"task:{task_id}"


@dataclass(frozen=True, slots=True)
class Trustee:
    """Who an ACL entry names: as the source printed it, plus its SID, UPN and the source's
    object id when the connector could tell them."""

    name: str
    sid: str | None = None
    upn: str | None = None
    source_id: str | None = None

    def __str__(self) -> str:
        return self.name or self.upn or self.sid or "?"


@dataclass(frozen=True, slots=True)
class AclEntry:
    """One permission entry as read: which mailbox, which trustee, which right, allow or deny."""

    mailbox: str
    trustee: Trustee
    right: Right
    deny: bool = False
    inherited: bool = False


@dataclass(frozen=True, slots=True)
class MailboxRef:
    """A mailbox the reader is asked about: store id, address, and the source's ids."""

    id: int
    address: str
    source_id: str | None = None
    exchange_guid: str | None = None
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MailboxAcl:
    """Every entry read for one mailbox (all requested rights); complete for that mailbox.

    ``names_complete`` is False when the reader could not look trustees' names up in a
    whole listing of the organization (it failed or was cut): a trustee it shows by name
    only may then be anyone, and must not be read as "nobody the directory knows".
    """

    mailbox: MailboxRef
    entries: tuple[AclEntry, ...] = ()
    changed_at: datetime | None = None
    names_complete: bool = True


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A mailbox whose permissions could not be read; its grants must be kept as they are.
    ``retryable``: the cause was transient (throttling, an outage), not the mailbox."""

    mailbox: MailboxRef
    reason: str
    retryable: bool = False


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """A resolved delegate grant: mailbox, delegate, right, and the group it came through."""

    mailbox_id: int
    delegate_id: int
    right: Right
    via_group_id: int | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[int, int, Right]:
        """What identifies the grant within one origin."""
        return (self.mailbox_id, self.delegate_id, self.right)


__all__ = [
    "MANUAL_ORIGIN",
    "RIGHT_TITLES",
    "AclEntry",
    "Grant",
    "MailboxAcl",
    "MailboxRef",
    "ReadFailure",
    "Right",
    "Trustee",
    "origin_label",
]
