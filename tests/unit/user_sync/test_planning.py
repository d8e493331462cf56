"""Planning: a snapshot compared with what the store holds becomes a plan with reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenantsync.engine.user_sync.membership import MembershipGraph
from tenantsync.engine.user_sync.options import UserSyncOptions
from tenantsync.engine.user_sync.planner import hold_removals, propose
from tenantsync.engine.user_sync.state import StoredMailbox, StoreView
from tenantsync.model import (
    DirectoryGroup,
    DirectoryUser,
    GroupKind,
    MailboxInfo,
    MailboxKind,
    MemberRef,
)
from tenantsync.model.snapshot import Snapshot

DOMAINS = frozenset({"contoso.com"})
TASK = 7


def user(name: str, **fields: object) -> DirectoryUser:
    values: dict[str, object] = {
        "source_id": f"id-{name}",
        "user_principal_name": f"{name}@contoso.com",
        "mail": f"{name}@contoso.com",
        "display_name": name.title(),
        "licensed": True,
        "license_skus": ("sku",),
        "addresses": (f"{name}@contoso.com", f"{name}@contoso.onmicrosoft.com"),
    }
    values.update(fields)
    return DirectoryUser(**values)  # type: ignore[arg-type]


def snapshot(*users: DirectoryUser, kinds: dict[str, MailboxKind] | None = None) -> Snapshot:
    snap = Snapshot(full=True, exchange_groups_read=True)
    for u in users:
        snap.users[u.source_id] = u
        kind = (kinds or {}).get(u.source_id, MailboxKind.USER)
        snap.mailboxes[u.source_id] = MailboxInfo(u.source_id, kind)
    return snap


def stored(name: str, *, deleted: bool = False, **fields: object) -> StoredMailbox:
    values: dict[str, object] = {
        "id": hash(name) % 10_000,
        "source_id": f"id-{name}",
        "primary_address": f"{name}@contoso.com",
        "display_name": name.title(),
        "kind": MailboxKind.USER,
        "licensed": True,
        "enabled": True,
        "policy_group_id": 1,
        "dn": None,
        "exchange_guid": None,
        "attributes": {},
        "deleted_at": datetime(2026, 1, 1, tzinfo=UTC) if deleted else None,
        "restore_until": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=30) if deleted else None,
        "owner_task_id": TASK,
        "aliases": frozenset(),
    }
    values.update(fields)
    return StoredMailbox(**values)  # type: ignore[arg-type]


def view(*mailboxes: StoredMailbox) -> StoreView:
    v = StoreView(policy_groups={"Main": 1}, default_policy_group=1)
    for m in mailboxes:
        assert m.source_id is not None
        v.mailboxes[m.source_id] = m
        v.holders[m.primary_address] = m.source_id
    v.owned_active = sum(1 for m in mailboxes if m.deleted_at is None)
    return v


def plan_of(snap: Snapshot, store: StoreView, **options: object):  # type: ignore[no-untyped-def]
    return propose(
        snap,
        store,
        UserSyncOptions.model_validate(options),
        domains=DOMAINS,
        scope_kind="all",
        scope_value=None,
        task_id=TASK,
    )


def test_first_run_adds_every_mailbox_with_kind_billing_and_reason() -> None:
    snap = snapshot(
        user("ann"),
        user("desk", licensed=False, license_skus=()),
        kinds={"id-desk": MailboxKind.SHARED},
    )
    proposal = plan_of(snap, view())
    adds = {c.key: c for c in proposal.plan.of("add", "mailbox")}
    assert set(adds) == {"ann@contoso.com", "desk@contoso.com"}
    assert adds["ann@contoso.com"].after is not None
    assert adds["ann@contoso.com"].after["billable"] is True
    assert adds["ann@contoso.com"].after["policy_group"] == "Main"
    desk = adds["desk@contoso.com"].after
    assert (
        desk is not None
        and desk["kind"] == "shared"
        and desk["non_billable_reason"] == "shared mailbox"
    )
    assert adds["ann@contoso.com"].reason.startswith("new in the source")
    assert proposal.mailboxes.non_billable == 1


def test_an_unchanged_source_plans_nothing() -> None:
    proposal = plan_of(snapshot(user("ann")), view(stored("ann")))
    assert proposal.plan.changes == []


def test_changes_show_before_and_after() -> None:
    proposal = plan_of(
        snapshot(user("ann", display_name="Ann Smith", licensed=False, license_skus=())),
        view(stored("ann")),
    )
    (change,) = proposal.plan.of("update", "mailbox")
    assert change.before == {"display_name": "Ann", "licensed": True, "billable": True}
    assert change.after is not None
    assert change.after["display_name"] == "Ann Smith"
    assert change.after["non_billable_reason"] == "unlicensed"


def test_a_mailbox_gone_from_the_source_is_removed_on_a_full_read() -> None:
    proposal = plan_of(snapshot(user("ann")), view(stored("ann"), stored("bob")))
    (removal,) = proposal.plan.of("remove", "mailbox")
    assert removal.key == "bob@contoso.com"
    assert removal.reason == "gone from the source"


def test_held_removals_leave_the_plan_and_are_counted() -> None:
    # The pipeline holds every removal of an incomplete read (and says so in the run);
    # holding takes them out of both the plan and the work apply would do.
    proposal = plan_of(snapshot(user("ann")), view(stored("ann"), stored("bob")))
    assert proposal.plan.of("remove")
    hold_removals(proposal, "mailbox kind of 3 users could not be read (HTTP 503)")
    assert proposal.plan.of("remove") == []
    assert proposal.mailboxes.removals == []
    assert proposal.held_removals == 1


def test_a_removed_mailbox_coming_back_is_restored() -> None:
    proposal = plan_of(snapshot(user("bob")), view(stored("bob", deleted=True)))
    (restore,) = proposal.plan.of("restore", "mailbox")
    assert restore.key == "bob@contoso.com"


def test_a_rule_moves_a_user_and_creates_its_policy_group() -> None:
    rules = [
        {"field": "department", "operator": "equals", "value": "Sales", "policy_group": "Sales"}
    ]
    proposal = plan_of(snapshot(user("ann", department="Sales")), view(stored("ann")), rules=rules)
    assert [c.key for c in proposal.plan.of("add", "policy_group")] == ["Sales"]
    (move,) = proposal.plan.of("move", "mailbox")
    assert move.before == {"policy_group": "Main"}
    assert move.after == {"policy_group": "Sales"}
    assert move.reason == "rule 1 matched"


def test_distribution_groups_become_addresses_of_kind_group() -> None:
    snap = snapshot(user("ann"))
    snap.exchange_groups["dg-1"] = DirectoryGroup(
        "dg-1", "All staff", GroupKind.DYNAMIC_DISTRIBUTION, mail="allstaff@contoso.com"
    )
    snap.exchange_groups["dg-2"] = DirectoryGroup(
        "dg-2", "Tenant only", GroupKind.DISTRIBUTION, mail="x@contoso.onmicrosoft.com"
    )
    proposal = plan_of(snap, view())
    groups = [
        c for c in proposal.plan.of("add", "mailbox") if c.after and c.after["kind"] == "group"
    ]
    assert [c.key for c in groups] == ["allstaff@contoso.com"]


def test_transitive_membership_reaches_users_through_nested_groups() -> None:
    snap = snapshot(user("ann"))
    snap.groups = {
        "g-outer": DirectoryGroup("g-outer", "Outer", GroupKind.SECURITY),
        "g-inner": DirectoryGroup("g-inner", "Inner", GroupKind.SECURITY),
    }
    snap.members = {"g-outer": {MemberRef("g-inner", True)}, "g-inner": {MemberRef("id-ann")}}
    proposal = plan_of(snap, view())
    assert proposal.closure["id-ann"] == frozenset({"g-outer", "g-inner"})
    graph = MembershipGraph.from_members(
        {"a": [MemberRef("b", True)], "b": [MemberRef("a", True), MemberRef("u")]}
    )
    assert graph.groups_of("u") == frozenset({"a", "b"})


def test_another_tasks_mailbox_is_left_alone() -> None:
    proposal = plan_of(
        snapshot(user("ann", display_name="New")), view(stored("ann", owner_task_id=99))
    )
    assert proposal.plan.changes == []
    assert any("synced by another task" in m for m in proposal.messages)


def test_a_large_read_and_its_plan_print_as_short_summaries() -> None:
    # asyncio and anyio format the finished read task with its result: a field-by-field
    # repr of a big tenant's snapshot was a transient string of hundreds of megabytes.
    people = [user(f"person{n}") for n in range(2000)]
    snap = snapshot(*people)
    proposal = propose(
        snap,
        StoreView(policy_groups={"Main": 1}, default_policy_group=1),
        UserSyncOptions(),
        domains=DOMAINS,
        scope_kind="all",
        scope_value=None,
        task_id=TASK,
    )
    assert repr(snap) == (
        "<Snapshot full: 2000 users, 0 removed, 2000 mailboxes, 0 groups, 0 problems>"
    )
    assert repr(proposal) == "<Proposal <Plan 2000 changes: {'mailbox.add': 2000}>, 0 skipped>"
    assert len(repr(StoreView())) < 100
