"""What a task remembers between runs: when it last read each mailbox (by the mailbox's change
time) and the ACL entries it found, so unchanged mailboxes need not be read again.

Per mailbox, in ``mailbox_sync_state`` rows (healthy after a read, attention with the
reason when its read failed; no row: never read): the change stamp as the watermark and
the relevant entries as the row's data. The task-level part (last full read, rights,
unresolved trustees) stays in ``sync_state``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from tenantsync.model.permissions import AclEntry, MailboxRef, Right, Trustee
from tenantsync.store.mailbox_state import (
    MailboxStateRow,
    load_mailbox_states,
    save_mailbox_states,
)
from tenantsync.store.models import MailboxState, SyncState

STATE_KEY = "permission_sync"
# The definition type whose rows these are in mailbox_sync_state.
FEATURE = "mailbox_permission_sync"
# 3: the mailboxes moved from the task's sync_state into mailbox_sync_state rows.
STATE_VERSION = 3
NO_FAILURES: Mapping[int, str] = MappingProxyType({})


@dataclass(frozen=True)
class MailboxRead:
    """One mailbox as last read: its change stamp then, and the entries that can be
    delegations (resolved against the directory on every run, so directory changes count)."""

    stamp: str | None
    entries: tuple[AclEntry, ...] = ()


@dataclass
class ReadState:
    """Per mailbox: the change stamp it had when read, and its relevant ACL entries."""

    last_full_at: datetime | None = None
    rights: frozenset[Right] = frozenset()
    mailboxes: dict[int, MailboxRead] = field(default_factory=dict)
    unresolved: int = 0


def _entry_json(entry: AclEntry) -> list[Any]:
    t = entry.trustee
    return [entry.mailbox, t.name, t.sid, t.upn, t.source_id, entry.right.value, entry.deny]


def _entry(value: list[Any]) -> AclEntry:
    mailbox, name, sid, upn, source_id, right, deny = value
    return AclEntry(
        mailbox=str(mailbox),
        trustee=Trustee(str(name), sid, upn, source_id),
        right=Right(right),
        deny=bool(deny),
    )


def stamp_of(value: datetime | None) -> str | None:
    """A change time as the string remembered for comparison."""
    return value.isoformat() if value else None


def load_state(session: Session, task_id: int) -> ReadState:
    """What the task remembered after its last applied run."""
    task = _task_state(session, task_id)
    if task is None:
        return ReadState()
    last = task.get("last_full_at")
    rows = load_mailbox_states(session, task_id, FEATURE)
    return ReadState(
        last_full_at=datetime.fromisoformat(last) if last else None,
        rights=frozenset(Right(r) for r in task.get("rights", [])),
        unresolved=int(task.get("unresolved", 0)),
        mailboxes={
            mid: MailboxRead(row.watermark, tuple(_entry(e) for e in row.data.get("entries", [])))
            for mid, row in rows.items()
            if row.state is MailboxState.HEALTHY
        },
    )


def save_state(
    session: Session, task_id: int, state: ReadState, failures: Mapping[int, str] = NO_FAILURES
) -> None:
    """Remember ``state`` for the next run (in the caller's transaction).

    Each mailbox of ``state.mailboxes`` is healthy; each of ``failures`` (mailbox id → why
    its read failed) needs attention and is read again next run; the task forgets every
    other mailbox. A run that was a full read sets the last full reconciliation of every
    mailbox it read.
    """
    previous = _task_state(session, task_id) or {}
    last_full = state.last_full_at.isoformat() if state.last_full_at else None
    full = last_full is not None and last_full != previous.get("last_full_at")
    stored = load_mailbox_states(session, task_id, FEATURE)

    def reconciled(mid: int) -> datetime | None:
        known = stored.get(mid)
        return known.last_full_at if known is not None else None

    rows = {
        mid: MailboxStateRow(
            MailboxState.HEALTHY,
            watermark=read.stamp,
            last_full_at=state.last_full_at if full else reconciled(mid),
            data={"entries": [_entry_json(e) for e in read.entries]},
        )
        for mid, read in state.mailboxes.items()
    }
    for mid, reason in failures.items():
        rows[mid] = MailboxStateRow(
            MailboxState.ATTENTION, reason=reason, last_full_at=reconciled(mid)
        )
    save_mailbox_states(session, task_id, FEATURE, rows, stored=stored)
    value = {
        "version": STATE_VERSION,
        "last_full_at": last_full,
        "rights": sorted(r.value for r in state.rights),
        "unresolved": state.unresolved,
    }
    row = session.get(SyncState, (task_id, STATE_KEY))
    if row is None:
        session.add(SyncState(task_id=task_id, key=STATE_KEY, value=value))
    else:
        row.value = value


def _task_state(session: Session, task_id: int) -> dict[str, Any] | None:
    """The task-level state, or None when there is none of this version (nothing is
    remembered then: the next run reads every mailbox)."""
    row = session.get(SyncState, (task_id, STATE_KEY))
    if row is None or not row.value or row.value.get("version") != STATE_VERSION:
        return None
    return dict(row.value)


def needs_full_read(
    state: ReadState, rights: frozenset[Right], now: datetime, every_hours: float
) -> bool:
    """Whether this run reads every mailbox: first run, rights changed, or reconciliation due."""
    if state.last_full_at is None or state.rights != rights or every_hours <= 0:
        return True
    return now - state.last_full_at >= timedelta(hours=every_hours)


def mailboxes_to_read(
    state: ReadState, scope: Sequence[MailboxRef], stamps: dict[int, datetime | None]
) -> list[MailboxRef]:
    """Mailboxes never read, without a change time, or changed since they were read."""
    result = []
    for mailbox in scope:
        remembered = state.mailboxes.get(mailbox.id)
        stamp = stamp_of(stamps.get(mailbox.id, mailbox.changed_at))
        if remembered is None or stamp is None or remembered.stamp != stamp:
            result.append(mailbox)
    return result
