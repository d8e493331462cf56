"""What a user sync run reports: its counts, and the word when nothing changed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tenantsync.engine.user_sync.planner import Proposal
from tenantsync.model.snapshot import Snapshot


def nothing_changed(snapshot: Snapshot, reevaluated: int | None) -> str:
    """Why a plan is empty: a complete full read, a delta read that found nothing, or a
    delta read whose changes (and the stored mailboxes evaluated again) change nothing."""
    if not snapshot.complete:
        return "nothing changed in what could be read"
    if snapshot.full:
        return "nothing changed: the store matches the source"
    quiet = not (
        snapshot.users
        or snapshot.removed_users
        or snapshot.groups
        or snapshot.removed_groups
        or snapshot.member_changes
    )
    read = "delta read: no changes at the source" if quiet else None
    if reevaluated is not None:
        again = f"the {reevaluated} stored mailboxes evaluated again stay as they are"
        return f"nothing changed: {again}" + (f" ({read})" if read else "")
    return read or "nothing changed: what the delta read brought leaves the store as it is"


def counts(proposal: Proposal, snapshot: Snapshot) -> dict[str, Any]:
    """The run's figures."""
    plan = proposal.plan
    work = proposal.mailboxes
    moves = len(plan.of("move", "mailbox"))
    figures: dict[str, Any] = {
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
        "reevaluated": proposal.reevaluated,
        "unreadable": len(snapshot.unreadable),
        "changes": len(plan.changes),
    }
    if proposal.groups is not None:
        figures["groups_added"] = len(proposal.groups.adds)
        figures["groups_removed"] = len(proposal.groups.removals)
    skipped = Counter(proposal.skipped.values())
    if skipped:
        figures["skipped"] = dict(sorted(skipped.items()))
    return figures


def message(level: str, text: str) -> dict[str, Any]:
    """A run message."""
    return {"level": level, "text": text}


def moved_to(proposal: Proposal) -> dict[str, int]:
    """How many mailboxes the plan moves into each policy group (the run page says
    "3 mailboxes moved to Sales" from it without reading every change)."""
    return dict(
        sorted(
            Counter(
                str((c.after or {}).get("policy_group"))
                for c in proposal.plan.of("move", "mailbox")
            ).items()
        )
    )
