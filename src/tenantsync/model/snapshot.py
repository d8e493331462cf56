"""A read of a directory source: users, mailboxes, groups and memberships, and for each
part of the read whether it finished with proof.

Two kinds of trouble are kept apart:

* a **part** of the read that did not finish with proof (a page stream without its final
  delta link, a listing that failed) is named in ``problems``; a snapshot with problems
  never removes anything and never advances the saved delta links;
* an **object** that could not be read whole (its record was partial and reading it
  again failed, its mailbox kind could not be told) is named in ``unreadable``: it is left
  exactly as stored, read again by the next run, and the rest of the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantsync.errors import SourceError
from tenantsync.model.directory import (
    DirectoryGroup,
    DirectoryUser,
    MailboxInfo,
    MailboxKind,
    MemberRef,
)
from tenantsync.model.pages import MembershipChange


@dataclass(repr=False)
class Snapshot:
    """What one read found. In a delta snapshot, users and groups are the changed ones.

    Its repr is a summary: asyncio (and anyio, when it cancels a connection attempt) format
    the finished read task with its result, and a field-by-field repr of a 100,000-user
    snapshot is a string of hundreds of megabytes.
    """

    full: bool
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    removed_users: set[str] = field(default_factory=set)
    mailboxes: dict[str, MailboxInfo] = field(default_factory=dict)
    mailboxes_complete: bool = False
    no_mailbox: set[str] = field(default_factory=set)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    removed_groups: set[str] = field(default_factory=set)
    members: dict[str, set[MemberRef]] = field(default_factory=dict)
    member_changes: list[MembershipChange] = field(default_factory=list)
    exchange_groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    exchange_groups_read: bool = False
    users_delta_link: str | None = None
    groups_delta_link: str | None = None
    unreadable: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    retry: SourceError | None = None
    notes: list[str] = field(default_factory=list)
    removals_held: str | None = None
    """Why this read, complete as it is, may remove nothing (a source that fell back to a
    full read it cannot vouch for); its links are saved, it is no full reconciliation."""

    def fail_part(self, name: str, error: SourceError) -> None:
        """A part of the read did not finish: name it, and keep the first transient cause."""
        self.problems.append(f"{name}: {error}")
        if error.retryable and self.retry is None:
            self.retry = error

    @property
    def complete(self) -> bool:
        """Whether every part was read; only a complete snapshot may remove anything."""
        return not self.problems

    def __repr__(self) -> str:
        return (
            f"<Snapshot {'full' if self.full else 'delta'}: {len(self.users)} users, "
            f"{len(self.removed_users)} removed, {len(self.mailboxes)} mailboxes, "
            f"{len(self.groups) + len(self.exchange_groups)} groups, "
            f"{len(self.problems)} problems>"
        )

    def set_unreadable(self, source_id: str, reason: str) -> None:
        """Leave one object as it is stored: it changed but could not be read whole."""
        self.unreadable[source_id] = reason
        self.users.pop(source_id, None)
        self.mailboxes.pop(source_id, None)

    def kind_of(self, user: DirectoryUser) -> MailboxKind | None:
        """The kind of a user's mailbox, or None when the user has no mailbox."""
        info = self.mailboxes.get(user.source_id)
        return info.kind if info is not None else None
