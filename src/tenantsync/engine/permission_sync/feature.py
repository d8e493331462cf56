"""Mailbox permission sync as a pipeline feature: scope, read, interpret, diff by origin.

The pipeline guards and applies: a run never removes more than the definition's
``removal_guard_percent`` of the task's grants (beyond ``removal_guard_min``) without
confirmation, and never removes a grant on a mailbox it could not read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from tenantsync.engine.feature import ChangeList, Limits
from tenantsync.engine.guard import RemovalLimits
from tenantsync.engine.permission_sync.acl import (
    grants_from,
    resolve_entries,
)
from tenantsync.engine.permission_sync.apply import Names, apply_grant_plan, plan_changes
from tenantsync.engine.permission_sync.diff import GrantPlan, diff_grants, own_grants
from tenantsync.engine.permission_sync.directory import Directory, load_directory
from tenantsync.engine.permission_sync.options import PermissionSyncOptions
from tenantsync.engine.permission_sync.reading import ReadResult, read_mailboxes
from tenantsync.engine.permission_sync.report import rise_warning, run_report, unresolved_entries
from tenantsync.engine.permission_sync.scope import EmptyScope, Scope, resolve_scope
from tenantsync.engine.permission_sync.state import (
    ReadState,
    load_state,
    needs_full_read,
    save_state,
)
from tenantsync.engine.plan import Change
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import OpenedSource
from tenantsync.errors import SourceError
from tenantsync.model.permissions import (
    Grant,
    Right,
)
from tenantsync.timeutil import utcnow

PREVIEW_LIMIT = 1000


@dataclass
class PermissionReading:
    """The scope, the directory it resolves against, and what the read found."""

    scope: Scope
    directory: Directory
    previous: ReadState
    result: ReadResult
    full: bool

    @property
    def incomplete(self) -> list[str]:
        """Mailboxes are read one by one: a mailbox that failed keeps its grants."""
        return []

    @property
    def retry(self) -> SourceError | None:
        """A transient failure that left no mailbox readable: worth a later attempt."""
        failures = self.result.failures
        if self.result.read or not failures or not all(f.retryable for f in failures):
            return None
        return SourceError(f"no mailbox could be read: {failures[0].reason}", retryable=True)


@dataclass
class GrantPlanned:
    """A grant plan as the pipeline sees it."""

    reading: PermissionReading
    plan: GrantPlan
    names: Names
    stored: int
    options: PermissionSyncOptions
    rise: list[dict[str, Any]] = field(default_factory=list)

    def _report(self) -> tuple[bool, dict[str, Any], list[dict[str, Any]]]:
        r = self.reading
        return run_report(r.scope, r.result, self.plan, self.names, full=r.full)

    @property
    def counts(self) -> dict[str, Any]:
        """The run's figures."""
        return self._report()[1]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Warnings: skipped entries, unreadable mailboxes, grants kept, a sudden rise."""
        return self._report()[2] + self.rise

    @property
    def warning(self) -> bool:
        """Mailboxes that could not be read, grants kept, a listing fallen back from."""
        return self._report()[0]

    @property
    def error(self) -> str | None:
        """A permission sync fails by raising, never through its plan."""
        return None

    @property
    def limits(self) -> RemovalLimits:
        """The definition's removal guard."""
        return RemovalLimits(
            "grants of this task",
            max_percent=self.options.removal_guard_percent,
            free_count=self.options.removal_guard_min,
        )

    @property
    def owned(self) -> int:
        """The grants this task holds now."""
        return self.stored

    def removal_keys(self) -> list[str]:
        """The grants the plan removes, as "mailbox | delegate | right"."""
        return [self.names.key(r.mailbox_id, r.delegate_id, r.right) for r in self.plan.removes]

    def hold_removals(self, why: str) -> int:
        """Keep every grant the plan would remove."""
        held = len(self.plan.removes)
        self.plan.kept_unread += held
        self.plan.removes.clear()
        return held

    def changes(self) -> Iterator[Change]:
        """The plan as changes in apply order (generated: a plan can hold a million)."""
        return plan_changes(self.plan, self.names)

    def change_count(self) -> int:
        """How many changes the plan holds."""
        return len(self.plan)

    def to_json(self) -> dict[str, Any]:
        """Counts per kind and the first changes."""
        changes = [c.to_json() for c in islice(self.changes(), PREVIEW_LIMIT)]
        return {
            "counts": {
                "delegate_grant.add": len(self.plan.adds),
                "delegate_grant.remove": len(self.plan.removes),
                "delegate_grant.update": len(self.plan.updates),
            },
            "total": len(self.plan),
            "changes": changes,
            "truncated": len(self.plan) > PREVIEW_LIMIT,
        }


class PermissionSync:
    """The mailbox permission sync feature."""

    def limits(self, options: Any) -> Limits:
        """The definition's calls in flight and per second, within the connection's."""
        assert isinstance(options, PermissionSyncOptions)
        return Limits(options.concurrency, options.rate_limit)

    def read(
        self, ctx: RunContext, source: OpenedSource, *, full: str | None = None
    ) -> PermissionReading | EmptyScope:
        """Every mailbox in scope (full) or those changed since they were read."""
        options = ctx.options
        assert isinstance(options, PermissionSyncOptions)
        task = ctx.task
        started = utcnow()
        with ctx.db.session() as session:
            directory = load_directory(session, task.organization_id)
            scope = resolve_scope(
                session, task.organization_id, task.scope_kind, task.scope_value, directory
            )
            previous = load_state(session, task.id)
        if not scope.mailboxes:
            return EmptyScope(scope)
        rights = options.rights()
        every = full is not None or needs_full_read(
            previous, rights, started, options.full_reconciliation_hours
        )
        reader = source.permissions(options.concurrency)
        began = time.monotonic()
        result = read_mailboxes(ctx, reader, scope, previous, full=every)
        result.seconds = time.monotonic() - began
        result.calls = reader.calls()
        result.notes = reader.notes()
        if result.notes:
            # The reader fell back from its listing: no name it showed this run is certain.
            result.degraded.update(result.state.mailboxes.keys() & result.answered)
        for mid in result.degraded & result.state.mailboxes.keys():
            # Read without a whole listing to name its trustees by: read it again next run,
            # whatever its change time says.
            result.state.mailboxes[mid] = replace(result.state.mailboxes[mid], stamp=None)
        result.state.rights = rights
        result.state.last_full_at = started if every else previous.last_full_at
        return PermissionReading(scope, directory, previous, result, every)

    def plan(
        self, ctx: RunContext, session: Session, reading: PermissionReading | EmptyScope
    ) -> GrantPlanned | ChangeList:
        """Resolve what was read against the directory and diff by origin."""
        options = ctx.options
        assert isinstance(options, PermissionSyncOptions)
        if isinstance(reading, EmptyScope):
            return reading.plan("grant", grant_data=False)
        result = reading.result
        failed = {f.mailbox.id for f in result.failures}
        desired: list[Grant] = []
        directory = reading.directory
        for mailbox in reading.scope.mailboxes:
            remembered = result.state.mailboxes.get(mailbox.id)
            if mailbox.id not in failed and remembered is not None:
                unresolved: set[Right] | None = set() if mailbox.id in result.degraded else None
                entries = resolve_entries(
                    remembered.entries, directory, result.skips, mailbox.address, unresolved
                )
                desired.extend(grants_from(mailbox.id, entries, directory, result.skips))
                result.uncertain.update((mailbox.id, right) for right in unresolved or ())
        result.state.unresolved = unresolved_entries(result.skips)
        names = Names(directory.addresses, directory.group_names)
        stored = own_grants(session, ctx.task.organization_id, ctx.task.id)
        plan = diff_grants(desired, stored, failed, result.uncertain)
        rise = rise_warning(reading.previous, result.state)
        return GrantPlanned(reading, plan, names, len(stored), options, rise)

    def apply(self, ctx: RunContext, session: Session, planned: GrantPlanned | ChangeList) -> None:
        """Write the grant plan and remember what was read."""
        if not isinstance(planned, GrantPlanned):
            return
        apply_grant_plan(session, ctx, planned.plan)
        result = planned.reading.result
        failures = {f.mailbox.id: f.reason for f in result.failures}
        save_state(session, ctx.task.id, result.state, failures)
