"""Incremental reads: unchanged mailboxes are not read again; full reconciliation on schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenantsync.engine.permission_sync.state import (
    MailboxRead,
    ReadState,
    mailboxes_to_read,
    needs_full_read,
    stamp_of,
)
from tenantsync.model.permissions import AclEntry, MailboxRef, Right, Trustee

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


def test_state_survives_its_json_form() -> None:
    entry = AclEntry(
        "m7@contoso.com",
        Trustee("Sales", "S-1-5-21-1-2-3-9", None, "g-1"),
        Right.SEND_AS,
        deny=True,
    )
    state = ReadState(last_full_at=T0, rights=RIGHTS, mailboxes={7: MailboxRead("x", (entry,))})
    again = ReadState.from_json(state.to_json())
    assert again == state


def test_a_state_of_an_older_version_remembers_nothing() -> None:
    assert ReadState.from_json({"version": 1, "mailboxes": {"1": ["x", []]}}) == ReadState()
