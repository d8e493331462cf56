"""Mailbox permission sync as a pipeline feature: scope, read, interpret, diff by origin.

The pipeline guards and applies: a run never removes more than the definition's
``removal_guard_percent`` of the task's grants (beyond ``removal_guard_min``) without
confirmation, and never removes a grant on a mailbox it could not read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from tenantsync.engine.feature import ChangeList, Limits
from tenantsync.engine.guard import RemovalLimits
from tenantsync.engine.permission_sync.acl import (
    UNRESOLVED_REASONS,
    Skips,
    grants_from,
    relevant_entries,
    resolve_entries,
)
from tenantsync.engine.permission_sync.apply import Names, apply_grant_plan, plan_changes
from tenantsync.engine.permission_sync.diff import GrantPlan, diff_grants, own_grants
from tenantsync.engine.permission_sync.directory import Directory, load_directory
from tenantsync.engine.permission_sync.options import PermissionSyncOptions
from tenantsync.engine.permission_sync.scope import Scope, resolve_scope
from tenantsync.engine.permission_sync.state import (
    MailboxRead,
    ReadState,
    load_state,
    mailboxes_to_read,
    needs_full_read,
    save_state,
    stamp_of,
)
from tenantsync.engine.plan import Change, Plan
from tenantsync.engine.run import RunContext
from tenantsync.engine.sources import OpenedSource, PermissionSource
from tenantsync.errors import SourceError
from tenantsync.model.permissions import (
    RIGHT_TITLES,
    Grant,
    MailboxAcl,
    ReadFailure,
    Right,
)
from tenantsync.timeutil import utcnow

PREVIEW_LIMIT = 1000
FAILURES_LISTED = 20


@dataclass
class ReadResult:
    """What one run read: new state per mailbox, failures, skipped entries."""

    state: ReadState
    read: int = 0
    failures: list[ReadFailure] = field(default_factory=list)
    answered: set[int] = field(default_factory=set)
    degraded: set[int] = field(default_factory=set)
    uncertain: set[tuple[int, Right]] = field(default_factory=set)
    skips: Skips = field(default_factory=Skips)
    calls: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


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
        return _report(r.scope, r.result, self.plan, self.names, full=r.full)

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


@dataclass
class EmptyScope:
    """A scope that takes in nobody: nothing read, nothing removed, and the run says so."""

    scope: Scope
    incomplete: list[str] = field(default_factory=list)
    retry: SourceError | None = None


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
        result = _read(ctx, reader, scope, previous, full=every)
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
            text = (
                f"the task's scope ({reading.scope.description}) holds no mailbox: "
                "nothing was read and no grant was removed"
            )
            return ChangeList(
                Plan(),
                {"scope": reading.scope.description, "mailboxes_in_scope": 0},
                [{"level": "warning", "text": text, "grant_data": False}],
                warning=True,
            )
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
        result.state.unresolved = _unresolved_entries(result.skips)
        names = Names(directory.addresses, directory.group_names)
        stored = own_grants(session, ctx.task.organization_id, ctx.task.id)
        plan = diff_grants(desired, stored, failed, result.uncertain)
        rise = _rise_warning(reading.previous, result.state)
        return GrantPlanned(reading, plan, names, len(stored), options, rise)

    def apply(self, ctx: RunContext, session: Session, planned: GrantPlanned | ChangeList) -> None:
        """Write the grant plan and remember what was read."""
        if not isinstance(planned, GrantPlanned):
            return
        apply_grant_plan(session, ctx, planned.plan)
        result = planned.reading.result
        failures = {f.mailbox.id: f.reason for f in result.failures}
        save_state(session, ctx.task.id, result.state, failures)


def _read(
    ctx: RunContext,
    reader: PermissionSource,
    scope: Scope,
    previous: ReadState,
    *,
    full: bool,
) -> ReadResult:
    in_scope = {m.id for m in scope.mailboxes}
    state = ReadState(
        mailboxes={mid: v for mid, v in previous.mailboxes.items() if mid in in_scope}
    )
    # A full read reads every mailbox whatever its change time, so it starts at once and
    # takes the change times (listed alongside) afterwards; an incremental read needs them
    # first to know what changed.
    stamps = None if full else _stamps(reader, scope)
    wanted = scope.mailboxes if full else mailboxes_to_read(previous, scope.mailboxes, stamps or {})
    result = ReadResult(state=state)
    ctx.report("read", 0, len(wanted))
    options = ctx.options
    assert isinstance(options, PermissionSyncOptions)
    answered: dict[int, datetime | None] = {}
    for item in reader.read(wanted, options.rights(), ctx.cancel_event.is_set):
        ctx.check_cancelled()
        answered[item.mailbox.id] = item.changed_at if isinstance(item, MailboxAcl) else None
        result.answered.add(item.mailbox.id)
        if isinstance(item, ReadFailure):
            result.failures.append(item)
            continue
        result.read += 1
        if not item.names_complete:
            result.degraded.add(item.mailbox.id)
        state.mailboxes[item.mailbox.id] = MailboxRead(
            None, tuple(relevant_entries(item.entries, result.skips, item.mailbox.address))
        )
        if result.read % 100 == 0:
            ctx.report("read", result.read + len(result.failures), len(wanted))
    ctx.check_cancelled()
    if stamps is None:
        stamps = _stamps(reader, scope)
    for mid, changed_at in answered.items():
        if mid in state.mailboxes:
            stamp = stamp_of(stamps.get(mid) or changed_at)
            state.mailboxes[mid] = replace(state.mailboxes[mid], stamp=stamp)
    for mailbox in wanted:
        if mailbox.id not in answered:
            # The reader gave no answer for it: never treat that as "no permissions".
            result.failures.append(ReadFailure(mailbox, "no answer from the reader"))
    for failure in result.failures:
        # Read again next run, whatever its change time says.
        state.mailboxes.pop(failure.mailbox.id, None)
    return result


def _stamps(reader: PermissionSource, scope: Scope) -> dict[int, datetime | None]:
    """Each mailbox's change time: the source's where it tells, else the store's."""
    stamps = {m.id: m.changed_at for m in scope.mailboxes}
    stamps.update({k: v for k, v in reader.change_stamps(scope.mailboxes).items() if v})
    return stamps


def _report(
    scope: Scope, result: ReadResult, plan: GrantPlan, names: Names, *, full: bool
) -> tuple[bool, dict[str, Any], list[dict[str, Any]]]:
    """Whether the run warns, its counts and its messages."""
    # "grant_data" tells the console what only super administrators may read: the skip
    # warnings name trustees on mailboxes; the unread notice names mailboxes only.
    messages: list[dict[str, Any]] = [
        *({"level": "warning", "text": line, "grant_data": False} for line in result.notes),
        *(
            {"level": "warning", "text": line, "grant_data": True}
            for line in result.skips.warnings()
        ),
    ]
    warning = bool(result.notes)
    if result.failures:
        warning = True
        listed = ", ".join(
            f"{f.mailbox.address} ({f.reason})" for f in result.failures[:FAILURES_LISTED]
        )
        more = len(result.failures) - FAILURES_LISTED
        if more > 0:
            listed += f" and {more} more"
        messages.append(
            {
                "level": "warning",
                "text": f"permissions of {len(result.failures)} mailboxes could not be read; "
                f"their grants were kept as they were: {listed}",
                "mailboxes": [f.mailbox.address for f in result.failures],
                "grant_data": False,
            }
        )
    if plan.kept_unresolved:
        warning = True
        kept = plan.kept_unresolved
        parts = sorted({f"{names.address(g.mailbox_id)} ({RIGHT_TITLES[g.right]})" for g in kept})
        listed = ", ".join(parts[:FAILURES_LISTED])
        if len(parts) > FAILURES_LISTED:
            listed += f" and {len(parts) - FAILURES_LISTED} more"
        messages.append(
            {
                "level": "warning",
                "text": f"{len(plan.kept_unresolved)} grants were kept, not removed, because "
                f"their mailbox's entries for that right name a trustee that could not be "
                f"resolved: {listed}",
                "mailboxes": sorted({names.address(g.mailbox_id) for g in plan.kept_unresolved}),
                "grant_data": True,
            }
        )
    counts: dict[str, Any] = {
        "scope": scope.description,
        "full_reconciliation": full,
        "mailboxes_in_scope": len(scope.mailboxes),
        "mailboxes_read": result.read,
        "mailboxes_unchanged_not_read": len(scope.mailboxes) - result.read - len(result.failures),
        "mailboxes_failed": len(result.failures),
        "grants_added": len(plan.adds),
        "grants_removed": len(plan.removes),
        "grants_updated": len(plan.updates),
        "grants_unchanged": plan.unchanged,
        "grants_kept_unread": plan.kept_unread,
        "grants_kept_unresolved": len(plan.kept_unresolved),
        "skipped": dict(sorted(result.skips.counts.items())),
        "exchange_requests": result.calls.get("requests", 0),
        "throttled": result.calls.get("throttled", 0),
        "read_seconds": round(result.seconds, 2),
        "warnings": sum(1 for m in messages if m["level"] == "warning"),
        "errors": 0,
    }
    return warning, counts, messages


def _unresolved_entries(skips: Skips) -> int:
    return sum(skips.counts.get(reason, 0) for reason in UNRESOLVED_REASONS)


# Unresolved trustees that grow past both figures at once point at a read that lost the
# names it resolves by (a failed listing, a partial directory), not at new outsiders.
RISE_FACTOR = 2
RISE_MINIMUM = 10


def _rise_warning(previous: ReadState, current: ReadState) -> list[dict[str, Any]]:
    """A warning when unresolved trustees rose sharply since the last applied run."""
    before, now = previous.unresolved, current.unresolved
    if previous.last_full_at is None or now < RISE_MINIMUM or now <= RISE_FACTOR * before:
        return []
    return [
        {
            "level": "warning",
            "text": f"unresolved trustees rose from {before} to {now} since the last run: "
            "the read may be incomplete (the grants they concern were kept)",
            "grant_data": False,
        }
    ]
