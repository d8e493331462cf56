"""Graph delta records that leave selected properties out are never taken at their word."""

from __future__ import annotations

from tenantsync.connectors import graph_items as items
from tenantsync.model import MailboxKind


def test_a_record_missing_a_selected_property_is_partial() -> None:
    whole = dict.fromkeys(items.USER_SELECT) | {"id": "u1", "mail": "a@contoso.com"}
    assert not items.is_partial(whole, items.USER_SELECT)
    names_only = {"id": "u1", "displayName": "Ada", "givenName": "Ada", "surname": "L"}
    assert items.is_partial(names_only, items.USER_SELECT)


def test_a_group_record_of_members_only_carries_no_group_properties() -> None:
    members_only = {"id": "g1", "members@delta": [{"@odata.type": items.USER_TYPE, "id": "u1"}]}
    assert not items.carries_properties(members_only, items.GROUP_SELECT)
    renamed = {"id": "g1", "displayName": "Sales"}
    assert items.carries_properties(renamed, items.GROUP_SELECT)
    assert items.is_partial(renamed, items.GROUP_SELECT)


def test_a_purpose_graph_adds_later_names_no_kind() -> None:
    assert items.purpose({"userPurpose": "shared"}) is MailboxKind.SHARED
    assert items.purpose({"userPurpose": {"value": "room"}}) is MailboxKind.ROOM
    assert items.purpose({"userPurpose": "unknownFutureValue"}) is None
    assert items.purpose({"userPurpose": "sharedTeamsRoom"}) is None
