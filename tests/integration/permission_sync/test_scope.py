"""Scope: all mailboxes, or the members of one group named three ways; and every way a
scope can fail to resolve, each saying which form did not resolve and why."""

from __future__ import annotations

import pytest

from tenantsync.engine.permission_sync.directory import load_directory
from tenantsync.engine.permission_sync.scope import ScopeError, resolve_scope
from tenantsync.store.database import Database
from tenantsync.store.models import GroupKind
from tenantsync.timeutil import utcnow
from tests.integration.permission_sync.store_rows import Directory
from tests.support.factory import make_org

OU = "OU=Sales,DC=contoso,DC=com"


@pytest.fixture
def org_id(db: Database) -> int:
    with db.session() as s:
        org = make_org(s)
        d = Directory(s, org)
        for name in ("alice", "bob", "carol", "dave"):
            d.mailbox(name, dn=f"CN={name},{OU}" if name != "dave" else "CN=dave,DC=contoso,DC=com")
        d.group("Europe", ["carol"])
        d.group(
            "Sales",
            ["alice", "group:Europe"],
            kind=GroupKind.DISTRIBUTION,
            mail="sales@contoso.com",
            dn="CN=Sales,OU=Groups,DC=contoso,DC=com",
        )
        d.group("Twin", ["bob"])
        d.group("Gone", ["bob"]).deleted_at = utcnow()
        d.close()
        d.group("Twin", source_id="group-twin-2")
        return org.id


def members(db: Database, org_id: int, kind: str, value: str | None) -> list[str]:
    with db.session() as s:
        scope = resolve_scope(s, org_id, kind, value, load_directory(s, org_id))
        return sorted(m.address.split("@")[0] for m in scope.mailboxes)


def failure(db: Database, org_id: int, kind: str, value: str | None) -> str:
    with pytest.raises(ScopeError) as info, db.session() as s:
        resolve_scope(s, org_id, kind, value, load_directory(s, org_id))
    return str(info.value)


def test_all_means_every_live_mailbox(db: Database, org_id: int) -> None:
    assert members(db, org_id, "all", None) == ["alice", "bob", "carol", "dave"]


def test_a_synced_group_by_name_or_id_covers_its_nested_members(db: Database, org_id: int) -> None:
    assert members(db, org_id, "group", "Sales") == ["alice", "carol"]
    assert members(db, org_id, "group", "sales") == ["alice", "carol"]
    with db.session() as s:
        from tenantsync.store.models import SourceGroup

        sales_id = s.query(SourceGroup.id).filter_by(name="Sales").scalar()
    assert members(db, org_id, "group", str(sales_id)) == ["alice", "carol"]
    assert members(db, org_id, "group", "group-Sales") == ["alice", "carol"]


def test_a_full_dn_names_a_group_a_mailbox_or_a_container(db: Database, org_id: int) -> None:
    assert members(db, org_id, "dn", "CN=Sales,OU=Groups,DC=contoso,DC=com") == ["alice", "carol"]
    assert members(db, org_id, "dn", "cn=bob,ou=sales,dc=contoso,dc=com") == ["bob"]
    assert members(db, org_id, "dn", OU) == ["alice", "bob", "carol"]


def test_a_distribution_groups_address_covers_its_members(db: Database, org_id: int) -> None:
    assert members(db, org_id, "address", "Sales@Contoso.com") == ["alice", "carol"]


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("group", "Marketing", "no synced group has this name or id"),
        ("group", "Gone", "the group was removed from the source"),
        ("group", "Twin", "several synced groups have this name"),
        ("group", "", "no value was given"),
        ("dn", "CN=Nobody,DC=fabrikam,DC=com", "no synced group, mailbox or container has this DN"),
        ("address", "alice@contoso.com", "it is a mailbox's address, not a group's"),
        ("address", "nobody@contoso.com", "no synced group has this address"),
        ("ou", "x", "unknown scope kind"),
    ],
)
def test_an_unresolvable_scope_says_which_form_failed_and_why(
    db: Database, org_id: int, kind: str, value: str, says: str
) -> None:
    message = failure(db, org_id, kind, value)
    assert says in message
    assert f"scope {kind} {value!r}" in message
    if kind == "group":
        assert "a group picked from the synced list" in message
    if kind == "dn":
        assert "a full DN" in message
    if kind == "address":
        assert "a distribution group's address" in message
