"""User sync as a pipeline feature: read → snapshot → proposal; applied by the pipeline.

A run reads through Graph delta links when it has them and a full reconciliation is
not due; an expired link, a missing one, or a delta that cannot be planned alone
(nesting changed under membership rules) falls back to a full read. When the definition's
options changed since the store was last evaluated, the run evaluates every stored
mailbox of the task again, or reads everything when the change may take in users the
store never held (see ``evaluation``). Delta links, the time of the last full read and the
evaluation are saved only when a complete read was applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.feature import Limits
from tenantsync.engine.guard import RemovalLimits
from tenantsync.engine.plan import Change
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import OpenedSource
from tenantsync.engine.user_sync.apply import ProposalWriter
from tenantsync.engine.user_sync.evaluation import Evaluation, what_changed
from tenantsync.engine.user_sync.options import UserSyncOptions
from tenantsync.engine.user_sync.planner import (
    Proposal,
    hold_removals,
    membership_users,
    propose,
)
from tenantsync.engine.user_sync.state import StoreView, load_view, read_state, write_state
from tenantsync.engine.user_sync.summary import counts, message, moved_to, nothing_changed
from tenantsync.errors import ConfigError, DeltaExpired, SourceError
from tenantsync.model.snapshot import Snapshot
from tenantsync.store.models import Domain, Mailbox, MailboxKind
from tenantsync.store.trends import record_organization_counts
from tenantsync.timeutil import utcnow

STATE_KEY = "user_sync"
PLAN_LIMIT = 2000


@dataclass
class UserReading:
    """A snapshot, the task's saved state it started from, and how it was read."""

    snapshot: Snapshot
    state: dict[str, Any]
    domains: frozenset[str]
    delta_version: str
    evaluation: Evaluation
    notes: list[dict[str, Any]] = field(default_factory=list)
    # Why every stored mailbox of the task is evaluated again (None: only what was read).
    reevaluate: str | None = None

    @property
    def incomplete(self) -> list[str]:
        """The parts of the read that did not finish with proof."""
        return self.snapshot.problems

    @property
    def retry(self) -> SourceError | None:
        """A transient failure of a part, worth running again for."""
        return self.snapshot.retry


@dataclass
class UserPlan:
    """A user sync proposal as the pipeline sees it."""

    reading: UserReading
    proposal: Proposal
    view: StoreView
    options: UserSyncOptions

    @property
    def counts(self) -> dict[str, Any]:
        """The run's figures."""
        return counts(self.proposal, self.reading.snapshot)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """How it was read, what it warns about, and a word when nothing changed."""
        messages = list(self.reading.notes)
        messages.extend(message("warning", text) for text in self.proposal.messages)
        if not self.proposal.plan.changes:
            quiet = nothing_changed(self.reading.snapshot, self.reevaluated)
            messages.append(message("info", quiet))
        return messages

    @property
    def reevaluated(self) -> int | None:
        """How many stored mailboxes were evaluated again (None: only what was read)."""
        return None if self.reading.reevaluate is None else self.proposal.reevaluated

    @property
    def warning(self) -> bool:
        """Removals held for an empty scope, or objects left unread."""
        return self.proposal.held or bool(self.reading.snapshot.unreadable)

    @property
    def error(self) -> str | None:
        """A user sync fails by raising, never through its plan."""
        return None

    @property
    def limits(self) -> RemovalLimits:
        """The definition's removal guard."""
        return RemovalLimits(
            "mailboxes",
            max_percent=self.options.max_removal_percent,
            max_count=self.options.max_removals,
        )

    @property
    def owned(self) -> int:
        """Live mailboxes this task synced."""
        return self.view.owned_active

    def removal_keys(self) -> list[str]:
        """The addresses of the mailboxes the plan removes."""
        return [stored.primary_address for stored, _reason in self.proposal.mailboxes.removals]

    def hold_removals(self, why: str) -> int:
        """Drop every removal; how many mailbox removals were held."""
        hold_removals(self.proposal, why)
        return self.proposal.held_removals

    def changes(self) -> list[Change]:
        """The plan's changes in apply order."""
        return self.proposal.plan.changes

    def change_count(self) -> int:
        """How many changes the plan holds."""
        return len(self.proposal.plan.changes)

    def to_json(self) -> dict[str, Any]:
        """The plan's counts, its first changes, why users were skipped and how many
        mailboxes move into each policy group."""
        plan_json = self.proposal.plan.to_json(limit=PLAN_LIMIT)
        plan_json["skipped"] = dict(sorted(self.proposal.skipped.items())[:PLAN_LIMIT])
        plan_json["moved_to"] = moved_to(self.proposal)
        return plan_json


class UserSync:
    """The user sync feature."""

    def limits(self, options: Any) -> Limits | None:
        """User sync runs at the connection's own limits."""
        return None

    def read(
        self, ctx: RunContext, source: OpenedSource, *, full: str | None = None
    ) -> UserReading:
        """A full read when due (or ``full`` says why), else a delta read."""
        options = ctx.options
        assert isinstance(options, UserSyncOptions)
        with ctx.db.session() as session:
            domains = _domains(session, ctx, options)
            state = {} if full else read_state(session, ctx.task.id, STATE_KEY)
            known = _stored_mailboxes(session, ctx.task.organization_id)
        with_groups = (
            options.sync_groups or options.uses_membership() or ctx.task.scope_kind != "all"
        )
        directory = source.directory
        version = directory.delta_version
        evaluation = Evaluation.of(options, domains, ctx.task.scope_kind, ctx.task.scope_value)
        reason = full or _full_reason(state, options, with_groups, version)
        reading = UserReading(Snapshot(full=True), state, domains, version, evaluation)
        if reason is None:
            reason, reading.reevaluate = what_changed(evaluation, Evaluation.stored(state))

        def progress(stage: str, done: int) -> None:
            ctx.report(stage, done)
            ctx.check_cancelled()

        if reason is None:
            if reading.reevaluate:
                text = f"every stored mailbox is evaluated again: {reading.reevaluate}"
                reading.notes.append(message("info", text))
            try:
                reading.snapshot = source.run(
                    directory.read_delta(
                        users_link=str(state["users_delta"]),
                        groups_link=state.get("groups_delta"),
                        with_groups=with_groups,
                        progress=progress,
                        pending=state.get("pending_users") or (),
                    )
                )
                return reading
            except DeltaExpired as exc:
                reason = str(exc)
                reading.notes.clear()
                reading.reevaluate = None
        reading.notes.append(message("info", f"full read: {reason}"))
        reading.snapshot = source.run(
            directory.read_full(with_groups=with_groups, progress=progress, known=known)
        )
        return reading

    def plan(self, ctx: RunContext, session: Session, reading: UserReading) -> UserPlan:
        """The proposal; NeedFullRead when a delta cannot be planned alone."""
        options = ctx.options
        assert isinstance(options, UserSyncOptions)
        ctx.report("planning", 0)
        proposal, view = _propose(session, ctx, options, reading)
        held = reading.snapshot.removals_held
        if held:
            hold_removals(proposal, held, headline="removals held")
        return UserPlan(reading, proposal, view, options)

    def apply(self, ctx: RunContext, session: Session, planned: UserPlan) -> None:
        """Write the proposal; save the delta links when the read was complete."""
        now = utcnow()
        writer = ProposalWriter(
            session,
            planned.view,
            org_id=ctx.task.organization_id,
            task_id=ctx.task.id,
            now=now,
            connection_id=ctx.task.connection_id,
        )
        window = planned.options.restore_window_days
        writer.apply(
            planned.proposal, ctx.settings.restore_window_days if window is None else window
        )
        # The organization's counts after every applied sync: the console draws them over time.
        record_organization_counts(session, ctx.task.organization_id, ctx.run_id, now)
        snapshot = planned.reading.snapshot
        if snapshot.complete:
            reading = planned.reading
            state = _next_state(reading, now)
            write_state(session, ctx.task.id, STATE_KEY, state)


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


def _full_reason(
    state: dict[str, Any], options: UserSyncOptions, with_groups: bool, version: str
) -> str | None:
    """Why this run must read everything, or None when delta links will do."""
    if not state.get("users_delta"):
        return "first run"
    if state.get("delta_version") != version:
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


def _propose(
    session: Session, ctx: RunContext, options: UserSyncOptions, reading: UserReading
) -> tuple[Proposal, StoreView]:
    task = ctx.task
    snapshot = reading.snapshot
    if snapshot.full or reading.reevaluate:
        # Evaluating every stored mailbox again needs all of them and every membership.
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
        domains=reading.domains,
        scope_kind=task.scope_kind,
        scope_value=task.scope_value,
        task_id=task.id,
        reevaluate=reading.reevaluate is not None,
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


def _next_state(reading: UserReading, now: datetime) -> dict[str, Any]:
    snapshot = reading.snapshot
    out = dict(reading.state)
    if snapshot.users_delta_link:
        out["users_delta"] = snapshot.users_delta_link
    if snapshot.groups_delta_link:
        out["groups_delta"] = snapshot.groups_delta_link
    if snapshot.full and not snapshot.removals_held:
        out["last_full_at"] = now.isoformat()
    elif snapshot.removals_held:
        # A full read that removed nothing is no reconciliation: the next run reads in full.
        out.pop("last_full_at", None)
    out["delta_version"] = reading.delta_version
    # The store now reflects these options and this scope (see evaluation).
    out["evaluated"] = reading.evaluation.to_json()
    # Users this read could not read whole: the links move past their changes, so the
    # next run reads them again by id.
    out["pending_users"] = sorted(snapshot.unreadable)
    return out
