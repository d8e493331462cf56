"""A plan: the plain list of changes a run would make. Preview shows it; apply executes it."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Change:
    """One change: what happens to which object, why, and its state before and after."""

    action: str
    entity: str
    key: str
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(repr=False)
class Plan:
    """The changes of one run, in the order they would be applied (repr: the counts)."""

    changes: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def counts(self) -> dict[str, int]:
        """How many changes of each ``entity.action``."""
        return dict(Counter(f"{c.entity}.{c.action}" for c in self.changes))

    def of(self, action: str, entity: str | None = None) -> list[Change]:
        return [
            c for c in self.changes if c.action == action and (entity is None or c.entity == entity)
        ]

    def __len__(self) -> int:
        return len(self.changes)

    def __repr__(self) -> str:
        return f"<Plan {len(self.changes)} changes: {self.counts()}>"

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """The plan as JSON: counts of every kind, and the changes (up to ``limit``)."""
        items = self.changes if limit is None else self.changes[:limit]
        return {
            "counts": self.counts(),
            "total": len(self.changes),
            "changes": [c.to_json() for c in items],
            "truncated": limit is not None and len(self.changes) > limit,
        }
