"""Incremental reads: unchanged mailboxes are not read again; full reconciliation on schedule.

How the state survives the store: tests/integration/permission_sync/test_mailbox_state.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenantsync.engine.permission_sync.state import (
    MailboxRead,
    ReadState,
    mailboxes_to_read,
    needs_full_read,
    stamp_of,
)
from tenantsync.model.permissions import MailboxRef, Right

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RIGHTS = frozenset({Right.FULL_ACCESS})


def test_the_first_run_and_a_due_reconciliation_read_everything() -> None:
    assert needs_full_read(ReadState(), RIGHTS, T0, 24)
    state = ReadState(last_full_at=T0, rights=RIGHTS)
    assert not needs_full_read(state, RIGHTS, T0 + timedelta(hours=23), 24)
    assert needs_full_read(state, RIGHTS, T0 + timedelta(hours=24), 24)
    assert needs_full_read(state, RIGHTS, T0, 0)


def test_turning_on_another_right_forces_a_full_read() -> None:
    state = ReadState(last_full_at=T0, rights=RIGHTS)
    assert needs_full_read(state, frozenset({Right.FULL_ACCESS, Right.SEND_AS}), T0, 24)


def test_only_new_changed_or_unstamped_mailboxes_are_read() -> None:
    state = ReadState(
        last_full_at=T0,
        rights=RIGHTS,
        mailboxes={
            1: MailboxRead(stamp_of(T0)),
            2: MailboxRead(stamp_of(T0)),
            4: MailboxRead(None),
        },
    )
    scope = [MailboxRef(i, f"m{i}@contoso.com", changed_at=T0) for i in (1, 2, 3)]
    scope.append(MailboxRef(4, "m4@contoso.com"))
    later = T0 + timedelta(minutes=5)
    chosen = mailboxes_to_read(state, scope, {2: later})
    assert [m.id for m in chosen] == [2, 3, 4]
