"""The run queue: claims under a lease, re-queue of dead workers, cancellation, scheduling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tenantsync.engine.registry import default_registry
from tenantsync.engine.run import Outcome
from tenantsync.errors import ConfigError
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Run, RunStatus, ScheduledTask, Trigger
from tenantsync.timeutil import utcnow
from tenantsync.worker import queue, scheduler
from tenantsync.worker.runner import Worker
from tests.support.factory import make_org, make_task


def _task(db: Database, **kw: object) -> int:
    with db.session() as session:
        return make_task(session, make_org(session), **kw).id  # type: ignore[arg-type]


def _enqueue(db: Database, task_id: int, trigger: Trigger = Trigger.MANUAL) -> int:
    with db.session() as session:
        task = session.get(ScheduledTask, task_id)
        assert task is not None
        return queue.enqueue(session, task, trigger).id


def test_a_run_now_is_claimed_once_and_finished(db: Database, settings: Settings) -> None:
    run_id = _enqueue(db, _task(db))
    with db.sessions() as s:
        first = queue.claim(s, "w1", 30)
    with db.sessions() as s:
        second = queue.claim(s, "w2", 30)
    assert first is not None and first.run_id == run_id
    assert second is None
    with db.sessions() as s:
        assert queue.complete(s, first, Outcome(RunStatus.SUCCEEDED, counts={"n": 1}))
    with db.sessions() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert (run.status, run.counts, run.attempts) == (RunStatus.SUCCEEDED, {"n": 1}, 1)


def test_a_run_whose_lease_expired_is_requeued_and_marked_retried(db: Database) -> None:
    run_id = _enqueue(db, _task(db))
    with db.sessions() as s:
        claim = queue.claim(s, "dead-worker", 30)
    assert claim is not None
    with db.sessions() as s:
        assert queue.reap_expired(s, now=utcnow() + timedelta(seconds=10)) == []
        assert queue.reap_expired(s, now=utcnow() + timedelta(seconds=31)) == [run_id]
    with db.sessions() as s:
        again = queue.claim(s, "live-worker", 30)
        assert again is not None and again.run_id == run_id
        # the dead worker can no longer report a result for it
        assert not queue.complete(s, claim, Outcome(RunStatus.SUCCEEDED))
        assert queue.complete(s, again, Outcome(RunStatus.SUCCEEDED))
    with db.sessions() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert run.retried and run.attempts == 2 and run.status == RunStatus.SUCCEEDED


def test_a_run_that_keeps_killing_its_worker_fails_after_three_attempts(db: Database) -> None:
    run_id = _enqueue(db, _task(db))
    later = utcnow()
    for _ in range(queue.MAX_ATTEMPTS):
        with db.sessions() as s:
            assert queue.claim(s, "w", 1, now=later) is not None
        later += timedelta(seconds=5)
        with db.sessions() as s:
            queue.reap_expired(s, now=later)
    with db.sessions() as s:
        run = s.get(Run, run_id)
        assert run is not None
        assert run.status == RunStatus.FAILED and "3 times" in (run.error or "")


def test_two_runs_of_one_task_never_run_at_the_same_time(db: Database) -> None:
    task_id = _task(db)
    _enqueue(db, task_id)
    _enqueue(db, task_id)
    with db.sessions() as s:
        assert queue.claim(s, "w1", 30) is not None
    with db.sessions() as s:
        assert queue.claim(s, "w2", 30) is None


def test_cancelling_a_queued_run_ends_it_and_a_running_one_is_asked_to_stop(db: Database) -> None:
    task_id = _task(db)
    queued = _enqueue(db, task_id)
    with db.session() as s:
        assert queue.cancel(s, queued).status == RunStatus.CANCELLED
    running = _enqueue(db, task_id)
    with db.sessions() as s:
        claim = queue.claim(s, "w", 30)
    assert claim is not None and claim.run_id == running
    with db.session() as s:
        queue.cancel(s, running)
    with db.sessions() as s:
        held, cancel = queue.renew(s, claim, 30)
    assert held and cancel


def test_two_schedulers_create_one_run_per_due_time(db: Database) -> None:
    task_id = _task(db, interval_seconds=60)
    with db.sessions() as a, db.sessions() as b:
        start = utcnow()
        created = scheduler.tick(a, now=start) + scheduler.tick(b, now=start)
        assert len(created) == 1
        with db.sessions() as w:
            claim = queue.claim(w, "w", 30)
            assert claim is not None
            queue.complete(w, claim, Outcome(RunStatus.SUCCEEDED))
        later = start + timedelta(seconds=61)
        created = scheduler.tick(b, now=later) + scheduler.tick(a, now=later)
        assert len(created) == 1
    with db.sessions() as s:
        dues = s.scalars(select(Run.due_at).where(Run.task_id == task_id).order_by(Run.id)).all()
    assert len(dues) == 2 and len(set(dues)) == 2


def test_a_due_schedule_runs_housekeeping_end_to_end(db: Database, settings: Settings) -> None:
    _task(db, interval_seconds=60)
    worker = Worker(db, settings, default_registry(), with_scheduler=True)
    assert worker.run_forever(idle_exit=True) == 1
    with db.sessions() as s:
        run = s.scalars(select(Run)).one()
        assert run.status == RunStatus.SUCCEEDED and run.trigger == Trigger.SCHEDULE
        assert run.counts == {"mailboxes_purged": 0, "runs_purged": 0}


def test_a_run_queued_again_after_a_transient_failure_waits_out_its_backoff(
    db: Database,
) -> None:
    run_id = _enqueue(db, _task(db))
    now = utcnow()
    with db.sessions() as s:
        claim = queue.claim(s, "w1", 30, now=now)
        assert claim is not None
        assert queue.retry_later(s, claim, 120, "GET /users: service unavailable (HTTP 503)")
    with db.sessions() as s:
        assert queue.claim(s, "w2", 30, now=now + timedelta(seconds=60)) is None
        again = queue.claim(s, "w2", 30, now=now + timedelta(seconds=121))
    assert again is not None and again.run_id == run_id
    with db.session() as s:
        run = s.get_one(Run, run_id)
        assert run.attempts == 2
        assert [entry["attempt"] for entry in run.attempt_log] == [1]
        assert "HTTP 503" in run.attempt_log[0]["error"]


def _finish(db: Database, run_id: int, status: RunStatus) -> None:
    with db.sessions() as s:
        claim = queue.claim(s, "w", 30, run_id=run_id)
        assert claim is not None
        assert queue.complete(s, claim, Outcome(status))


def test_a_task_just_run_by_hand_is_not_run_again_when_the_scheduler_starts(
    db: Database,
) -> None:
    task_id = _task(db, interval_seconds=3600)  # due at once, as `apply` leaves it
    _finish(db, _enqueue(db, task_id), RunStatus.SUCCEEDED)
    with db.sessions() as s:
        assert scheduler.tick(s) == []
        task = s.get_one(ScheduledTask, task_id)
        ran = s.scalar(select(Run.started_at).where(Run.task_id == task_id))
        assert ran is not None and task.next_due_at == ran + timedelta(seconds=3600)
        assert scheduler.tick(s, now=ran + timedelta(seconds=3601)) != []


def test_a_failed_run_by_hand_leaves_the_schedule_as_it_was(db: Database) -> None:
    task_id = _task(db, interval_seconds=3600)
    _finish(db, _enqueue(db, task_id), RunStatus.FAILED)
    with db.sessions() as s:
        assert len(scheduler.tick(s)) == 1


def test_a_run_that_applied_after_a_threshold_stop_leaves_nothing_to_confirm(
    db: Database,
) -> None:
    task_id = _task(db)
    stopped = _enqueue(db, task_id)
    _finish(db, stopped, RunStatus.AWAITING_CONFIRMATION)
    preview = _enqueue(db, task_id, Trigger.PREVIEW)
    _finish(db, preview, RunStatus.SUCCEEDED)
    with db.session() as s:
        assert s.get_one(Run, stopped).status is RunStatus.AWAITING_CONFIRMATION
        forced = queue.enqueue(
            s, s.get_one(ScheduledTask, task_id), Trigger.MANUAL, confirm_removals=True
        ).id
    _finish(db, forced, RunStatus.SUCCEEDED)
    with db.session() as s:
        run = s.get_one(Run, stopped)
        assert run.status is RunStatus.CANCELLED
        assert run.error is not None and f"superseded by run {forced}" in run.error
        with pytest.raises(ConfigError, match="only a run awaiting confirmation"):
            queue.confirm(s, run, "root@example.com")


def test_a_worker_leaves_a_run_of_a_type_it_does_not_know_to_one_that_does(
    db: Database, settings: Settings
) -> None:
    # An older worker beside a newer one: it knows housekeeping, not calendar replication.
    with db.session() as session:
        org = make_org(session)
        newer = make_task(session, org, "calendars", type_="calendar_replication").id
        older = make_task(session, org, "housekeeping").id
    newer_run = _enqueue(db, newer)
    older_run = _enqueue(db, older)
    with db.sessions() as s:
        first = queue.claim(s, "old-worker", 30, types=["housekeeping"])
    with db.sessions() as s:
        # Nothing else it knows is queued: the calendar run is not its to take.
        second = queue.claim(s, "old-worker", 30, types=["housekeeping"])
        asked = queue.claim(s, "old-worker", 30, run_id=newer_run, types=["housekeeping"])
    assert first is not None and first.run_id == older_run
    assert second is None and asked is None
    with db.sessions() as s:
        run = s.get(Run, newer_run)
        assert run is not None and run.status == RunStatus.QUEUED and run.attempts == 0
    with db.sessions() as s:
        taken = queue.claim(s, "new-worker", 30, types=default_registry().names())
    assert taken is not None and taken.run_id == newer_run
