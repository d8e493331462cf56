"""Billable has one definition: only licensed, enabled user mailboxes that are not removed."""

from __future__ import annotations

from tenantsync.model import MailboxKind, is_billable, non_billable_reason


def test_only_a_licensed_enabled_user_mailbox_bills() -> None:
    assert is_billable(MailboxKind.USER, licensed=True, enabled=True)
    assert not is_billable(MailboxKind.USER, licensed=False, enabled=True)
    assert not is_billable(MailboxKind.USER, licensed=True, enabled=False)
    assert not is_billable(MailboxKind.USER, licensed=True, enabled=True, removed=True)
    for kind in set(MailboxKind) - {MailboxKind.USER}:
        assert not is_billable(kind, licensed=True, enabled=True)


def test_the_reason_names_what_matters_most_first() -> None:
    assert non_billable_reason(MailboxKind.SHARED, licensed=False, enabled=False) == (
        "shared mailbox"
    )
    assert non_billable_reason(MailboxKind.USER, licensed=False, enabled=False) == "unlicensed"
    assert non_billable_reason(MailboxKind.USER, licensed=True, enabled=False) == (
        "disabled account"
    )
    assert non_billable_reason(MailboxKind.GROUP, licensed=True, enabled=True, removed=True) == (
        "removed"
    )
    assert non_billable_reason(MailboxKind.USER, licensed=True, enabled=True) is None
