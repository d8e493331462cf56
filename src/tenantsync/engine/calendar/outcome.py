"""What a calendar run read and what it plans, as the pipeline sees them: the reads and
the mailbox plans (spooled on disk), the figures, the messages, the removal guard, the
changes recorded against the run and the plan's preview."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any

from tenantsync.engine.calendar.diff import MailboxPlan
from tenantsync.engine.calendar.options import CalendarOptions
from tenantsync.engine.calendar.spool import Spool
from tenantsync.engine.guard import RemovalLimits
from tenantsync.engine.permission_sync.scope import Scope
from tenantsync.engine.plan import Change
from tenantsync.errors import SourceError
from tenantsync.model.calendar import CalendarRead

PREVIEW_LIMIT = 1000
LISTED = 20


@dataclass
class Tally:
    """What the read and the plan counted."""

    read: int = 0
    whole: int = 0
    failed: int = 0
    refused: int = 0
    retryable_failures: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    left_window: int = 0
    cancelled: int = 0
    attention: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CalendarReading:
    """The run's reads (spooled), its scope, and what it cost."""

    scope: Scope
    reads: Spool[CalendarRead]
    listed: dict[int, frozenset[str]]
    now: datetime
    tally: Tally = field(default_factory=Tally)
    calls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def incomplete(self) -> list[str]:
        """Mailbox calendars are parts of their own: one that failed keeps its replicas."""
        return []

    @property
    def retry(self) -> SourceError | None:
        """A transient failure that left no calendar read: worth a later attempt."""
        t = self.tally
        if t.read or not t.failed or t.retryable_failures < t.failed:
            return None
        reason = t.attention[0][1] if t.attention else "throttled or unavailable"
        return SourceError(f"no mailbox calendar could be read: {reason}", retryable=True)


@dataclass
class ReplicaPlan:
    """The plans of every mailbox calendar, as the pipeline sees them."""

    reading: CalendarReading
    plans: Spool[MailboxPlan]
    options: CalendarOptions
    owned: int
    keys: list[str] = field(default_factory=list)
    held_back: int = 0

    @property
    def counts(self) -> dict[str, Any]:
        """The run's figures."""
        t = self.reading.tally
        counts = {
            "mailboxes_in_scope": len(self.reading.scope.mailboxes),
            "calendars_read": t.read,
            "read_whole": t.whole,
            "read_by_delta": t.read - t.whole,
            "needing_attention": t.failed,
            "refused": t.refused,
            "events_added": t.added,
            "events_updated": t.updated,
            "events_removed": t.removed - self.held_back,
            "left_window": t.left_window,
            "cancelled_occurrences": t.cancelled,
            "seconds": round(self.reading.seconds, 2),
        }
        counts.update(self.reading.calls)
        return counts

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Which mailboxes need attention, and why (names mailboxes only, no events)."""
        t = self.reading.tally
        if not t.attention:
            return []
        listed = "; ".join(f"{address}: {why}" for address, why in t.attention[:LISTED])
        more = len(t.attention) - LISTED
        if more > 0:
            listed += f"; and {more} more"
        return [
            {
                "level": "warning",
                "text": f"{len(t.attention)} mailbox calendars could not be read; their "
                f"replicas were kept as they were: {listed}",
                "mailboxes": [a for a, _ in t.attention],
            }
        ]

    @property
    def warning(self) -> bool:
        """A mailbox calendar needs attention."""
        return bool(self.reading.tally.attention)

    @property
    def error(self) -> str | None:
        """Calendar replication fails by raising, never through its plan."""
        return None

    @property
    def limits(self) -> RemovalLimits:
        """The definition's removal guard."""
        return RemovalLimits(
            "replicas of this task",
            max_percent=self.options.removal_guard_percent,
            free_count=self.options.removal_guard_min,
        )

    def removal_keys(self) -> list[str]:
        """The replicas the plan removes, as "mailbox | event id"."""
        return list(self.keys)

    def hold_removals(self, why: str) -> int:
        """Keep every replica the plan would remove."""
        held = len(self.keys)
        if not held:
            return 0
        kept: Spool[MailboxPlan] = Spool()
        for plan in self.plans:
            kept.add(replace(plan, removals=[]))
        self.plans.close()
        self.plans = kept
        self.keys = []
        self.held_back += held
        return held

    def changes(self) -> Iterator[Change]:
        """One change per mailbox calendar whose replicas were added or updated, one per
        replica removed (generated: a plan can hold millions)."""
        for plan in self.plans:
            calendar = plan.calendar_name or plan.calendar_key
            if plan.inserts or plan.updates:
                yield Change(
                    "replicate",
                    "calendar",
                    f"{plan.address} | {calendar}",
                    "read whole" if plan.whole else "delta",
                    after={
                        "added": len(plan.inserts),
                        "updated": len(plan.updates),
                        "cancelled_occurrences": plan.cancelled,
                    },
                )
            for removal in plan.removals:
                # The record keeps why ("deleted", "left window", ...) in its after document.
                yield Change(
                    "remove",
                    "calendar_event",
                    f"{plan.address} | {removal.source_id}",
                    removal.reason,
                    after={"removed": removal.reason},
                )

    def change_count(self) -> int:
        """How many changes the plan holds."""
        return sum(
            (1 if plan.inserts or plan.updates else 0) + len(plan.removals) for plan in self.plans
        )

    def to_json(self) -> dict[str, Any]:
        """Counts per kind and the first changes."""
        changes = [c.to_json() for c in islice(self.changes(), PREVIEW_LIMIT)]
        t = self.reading.tally
        total = self.change_count()
        return {
            "counts": {
                "calendar_event.add": t.added,
                "calendar_event.update": t.updated,
                "calendar_event.remove": len(self.keys),
            },
            "total": total,
            "changes": changes,
            "truncated": total > PREVIEW_LIMIT,
        }


__all__ = ["CalendarReading", "ReplicaPlan", "Tally"]
