"""What the engine needs from a source of mailbox permissions (the seam to the connector)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from tenantsync.model.permissions import MailboxAcl, MailboxRef, ReadFailure, Right

if TYPE_CHECKING:
    from tenantsync.engine.permission_sync.options import PermissionSyncOptions
    from tenantsync.worker.context import RunContext


class PermissionReader(Protocol):
    """Reads mailbox permissions from a source, one result per mailbox asked about."""

    def change_stamps(self, mailboxes: Sequence[MailboxRef]) -> dict[int, datetime | None]:
        """Each mailbox's current change time in the source (by store id), where known."""
        ...

    def read(
        self,
        mailboxes: Sequence[MailboxRef],
        rights: frozenset[Right],
        cancelled: Callable[[], bool],
    ) -> Iterator[MailboxAcl | ReadFailure]:
        """Every entry of ``rights`` per mailbox, in any order; a mailbox that cannot be read
        yields a ReadFailure. Raises AuthError when the account lacks a role."""
        ...

    def notes(self) -> list[str]:
        """Warnings about how the read went (a listing it fell back from), for the run."""
        ...

    def calls(self) -> dict[str, int]:
        """What reading cost so far: requests sent, throttled answers, retries."""
        ...


ReaderFactory = Callable[
    ["RunContext", "PermissionSyncOptions"], AbstractContextManager[PermissionReader]
]
"""Opens a reader for a run's connection (closed when the run is done reading)."""
