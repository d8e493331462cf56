"""The change log behind every delta endpoint: an append-only list of numbered changes.

A delta token remembers the sequence number it was issued at; a later round returns the
objects whose changes fall between that number and the number current when the round
started, so each change made between two rounds is reported exactly once. A mailbox's
event changes are also kept by mailbox, so one mailbox's calendar delta costs its own
changes, not the whole tenant's (as Outlook's does).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from tenantsync.sandbox.entities import CalendarEvent

Collection = Literal["users", "groups", "events"]
Action = Literal["upsert", "delete", "member_add", "member_remove"]


@dataclass(slots=True, frozen=True)
class Change:
    """One recorded change; `properties` are the Graph property names touched (None: all)."""

    seq: int
    collection: Collection
    object_id: str
    action: Action
    properties: frozenset[str] | None = None
    member_id: str | None = None
    member_type: str | None = None
    mailbox_id: str | None = None
    before: CalendarEvent | None = None


class ChangeLog:
    """Numbered changes of one tenant; `generation` invalidates all earlier delta tokens."""

    def __init__(self) -> None:
        self.entries: list[Change] = []
        self.generation = 0
        # Per mailbox, the sequence numbers of its event changes (ascending).
        self._events_of: defaultdict[str, list[int]] = defaultdict(list)

    @property
    def seq(self) -> int:
        """The number of the last change (0 before any)."""
        return len(self.entries)

    def record(
        self,
        collection: Collection,
        object_id: str,
        action: Action,
        *,
        properties: frozenset[str] | None = None,
        member_id: str | None = None,
        member_type: str | None = None,
        mailbox_id: str | None = None,
        before: CalendarEvent | None = None,
    ) -> Change:
        """Append a change and return it."""
        change = Change(
            self.seq + 1,
            collection,
            object_id,
            action,
            properties,
            member_id,
            member_type,
            mailbox_id,
            before,
        )
        self.entries.append(change)
        if collection == "events" and mailbox_id is not None:
            self._events_of[mailbox_id].append(change.seq)
        return change

    def between(self, after: int, upto: int) -> list[Change]:
        """Changes with after < seq <= upto, oldest first."""
        return self.entries[after:upto]

    def mailbox_events_between(self, mailbox_id: str, after: int, upto: int) -> list[Change]:
        """One mailbox's event changes with after < seq <= upto, oldest first."""
        seqs = self._events_of.get(mailbox_id, [])
        low, high = bisect_right(seqs, after), bisect_left(seqs, upto + 1)
        return [self.entries[seq - 1] for seq in seqs[low:high]]

    def expire_tokens(self) -> None:
        """Make every delta token issued so far answer 'sync state not found'."""
        self.generation += 1
