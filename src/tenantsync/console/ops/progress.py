"""What a working run shows: its stage, n of N, the rate and the time left, in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.ops.runs import WITHOUT_DOCUMENTS
from tenantsync.store.models import Run, RunStatus

# How many runs one poll may ask about (a page lists at most this many).
MAX_WATCHED = 200


@dataclass(frozen=True)
class ProgressView:
    """A run's last published progress, as the pages and the API show it."""

    run_id: int
    status: str
    finished: bool
    stage: str | None
    done: int | None
    total: int | None
    rate: float | None
    eta_seconds: float | None
    updated_at: str | None

    @property
    def text(self) -> str:
        """ "reading users: 1,200 of 5,000 · 240 a second · about 16 s left"."""
        if self.finished or self.status != RunStatus.RUNNING.value:
            return self.status.replace("_", " ")
        if self.stage is None:
            return "running"
        parts = [self.stage]
        if self.done is not None and (self.done or self.total):
            count = f"{self.done:,}" + (f" of {self.total:,}" if self.total else "")
            parts = [f"{self.stage}: {count}"]
        if self.rate:
            shown = f"{self.rate:,.0f}" if self.rate >= 10 else f"{self.rate:.1f}"
            parts.append(f"{shown} a second")
        if self.eta_seconds is not None:
            parts.append(f"about {_duration(self.eta_seconds)} left")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The view as the polling script and the API get it."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "finished": self.finished,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "rate": self.rate,
            "eta_seconds": self.eta_seconds,
            "updated_at": self.updated_at,
            "text": self.text,
        }


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def progress_of(run_id: int, status: RunStatus, progress: dict[str, Any] | None) -> ProgressView:
    """A run's progress with its rate over the current stage and the time left at that rate."""
    p = progress if isinstance(progress, dict) and status is RunStatus.RUNNING else {}
    done = p.get("done") if isinstance(p.get("done"), int) else None
    total = p.get("total") if isinstance(p.get("total"), int) else None
    began, at = _when(p.get("stage_started_at")), _when(p.get("at"))
    rate = eta = None
    if done and began is not None and at is not None:
        # The rate up to the run's last report: measuring to now would count the delay of
        # publishing it as time the run spent.
        elapsed = (at - began).total_seconds()
        if elapsed > 0:
            rate = round(done / elapsed, 1)
            if total and total >= done:
                eta = round((total - done) / rate, 1)
    return ProgressView(
        run_id=run_id,
        status=status.value,
        finished=status.finished,
        stage=p.get("stage"),
        done=done,
        total=total,
        rate=rate,
        eta_seconds=eta,
        updated_at=p.get("at"),
    )


def progress_views(session: Session, run_ids: Iterable[int]) -> list[ProgressView]:
    """The progress of the given runs (unknown ids left out), reading two small columns."""
    ids = sorted(set(run_ids))[:MAX_WATCHED]
    rows = session.execute(select(Run.id, Run.status, Run.progress).where(Run.id.in_(ids)))
    return [progress_of(rid, status, progress) for rid, status, progress in rows]


def running(session: Session, limit: int = 20) -> list[tuple[Run, ProgressView]]:
    """The runs working now, oldest first, with their progress (the dashboard's indicator)."""
    runs = session.scalars(
        select(Run)
        .options(*WITHOUT_DOCUMENTS)
        .where(Run.status == RunStatus.RUNNING)
        .order_by(Run.id)
        .limit(limit)
    ).all()
    return [(r, progress_of(r.id, r.status, r.progress)) for r in runs]
