"""Turns due schedules into queued runs, exactly once per due time even with many schedulers.

A run for a due time carries ``due_at``; the unique (task, due_at) constraint makes a second
scheduler's insert a no-op, and the task's ``next_due_at`` only moves forward from the value
the scheduler read, so racing schedulers agree.

A run started by hand stands in for the schedule: a task whose manual run (still going, or
applied) is newer than its schedule's previous due time is not run again for this one, so
starting `tenantsync serve` right after `task run` or `users sync` does not repeat them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenantsync.store.models import Run, RunStatus, Schedule, ScheduledTask, Trigger
from tenantsync.timeutil import utcnow
from tenantsync.worker.timing import Timing, parse_weekdays

log = logging.getLogger(__name__)


def timing_of(schedule: Schedule) -> Timing:
    """The parts of a stored schedule that decide its due times."""
    return Timing(
        interval_seconds=schedule.interval_seconds,
        cron=schedule.cron,
        timezone=schedule.timezone,
        window_start=schedule.window_start,
        window_end=schedule.window_end,
        weekdays=parse_weekdays(schedule.weekdays),
    )


def tick(session: Session, *, now: datetime | None = None) -> list[int]:
    """Queue a run for every task that is due; returns the ids of runs this call created."""
    now = now or utcnow()
    due = session.execute(
        select(ScheduledTask, Schedule)
        .join(Schedule, Schedule.id == ScheduledTask.schedule_id)
        .where(
            ScheduledTask.enabled.is_(True),
            ScheduledTask.next_due_at.is_not(None),
            ScheduledTask.next_due_at <= now,
        )
    ).all()
    created: list[int] = []
    for task, schedule in due:
        due_at = task.next_due_at
        assert due_at is not None
        timing = timing_of(schedule)
        ran = _ran_by_hand(session, task.id)
        if ran is not None and timing.next_due(ran) > now:
            # A manual run since the last due time did this one's work: run it next from there.
            following = timing.next_due(ran)
            log.info("task %s ran by hand at %s; due time %s skipped", task.name, ran, due_at)
        else:
            if not _has_pending(session, task.id):
                run_id = _insert_once(session, task.id, due_at)
                if run_id is not None:
                    created.append(run_id)
            else:
                log.info("task %s is still queued or running; due %s coalesced", task.name, due_at)
            following = timing.next_due(max(due_at, now))
        session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.id == task.id, ScheduledTask.next_due_at == due_at)
            .values(next_due_at=following)
        )
    session.commit()
    return created


def _ran_by_hand(session: Session, task_id: int) -> datetime | None:
    """When the task's latest manual run that applied its plan started (None: never)."""
    started: datetime | None = session.scalar(
        select(func.max(Run.started_at)).where(
            Run.task_id == task_id,
            Run.trigger == Trigger.MANUAL,
            Run.status.in_([RunStatus.SUCCEEDED, RunStatus.WARNING]),
        )
    )
    return started


def _has_pending(session: Session, task_id: int) -> bool:
    return (
        session.scalar(
            select(Run.id)
            .where(
                Run.task_id == task_id,
                Run.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
                Run.trigger.in_([Trigger.SCHEDULE, Trigger.MANUAL]),
            )
            .limit(1)
        )
        is not None
    )


def _insert_once(session: Session, task_id: int, due_at: datetime) -> int | None:
    values = {
        "task_id": task_id,
        "trigger": Trigger.SCHEDULE,
        "status": RunStatus.QUEUED,
        "due_at": due_at,
        "created_at": utcnow(),
        "attempts": 0,
        "retried": False,
        "cancel_requested": False,
        "confirm_removals": False,
        "counts": {},
        "messages": [],
    }
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert_fn(Run)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["task_id", "due_at"])
        .returning(Run.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def arm(task: ScheduledTask, schedule: Schedule | None, *, now: datetime | None = None) -> None:
    """Set the first due time of a task whose schedule was set or changed."""
    if schedule is None:
        task.next_due_at = None
        return
    task.next_due_at = timing_of(schedule).first_due(now or utcnow())
