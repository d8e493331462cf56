"""Exchange cmdlet output in every serialization real tenants produce."""

from __future__ import annotations

from tenantsync.connectors.exchange_acl import (
    access_rights,
    full_access_entries,
    names_of,
    send_as_entries,
    send_on_behalf_entries,
    when_changed,
)
from tenantsync.model.permissions import Right


def test_access_rights_in_all_three_serializations_and_numeric_flags() -> None:
    assert access_rights(["FullAccess", "ReadPermission"]) == {"fullaccess", "readpermission"}
    assert access_rights(["FullAccess, ReadPermission"]) == {"fullaccess", "readpermission"}
    assert access_rights("{FullAccess, ReadPermission}") == {"fullaccess", "readpermission"}
    assert access_rights([131073]) == {"fullaccess", "readpermission"}
    assert access_rights("131072") == {"readpermission"}


def test_only_full_access_entries_are_kept_with_deny_and_inheritance() -> None:
    items = [
        {"User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess, ReadPermission"]},
        {"User": "alice@contoso.com", "AccessRights": ["FullAccess"], "Deny": {"IsPresent": True}},
        {"User": "bob@contoso.com", "AccessRights": ["ReadPermission"], "IsInherited": False},
        {"User": "CONTOSO\\Domain Admins", "AccessRights": [1], "IsInherited": "True"},
    ]
    entries = full_access_entries("shared@contoso.com", items)
    assert [(str(e.trustee), e.deny, e.inherited) for e in entries] == [
        ("NT AUTHORITY\\SELF", False, False),
        ("alice@contoso.com", True, False),
        ("CONTOSO\\Domain Admins", False, True),
    ]
    assert all(e.right is Right.FULL_ACCESS for e in entries)


def test_send_as_deny_comes_from_access_control_type() -> None:
    items = [
        {"Trustee": "alice@contoso.com", "AccessRights": ["SendAs"], "AccessControlType": "Deny"},
        {"Trustee": "bob@contoso.com", "AccessRights": "{SendAs}", "AccessControlType": "Allow"},
    ]
    entries = send_as_entries("shared@contoso.com", items)
    assert [(e.trustee.upn, e.deny, e.right) for e in entries] == [
        ("alice@contoso.com", True, Right.SEND_AS),
        ("bob@contoso.com", False, Right.SEND_AS),
    ]


def test_send_on_behalf_names_as_list_or_braced_string() -> None:
    assert names_of("{Alice Smith, bob}") == ["Alice Smith", "bob"]
    entries = send_on_behalf_entries("x@contoso.com", {"GrantSendOnBehalfTo": ["alice"]})
    assert [(e.trustee.name, e.right) for e in entries] == [("alice", Right.SEND_ON_BEHALF)]


def test_when_changed_with_seven_fraction_digits_is_aware_utc() -> None:
    stamp = when_changed({"WhenChangedUTC": "2024-04-10T08:56:22.1234567Z"})
    assert stamp is not None and stamp.tzinfo is not None and stamp.microsecond == 123456
    assert when_changed({"WhenChanged": "/Date(1712739382000)/"}) is None


def test_numbers_are_read_in_each_cmdlets_own_enumeration() -> None:
    # ConvertTo-Json of the live objects: the same 1 is FullAccess in Get-MailboxPermission
    # (MailboxRights) and SendAs in Get-RecipientPermission (RecipientAccessRight).
    full = full_access_entries(
        "shared@contoso.com", [{"User": "a@contoso.com", "AccessRights": [1]}]
    )
    assert [e.right for e in full] == [Right.FULL_ACCESS]
    send_as = send_as_entries(
        "shared@contoso.com",
        [
            {"Trustee": "a@contoso.com", "AccessRights": [1], "AccessControlType": 0},
            {"Trustee": "b@contoso.com", "AccessRights": [1], "AccessControlType": 1},
        ],
    )
    assert [(e.trustee.upn, e.right, e.deny) for e in send_as] == [
        ("a@contoso.com", Right.SEND_AS, False),
        ("b@contoso.com", Right.SEND_AS, True),
    ]
