"""The run queue in the database: enqueue, claim under a lease, renew, complete, reap, cancel.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (locking the run and its
task, so two runs of one task never run at once); SQLite serialises writers, so the
same statement is atomic there without the locking clause. A worker claims only runs of
the definition types it knows: in a deployment of mixed versions an older worker leaves a
newer feature's run to a worker that can run it, rather than failing it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, Table, Update, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session

from tenantsync.engine.run import Outcome
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store import notify
from tenantsync.store.models import Definition, Run, RunStatus, ScheduledTask, Trigger
from tenantsync.timeutil import utcnow

MAX_ATTEMPTS = 3
CLAIM_TRIES = 5
# A run asked to read its source in full carries this message while it waits (the run
# table has no column for it; the run's own messages are replaced when it ends).
FULL_READ_ASKED = "asked for a full read of the source"


@dataclass(frozen=True)
class Claim:
    """A run this worker holds until ``lease_expires_at``."""

    run_id: int
    owner: str
    lease_expires_at: datetime


def enqueue(
    session: Session,
    task: ScheduledTask,
    trigger: Trigger,
    *,
    requested_by: str | None = None,
    confirm_removals: bool = False,
    confirms_run_id: int | None = None,
    full_read: bool = False,
) -> Run:
    """Queue a run of ``task`` (a manual run, a preview, or a confirmation); with
    ``full_read`` it reads its source in full."""
    run = Run(
        task_id=task.id,
        trigger=trigger,
        status=RunStatus.QUEUED,
        requested_by=requested_by,
        confirm_removals=confirm_removals,
        confirms_run_id=confirms_run_id,
        messages=[{"level": "info", "text": FULL_READ_ASKED}] if full_read else [],
    )
    session.add(run)
    session.flush()
    return run


def full_read_asked(run: Run) -> bool:
    """Whether ``run`` was queued asking for a full read of its source."""
    return any(isinstance(m, dict) and m.get("text") == FULL_READ_ASKED for m in run.messages)


RUN = cast(Table, Run.__table__)
TASK = cast(Table, ScheduledTask.__table__)
DEFINITION = cast(Table, Definition.__table__)


def _pick(*, one: bool, locking: bool, typed: bool) -> Select[Any]:
    """The oldest queued run whose task has no running run (or the run ``:run_id``); with
    ``typed``, only of the definition types ``:types``."""
    candidate = RUN.alias("candidate")
    other = RUN.alias("other")
    busy = exists().where(
        and_(other.c.task_id == candidate.c.task_id, other.c.status == RunStatus.RUNNING)
    )
    # A run queued again after a transient failure waits for its backoff to pass.
    ready = or_(candidate.c.not_before.is_(None), candidate.c.not_before <= bindparam("now"))
    pick = (
        select(candidate.c.id)
        .join(TASK, TASK.c.id == candidate.c.task_id)
        .where(candidate.c.status == RunStatus.QUEUED, ready, ~busy)
        .order_by(candidate.c.created_at, candidate.c.id)
        .limit(1)
    )
    if one:
        pick = pick.where(candidate.c.id == bindparam("run_id"))
    if typed:
        pick = pick.join(DEFINITION, DEFINITION.c.id == TASK.c.definition_id).where(
            DEFINITION.c.type.in_(bindparam("types", expanding=True))
        )
    if locking:
        pick = pick.with_for_update(skip_locked=True, of=[candidate, TASK])
    return pick


def _take() -> Update:
    """Put the run ``:run_id`` (or the picked run) under the lease of ``:owner``."""
    return update(RUN).values(
        status=RunStatus.RUNNING,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        attempts=RUN.c.attempts + 1,
        started_at=bindparam("now"),
    )


def _idle_task() -> Any:
    other = RUN.alias("other")
    return ~exists().where(other.c.task_id == RUN.c.task_id, other.c.status == RunStatus.RUNNING)


def _held() -> Any:
    """The run ``:rid`` while ``:owner`` holds its lease."""
    return and_(
        RUN.c.id == bindparam("rid"),
        RUN.c.lease_owner == bindparam("owner"),
        RUN.c.status == RunStatus.RUNNING,
    )


# Built once, as Core statements on the table: building aliased statements, and the ORM's
# bookkeeping for UPDATEs, cost more than the round trips they make.
KEYS = [(one, typed) for one in (False, True) for typed in (False, True)]
_PICK_LOCKED = {key: _pick(one=key[0], locking=True, typed=key[1]) for key in KEYS}
_TAKE_LOCKED = (
    _take()
    .where(RUN.c.id == bindparam("picked"), RUN.c.status == RunStatus.QUEUED, _idle_task())
    .returning(RUN.c.id)
)
_TAKE_ATOMIC = {
    key: _take()
    .where(
        RUN.c.id == _pick(one=key[0], locking=False, typed=key[1]).scalar_subquery(),
        RUN.c.status == RunStatus.QUEUED,
    )
    .returning(RUN.c.id)
    for key in KEYS
}
_COMPLETE = (
    update(RUN)
    .where(_held())
    .values(
        status=bindparam("status"),
        finished_at=bindparam("finished_at"),
        lease_owner=None,
        lease_expires_at=None,
        counts=bindparam("counts"),
        messages=bindparam("messages"),
        error=bindparam("error"),
        plan=bindparam("plan"),
        stop_reason=bindparam("stop_reason"),
        review=bindparam("review"),
        report=bindparam("report"),
    )
    .returning(RUN.c.id, RUN.c.task_id, RUN.c.trigger, RUN.c.confirms_run_id)
)


def claim(
    session: Session,
    owner: str,
    lease_seconds: float,
    *,
    run_id: int | None = None,
    now: datetime | None = None,
    types: Collection[str] | None = None,
) -> Claim | None:
    """Take the oldest queued run (or the given one) under a lease, of the definition
    ``types`` only when they are given; None when there is none."""
    now = now or utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    params: dict[str, Any] = {"owner": owner, "expires": expires, "now": now, "run_id": run_id}
    key = (run_id is not None, types is not None)
    if types is not None:
        params["types"] = sorted(types)
    if session.get_bind().dialect.name == "postgresql":
        claimed = _claim_locked(session, _PICK_LOCKED[key], params)
    else:
        # SQLite runs one writer at a time, so this statement sees every committed claim.
        claimed = session.execute(_TAKE_ATOMIC[key], params).scalar_one_or_none()
    session.commit()
    if claimed is None:
        return None
    return Claim(run_id=claimed, owner=owner, lease_expires_at=expires)


def _claim_locked(session: Session, pick: Select[Any], params: dict[str, Any]) -> int | None:
    """Lock a candidate run and its task, then re-check in a fresh snapshot that the task is idle.

    Under READ COMMITTED the locking SELECT can read its snapshot just before another worker
    commits a claim of a run of the same task and releases the task's lock; that claim is
    only visible to a later statement, so the UPDATE checks again and a lost race retries.
    """
    for _ in range(CLAIM_TRIES):
        picked = session.scalar(pick, params)
        if picked is None:
            return None
        claimed = session.execute(_TAKE_LOCKED, {**params, "picked": picked}).scalar_one_or_none()
        if claimed is not None:
            return int(claimed)
        session.commit()  # release the locks; the next pick sees that task as busy
    return None


def renew(session: Session, claim_: Claim, lease_seconds: float) -> tuple[bool, bool]:
    """Extend the lease; returns (still held, cancel requested)."""
    values: dict[str, Any] = {"lease_expires_at": utcnow() + timedelta(seconds=lease_seconds)}
    row = session.execute(
        update(Run)
        .where(
            Run.id == claim_.run_id,
            Run.lease_owner == claim_.owner,
            Run.status == RunStatus.RUNNING,
        )
        .values(**values)
        .returning(Run.cancel_requested)
    ).first()
    session.commit()
    if row is None:
        return False, True
    return True, bool(row[0])


def publish_progress(session: Session, claim_: Claim, progress: dict[str, Any]) -> bool:
    """Write a running run's progress (one small UPDATE); False when the lease was lost."""
    row = session.execute(
        update(RUN).where(_held()).values(progress=bindparam("progress")).returning(RUN.c.id),
        {"rid": claim_.run_id, "owner": claim_.owner, "progress": progress},
    ).first()
    session.commit()
    return row is not None


def complete(session: Session, claim_: Claim, outcome: Outcome) -> bool:
    """Record how the run ended; False when the lease was lost and another worker owns it."""
    result = session.execute(
        _COMPLETE,
        {
            "rid": claim_.run_id,
            "owner": claim_.owner,
            "status": outcome.status,
            "finished_at": utcnow(),
            "counts": outcome.counts or {},
            "messages": outcome.messages or [],
            "error": outcome.error,
            "plan": outcome.plan,
            "stop_reason": outcome.stop_reason,
            "review": outcome.review,
            "report": outcome.report,
        },
    ).first()
    if result is not None and outcome.status in (RunStatus.SUCCEEDED, RunStatus.WARNING):
        run_id, task_id, trigger, confirms = result
        if trigger is not Trigger.PREVIEW:
            _supersede_stops(session, task_id, run_id, confirms)
    elif result is not None and result[2] is not Trigger.PREVIEW:
        event = _notice(outcome)
        if event is not None:
            notify.run_ended(session, result[0], event)
    session.commit()
    return result is not None


def _notice(outcome: Outcome) -> str | None:
    """What a run that ended so is notified as, if anything."""
    if outcome.status is RunStatus.AWAITING_CONFIRMATION:
        return notify.STOPPED
    if outcome.status is RunStatus.FAILED:
        return notify.CONNECTION if outcome.source_problem else notify.FAILED
    return None


def _supersede_stops(session: Session, task_id: int, run_id: int, confirms: int | None) -> None:
    """End the task's earlier runs awaiting confirmation: this run planned anew from the
    source and applied, so they have nothing left to confirm (the run it confirms keeps its
    status and shows the confirming run)."""
    stopped = (
        update(Run)
        .where(
            Run.task_id == task_id,
            Run.id < run_id,
            Run.status == RunStatus.AWAITING_CONFIRMATION,
        )
        .values(
            status=RunStatus.CANCELLED,
            error=f"superseded by run {run_id}, which planned again from the source and "
            "applied its plan; nothing is left to confirm",
        )
    )
    if confirms is not None:
        stopped = stopped.where(Run.id != confirms)
    session.execute(stopped)


def retry_later(session: Session, claim_: Claim, delay: float, error: str) -> bool:
    """Queue the run again after ``delay`` seconds, the failed attempt logged on it; False
    when the lease was lost."""
    run = session.get(Run, claim_.run_id, with_for_update=True)
    if run is None or run.lease_owner != claim_.owner or run.status is not RunStatus.RUNNING:
        session.rollback()
        return False
    now = utcnow()
    run.attempt_log = [
        *(run.attempt_log or []),
        {"attempt": run.attempts, "at": now.isoformat(), "error": error},
    ]
    run.status = RunStatus.QUEUED
    run.not_before = now + timedelta(seconds=delay)
    run.lease_owner = None
    run.lease_expires_at = None
    run.error = (
        f"attempt {run.attempts} failed, trying again from {run.not_before:%H:%M:%S} UTC: {error}"
    )
    session.commit()
    return True


def reap_expired(session: Session, *, now: datetime | None = None) -> list[int]:
    """Re-queue runs whose worker stopped renewing; fail those out of attempts."""
    now = now or utcnow()
    expired = (Run.status == RunStatus.RUNNING, Run.lease_expires_at < now)
    failed = session.scalars(
        update(Run)
        .where(*expired, Run.attempts >= MAX_ATTEMPTS)
        .values(
            status=RunStatus.FAILED,
            finished_at=now,
            lease_owner=None,
            error=f"the worker running it stopped {MAX_ATTEMPTS} times; not retried again",
        )
        .returning(Run.id)
    ).all()
    for run_id in failed:
        notify.run_ended(session, run_id, notify.FAILED)
    requeued = session.scalars(
        update(Run)
        .where(*expired)
        .values(status=RunStatus.QUEUED, lease_owner=None, lease_expires_at=None, retried=True)
        .returning(Run.id)
    ).all()
    session.commit()
    return [*failed, *requeued]


def cancel(session: Session, run_id: int) -> Run:
    """Cancel a queued run at once, or ask a running one to stop."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    if run.status == RunStatus.QUEUED:
        run.status = RunStatus.CANCELLED
        run.finished_at = utcnow()
        run.error = "cancelled before it started"
    elif run.status == RunStatus.RUNNING:
        run.cancel_requested = True
    session.flush()
    return run


def confirm(session: Session, run: Run, requested_by: str) -> Run:
    """Queue a run that applies the removals the stopped ``run`` asked to confirm (and no
    others: when the source changed so much that it would remove more, it stops again)."""
    if run.status is not RunStatus.AWAITING_CONFIRMATION:
        raise ConfigError(
            f"run {run.id} is {run.status.value}: only a run awaiting confirmation can be "
            "confirmed",
            field="run",
        )
    already = session.scalar(select(Run.id).where(Run.confirms_run_id == run.id))
    if already is not None:
        raise ConfigError(f"run {run.id} was already confirmed by run {already}", field="run")
    return enqueue(
        session, run.task, Trigger.MANUAL, requested_by=requested_by, confirms_run_id=run.id
    )


def reject(session: Session, run: Run, rejected_by: str) -> Run:
    """End a run awaiting confirmation without removing anything: it ends cancelled, saying
    who rejected its removals."""
    if run.status is not RunStatus.AWAITING_CONFIRMATION:
        raise ConfigError(
            f"run {run.id} is {run.status.value}: only a run awaiting confirmation can be rejected",
            field="run",
        )
    already = session.scalar(select(Run.id).where(Run.confirms_run_id == run.id))
    if already is not None:
        raise ConfigError(f"run {run.id} was already confirmed by run {already}", field="run")
    run.status = RunStatus.CANCELLED
    run.error = f"removals rejected by {rejected_by}: nothing was removed"
    session.flush()
    return run
