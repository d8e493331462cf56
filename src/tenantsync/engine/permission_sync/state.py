"""What a task remembers between runs: when it last read each mailbox (by the mailbox's change
time) and the ACL entries it found, so unchanged mailboxes need not be read again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tenantsync.model.permissions import AclEntry, MailboxRef, Right, Trustee
from tenantsync.store.models import SyncState

STATE_KEY = "permission_sync"
STATE_VERSION = 2


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

    def to_json(self) -> dict[str, Any]:
        """The state as the JSON kept in SyncState."""
        return {
            "version": STATE_VERSION,
            "last_full_at": self.last_full_at.isoformat() if self.last_full_at else None,
            "rights": sorted(r.value for r in self.rights),
            "unresolved": self.unresolved,
            "mailboxes": {
                str(mid): [read.stamp, [_entry_json(e) for e in read.entries]]
                for mid, read in self.mailboxes.items()
            },
        }

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> ReadState:
        """A state read back; anything of another version means "nothing remembered"."""
        if not value or value.get("version") != STATE_VERSION:
            return cls()
        last = value.get("last_full_at")
        return cls(
            last_full_at=datetime.fromisoformat(last) if last else None,
            rights=frozenset(Right(r) for r in value.get("rights", [])),
            unresolved=int(value.get("unresolved", 0)),
            mailboxes={
                int(mid): MailboxRead(stamp, tuple(_entry(e) for e in entries))
                for mid, (stamp, entries) in value.get("mailboxes", {}).items()
            },
        )


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
    row = session.get(SyncState, (task_id, STATE_KEY))
    return ReadState.from_json(row.value if row else None)


def save_state(session: Session, task_id: int, state: ReadState) -> None:
    """Remember ``state`` for the next run (in the caller's transaction)."""
    row = session.get(SyncState, (task_id, STATE_KEY))
    if row is None:
        session.add(SyncState(task_id=task_id, key=STATE_KEY, value=state.to_json()))
    else:
        row.value = state.to_json()


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
