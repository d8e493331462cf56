"""The drift report between two permission reads names the mailboxes whose explicit
entries differ, compares trustees by account name, and never calls an unread mailbox drift."""

from __future__ import annotations

from tenantsync.engine.permission_sync.drift import compare
from tenantsync.model.permissions import (
    AclEntry,
    MailboxAcl,
    MailboxRef,
    ReadFailure,
    Right,
    Trustee,
)

A = MailboxRef(1, "a@contoso.com")
B = MailboxRef(2, "b@contoso.com")
C = MailboxRef(3, "c@contoso.com")


def _acl(mailbox: MailboxRef, *entries: tuple[str, Right, bool, bool]) -> MailboxAcl:
    return MailboxAcl(
        mailbox,
        tuple(
            AclEntry(mailbox.address, Trustee(name), right, deny=deny, inherited=inherited)
            for name, right, deny, inherited in entries
        ),
    )


def test_a_grant_only_one_path_shows_is_drift_for_that_mailbox() -> None:
    ad = [
        _acl(A, ("CORP\\jdoe", Right.FULL_ACCESS, False, False)),
        _acl(B, ("CORP\\ann", Right.SEND_AS, False, False)),
    ]
    shell = [
        _acl(A, ("CORP\\JDoe", Right.FULL_ACCESS, False, False)),
        _acl(B, ("CORP\\ann", Right.SEND_AS, True, False)),
    ]
    report = compare(ad, shell)
    assert report.compared == 2
    assert [d.address for d in report.drifts] == ["b@contoso.com"]
    assert report.lines() == ["b@contoso.com: only AD: send_as ann; only Shell: deny send_as ann"]


def test_inherited_entries_are_not_compared() -> None:
    ad = [_acl(A, ("CORP\\Exchange Servers", Right.FULL_ACCESS, False, True))]
    shell = [_acl(A)]
    assert compare(ad, shell).drifts == ()


def test_a_mailbox_either_path_could_not_read_is_not_compared() -> None:
    ad = [_acl(A), _acl(C, ("CORP\\x", Right.FULL_ACCESS, False, False))]
    shell = [ReadFailure(A, "Get-ADPermission: the server is not operational"), _acl(B)]
    report = compare(ad, shell)
    assert report.drifts == () and report.compared == 0
    assert dict(report.not_compared) == {
        "a@contoso.com": "Get-ADPermission: the server is not operational",
        "b@contoso.com": "read by one path only",
        "c@contoso.com": "read by one path only",
    }


def test_system_principals_are_not_compared_and_send_on_behalf_names_meet() -> None:
    ad = [
        _acl(
            A,
            ("NT AUTHORITY\\SYSTEM", Right.SEND_AS, False, False),
            ("CORP\\Domain Admins", Right.SEND_AS, False, False),
            ("CN=jdoe,OU=People,DC=corp,DC=example", Right.SEND_ON_BEHALF, False, False),
        )
    ]
    shell = [
        _acl(
            A,
            ("Discovery Management", Right.FULL_ACCESS, False, False),
            ("corp.example/People/jdoe", Right.SEND_ON_BEHALF, False, False),
        )
    ]
    assert compare(ad, shell).drifts == ()
