"""The mailbox permission sync handler: scope, read, interpret, diff by origin, guard, apply."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any

from tenantsync.engine.permission_sync.acl import (
    UNRESOLVED_REASONS,
    Skips,
    grants_from,
    relevant_entries,
    resolve_entries,
)
from tenantsync.engine.permission_sync.apply import Names, apply_grant_plan, plan_changes
from tenantsync.engine.permission_sync.diff import GrantPlan, diff_grants, own_grants
from tenantsync.engine.permission_sync.directory import load_directory
from tenantsync.engine.permission_sync.options import PermissionSyncOptions
from tenantsync.engine.permission_sync.reader import PermissionReader, ReaderFactory
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
from tenantsync.errors import GuardStop
from tenantsync.model.permissions import (
    RIGHT_TITLES,
    Grant,
    MailboxAcl,
    ReadFailure,
    Right,
)
from tenantsync.store.models import RunStatus
from tenantsync.timeutil import utcnow
from tenantsync.engine.run import Outcome, RunContext

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


def sync_permissions(ctx: RunContext, open_reader: ReaderFactory) -> Outcome:
    """Run a mailbox permission sync with the reader ``open_reader`` gives for the run."""
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
        # A scope that takes in nobody is a misnamed or emptied group far more often than
        # a wish to drop every grant: nothing is read, nothing removed, and the run says so.
        return Outcome(
            status=RunStatus.WARNING,
            counts={"scope": scope.description, "mailboxes_in_scope": 0},
            messages=[
                {
                    "level": "warning",
                    "text": f"the task's scope ({scope.description}) holds no mailbox: "
                    "nothing was read and no grant was removed",
                    "grant_data": False,
                }
            ],
        )
    rights = options.rights()
    full = needs_full_read(previous, rights, started, options.full_reconciliation_hours)
    with open_reader(ctx, options) as reader:
        reading = time.monotonic()
        result = _read(ctx, reader, scope, previous, full=full)
        result.seconds = time.monotonic() - reading
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
    result.state.last_full_at = started if full else previous.last_full_at
    failed = {f.mailbox.id for f in result.failures}
    desired: list[Grant] = []
    for mailbox in scope.mailboxes:
        remembered = result.state.mailboxes.get(mailbox.id)
        if mailbox.id not in failed and remembered is not None:
            unresolved: set[Right] | None = set() if mailbox.id in result.degraded else None
            entries = resolve_entries(
                remembered.entries, directory, result.skips, mailbox.address, unresolved
            )
            desired.extend(grants_from(mailbox.id, entries, directory, result.skips))
            result.uncertain.update((mailbox.id, right) for right in unresolved or ())
    result.state.unresolved = _unresolved_entries(result.skips)
    ctx.check_cancelled()
    names = Names(directory.addresses, directory.group_names)
    with ctx.db.session() as session:
        stored = own_grants(session, task.organization_id, task.id)
        plan = diff_grants(desired, stored, failed, result.uncertain)
        outcome = _outcome(scope, result, plan, names, full=full)
        outcome.messages.extend(_rise_warning(previous, result.state))
        _guard(ctx, options, plan, len(stored), outcome.plan)
        if ctx.preview:
            return outcome
        ctx.report("apply", 0, len(plan))
        apply_grant_plan(session, ctx, plan, names)
        save_state(session, task.id, result.state)
    return outcome


def _read(
    ctx: RunContext,
    reader: PermissionReader,
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


def _stamps(reader: PermissionReader, scope: Scope) -> dict[int, datetime | None]:
    """Each mailbox's change time: the source's where it tells, else the store's."""
    stamps = {m.id: m.changed_at for m in scope.mailboxes}
    stamps.update({k: v for k, v in reader.change_stamps(scope.mailboxes).items() if v})
    return stamps


def _outcome(
    scope: Scope, result: ReadResult, plan: GrantPlan, names: Names, *, full: bool
) -> Outcome:
    # "grant_data" tells the console what only super administrators may read: the skip
    # warnings name trustees on mailboxes; the unread notice names mailboxes only.
    messages: list[dict[str, Any]] = [
        *({"level": "warning", "text": line, "grant_data": False} for line in result.notes),
        *(
            {"level": "warning", "text": line, "grant_data": True}
            for line in result.skips.warnings()
        ),
    ]
    status = RunStatus.WARNING if result.notes else RunStatus.SUCCEEDED
    if result.failures:
        status = RunStatus.WARNING
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
        status = RunStatus.WARNING
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
    changes = [c.to_json() for c in islice(plan_changes(plan, names), PREVIEW_LIMIT)]
    plan_json = {
        "counts": {
            "delegate_grant.add": len(plan.adds),
            "delegate_grant.remove": len(plan.removes),
            "delegate_grant.update": len(plan.updates),
        },
        "total": len(plan),
        "changes": changes,
        "truncated": len(plan) > PREVIEW_LIMIT,
    }
    return Outcome(status=status, counts=counts, messages=messages, plan=plan_json)


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


def _guard(
    ctx: RunContext,
    options: PermissionSyncOptions,
    plan: GrantPlan,
    stored: int,
    plan_json: dict[str, Any] | None,
) -> None:
    removals = len(plan.removes)
    if ctx.confirm_removals or ctx.preview or removals <= options.removal_guard_min:
        return
    share = 100.0 * removals / max(stored, 1)
    if share > options.removal_guard_percent:
        raise GuardStop(
            f"the run would remove {removals} of {stored} grants of this task ({share:.0f}%, "
            f"more than {options.removal_guard_percent:g}%); confirm the removals to apply",
            plan=plan_json,
        )
