"""What a feature plugs into the pipeline: how it reads, plans and applies.

A feature never records changes, never sets a run status and never decides on removal
thresholds: the pipeline does all three, the same way for every feature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from tenantsync.engine.guard import RemovalLimits
from tenantsync.engine.plan import Change, Plan
from tenantsync.engine.run import RunContext
from tenantsync.errors import SourceError

R = TypeVar("R", bound="Reading")
P = TypeVar("P", bound="Planned")


class Reading(Protocol):
    """What a feature read, with what kept the read from being complete.

    ``incomplete`` names each part of the read that did not finish with proof, and why;
    ``retry`` is a transient failure worth running again for (None when there is none).
    """

    @property
    def incomplete(self) -> list[str]: ...

    @property
    def retry(self) -> SourceError | None: ...


class Planned(Protocol):
    """What a feature would do: its changes in apply order, and what the guard needs.

    ``counts``, ``messages`` and ``warning`` are read after the pipeline held removals;
    ``error`` makes the run fail with that text (a connection check that failed).
    """

    @property
    def counts(self) -> dict[str, Any]: ...

    @property
    def messages(self) -> list[dict[str, Any]]: ...

    @property
    def warning(self) -> bool: ...

    @property
    def error(self) -> str | None: ...

    @property
    def limits(self) -> RemovalLimits | None:
        """The feature's removal guard (None: its removals need no confirmation)."""
        ...

    @property
    def owned(self) -> int:
        """How many objects of the kind it removes the task owns now."""
        ...

    def removal_keys(self) -> list[str]:
        """The keys of the changes that remove something."""
        ...

    def hold_removals(self, why: str) -> int:
        """Drop every removal from the plan (the read was incomplete); how many were held."""
        ...

    def changes(self) -> Iterable[Change]:
        """Every change, in the order apply makes them (generated anew on each call)."""
        ...

    def change_count(self) -> int:
        """How many changes the plan holds."""
        ...

    def to_json(self) -> dict[str, Any]:
        """The plan as the run keeps it: counts per kind and the first changes."""
        ...


@dataclass(frozen=True)
class Limits:
    """What a definition allows on the wire, within the connection's own limits: calls in
    flight and calls per second (None: the connection's)."""

    max_concurrency: int | None = None
    requests_per_second: float | None = None


@dataclass
class NothingMissing:
    """The reading of a feature that reads the store only: always complete."""

    incomplete: list[str] = field(default_factory=list)
    retry: SourceError | None = None


@dataclass
class ChangeList:
    """A plan of plain changes with no removal guard (housekeeping, connection checks);
    ``report`` is what a feature whose result is not a list of changes hands the run."""

    plan: Plan
    counts: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    warning: bool = False
    error: str | None = None
    limits: RemovalLimits | None = None
    owned: int = 0
    preview_limit: int = 1000
    report: dict[str, Any] | None = None

    def removal_keys(self) -> list[str]:
        """No removal of a change list waits for confirmation."""
        return []

    def hold_removals(self, why: str) -> int:
        """Nothing is read from a source, so nothing is held."""
        return 0

    def changes(self) -> Iterable[Change]:
        """The plan's changes in order."""
        return iter(self.plan.changes)

    def change_count(self) -> int:
        """How many changes the plan holds."""
        return len(self.plan)

    def to_json(self) -> dict[str, Any]:
        """The plan's counts and its first changes."""
        return self.plan.to_json(limit=self.preview_limit)


class Feature(Protocol[R, P]):
    """One definition type's work, in the pipeline's three steps."""

    def limits(self, options: Any) -> Limits | None:
        """How far the definition's options narrow the connection's traffic (None: not)."""
        ...

    def read(self, ctx: RunContext, source: Any, *, full: str | None = None) -> R:
        """Read what the run needs (``full``: why everything must be read this time)."""
        ...

    def plan(self, ctx: RunContext, session: Session, reading: R) -> P:
        """Decide every change; nothing is written. May raise NeedFullRead."""
        ...

    def apply(self, ctx: RunContext, session: Session, planned: P) -> None:
        """Carry the plan out in the caller's transaction (change records are not its job)."""
        ...
