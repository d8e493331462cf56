"""The run contract: what a run gets to work with, and what it hands back.

The worker builds a :class:`RunContext` from a claimed run and calls the one pipeline
(:mod:`tenantsync.engine.pipeline`); the pipeline calls the feature and turns what it
planned into an :class:`Outcome`, which the worker stores on the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tenantsync.errors import RunCancelled
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import RunStatus, Trigger
from tenantsync.timeutil import utcnow


@dataclass(frozen=True)
class TaskInfo:
    """The scheduled task of a run, detached from any session."""

    id: int
    name: str
    organization_id: int
    definition_type: str
    connection_id: int | None
    scope_kind: str
    scope_value: str | None


@dataclass
class Outcome:
    """How a run ended: status, counts, messages, the plan it computed, and for a threshold
    stop the reason and the removals it asks to confirm."""

    status: RunStatus = RunStatus.SUCCEEDED
    counts: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    error: str | None = None
    stop_reason: str | None = None
    review: list[str] | None = None
    report: dict[str, Any] | None = None
    # The run failed reaching its source (or its connection check failed): notified as a
    # connection problem rather than a failure.
    source_problem: bool = False


@dataclass
class RunContext:
    """Everything a feature needs: the store, the task, its options, and the run's switches.

    ``review`` is set on a run that confirms a threshold stop: the keys of the removals
    the administrator reviewed. Such a run applies its plan only while its removals stay
    within them. ``confirm_removals`` (``--confirm-removals``) lets any removals through.
    ``full_read`` says why this run reads everything from its source (``--full``, "Full
    preview"), whatever its saved state would allow; None lets the feature decide.
    """

    db: Database
    settings: Settings
    run_id: int
    trigger: Trigger
    task: TaskInfo
    options: BaseModel
    confirm_removals: bool = False
    review: frozenset[str] | None = None
    full_read: str | None = None
    attempt: int = 1
    cancel_event: threading.Event = field(default_factory=threading.Event)
    progress: dict[str, Any] = field(default_factory=dict)

    @property
    def preview(self) -> bool:
        """A preview computes the plan and never applies it."""
        return self.trigger is Trigger.PREVIEW

    @property
    def confirming(self) -> bool:
        """Whether this run confirms removals an earlier run stopped at."""
        return self.review is not None

    @property
    def actor(self) -> str:
        """How changes made by this run are attributed."""
        return f"task:{self.task.name} (run {self.run_id})"

    def check_cancelled(self) -> None:
        """Stop the feature here when the run was cancelled or its lease was lost."""
        if self.cancel_event.is_set():
            raise RunCancelled(f"run {self.run_id} was cancelled")

    def report(self, stage: str, done: int, total: int | None = None) -> None:
        """Publish progress: the worker writes the latest to the run about once a second,
        with when its stage began, so watchers see a rate and an estimate of what is left."""
        now = utcnow().isoformat()
        if self.progress.get("stage") != stage:
            self.progress["stage_started_at"] = now
        self.progress.update(stage=stage, done=done, total=total, at=now)
