"""The user sync run: read → snapshot → plan → guard → apply (or preview).

A run reads through Graph delta links when it has them and a full reconciliation is
not due; an expired link, a missing one, or a delta that cannot be planned alone
(nesting changed under membership rules) falls back to a full read. Delta links and
the time of the last full read are saved only when a complete read was applied.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.connectors.factory import M365Connector, load_connector
from tenantsync.connectors.graph import DELTA_VERSION
from tenantsync.engine.user_sync.apply import ProposalWriter
from tenantsync.engine.user_sync.options import UserSyncOptions
from tenantsync.engine.user_sync.planner import (
    NeedFullRead,
    Proposal,
    membership_users,
    propose,
)
from tenantsync.engine.user_sync.read import Snapshot, read_delta, read_full
from tenantsync.engine.user_sync.state import StoreView, load_view, read_state, write_state
from tenantsync.errors import ConfigError, DeltaExpired, GuardStop
from tenantsync.store.changes import record_changes
from tenantsync.store.models import Domain, Mailbox, MailboxKind, RunStatus
from tenantsync.timeutil import utcnow
from tenantsync.worker.context import Outcome, RunContext

STATE_KEY = "user_sync"
PLAN_LIMIT = 2000
ConnectorFactory = Callable[[RunContext], M365Connector]


def open_connector(ctx: RunContext) -> M365Connector:
    """The connector of the task's stored connection."""
    if ctx.task.connection_id is None:
        raise ConfigError(f"task {ctx.task.name!r} has no connection", field="connection")
    return load_connector(ctx.db, ctx.settings, ctx.task.connection_id)


def run_user_sync(ctx: RunContext) -> Outcome:
    """The handler the worker calls: sync over the task's stored connection."""
    return sync_users(ctx, open_connector)


def sync_users(ctx: RunContext, connector_factory: ConnectorFactory) -> Outcome:
    """One user sync run over the connector ``connector_factory`` opens."""
    options = ctx.options
    assert isinstance(options, UserSyncOptions)
    with ctx.db.session() as session:
        domains = _domains(session, ctx, options)
        state = read_state(session, ctx.task.id, STATE_KEY)
        known = _stored_mailboxes(session, ctx.task.organization_id)
    with_groups = options.sync_groups or options.uses_membership() or ctx.task.scope_kind != "all"
    messages: list[dict[str, Any]] = []
    reason = _full_reason(state, options, with_groups)
    snapshot = _read(ctx, connector_factory, state, with_groups, reason, messages, known)
    ctx.check_cancelled()
    ctx.report("planning", 0)
    with ctx.db.session() as session:
        try:
            proposal, view = _propose(session, ctx, options, snapshot, domains)
        except NeedFullRead as exc:
            messages.append(_msg("info", f"full read: {exc}"))
            snapshot = _read(ctx, connector_factory, {}, with_groups, str(exc), messages, known)
            proposal, view = _propose(session, ctx, options, snapshot, domains)
        messages.extend(_msg("warning", text) for text in proposal.messages)
        counts = _counts(proposal, snapshot)
        plan_json = proposal.plan.to_json(limit=PLAN_LIMIT)
        plan_json["skipped"] = dict(sorted(proposal.skipped.items())[:PLAN_LIMIT])
        removals = len(proposal.mailboxes.removals)
        stop = _threshold(options, removals, view.owned_active)
        if stop and ctx.preview:
            messages.append(_msg("warning", f"a sync would stop here: {stop}"))
        elif stop and not ctx.confirm_removals:
            raise GuardStop(
                f"{stop}; nothing was changed. Confirm this run's removals with "
                f"`tenantsync task run {ctx.task.name} --confirm-removals`",
                plan=plan_json,
            )
        if not proposal.plan.changes:
            messages.append(_msg("info", _nothing_changed(snapshot)))
        # An incomplete read still applies what it saw, but the run says so loudly.
        troubled = not snapshot.complete or proposal.held or snapshot.unreadable
        status = RunStatus.WARNING if troubled else RunStatus.SUCCEEDED
        if ctx.preview:
            return Outcome(status=status, counts=counts, messages=messages, plan=plan_json)
        ctx.check_cancelled()
        ctx.report("applying", 0, len(proposal.plan.changes))
        now = utcnow()
        writer = ProposalWriter(
            session, view, org_id=ctx.task.organization_id, task_id=ctx.task.id, now=now
        )
        window = options.restore_window_days
        writer.apply(proposal, ctx.settings.restore_window_days if window is None else window)
        record_changes(session, ctx, proposal.plan.changes)
        if snapshot.complete:
            write_state(session, ctx.task.id, STATE_KEY, _next_state(state, snapshot, now))
    return Outcome(status=status, counts=counts, messages=messages, plan=plan_json)


def _stored_mailboxes(session: Session, org_id: int) -> frozenset[str]:
    """Source ids of the organization's live mailboxes (group addresses aside)."""
    return frozenset(
        sid
        for sid in session.scalars(
            select(Mailbox.source_id).where(
                Mailbox.organization_id == org_id,
                Mailbox.deleted_at.is_(None),
                Mailbox.kind != MailboxKind.GROUP,
            )
        )
        if sid is not None
    )


def _domains(session: Session, ctx: RunContext, options: UserSyncOptions) -> frozenset[str]:
    org_domains = {
        d.lower()
        for d in session.scalars(
            select(Domain.name).where(Domain.organization_id == ctx.task.organization_id)
        )
    }
    if not org_domains:
        raise ConfigError("the organization has no domains; add its mail domains first")
    unknown = sorted(set(options.domains) - org_domains)
    if unknown:
        raise ConfigError(
            f"not domains of the organization: {', '.join(unknown)}", field="options.domains"
        )
    return frozenset(options.domains or org_domains)


def _nothing_changed(snapshot: Snapshot) -> str:
    if not snapshot.complete:
        return "nothing changed in what could be read"
    if snapshot.full:
        return "nothing changed: the store matches the source"
    return "nothing changed (delta read: no changes at the source)"


def _full_reason(state: dict[str, Any], options: UserSyncOptions, with_groups: bool) -> str | None:
    """Why this run must read everything, or None when delta links will do."""
    if not state.get("users_delta"):
        return "first run"
    if state.get("delta_version") != DELTA_VERSION:
        return "the saved delta links track other properties than this version reads"
    if with_groups and not state.get("groups_delta"):
        return "no saved group delta link"
    last = state.get("last_full_at")
    if last is None:
        return "no full read recorded"
    due = datetime.fromisoformat(str(last)) + timedelta(hours=options.full_reconciliation_hours)
    if utcnow() >= due:
        return "daily full reconciliation due"
    return None


def _read(
    ctx: RunContext,
    connector_factory: ConnectorFactory,
    state: dict[str, Any],
    with_groups: bool,
    full_reason: str | None,
    messages: list[dict[str, Any]],
    known: frozenset[str],
) -> Snapshot:
    def progress(stage: str, done: int) -> None:
        ctx.report(stage, done)
        ctx.check_cancelled()

    async def read() -> Snapshot:
        async with connector_factory(ctx) as connector:
            if full_reason is None:
                try:
                    return await read_delta(
                        connector,
                        users_link=str(state["users_delta"]),
                        groups_link=state.get("groups_delta"),
                        with_groups=with_groups,
                        progress=progress,
                        pending=state.get("pending_users") or (),
                    )
                except DeltaExpired as exc:
                    messages.append(_msg("info", f"full read: {exc}"))
            else:
                messages.append(_msg("info", f"full read: {full_reason}"))
            return await read_full(
                connector, with_groups=with_groups, progress=progress, known=known
            )

    return asyncio.run(read())


def _propose(
    session: Session,
    ctx: RunContext,
    options: UserSyncOptions,
    snapshot: Snapshot,
    domains: frozenset[str],
) -> tuple[Proposal, StoreView]:
    task = ctx.task
    if snapshot.full:
        view = load_view(session, task.organization_id, task.id, source_ids=None)
    else:
        touched = membership_users(snapshot)
        source_ids = (
            set(snapshot.users)
            | snapshot.removed_users
            | set(snapshot.groups)
            | set(snapshot.exchange_groups)
            | snapshot.removed_groups
            | touched
            | _group_address_ids(session, task.organization_id)
        )
        addresses = {a for u in snapshot.users.values() for a in u.addresses}
        addresses |= {a for g in snapshot.exchange_groups.values() for a in (g.addresses or ())}
        view = load_view(
            session,
            task.organization_id,
            task.id,
            source_ids=source_ids,
            addresses=addresses,
            member_users=touched | set(snapshot.users),
        )
    proposal = propose(
        snapshot,
        view,
        options,
        domains=domains,
        scope_kind=task.scope_kind,
        scope_value=task.scope_value,
        task_id=task.id,
    )
    return proposal, view


def _group_address_ids(session: Session, org_id: int) -> set[str]:
    return {
        sid
        for sid in session.scalars(
            select(Mailbox.source_id).where(
                Mailbox.organization_id == org_id, Mailbox.kind == MailboxKind.GROUP
            )
        )
        if sid is not None
    }


def _threshold(options: UserSyncOptions, removals: int, owned: int) -> str | None:
    """Why a run removing ``removals`` of ``owned`` mailboxes must be confirmed, or None."""
    if removals > options.max_removals:
        return f"this run would remove {removals} mailboxes (more than {options.max_removals})"
    if owned and removals * 100 > options.max_removal_percent * owned:
        share = removals * 100 / owned
        return (
            f"this run would remove {removals} of {owned} mailboxes ({share:.1f}%, "
            f"more than {options.max_removal_percent:g}%)"
        )
    return None


def _next_state(state: dict[str, Any], snapshot: Snapshot, now: datetime) -> dict[str, Any]:
    out = dict(state)
    if snapshot.users_delta_link:
        out["users_delta"] = snapshot.users_delta_link
    if snapshot.groups_delta_link:
        out["groups_delta"] = snapshot.groups_delta_link
    if snapshot.full:
        out["last_full_at"] = now.isoformat()
    out["delta_version"] = DELTA_VERSION
    # Users this read could not read whole: the links move past their changes, so the
    # next run reads them again by id.
    out["pending_users"] = sorted(snapshot.unreadable)
    return out


def _counts(proposal: Proposal, snapshot: Snapshot) -> dict[str, Any]:
    plan = proposal.plan
    work = proposal.mailboxes
    moves = len(plan.of("move", "mailbox"))
    counts: dict[str, Any] = {
        "read": "full" if snapshot.full else "delta",
        "users_read": len(snapshot.users),
        "mailboxes_added": len(work.adds),
        "mailboxes_updated": len(plan.of("update", "mailbox")),
        "mailboxes_moved": moves,
        "mailboxes_restored": len(work.restores),
        "mailboxes_removed": len(work.removals),
        "removals_held": proposal.held_removals,
        "non_billable_marked": work.non_billable,
        "synced": len(work.synced),
        "unreadable": len(snapshot.unreadable),
        "changes": len(plan.changes),
    }
    if proposal.groups is not None:
        counts["groups_added"] = len(proposal.groups.adds)
        counts["groups_removed"] = len(proposal.groups.removals)
    skipped = Counter(proposal.skipped.values())
    if skipped:
        counts["skipped"] = dict(sorted(skipped.items()))
    return counts


def _msg(level: str, text: str) -> dict[str, Any]:
    return {"level": level, "text": text}
