"""The one removal guard: a plan may remove at most so many objects, and at most so large a
share of what the task owns, before an administrator confirms it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemovalLimits:
    """How far a feature's runs may remove on their own.

    ``what`` names the objects ("mailboxes", "grants"). A plan stops when it removes more
    than ``max_count`` (when set), or more than ``free_count`` and more than
    ``max_percent`` of what the task owns.
    """

    what: str
    max_percent: float
    max_count: int | None = None
    free_count: int = 0


def verdict(limits: RemovalLimits, removals: int, owned: int) -> str | None:
    """Why a plan removing ``removals`` of ``owned`` must be confirmed, or None."""
    if limits.max_count is not None and removals > limits.max_count:
        return f"this run would remove {removals} {limits.what} (more than {limits.max_count})"
    if removals <= limits.free_count or owned <= 0:
        return None
    share = removals * 100 / owned
    if share > limits.max_percent:
        return (
            f"this run would remove {removals} of {owned} {limits.what} ({share:.1f}%, more "
            f"than {limits.max_percent:g}%)"
        )
    return None
