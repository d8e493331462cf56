"""The on-premises connector against a real Samba AD DC: mailbox kinds and locations,
nested groups with a cycle (closed over by the engine), permissions in their AD form
(deny, inherited, inherit-only, orphaned SIDs), DirSync changes, and a rejected cookie
that removes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

from tenantsync.connectors.kinds import connection_kind
from tenantsync.connectors.loop import LoopThread, running
from tenantsync.connectors.onprem.directory import COOKIE_PREFIX, OnPremDirectory
from tenantsync.connectors.onprem.kind import OnPremConnector
from tenantsync.engine.user_sync.membership import MembershipGraph
from tenantsync.errors import DeltaExpired
from tenantsync.model import Location, MailboxKind
from tenantsync.model.permissions import MailboxAcl, MailboxRef, Right
from tenantsync.sandbox.gen_groups import CYCLE_DESCRIPTION
from tests.integration.onprem.conftest import OnPrem

PASSWORD = {"password": "Svc-Sandbox-Pass-1"}


def quiet(stage: str, done: int) -> None:
    pass


@contextmanager
def opened(
    onprem: OnPrem, user: str | None = None, password: str | None = None
) -> Iterator[tuple[LoopThread, Any]]:
    secret = {"password": password} if password else PASSWORD
    connector = connection_kind("exchange_onprem").open(onprem.params(user), secret)
    with running(connector) as (loop, entered):
        assert isinstance(entered, OnPremConnector)
        yield loop, entered


def test_a_full_read_names_each_mailbox_kind_and_where_it_lives(onprem: OnPrem) -> None:
    with opened(onprem) as (loop, connector):
        snap = loop.run(connector.directory_source().read_full(with_groups=True, progress=quiet))
    assert snap.complete and snap.mailboxes_complete and snap.users_delta_link
    by_dn = {u.dn: u for u in snap.users.values()}
    kinds = {(m.recipient_type, m.kind, m.location) for m in snap.mailboxes.values()}
    assert ("UserMailbox", MailboxKind.USER, Location.ON_PREMISES) in kinds
    assert ("SharedMailbox", MailboxKind.SHARED, Location.ON_PREMISES) in kinds
    assert ("RoomMailbox", MailboxKind.ROOM, Location.ON_PREMISES) in kinds
    assert ("RemoteUserMailbox", MailboxKind.USER, Location.REMOTE) in kinds
    assert ("LinkedMailbox", MailboxKind.USER, Location.ON_PREMISES) in kinds
    for tenant_id in onprem.org.remote:
        user = by_dn[onprem.org.dns[tenant_id]]
        assert snap.mailboxes[user.source_id].location is Location.REMOTE
        assert not user.licensed
    shared = next(m for m in snap.mailboxes.values() if m.kind is MailboxKind.SHARED)
    assert not snap.users[shared.source_id].account_enabled
    person = next(u for u in snap.users.values() if u.dn and "OU=People" in u.dn and u.mail)
    assert person.addresses[0] == person.mail.lower() and person.alias
    assert snap.exchange_groups_read and snap.exchange_groups


def test_nested_groups_keep_their_cycle_and_the_closure_reaches_every_member(
    onprem: OnPrem,
) -> None:
    cycle = [g for g in onprem.tenant.groups.values() if g.description == CYCLE_DESCRIPTION]
    assert len(cycle) == 2
    first, second = (onprem.org.dns[g.id] for g in cycle)
    with opened(onprem) as (loop, connector):
        snap = loop.run(connector.directory_source().read_full(with_groups=True, progress=quiet))
    ids = {g.dn: g.source_id for g in snap.groups.values()}
    assert any(m.is_group and m.source_id == ids[second] for m in snap.members[ids[first]])
    assert any(m.is_group and m.source_id == ids[first] for m in snap.members[ids[second]])
    # The read's direct members are every edge: the engine's closure (what user sync stores
    # and permission sync expands groups by) puts each member in both groups of the cycle.
    graph = MembershipGraph.from_members(snap.members)
    people = {m.source_id for m in snap.members[ids[first]] if not m.is_group}
    assert people
    for person in people:
        assert {ids[first], ids[second]} <= set(graph.groups_of(person))


def test_permissions_in_their_ad_form(onprem: OnPrem) -> None:
    tenant, org = onprem.tenant, onprem.org
    shared = next(u for u in tenant.users.values() if u.mailbox == "shared" and u.id in org.dns)
    with opened(onprem) as (loop, connector):
        snap = loop.run(connector.directory_source().read_full(with_groups=False, progress=quiet))
        guid = next(u.source_id for u in snap.users.values() if u.dn == org.dns[shared.id])
        reader = connector.permission_source(loop, 4)
        ref = MailboxRef(1, shared.mail or "", guid)
        [acl] = list(reader.read([ref], frozenset(Right), lambda: False))
    assert isinstance(acl, MailboxAcl) and acl.names_complete
    full = [e for e in acl.entries if e.right is Right.FULL_ACCESS]
    names = {e.trustee.name for e in full}
    assert "NT AUTHORITY\\SELF" in names
    assert any(e.inherited and e.deny and e.trustee.name.endswith("\\Domain Admins") for e in full)
    assert any(e.inherited and e.trustee.name.endswith("\\Exchange Servers") for e in full)
    denied = [e for e in full if e.deny and not e.inherited]
    assert denied and all(e.trustee.source_id for e in denied)
    orphans = [e for e in full if e.trustee.name.startswith("S-1-5-21-")]
    assert orphans and all(e.trustee.source_id is None for e in orphans)
    groups = {org.sids[g.id] for g in tenant.groups.values() if g.description == CYCLE_DESCRIPTION}
    assert groups <= {e.trustee.sid for e in full}
    # The inherit-only entry the loader wrote applies to children: it grants nothing here.
    assert (
        len([e for e in full if not e.inherited])
        == len([t for t in tenant.full_access[shared.id] if t[1] & 1 and _in_ad(org, t[0])]) + 1
    )
    send_as = [e for e in acl.entries if e.right is Right.SEND_AS and not e.inherited]
    assert {e.trustee.sid for e in send_as} >= {
        org.sids[ref] for ref, _deny in tenant.send_as[shared.id] if ref in org.sids
    }
    behalf = [e for e in acl.entries if e.right is Right.SEND_ON_BEHALF]
    assert {e.trustee.name for e in behalf} == {
        org.dns[d] for d in shared.send_on_behalf if d in org.dns
    }


def _in_ad(org: Any, ref: str) -> bool:
    return ref.upper().startswith("S-1-") or ref in org.sids


def test_dirsync_reads_only_what_changed(onprem: OnPrem) -> None:
    org = onprem.org
    admin = onprem.admin()
    group = next(dn for dn in org.dns.values() if "OU=Groups" in dn)
    admin.search(group, "(objectClass=*)", "BASE", attributes=["member"])
    members = list(admin.entries[0]["member"].values)
    # Samba's DirSync shows deleted objects to a domain administrator only (an account with
    # just Replicating Directory Changes sees no deletions there).
    with opened(onprem, onprem.dc.admin_user, onprem.dc.admin_password) as (loop, connector):
        directory = connector.directory_source()
        full = loop.run(directory.read_full(with_groups=True, progress=quiet))
        person = next(u for u in full.users.values() if u.dn and "OU=People" in u.dn and u.mail)
        assert admin.modify(person.dn, {"title": [(MODIFY_REPLACE, ["Changed title"])]})
        assert admin.modify(group, {"member": [(MODIFY_DELETE, [members[0]])]})
        gone = "CN=leaver,OU=People,OU=Tenantsync," + onprem.dc.base_dn
        assert admin.add(gone, ["user"], {"sAMAccountName": "leaver", "mail": "l@x.example"})
        middle = loop.run(_delta(directory, full.users_delta_link))
        leaver = next(u.source_id for u in middle.users.values() if u.dn == gone)
        assert admin.delete(gone)
        delta = loop.run(_delta(directory, middle.users_delta_link))
    assert delta.complete and not delta.full
    assert leaver in delta.removed_users
    assert person.source_id in {u.source_id for u in middle.users.values()}
    assert middle.users[person.source_id].job_title == "Changed title"
    [change] = [c for c in middle.member_changes if c.removed]
    assert not change.added and len(change.removed) == 1
    assert len(middle.users) <= 3


async def _delta(directory: OnPremDirectory, link: str | None) -> Any:
    assert link
    return await directory.read_delta(
        users_link=link, groups_link=link, with_groups=True, progress=quiet
    )


def test_a_rejected_cookie_means_a_full_read_that_removes_nothing(onprem: OnPrem) -> None:
    with opened(onprem) as (loop, connector):
        directory = connector.directory_source()
        bogus = COOKIE_PREFIX + "bm90IGEgY29va2ll"
        with pytest.raises(DeltaExpired, match="rejected"):
            loop.run(_delta(directory, bogus))
        after = loop.run(directory.read_full(with_groups=True, progress=quiet))
    assert after.complete and after.removals_held and "cookie" in after.removals_held
