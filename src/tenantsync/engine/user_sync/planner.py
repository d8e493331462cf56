"""From a snapshot and the store to a proposal: the plan plus the work that applies it."""

from __future__ import annotations

from dataclasses import dataclass, field

from tenantsync.engine.plan import Plan
from tenantsync.engine.user_sync.desired import (
    Decider,
    MailboxRow,
    Scope,
    merge_groups,
    user_from_row,
)
from tenantsync.engine.user_sync.diff import MailboxDiff, MailboxWork
from tenantsync.engine.user_sync.groups import (
    GroupWork,
    diff_groups,
    diff_members_delta,
    diff_members_full,
)
from tenantsync.engine.user_sync.membership import MembershipGraph, member_changes_touch_groups
from tenantsync.engine.user_sync.options import UserSyncOptions
from tenantsync.engine.user_sync.rules import GroupIndex, RuleSet
from tenantsync.engine.user_sync.state import StoreView
from tenantsync.errors import ConfigError, DeltaExpired
from tenantsync.model import DirectoryGroup, GroupKind, Location, MailboxKind
from tenantsync.model.snapshot import Snapshot


class NeedFullRead(DeltaExpired):
    """A delta cannot be planned alone (nesting changed under membership rules); read all."""


@dataclass(repr=False)
class Proposal:
    """What one run would do (repr: its plan's counts, never the per-user work)."""

    plan: Plan
    mailboxes: MailboxWork
    groups: GroupWork | None
    closure: dict[str, frozenset[str]] = field(default_factory=dict)
    closure_full: bool = False
    messages: list[str] = field(default_factory=list)
    held_removals: int = 0
    held: bool = False
    skipped: dict[str, str] = field(default_factory=dict)
    reevaluated: int = 0

    def __repr__(self) -> str:
        return f"<Proposal {self.plan!r}, {len(self.skipped)} skipped>"


def membership_users(snapshot: Snapshot) -> set[str]:
    """Users whose direct memberships a delta snapshot changed."""
    return {
        ref.source_id
        for change in snapshot.member_changes
        for ref in (*change.added, *change.removed)
        if not ref.is_group
    }


def propose(
    snapshot: Snapshot,
    view: StoreView,
    options: UserSyncOptions,
    *,
    domains: frozenset[str],
    scope_kind: str,
    scope_value: str | None,
    task_id: int,
    reevaluate: bool = False,
) -> Proposal:
    """Decide every change of the run; nothing is written. With ``reevaluate`` every stored
    mailbox of the task that a delta read did not bring is decided again from the store."""
    exchange = snapshot.exchange_groups if snapshot.exchange_groups_read else {}
    merged = merge_groups(snapshot.groups, exchange)
    if snapshot.full:
        graph = MembershipGraph.from_members(snapshot.members)
        names = [(sid, g.name) for sid, g in merged.items()]
    else:
        graph = view.graph
        graph.apply(snapshot.member_changes)
        graph.drop_groups(snapshot.removed_groups)
        known = {sid: g.name for sid, g in view.groups.items() if not g.deleted}
        known.update({sid: g.name for sid, g in merged.items()})
        for sid in snapshot.removed_groups:
            known.pop(sid, None)
        names = list(known.items())
    index = GroupIndex.build(names)
    rules = RuleSet(options.rules, index)
    membership_matters = options.uses_membership() or scope_kind != "all"
    if options.rules and (options.sync_groups or options.uses_membership()):
        missing = rules.missing_groups()
        if missing:
            raise ConfigError("; ".join(missing), field="options.rules")
    scope = resolve_scope(scope_kind, scope_value, merged if snapshot.full else None, index, view)
    decider = Decider(
        domains=domains,
        rules=rules,
        scope=scope,
        include_disabled=options.include_disabled,
        include_guests=options.include_guests,
    )
    diff = MailboxDiff(
        view, task_id=task_id, rules_active=bool(options.rules), may_purge=snapshot.complete
    )
    plan = diff.work.plan
    skipped: dict[str, str] = {}
    wanted: list[MailboxRow] = []
    # Removals first: a re-created account may take over the address of a removed one.
    if snapshot.full:
        for sid, stored in view.mailboxes.items():
            if (
                sid not in snapshot.users
                and sid not in snapshot.unreadable
                and stored.kind is not MailboxKind.GROUP
            ):
                diff.drop(sid, "gone from the source", group=False)
    else:
        for sid in snapshot.removed_users:
            diff.drop(sid, "deleted in the source", group=False)
    for user in snapshot.users.values():
        info = snapshot.mailboxes.get(user.source_id)
        decision = decider.user(
            user,
            snapshot.kind_of(user),
            graph.groups_of(user.source_id),
            info.exchange_guid if info else None,
            location=info.location if info else Location.CLOUD,
            recipient_type=info.recipient_type if info else None,
        )
        if decision.row is not None:
            wanted.append(decision.row)
        else:
            skipped[user.user_principal_name or user.source_id] = decision.skip_reason
            diff.drop(user.source_id, decision.skip_reason, group=False)
    for kept in wanted:
        diff.keep(kept)
    affected: set[str] = set()
    again: set[str] = set()
    if not snapshot.full:
        affected = membership_users(snapshot) - set(snapshot.users)
        if membership_matters and (
            member_changes_touch_groups(snapshot.member_changes) or snapshot.removed_groups
        ):
            raise NeedFullRead("group nesting changed under a group scope or member-of rules")
        if membership_matters:
            _reroute(affected, view, graph, decider, diff)
        if reevaluate:
            read = set(snapshot.users) | snapshot.removed_users | set(snapshot.unreadable)
            again = _stored_users(view, task_id, exclude=read | affected)
            _reroute(again, view, graph, decider, diff)
            affected |= again
    if options.sync_group_addresses:
        for sid, group in merged.items():
            row = decider.group(group)
            if row is not None:
                diff.keep(row)
            else:
                diff.drop(sid, "no address in the organization's domains", group=True)
        for sid in snapshot.removed_groups:
            diff.drop(sid, "group deleted in the source", group=True)
        if snapshot.full:
            if snapshot.exchange_groups_read:
                diff.drop_unseen("group gone from the source", groups=True)
        elif snapshot.exchange_groups_read:
            _drop_missing_dynamic(view, exchange, diff)
        if reevaluate and not snapshot.full:
            _recheck_group_addresses(view, task_id, merged, decider, diff)
    groups_work: GroupWork | None = None
    if options.sync_groups:
        # Unseen groups are only removed when Exchange (the one source of dynamic groups)
        # was read too; members only change for groups this read covered.
        groups_work = diff_groups(
            plan,
            view,
            merged,
            removed=snapshot.removed_groups,
            full=snapshot.full and snapshot.exchange_groups_read,
        )
        if snapshot.full:
            covered = set(snapshot.groups) | set(exchange)
            diff_members_full(plan, view, snapshot.members, groups_work, covered)
        else:
            diff_members_delta(plan, view, snapshot.member_changes, groups_work)
    proposal = Proposal(plan=plan, mailboxes=diff.work, groups=groups_work, skipped=skipped)
    proposal.reevaluated = len(again)
    closure_users = set(diff.work.synced) | {
        sid for sid in affected if sid in view.mailboxes and view.mailboxes[sid].deleted_at is None
    }
    for sid in closure_users:
        row = diff.work.synced.get(sid)
        if row is None or row.kind is not MailboxKind.GROUP:
            proposal.closure[sid] = graph.groups_of(sid)
    proposal.closure_full = snapshot.full
    proposal.messages.extend(diff.work.warnings)
    proposal.messages.extend(snapshot.notes)
    if (
        snapshot.complete
        and snapshot.full
        and scope.kind != "all"
        and not _admitted(diff.work.synced)
    ):
        # A scope that takes in nobody is a misnamed group or OU far more often than an
        # emptied one: removing everything the task synced would be the wrong answer.
        hold_removals(
            proposal,
            f"the task's scope ({scope_kind} {scope_value!r}) admits no mailbox",
            headline="scope empty",
        )
    return proposal


def _admitted(synced: dict[str, MailboxRow]) -> bool:
    """Whether any mailbox (not a group address) was taken in by the run."""
    return any(row.kind is not MailboxKind.GROUP for row in synced.values())


def hold_removals(proposal: Proposal, why: str, *, headline: str | None = None) -> None:
    """Drop every removal from the proposal. The pipeline does this for an incomplete read
    (and says so itself); a ``headline`` says why here (the scope took in nobody)."""
    proposal.held = headline is not None or proposal.held
    proposal.held_removals = len(proposal.mailboxes.removals)
    proposal.plan.changes = [c for c in proposal.plan.changes if c.action != "remove"]
    proposal.mailboxes.removals.clear()
    if proposal.groups is not None:
        proposal.groups.removals.clear()
    if headline is not None:
        held = f" ({proposal.held_removals} removals held back)" if proposal.held_removals else ""
        proposal.messages.append(f"{headline}, so nothing is removed{held}: {why}")


def resolve_scope(
    kind: str,
    value: str | None,
    groups: dict[str, DirectoryGroup] | None,
    index: GroupIndex,
    view: StoreView,
) -> Scope:
    """The task's scope as group ids (by id, name, DN or address) or a DN suffix."""
    if kind == "all" or not value:
        return Scope()
    wanted = value.strip().lower()
    candidates: list[tuple[str, str | None, str | None]] = [
        (g.source_id, g.dn, g.mail) for g in (groups or {}).values()
    ] + [(g.source_id, g.dn, g.mail) for g in view.groups.values() if not g.deleted]
    if kind == "group":
        ids = index.resolve(value)
    elif kind == "address":
        ids = frozenset(sid for sid, _dn, mail in candidates if mail and mail.lower() == wanted)
    elif kind == "dn":
        ids = frozenset(sid for sid, dn, _mail in candidates if dn and dn.lower() == wanted)
        if not ids:
            return Scope(kind="dn", dn_suffix="," + wanted)
    else:
        raise ConfigError(f"unknown scope kind {kind!r}", field="scope")
    if not ids:
        raise ConfigError(f"the task's scope names no known group: {kind} {value!r}", field="scope")
    return Scope(kind=kind, group_ids=ids)


def _stored_users(view: StoreView, task_id: int, *, exclude: set[str]) -> set[str]:
    """The live mailboxes (not group addresses) the task synced, but for ``exclude``."""
    return {
        sid
        for sid, stored in view.mailboxes.items()
        if stored.deleted_at is None
        and stored.kind is not MailboxKind.GROUP
        and stored.owner_task_id in (None, task_id)
        and sid not in exclude
    }


def _reroute(
    affected: set[str], view: StoreView, graph: MembershipGraph, decider: Decider, diff: MailboxDiff
) -> None:
    for sid in affected:
        stored = view.mailboxes.get(sid)
        if stored is None or stored.deleted_at is not None:
            raise NeedFullRead("a membership change touches a user that is not synced yet")
        user = user_from_row(sid, stored.display_name, stored.enabled, stored.dn, stored.attributes)
        decision = decider.user(
            user,
            stored.kind,
            graph.groups_of(sid),
            stored.exchange_guid,
            location=stored.location,
            recipient_type=stored.recipient_type,
        )
        if decision.row is not None:
            diff.keep(decision.row)
        else:
            diff.drop(sid, decision.skip_reason)


def _recheck_group_addresses(
    view: StoreView,
    task_id: int,
    read: dict[str, DirectoryGroup],
    decider: Decider,
    diff: MailboxDiff,
) -> None:
    """Decide again, from the store, the group addresses this read did not bring (the
    organization's domains are all that decide them)."""
    for sid, stored in view.mailboxes.items():
        if (
            stored.kind is not MailboxKind.GROUP
            or stored.deleted_at is not None
            or stored.owner_task_id not in (None, task_id)
            or sid in read
            or diff.seen(sid)
        ):
            continue
        kind = stored.attributes.get("group_kind") or GroupKind.DISTRIBUTION.value
        group = DirectoryGroup(
            source_id=sid,
            name=stored.display_name,
            kind=GroupKind(kind),
            mail=stored.primary_address,
            dn=stored.dn,
            addresses=tuple(sorted(stored.aliases)),
        )
        row = decider.group(group)
        if row is not None:
            diff.keep(row)
        else:
            diff.drop(sid, "no address in the definition's domains", group=True)


def _drop_missing_dynamic(
    view: StoreView, exchange: dict[str, DirectoryGroup], diff: MailboxDiff
) -> None:
    for sid, stored in view.mailboxes.items():
        if (
            stored.kind is MailboxKind.GROUP
            and stored.attributes.get("group_kind") == "dynamic_distribution"
            and sid not in exchange
            and not diff.seen(sid)
        ):
            diff.drop(sid, "dynamic distribution group gone from the source", group=True)
