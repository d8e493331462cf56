"""What a permission sync run says: its counts, its warnings (unreadable mailboxes, grants
kept for trustees that could not be named, a sudden rise in unresolved trustees)."""

from __future__ import annotations

from typing import Any

from tenantsync.engine.permission_sync.acl import UNRESOLVED_REASONS, Skips
from tenantsync.engine.permission_sync.apply import Names
from tenantsync.engine.permission_sync.diff import GrantPlan
from tenantsync.engine.permission_sync.reading import ReadResult
from tenantsync.engine.permission_sync.scope import Scope
from tenantsync.engine.permission_sync.state import ReadState
from tenantsync.model.permissions import RIGHT_TITLES

FAILURES_LISTED = 20


def run_report(
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


def unresolved_entries(skips: Skips) -> int:
    return sum(skips.counts.get(reason, 0) for reason in UNRESOLVED_REASONS)


# Unresolved trustees that grow past both figures at once point at a read that lost the
# names it resolves by (a failed listing, a partial directory), not at new outsiders.
RISE_FACTOR = 2
RISE_MINIMUM = 10


def rise_warning(previous: ReadState, current: ReadState) -> list[dict[str, Any]]:
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
