"""Reading mailbox permissions for a run: which mailboxes (all, or those whose change time
moved), their relevant ACL entries remembered per mailbox, and what could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from tenantsync.engine.permission_sync.acl import Skips, relevant_entries
from tenantsync.engine.permission_sync.options import PermissionSyncOptions
from tenantsync.engine.permission_sync.scope import Scope
from tenantsync.engine.permission_sync.state import (
    MailboxRead,
    ReadState,
    mailboxes_to_read,
    stamp_of,
)
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import PermissionSource
from tenantsync.model.permissions import MailboxAcl, ReadFailure, Right


@dataclass
class ReadResult:
    """What one run read: new state per mailbox, failures, skipped entries."""

    state: ReadState
    read: int = 0
    failures: list[ReadFailure] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)
    degraded: set[int] = field(default_factory=set)
    uncertain: set[tuple[int, Right]] = field(default_factory=set)
    skips: Skips = field(default_factory=Skips)
    calls: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_mailboxes(
    ctx: RunContext,
    reader: PermissionSource,
    scope: Scope,
    previous: ReadState,
    *,
    full: bool,
) -> ReadResult:
    in_scope = {m.id for m in scope.mailboxes}
    state = ReadState(
        mailboxes={mid: v for mid, v in previous.mailboxes.items() if mid in in_scope}
    )
    # A full read reads every mailbox whatever its change time, so it starts at once and
    # takes the change times (listed alongside) afterwards; an incremental read needs them
    # first to know what changed.
    stamps = None if full else _stamps(reader, scope)
    wanted = scope.mailboxes if full else mailboxes_to_read(previous, scope.mailboxes, stamps or {})
    result = ReadResult(state=state)
    ctx.report("read", 0, len(wanted))
    options = ctx.options
    assert isinstance(options, PermissionSyncOptions)
    answered: dict[int, datetime | None] = {}
    for item in reader.read(wanted, options.rights(), ctx.cancel_event.is_set):
        ctx.check_cancelled()
        answered[item.mailbox.id] = item.changed_at if isinstance(item, MailboxAcl) else None
        result.answered.add(item.mailbox.id)
        if isinstance(item, ReadFailure):
            result.failures.append(item)
            continue
        result.read += 1
        if not item.names_complete:
            result.degraded.add(item.mailbox.id)
        state.mailboxes[item.mailbox.id] = MailboxRead(
            None, tuple(relevant_entries(item.entries, result.skips, item.mailbox.address))
        )
        if result.read % 100 == 0:
            ctx.report("read", result.read + len(result.failures), len(wanted))
    ctx.check_cancelled()
    if stamps is None:
        stamps = _stamps(reader, scope)
    for mid, changed_at in answered.items():
        if mid in state.mailboxes:
            stamp = stamp_of(stamps.get(mid) or changed_at)
            state.mailboxes[mid] = replace(state.mailboxes[mid], stamp=stamp)
    for mailbox in wanted:
        if mailbox.id not in answered:
            # The reader gave no answer for it: never treat that as "no permissions".
            result.failures.append(ReadFailure(mailbox, "no answer from the reader"))
    for failure in result.failures:
        # Read again next run, whatever its change time says.
        state.mailboxes.pop(failure.mailbox.id, None)
    return result


def _stamps(reader: PermissionSource, scope: Scope) -> dict[int, datetime | None]:
    """Each mailbox's change time: the source's where it tells, else the store's."""
    stamps = {m.id: m.changed_at for m in scope.mailboxes}
    stamps.update({k: v for k, v in reader.change_stamps(scope.mailboxes).items() if v})
    return stamps
