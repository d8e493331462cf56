"""What a handler gets to do its run, and what it hands back."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tenantsync.errors import RunCancelled
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import RunStatus, Trigger


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
    """How a run ended: status, counts, messages and the plan it computed."""

    status: RunStatus = RunStatus.SUCCEEDED
    counts: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class RunContext:
    """Everything a handler needs: the store, the task, its options, and the run's switches."""

    db: Database
    settings: Settings
    run_id: int
    trigger: Trigger
    task: TaskInfo
    options: BaseModel
    confirm_removals: bool = False
    cancel_event: threading.Event = field(default_factory=threading.Event)
    progress: dict[str, Any] = field(default_factory=dict)

    @property
    def preview(self) -> bool:
        """A preview computes the plan and never applies it."""
        return self.trigger is Trigger.PREVIEW

    @property
    def actor(self) -> str:
        """How changes made by this run are attributed."""
        return f"task:{self.task.name} (run {self.run_id})"

    def check_cancelled(self) -> None:
        """Stop the handler here when the run was cancelled or its lease was lost."""
        if self.cancel_event.is_set():
            raise RunCancelled(f"run {self.run_id} was cancelled")

    def report(self, stage: str, done: int, total: int | None = None) -> None:
        """Publish progress; the lease keeper writes it to the run for watchers."""
        self.progress.update(stage=stage, done=done, total=total)
